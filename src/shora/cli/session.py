"""What every command shares: where the profile is, and how to unlock it."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import msgspec

from shora.errors import ProfileError
from shora.i18n import N_, _, local_instant, set_time_zone
from shora.node import Node
from shora.services import profiles
from shora.ui.labels import set_council_roles

PASSPHRASE_ENV = "SHORA_PASSPHRASE"  # noqa: S105 (a name, not a password)
COUNCIL_HELP = N_("The council: its name, or the first 6 or more digits of its id.")
JSON_HELP = N_("Print JSON for scripts.")

json_option = click.option("--json", "as_json", is_flag=True, help=JSON_HELP)


def insecure_test_kdf(flag: bool) -> bool:
    """Whether this process runs with the test-only key derivation: the hidden
    --insecure-test-kdf, or SHORA_INSECURE_TEST_KDF set to its whole consent phrase
    (any other value, or the old SHORA_TEST_FAST_KDF, changes nothing)."""
    env = os.environ.get(profiles.INSECURE_TEST_KDF_ENV)
    return flag or env == profiles.INSECURE_TEST_KDF_CONSENT


class Session(msgspec.Struct):
    home: Path
    passphrase_file: Path | None = None
    typed: str | None = None  # asked once per command (init then serve asks only once)
    # Profiles made with, and weak keystores opened despite, the test-only key derivation.
    insecure_test_kdf: bool = False

    def passphrase(self, *, new: bool = False) -> str:
        """From --passphrase-file, else SHORA_PASSPHRASE, else asked (twice if new)."""
        if self.typed is not None:
            return self.typed
        if self.passphrase_file is not None:
            lines = self.passphrase_file.read_text(encoding="utf-8").splitlines()
            return lines[0] if lines else ""
        env = os.environ.get(PASSPHRASE_ENV)
        if env:
            return env
        if not sys.stdin.isatty():
            raise ProfileError(
                _(
                    "no passphrase given, and none can be asked for (input is not a terminal): "
                    "use --passphrase-file FILE or set SHORA_PASSPHRASE"
                )
            )
        if new:
            self.typed = str(
                click.prompt(
                    _("Choose a passphrase"),
                    hide_input=True,
                    confirmation_prompt=_("Type it again"),
                )
            )
        else:
            self.typed = str(click.prompt(_("Passphrase"), hide_input=True))
        return self.typed

    def open(self) -> Node:
        """The unlocked node; it is closed when the command ends."""
        if not profiles.exists(self.home):
            raise ProfileError(
                _("there is no profile in {home}: create one with 'shora init'").format(
                    home=self.home
                )
            )
        node = Node.open(self.home, self.passphrase(), allow_weak_kdf=self.insecure_test_kdf)
        return click.get_current_context().with_resource(node)


pass_session = click.make_pass_decorator(Session)


class LocalTime(int):
    """An instant typed as a date and time without a zone: read in UTC until the command
    knows its council, then again in the council's zone (`in_council`)."""

    wall: datetime

    def __new__(cls, wall: datetime) -> LocalTime:
        made = super().__new__(cls, max(0, local_instant(wall)))
        made.wall = wall
        return made

    def in_zone(self) -> int:
        """Unix seconds of the typed date and time in the current zone."""
        return max(0, local_instant(self.wall))


def ask(value: str | None, prompt: str, hint: str) -> str:
    """An option's value, asked for when missing and a person is at the keyboard."""
    if value is not None:
        return value
    if sys.stdin.isatty():
        return str(click.prompt(prompt))
    raise click.UsageError(hint)


def in_council(command: Callable[..., Any]) -> Callable[..., Any]:
    """A command on one council, placed right under ``@...command(...)``: it takes
    COUNCIL as its first argument, opens the node (closed when the command ends) and
    calls ``command(node, council_id, **the other parameters)``."""

    @click.argument("council_ref", metavar="COUNCIL", help=COUNCIL_HELP)
    @pass_session
    @functools.wraps(command)
    def run(session: Session, /, council_ref: str, **kw: Any) -> Any:
        node = session.open()
        council = node.find_council(council_ref)
        # The council's times are shown, and dates typed without a zone read, in its zone.
        rules = node.councils.get(council).rules
        set_time_zone(rules.time_zone if rules is not None else "")
        set_council_roles(node.councils.own_roles(council))  # its own roles by name
        kw = {k: v.in_zone() if isinstance(v, LocalTime) else v for k, v in kw.items()}
        return command(node, council, **kw)

    return run
