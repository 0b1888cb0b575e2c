"""Federation: ``shora federation create | join | members | summary | ratify | apply |
notices`` and ``shora mandate instruct | issue | sign | show | revoke``. The design
is in docs/federation.md."""

from __future__ import annotations

from typing import Any

import click

from shora.errors import InvalidInput, NotFound
from shora.i18n import N_, _, check_time_zone, default_time_zone, format_time, number
from shora.node import Node
from shora.services.federation import MandateView, md, plain

from . import members
from .output import Number, isolate, print_json, short, table, text_or_file
from .session import Session, in_council, json_option, pass_session

FEDERATION_HELP = N_("The federation: its name or id.")


@click.group(help=N_("Councils of councils: delegates seated on mandates the base can recall."))
def federation() -> None:
    pass


@federation.command("create", help=N_("Create a federation: its members are delegates."))
@click.argument("name", help=N_("The federation's name."))
@click.option("--as", "founder", required=True, metavar="NAME", help=N_("Your name in it."))
@click.option("--seats", type=Number(1, 100), default=1, help=N_("Seats per member council."))
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
    session: Session, name: str, founder: str, seats: int, time_zone: str | None, as_json: bool
) -> None:
    try:
        zone = check_time_zone(time_zone if time_zone is not None else default_time_zone())
    except InvalidInput as exc:
        raise click.BadParameter(str(exc), param_hint="--time-zone") from None
    node = session.open()
    council = node.federation.create(name, founder, seats, zone)
    if as_json:
        print_json({"id": council.hex(), "name": name, "seats_per_council": seats})
        return
    click.echo(_("Federation {name} created ({id}).").format(name=isolate(name), id=short(council)))
    click.echo(_("Invite delegates with 'shora invite'; admit them with 'shora admit --mandate'."))


federation.add_command(members.join, "join")


@federation.command("members", help=N_("The delegates, the council each speaks for, and flags."))
@in_council
@json_option
def members_(node: Node, council: bytes, as_json: bool) -> None:
    node.housekeeping.run(council)
    seats = node.federation.seats(council)
    flags = node.federation_flow.flags(council)
    if as_json:
        print_json({"seats": plain(seats), "flags": plain(flags)})
        return
    if not seats:
        click.echo(_("No delegate holds a seat yet."))
    table(
        [
            [
                isolate(s.name),
                _("for council {id}").format(id=short(s.base)),
                _("until {time}").format(time=format_time(s.end)) if s.active else _("ended"),
            ]
            for s in seats
        ]
    )
    for f in flags:
        click.echo(
            _("Flag: {name} voted against the instruction '{vote}' on {title}").format(
                name=isolate(f.name), vote=f.instructed, title=isolate(f.title)
            )
        )


@federation.command("summary", help=N_("Totals of the member councils' aid summaries."))
@in_council
@click.option("--post", is_flag=True, help=N_("As a delegate, share your council's summary now."))
@json_option
def summary(node: Node, council: bytes, post: bool, as_json: bool) -> None:
    if post:
        node.federation_flow.post_summary(council, force=True)
    councils, rows = node.federation_flow.totals(council)
    if as_json:
        print_json({"councils": councils, "rows": plain(rows)})
        return
    click.echo(_("Summaries from {n} councils.").format(n=number(councils)))
    table(
        [
            [
                r.kind,
                r.category,
                r.urgency or "-",
                isolate(r.area),
                number(r.count),
                _("{n} hidden").format(n=number(r.hidden)) if r.hidden else "",
            ]
            for r in rows
        ]
    )


@federation.command(
    "ratify", help=N_("Ask the member councils to ratify a proposal; show where it stands.")
)
@in_council
@click.argument("proposal", help=N_("The proposal: 6 or more digits of its id."))
@click.option("--status", is_flag=True, help=N_("Only show the councils' answers so far."))
@json_option
def ratify(node: Node, council: bytes, proposal: str, status: bool, as_json: bool) -> None:
    pid = node.decisions.find_proposal(council, proposal)
    if not status:
        node.federation_flow.request_ratification(council, pid)
    r = node.federation_flow.ratification(council, pid)
    if as_json:
        print_json(plain(r))
        return
    if not status:
        click.echo(_("The member councils are asked to ratify it; their delegates carry it."))
    click.echo(
        _(
            "{yes} of {councils} councils said yes, representing {myes} of {members} "
            "members: {verdict}."
        ).format(
            yes=number(r.councils_yes),
            councils=number(r.councils),
            myes=number(r.members_yes),
            members=number(r.members),
            verdict=_("ratified") if r.passed else _("not ratified (yet)"),
        )
    )


