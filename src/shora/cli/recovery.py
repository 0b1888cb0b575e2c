"""Getting back in: ask for your place again from a new profile, and vouch for someone
who asks (docs/protocol.md §9.1)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from shora.i18n import N_, _, format_time, number
from shora.node import Node
from shora.services import backup, joining, recovery

from .members import hand_over
from .output import Number, council_name, isolate, print_json, short, text_or_file
from .session import Session, ask, in_council, json_option, pass_session


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
    link = recovery.recovery_request_link(request)
    if hand_over(
        parsed.council,
        text,
        relays,
        output,
        as_json,
        written=_("Recovery request written to {file}."),
        heading=_("Your recovery request:"),
        link=_("As a link to a member's page: {uri}").format(uri=link),
    ):
        return
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


@click.command(
    name="backup",
    help=N_(
        "Leave a backup of your keys in a council with members you trust: any NEEDED of "
        "them, with your passphrase, can give them back if your device is lost."
    ),
)
@in_council
@click.option(
    "--to",
    "trusted",
    multiple=True,
    required=True,
    metavar="MEMBER",
    help=N_("A member you trust with a share (name or key digits); repeat for each."),
)
@click.option(
    "--needed",
    type=Number(1, 16),
    default=2,
    show_default=True,
    help=N_("How many of them it takes to give your keys back."),
)
def backup_keys(node: Node, council_id: bytes, trusted: tuple[str, ...], needed: int) -> None:
    session = click.get_current_context().find_object(Session)
    assert session is not None
    keys = [node.find_member(council_id, who) for who in trusted]
    limits = backup.INSECURE_TEST_KDF if session.insecure_test_kdf else None
    if limits is None:
        node.backup.deposit(council_id, keys, needed, session.passphrase())
    else:
        node.backup.deposit(council_id, keys, needed, session.passphrase(), limits)
    click.echo(
        _(
            "Your backup is with {n} members; any {needed} of them, with your passphrase, "
            "can give your keys back. Send them a bundle."
        ).format(n=number(len(set(keys))), needed=number(needed))
    )
    click.echo(
        _(
            "Only for a lost or wiped device: if a device is seized, ask for your place "
            "with 'shora recover' instead, which shuts the old keys out."
        )
    )


@click.command(
    name="release-share",
    help=N_(
        "Give someone asking for their place your share of their key backup, sealed to "
        "their new profile."
    ),
)
@click.argument("request", help=N_("The recovery request text or link, or @FILE."))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help=N_("Write the share to this file, to give them."),
)
@click.option("-y", "--yes", is_flag=True, help=N_("Do not ask for confirmation."))
@pass_session
def release_share(session: Session, request: str, output: Path, yes: bool) -> None:
    signed = recovery.read_recovery_request(text_or_file(request))
    node = session.open()
    asked = node.recovery.open(signed)
    info = node.councils.get(asked.council)
    _describe(asked, council_name(info))
    if not yes and sys.stdin.isatty():
        click.confirm(
            _("Give your share to this new key, as {name}'s?").format(name=isolate(asked.name)),
            abort=True,
        )
    output.write_text(node.backup.release(signed) + "\n", encoding="utf-8")
    click.echo(_("Your share is written to {file}: give it to them.").format(file=output))


@click.command(
    name="restore",
    help=N_("Take your keys back from shares your trusted members gave you."),
)
@click.argument("shares", nargs=-1, required=True, metavar="SHARE...")
@click.option(
    "--backup-passphrase-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help=N_("Read the passphrase of the lost profile from this file instead of asking."),
)
@pass_session
def restore(session: Session, shares: tuple[str, ...], backup_passphrase_file: Path | None) -> None:
    texts = [text_or_file(s) for s in shares]
    node = session.open()
    if backup_passphrase_file is not None:
        lines = backup_passphrase_file.read_text(encoding="utf-8").splitlines()
        passphrase = lines[0] if lines else ""
    else:
        passphrase = str(click.prompt(_("Passphrase of the lost profile"), hide_input=True))
    council = node.backup.restore(texts, passphrase)
    info = node.councils.get(council)
    click.echo(
        _("Your keys in {council} are back. Sync to bring the council up to date.").format(
            council=isolate(council_name(info))
        )
    )
