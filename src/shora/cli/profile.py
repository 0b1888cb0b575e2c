"""When the device is taken: ``shora profile duress``, ``shora panic``, ``shora lock``."""

from __future__ import annotations

import os
import sys

import click

from shora.errors import ProfileError
from shora.i18n import N_, _
from shora.services import locking, profiles

from .session import Session, pass_session

DURESS_ENV = "SHORA_DURESS_PASSPHRASE"


@click.group(help=N_("Your profile on this device: the duress passphrase."))
def profile() -> None:
    pass


@profile.command(
    help=N_(
        "Set a duress passphrase: typed at any unlock, it opens a harmless profile of its "
        "own and, with --wipe, first destroys this profile's keys. Nobody can tell from "
        "the device whether one is set."
    )
)
@click.option(
    "--wipe/--keep",
    default=True,
    help=N_("Destroy this profile's keys when the duress passphrase is typed (default)."),
)
@click.option("--remove", is_flag=True, help=N_("Remove the duress passphrase."))
@pass_session
def duress(session: Session, wipe: bool, remove: bool) -> None:
    if not profiles.exists(session.home):
        raise ProfileError(
            _("there is no profile in {home}: create one with 'shora init'").format(
                home=session.home
            )
        )
    passphrase = session.passphrase()
    chosen = None if remove else _duress_passphrase()
    profiles.set_duress(
        session.home, passphrase, chosen, wipe=wipe, allow_weak_kdf=session.insecure_test_kdf
    )
    if remove:
        click.echo(_("The duress passphrase is removed."))
        return
    click.echo(_("The duress passphrase is set."))
    if wipe:
        click.echo(_("Typed at an unlock, it destroys this profile's keys: keep it apart."))
    else:
        click.echo(
            _(
                "Unlock with it to prepare the harmless profile; then run this again with "
                "--wipe and the same duress passphrase: what you added stays."
            )
        )


def _duress_passphrase() -> str:
    """From SHORA_DURESS_PASSPHRASE, else asked twice at the terminal."""
    given = os.environ.get(DURESS_ENV)
    if given:
        return given
    if not sys.stdin.isatty():
        raise ProfileError(
            _("no duress passphrase given, and none can be asked for: set {env}").format(
                env=DURESS_ENV
            )
        )
    return str(
        click.prompt(
            _("Choose the duress passphrase"),
            hide_input=True,
            confirmation_prompt=_("Type it again"),
        )
    )


@click.command(
    help=N_(
        "Destroy this profile now, for good: its keys are overwritten and its files "
        "removed, and a running node stops. Nothing opens it again, not even the passphrase."
    )
)
@click.option("--yes", is_flag=True, help=N_("Do not ask first."))
@pass_session
def panic(session: Session, yes: bool) -> None:
    if not profiles.exists(session.home):
        click.echo(_("There is no profile in {home}.").format(home=session.home))
        return
    if not yes:
        asked = _("Destroy the profile in {home} for good?").format(home=session.home)
        click.confirm(asked, abort=True)
    profiles.panic(session.home)
    click.echo(_("The profile is destroyed."))


@click.command(
    help=N_("Lock the profile that 'shora serve' holds open: its keys leave memory at once.")
)
@pass_session
def lock(session: Session) -> None:
    if locking.request_lock(session.home):
        click.echo(_("Locked."))
    else:
        click.echo(_("No running node holds this profile open."))