@federation.command(
    "apply", help=N_("Apply a base council's revocation: the delegate loses the seat.")
)
@in_council
@click.argument("text", help=N_("The revocation text, or @FILE."))
def apply(node: Node, council: bytes, text: str) -> None:
    name = node.federation.apply_revocation(council, text_or_file(text))
    click.echo(
        _("{name}'s seat has ended; a new key epoch keeps them out.").format(name=isolate(name))
    )


@federation.command("notices", help=N_("What federations said to your council."))
@in_council
@click.option("--limit", type=Number(1, 1000), default=50, help=N_("Notices per page."))
@click.option("--offset", type=Number(0), default=0, help=N_("Skip this many notices."))
@json_option
def notices(node: Node, council: bytes, limit: int, offset: int, as_json: bool) -> None:
    found = node.federation_flow.notices(council, limit, offset)
    if as_json:
        print_json(
            [
                {
                    "federation": n.federation.hex(),
                    "from": n.federation_name,
                    "kind": n.kind,
                    "title": n.title,
                    "text": n.text,
                    "source": n.source.hex(),
                }
                for n in found
            ]
        )
        return
    if not found:
        click.echo(_("No notices from a federation."))
    for n in found:
        click.echo(
            _("From {federation}: [{kind}] {title} — {text}").format(
                federation=isolate(n.federation_name),
                kind=n.kind,
                title=isolate(n.title),
                text=n.text,
            )
        )


# --- mandates ----------------------------------------------------------------------------


@click.group(help=N_("Mandates: what your council gives its delegate, signed by its members."))
def mandate() -> None:
    pass


def _items(values: tuple[str, ...]) -> list[md.Item]:
    return [md.parse_item(v) for v in values]


@mandate.command("instruct", help=N_("Put your delegate's instructions to your council's vote."))
@in_council
@click.argument("federation_ref", metavar="FEDERATION", help=FEDERATION_HELP)
@click.option("--text", default="", help=N_("The instructions, in words."))
@click.option(
    "--item", "items", multiple=True, help=N_("ITEM=VOTE: how to vote on an agenda item (repeat).")
)
@click.option("--hours", type=Number(1, 24 * 366), default=72, help=N_("Hours to vote."))
def instruct(
    node: Node,
    base: bytes,
    federation_ref: str,
    text: str,
    items: tuple[str, ...],
    hours: int,
) -> None:
    federation_id = node.find_council(federation_ref)
    name = node.councils.get(federation_id).name or short(federation_id)
    pid = node.federation.instruct(base, name, md.Instructions(text, _items(items)), hours)
    click.echo(
        _(
            "Proposed ({id}); once it passes, name it with 'shora mandate issue --instructions'."
        ).format(id=short(pid))
    )


@mandate.command(
    "issue", help=N_("As the elected delegate, ask your council to sign your mandate.")
)
@in_council
@click.argument("federation_ref", metavar="FEDERATION", help=FEDERATION_HELP)
@click.option(
    "--days", type=Number(1, 3650), help=N_("Length of the mandate (default: your term).")
)
@click.option("--instructions", metavar="PROPOSAL", help=N_("The passed instructions proposal."))
@click.option("--text", default="", help=N_("The instructions' text, as passed."))
@click.option("--item", "items", multiple=True, help=N_("ITEM=VOTE, as passed (repeat)."))
def issue(
    node: Node,
    base: bytes,
    federation_ref: str,
    days: int | None,
    instructions: str | None,
    text: str,
    items: tuple[str, ...],
) -> None:
    federation_id = node.find_council(federation_ref)
    proposal = node.decisions.find_proposal(base, instructions) if instructions else None
    request = node.federation.request_mandate(
        base,
        federation_id,
        days=days,
        instructions=md.Instructions(text, _items(items)),
        instructions_proposal=proposal,
        federation_name=node.councils.get(federation_id).name,
    )
    click.echo(
        _("Mandate requested ({id}); the members' nodes sign it as it reaches them.").format(
            id=short(request)
        )
    )


