"""Getting back in: ask for your place again from a new profile, and vouch for someone
who asks (docs/protocol.md §9.1)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from shora.i18n import N_, _, format_time, number
from shora.services import joining, recovery

from .output import council_name, isolate, print_json, short, text_or_file
from .session import Session, ask, json_option, pass_session


@click.command(
    help=N_(
        "Ask for your place in a council again after losing your device: prints a "
        "recovery request for its members."
    )
)
@click.argument(
    "invitation",
    help=N_("An invitation to the council from any member (text or link), or @FILE."),
)
@click.option(
    "--as",
    "claim",
    metavar="WHO",
    help=N_("Who you were there: your name, or the first digits of your old key."),
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("Write the recovery request to this file instead of printing it."),
)
@json_option
@pass_session
def recover(
    session: Session, invitation: str, claim: str | None, output: Path | None, as_json: bool
) -> None:
    parsed, name = joining.read_invitation(text_or_file(invitation))
    node = session.open()
    claim = ask(
        claim,
        _("Who you were in this council (your name, or your old key's first digits)"),
        _("say who you were with --as NAME"),
    )
    request = node.recovery.ask(parsed.council, claim)
    node.joining.expect_name(parsed.council, name)
    relays = node.joining.add_reach(parsed.council, list(parsed.reach))
    text = recovery.recovery_request_text(request)
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
    if as_json:
        print_json({"council": parsed.council.hex(), "request": text, "relays": relays})
        return
    if output is not None:
        click.echo(_("Recovery request written to {file}.").format(file=output))
    else:
        click.echo(_("Your recovery request:"))
        click.echo()
        click.echo(text)
        click.echo()
        click.echo(
            _("As a link to a member's page: {uri}").format(
                uri=recovery.recovery_request_link(request)
            )
        )
    click.echo(
        _(
            "Give it to members who know you, in person or by a safe channel; each runs "
            "'shora vouch-recovery'. Once enough have, your name and roles are yours again "
            "under this new key, and your old key counts for nothing."
        )
    )


@click.command(
    name="vouch-recovery",
    help=N_(
        "Vouch that a recovery request comes from the member it names; their place "
        "passes to the new key once enough members have."
    ),
)
@click.argument("request", help=N_("The recovery request text or link, or @FILE."))
@click.option("--reason", default="", help=N_("Why, for the other members."))
@click.option("-y", "--yes", is_flag=True, help=N_("Do not ask for confirmation."))
@json_option
@pass_session
def vouch_recovery(session: Session, request: str, reason: str, yes: bool, as_json: bool) -> None:
    signed = recovery.read_recovery_request(text_or_file(request))
    node = session.open()
    asked = node.recovery.open(signed)
    info = node.councils.get(asked.council)
    if not as_json:
        _describe(asked, council_name(info))
    if not yes and not as_json and sys.stdin.isatty():
        click.confirm(_("Vouch that this is {name}?").format(name=isolate(asked.name)), abort=True)
    result = node.recovery.vouch(signed, reason)
    if as_json:
        print_json(
            {
                "council": asked.council.hex(),
                "name": result.name,
                "old_key": asked.old_key.hex(),
                "new_key": asked.new_key.hex(),
                "recovered": result.admitted,
                "supporters": result.supporters,
                "needed": result.needed,
            }
        )
        return
    if result.admitted:
        click.echo(
            _("{name}'s place has passed to the new key; the old key counts for nothing.").format(
                name=isolate(result.name)
            )
        )
        click.echo(
            _("Send the members and {name} a bundle: {command}").format(
                name=isolate(result.name),
                command=isolate(f"'shora bundle export --council {short(info.id)} -o FILE'"),
            )
        )
        return
    click.echo(_("Your vouch for {name} is recorded.").format(name=isolate(result.name)))
    click.echo(
        _("{supporters} of the {needed} members needed support this so far.").format(
            supporters=number(result.supporters), needed=number(result.needed)
        )
    )


def _describe(asked: recovery.RecoveryRequest, council: str) -> None:
    """Who asks to replace whom, and the warning, before anything is written."""
    click.echo(
        _("In {council}, someone asks to take the place of {name} (key {old}).").format(
            council=isolate(council), name=isolate(asked.name), old=short(asked.old_key)
        )
    )
    click.echo(
        _("They wrote that they were: {claim}. Their new key: {new}. Asked at {time}.").format(
            claim=isolate(asked.claim), new=short(asked.new_key), time=format_time(asked.time)
        )
    )
    if asked.roles:
        click.echo(
            _("Roles that pass with the place: {roles}").format(roles=", ".join(asked.roles))
        )
    click.echo(
        _(
            "Vouch only if you know it is really {name}, from their own mouth, in person or "
            "by a channel you trust: whoever you vouch for takes their name, roles and "
            "standing, and the old key is shut out."
        ).format(name=isolate(asked.name))
    )
    click.echo(
        _("{supporters} of the {needed} members needed support this so far.").format(
            supporters=number(asked.supporters), needed=number(asked.needed)
        )
    )
