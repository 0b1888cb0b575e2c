"""Membership: invite, join, admit, list members, remove, leave."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shora.errors import NotAllowed
from shora.i18n import N_, _, format_time, join_names, number
from shora.node import CouncilInfo, Node
from shora.ui.labels import role_label

from .output import (
    Number,
    council_name,
    isolate,
    member_json,
    member_status,
    print_json,
    short,
    table,
    text_or_file,
)
from .session import Session, ask, in_council, json_option, pass_session

if TYPE_CHECKING:
    from shora.services.membership import AdmitResult

DAY = 24 * 3600


def _export_hint(info: CouncilInfo) -> str:
    return isolate(f"'shora bundle export --council {short(info.id)} -o FILE'")


def _progress(result: AdmitResult) -> str:
    return _("{supporters} of the {needed} members needed support this so far.").format(
        supporters=number(result.supporters), needed=number(result.needed)
    )


def _qr_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None and value.suffix.lower() not in (".png", ".svg"):
        raise click.BadParameter(_("the QR file must end in .png or .svg"))
    return value


@click.command(help=N_("Invite someone: prints an invitation to give them (text, link, QR code)."))
@in_council
@click.option(
    "--expires-days",
    type=Number(1, 365),
    default=7,
    show_default=True,
    help=N_("Days until the invitation expires."),
)
@click.option(
    "--reach",
    multiple=True,
    metavar="URL",
    help=N_("Where the newcomer can reach the council (a relay address); may be repeated."),
)
@click.option(
    "--qr",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("Also write the invitation as a QR code to this .png or .svg file."),
    callback=_qr_file,
)
@json_option
def invite(
    node: Node,
    council_id: bytes,
    expires_days: int,
    reach: tuple[str, ...],
    qr: Path | None,
    as_json: bool,
) -> None:
    invitation = node.membership.invite(council_id, expires_days * DAY, reach)
    info = node.councils.get(council_id)
    from shora.services import joining  # the invitations' formats: not for a read

    text, uri = joining.invitation_text(invitation), joining.invitation_uri(invitation)
    link = joining.invitation_link(invitation, info.name)
    if qr is not None:  # the link: a phone camera opens the newcomer's join page
        from shora.ui import qr as codes  # segno, only when a code is drawn

        if qr.suffix.lower() == ".png":
            codes.qr_png(link, str(qr))
        else:
            qr.write_text(codes.qr_svg(link), encoding="utf-8")
    if as_json:
        print_json(
            {
                "council": council_id.hex(),
                "text": text,
                "uri": uri,
                "link": link,
                "qr": str(qr) if qr is not None else None,
                "expires": invitation.expires,
            }
        )
        return
    click.echo(
        _("Invitation to {council}, valid once, until {time}:").format(
            council=isolate(council_name(info)), time=format_time(invitation.expires)
        )
    )
    click.echo()
    click.echo(text)
    click.echo()
    click.echo(_("As a link to the newcomer's join page: {uri}").format(uri=link))
    if qr is not None:
        click.echo(_("QR code written to {file}.").format(file=qr))
    click.echo(_("Give it to the person you invite by a safe channel; they run 'shora join'."))


def hand_over(
    council: bytes,
    text: str,
    relays: list[str],
    output: Path | None,
    as_json: bool,
    *,
    written: str,
    heading: str,
    link: str,
) -> bool:
    """A request to hand to members (to join, to recover): written to OUTPUT, or printed
    with its link, or as JSON. True once the JSON is printed: the caller is done."""
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
    if as_json:
        print_json({"council": council.hex(), "request": text, "relays": relays})
        return True
    if output is not None:
        click.echo(written.format(file=output))
    else:
        click.echo(heading)
        click.echo()
        click.echo(text)
        click.echo()
        click.echo(link)
    return False


@click.command(help=N_("Answer an invitation: prints a join request to send back to a member."))
@click.argument("invitation", help=N_("The invitation as text or link, or @FILE to read it."))
@click.option("--as", "name", metavar="NAME", help=N_("Your name in this council."))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("Write the join request to this file instead of printing it."),
)
@json_option
@pass_session
def join(
    session: Session, invitation: str, name: str | None, output: Path | None, as_json: bool
) -> None:
    from shora.services import joining  # the invitations' formats: not for a read

    parsed, council_name = joining.read_invitation(text_or_file(invitation))
    node = session.open()
    name = ask(name, _("Your name in this council"), _("give your name with --as NAME"))
    request = node.membership.join(parsed, name)
    node.joining.expect_name(parsed.council, council_name)
    # Where the council can be reached: sync there, as the web join does.
    relays = node.joining.add_reach(parsed.council, list(parsed.reach))
    text = joining.join_request_text(request)
    link = joining.join_request_link(request)
    if hand_over(
        parsed.council,
        text,
        relays,
        output,
        as_json,
        written=_("Join request written to {file}."),
        heading=_("Your join request:"),
        link=_("As a link to a member's admit page: {uri}").format(uri=link),
    ):
        return
    for url in relays:
        click.echo(
            _(
                "This council syncs through the invitation's relay {url}: once you are "
                "admitted, 'shora sync' brings the council."
            ).format(url=url)
        )
    click.echo(
        _(
            "Send it to a member of the council, who runs 'shora admit'. Once you are "
            "admitted they send you a bundle: open it with 'shora bundle import FILE'."
        )
    )


@click.command(help=N_("Vouch for a join request; it is admitted once enough members have."))
@click.argument("request", help=N_("The join request text, or @FILE to read it from a file."))
@click.option(
    "--mandate",
    metavar="TEXT",
    help=N_("In a federation: the delegate's mandate, as text or @FILE."),
)
@json_option
@pass_session
def admit(session: Session, request: str, mandate: str | None, as_json: bool) -> None:
    from shora.services import joining  # the invitations' formats: not for a read

    signed = joining.read_join_request(text_or_file(request))
    payload, _request_id = joining.open_join_request(signed)
    node = session.open()
    if mandate is not None:
        result = node.federation.admit(payload.council, signed, text_or_file(mandate))
    else:
        rules = node.councils.get(payload.council).rules
        if rules is not None and rules.federation:
            raise NotAllowed(
                _("a federation admits a delegate only on their mandate: add --mandate")
            )
        result = node.membership.admit(signed)
    info = node.councils.get(payload.council)
    if as_json:
        print_json(
            {
                "council": info.id.hex(),
                "name": result.name,
                "admitted": result.admitted,
                "supporters": result.supporters,
                "needed": result.needed,
            }
        )
        return
    if result.admitted:
        click.echo(
            _("{name} is admitted to {council}.").format(
                name=isolate(result.name), council=isolate(council_name(info))
            )
        )
        click.echo(
            _("Now send them a bundle with the council's keys: {command}").format(
                command=_export_hint(info)
            )
        )
        return
    click.echo(_("Your vouch for {name} is recorded.").format(name=isolate(result.name)))
    click.echo(_progress(result))
    click.echo(_("Share a bundle so other members can see it and vouch too."))


@click.command(help=N_("List a council's members and former members."))
@in_council
@json_option
def members(node: Node, council_id: bytes, as_json: bool) -> None:
    people = node.councils.members(council_id)
    if as_json:
        print_json([member_json(m) for m in people])
        return
    rows = [[_("Name"), _("Status"), _("Roles"), _("Key")]]
    for m in people:
        name = m.name + (" " + _("(you)") if m.me else "")
        roles = join_names(role_label(r) for r in m.roles) or "-"
        rows.append([name, member_status(m.status), roles, short(m.key)])
    table(rows)


@click.command(help=N_("Vouch to remove a member; they are removed once the rules allow it."))
@in_council
@click.argument("member", help=N_("The member: their name, or the first digits of their key."))
@click.option("--reason", default="", help=N_("Why, for the other members."))
@click.option(
    "--emergency",
    is_flag=True,
    help=N_("Remove at once, with the emergency powers your role gives (see the rules)."),
)
def remove(node: Node, council_id: bytes, member: str, reason: str, emergency: bool) -> None:
    key = node.find_member(council_id, member)
    if emergency:
        node.governance.check_emergency_removal(council_id)
    result = node.membership.remove(council_id, key, reason, emergency)
    info = node.councils.get(council_id)
    if result.admitted:
        click.echo(_("{name} is removed.").format(name=isolate(result.name)))
        click.echo(_("The council has a new key: they cannot read what is written from now on."))
        click.echo(
            _("Send the other members a bundle: {command}").format(command=_export_hint(info))
        )
        return
    click.echo(_("Your vouch to remove {name} is recorded.").format(name=isolate(result.name)))
    click.echo(_progress(result))
    click.echo(_("Send the other members a bundle: {command}").format(command=_export_hint(info)))


@click.command(help=N_("Leave a council. You keep what you have, but receive nothing new."))
@in_council
@click.option("--reason", default="", help=N_("Why, for the other members."))
@click.option("-y", "--yes", is_flag=True, help=N_("Do not ask for confirmation."))
def leave(node: Node, council_id: bytes, reason: str, yes: bool) -> None:
    info = node.councils.get(council_id)
    if not yes and sys.stdin.isatty():
        click.confirm(
            _("Leave {council}? This cannot be undone.").format(
                council=isolate(council_name(info))
            ),
            abort=True,
        )
    node.membership.leave(council_id, reason)
    click.echo(_("You have left {council}.").format(council=isolate(council_name(info))))
    click.echo(
        _("Send the members a bundle so they know: {command}").format(command=_export_hint(info))
    )
