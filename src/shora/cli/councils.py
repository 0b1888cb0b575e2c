"""``shora council``: found, list, show and rename councils."""

from __future__ import annotations

import click
import msgspec

from shora.errors import InvalidInput
from shora.i18n import N_, _, check_time_zone, default_time_zone, number
from shora.node import Node
from shora.services.councils import Rules

from .output import (
    Number,
    council_json,
    council_name,
    council_status,
    describe_rules,
    isolate,
    print_json,
    short,
    table,
)
from .session import Session, ask, in_council, json_option, pass_session

MODES = ("member", "vouches", "vote")
MODES_HELP = N_("member (any one member), vouches (N members) or vote (a majority)")


@click.group(help=N_("Found, list, show and rename councils."))
def council() -> None:
    pass


@council.command(
    help=N_(
        "Found a new council, with you as its first member. "
        "Its rules say how people are admitted and removed."
    )
)
@click.argument("name", help=N_("The council's name, as its members will see it."))
@click.option("--description", default="", help=N_("What the council is for."))
@click.option("--as", "founder", metavar="NAME", help=N_("Your name in this council."))
@click.option("--admission", type=click.Choice(MODES), help=MODES_HELP)
@click.option(
    "--admission-vouches",
    type=Number(1, 1000),
    help=N_("How many members vouch to admit someone (with --admission vouches)."),
)
@click.option("--removal", type=click.Choice(MODES), help=MODES_HELP)
@click.option(
    "--removal-vouches",
    type=Number(1, 1000),
    help=N_("How many members vouch to remove someone (with --removal vouches)."),
)
@click.option(
    "--min-vote-hours",
    type=Number(0, 720),
    help=N_("Least hours an ordinary vote stays open (default 1; 0 for quick polls)."),
)
@click.option(
    "--time-zone",
    metavar="ZONE",
    help=N_(
        "The IANA time zone the council's times are shown and read in, such as Asia/Tehran "
        "(default: Asia/Tehran in Persian, else UTC)."
    ),
)
@json_option
@pass_session
def create(
    session: Session,
    name: str,
    description: str,
    founder: str | None,
    admission: str | None,
    admission_vouches: int | None,
    removal: str | None,
    removal_vouches: int | None,
    min_vote_hours: int | None,
    time_zone: str | None,
    as_json: bool,
) -> None:
    try:
        zone = check_time_zone(time_zone if time_zone is not None else default_time_zone())
    except InvalidInput as exc:
        raise click.BadParameter(str(exc), param_hint="--time-zone") from None
    node = session.open()
    founder = ask(
        founder,
        _("Your name in this council"),
        _("give your name in this council with --as NAME"),
    )
    given = {
        "admission": admission,
        "admission_vouches": admission_vouches,
        "removal": removal,
        "removal_vouches": removal_vouches,
        "min_vote_hours": min_vote_hours,
        "time_zone": zone,
    }
    rules = msgspec.structs.replace(Rules(), **{k: v for k, v in given.items() if v is not None})
    info = node.councils.get(node.councils.create(name, description, founder, rules))
    if as_json:
        print_json(council_json(info))
        return
    click.echo(
        _("Council {name} founded; you are its first member, as {founder}.").format(
            name=isolate(info.name), founder=isolate(founder)
        )
    )
    click.echo(_("Id: {id}").format(id=info.id.hex()))
    click.echo(_("Rules: {rules}").format(rules=describe_rules(info.rules)))
    click.echo(
        _("Next: invite someone with {command}.").format(
            command=isolate(f"'shora invite {short(info.id)}'")
        )
    )


@council.command("list", help=N_("List the councils in this profile."))
@json_option
@pass_session
def list_(session: Session, as_json: bool) -> None:
    infos = session.open().councils.all()
    if as_json:
        print_json([council_json(info) for info in infos])
        return
    if not infos:
        click.echo(_("No councils yet: create one with 'shora council create', or join one."))
        return
    rows = [[_("Name"), _("Status"), _("Members"), _("Id")]]
    for info in infos:
        rows.append(
            [council_name(info), council_status(info.status), number(info.members), short(info.id)]
        )
    table(rows)


@council.command(help=N_("Show a council: its id, your status, its rules and its size."))
@in_council
@json_option
def show(node: Node, council_id: bytes, as_json: bool) -> None:
    info = node.councils.get(council_id)
    if as_json:
        print_json(council_json(info))
        return
    rows = [
        [_("Name:"), council_name(info)],
        [_("Id:"), info.id.hex()],
        [_("Status:"), council_status(info.status)],
        [_("Rules:"), describe_rules(info.rules)],
        [_("Members:"), number(info.members)],
        [_("Events:"), number(info.events)],
    ]
    if info.description:
        rows.insert(1, [_("Description:"), info.description])
    table(rows)


@council.command(help=N_("Change a council's name or description (for everyone in it)."))
@in_council
@click.option("--name", help=N_("The new name."))
@click.option("--description", help=N_("The new description."))
def rename(node: Node, council_id: bytes, name: str | None, description: str | None) -> None:
    if name is None and description is None:
        raise click.UsageError(_("give --name, --description or both"))
    node.councils.update(council_id, name, description)
    info = node.councils.get(council_id)
    click.echo(_("Council {name} updated.").format(name=isolate(council_name(info))))