@mandate.command("sign", help=N_("Sign a mandate request of your council, having read it."))
@in_council
@click.argument("request", help=N_("The request: 6 or more digits of its id."))
def sign(node: Node, base: bytes, request: str) -> None:
    view = node.federation.find_mandate(base, request)
    node.federation.sign(base, view.request)
    click.echo(_("Signed."))


def _view_json(view: MandateView) -> dict[str, Any]:
    m = view.mandate
    return {
        "request": view.request.hex(),
        "id": view.id.hex(),
        "federation": m.federation.hex(),
        "federation_name": view.federation_name,
        "delegate": m.delegate.hex(),
        "start": m.start,
        "end": m.end,
        "instructions": {
            "text": m.instructions.text,
            "items": [{"item": i.item, "vote": i.vote} for i in m.instructions.items],
        },
        "signers": len(view.signers),
        "needed": m.roster.threshold,
        "complete": view.complete,
        "text": md.to_text(view.credential, True) if view.credential else None,
        "revocation_signers": len(view.revocation_signers),
        "revocation": md.to_text(view.revocation, False) if view.revocation else None,
    }


@mandate.command(
    "show", help=N_("Your council's mandates and their signatures; --text to carry one.")
)
@in_council
@click.argument("request", required=False, help=N_("One mandate: 6 or more digits of its id."))
@click.option("--text", "as_text", is_flag=True, help=N_("Print only the credential, to carry."))
@json_option
def show(node: Node, base: bytes, request: str | None, as_text: bool, as_json: bool) -> None:
    node.housekeeping.run(base)
    federation = node.federation
    views = [federation.find_mandate(base, request)] if request else federation.mandates(base)
    if as_text:
        if len(views) != 1 or views[0].credential is None:
            raise NotFound(_("that mandate is not signed by enough members yet"))
        click.echo(md.to_text(views[0].credential, True))
        return
    if as_json:
        print_json([_view_json(v) for v in views])
        return
    if not views:
        click.echo(_("No mandates yet."))
    for v in views:
        state = (
            _("complete")
            if v.complete
            else _("{n} of {needed} signatures").format(
                n=number(len(v.signers)), needed=number(v.mandate.roster.threshold)
            )
        )
        click.echo(
            f"{short(v.request)}  {isolate(v.federation_name)}  {state}  "
            + _("until {time}").format(time=format_time(v.mandate.end))
        )
        if md.render_instructions(v.mandate.instructions):
            click.echo("  " + md.render_instructions(v.mandate.instructions).replace("\n", "\n  "))


@mandate.command(
    "revoke", help=N_("Sign the revocation of a recalled delegate's mandate; --text to carry it.")
)
@in_council
@click.argument("request", help=N_("The mandate: 6 or more digits of its id."))
@click.option("--text", "as_text", is_flag=True, help=N_("Print only the revocation, to carry."))
def revoke(node: Node, base: bytes, request: str, as_text: bool) -> None:
    node.housekeeping.run(base)
    view = node.federation.find_mandate(base, request)
    if as_text:
        if view.revocation is None:
            raise NotFound(_("that revocation is not signed by enough members yet"))
        click.echo(md.to_text(view.revocation, False))
        return
    me = node.councils.get(base).my_key
    if me not in view.revocation_signers:
        node.federation.sign_revocation(base, view)
        view = node.federation.find_mandate(base, request)
    click.echo(
        _("{n} of {needed} members have signed the revocation.").format(
            n=number(len(view.revocation_signers)), needed=number(view.mandate.roster.threshold)
        )
    )
    if view.revocation is not None:
        click.echo(
            _(
                "Carry it to any member of the federation: "
                "'shora mandate revoke COUNCIL {id} --text'."
            ).format(id=short(view.request))
        )


COMMANDS = (federation, mandate)
