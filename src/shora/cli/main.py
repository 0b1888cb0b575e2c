"""The ``shora`` group: global options, ``shora init``, and turning errors into one line."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from shora.errors import (
    BundleDamaged,
    InvalidInput,
    NotAllowed,
    NotFound,
    ProfileError,
    RemoteError,
    ShoraError,
)
from shora.i18n import N_, SUPPORTED, _, language_from_env, set_language
from shora.kernel import profile
from shora.node import Node

from . import (
    aid,
    bundles,
    councils,
    decisions,
    federation,
    governance,
    members,
    network,
    posts,
    safety_more,
    stock_skill,
)
from .localise import localise_click, localise_tree
from .output import BIDI_ISOLATES
from .session import Session, insecure_test_kdf, pass_session

DEBUG_ENV = "SHORA_DEBUG"
INSECURE_KDF_WARNING = N_(
    "WARNING: insecure test key derivation is on: profiles made now can be cracked in "
    "seconds, and such profiles are opened. For tests only: never keep anything real in them."
)
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(
    context_settings=CONTEXT_SETTINGS,
    help=N_(
        "Shora: councils and mutual aid that keep working when the network is cut. "
        "Start with 'shora init', then create a council or join one."
    ),
)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help=N_("The profile's directory (default: $SHORA_HOME, else your data directory)."),
)
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=N_("Read the passphrase from the first line of this file (else $SHORA_PASSPHRASE)."),
)
@click.option(
    "--lang",
    type=click.Choice(SUPPORTED),
    help=N_("Language of the output: fa or en (default: from $SHORA_LANG or $LANG)."),
)
@click.option("--insecure-test-kdf", "insecure_kdf", is_flag=True, hidden=True)
@click.pass_context
def cli(
    ctx: click.Context,
    home: Path | None,
    passphrase_file: Path | None,
    lang: str | None,
    insecure_kdf: bool,
) -> None:
    if lang is not None:
        set_language(lang)
    insecure = insecure_test_kdf(insecure_kdf)
    if insecure:
        click.echo(_(INSECURE_KDF_WARNING), err=True)
    home = home if home is not None else profile.default_home()
    ctx.obj = Session(home, passphrase_file, insecure_test_kdf=insecure)


@cli.command(
    help=N_("Create a profile: a passphrase-protected place for your councils and keys."),
)
@pass_session
def init(session: Session) -> None:
    if profile.exists(session.home):
        raise ProfileError(_("a profile already exists in {home}").format(home=session.home))
    weak = session.insecure_test_kdf
    limits = profile.INSECURE_TEST_KDF if weak else None
    passphrase = session.passphrase(new=True)
    with Node.create(session.home, passphrase, kdf_limits=limits, allow_weak_kdf=weak):
        pass
    click.echo(_("Profile created in {home}.").format(home=session.home))
    click.echo(
        _("Keep the passphrase safe: without it nobody can open this profile, not even you.")
    )
    click.echo(_("Next: create a council with 'shora council create NAME --as YOUR-NAME',"))
    click.echo(
        _("or ask a member for an invitation and run 'shora join INVITATION --as YOUR-NAME'.")
    )


for _command in (
    councils.council,
    members.invite,
    members.join,
    members.admit,
    members.members,
    members.remove,
    members.leave,
    posts.post,
    posts.log,
    bundles.bundle,
    network.relays,
    network.peers,
    network.sync,
    network.serve,
    decisions.propose,
    decisions.amend,
    decisions.vote,
    decisions.close,
    decisions.result,
    decisions.minutes,
    decisions.task,
    *governance.COMMANDS,
    *federation.COMMANDS,
    aid.areas,
    aid.need,
    aid.offer,
    aid.match,
    aid.commit,
    aid.dispatch,
    aid.fulfil,
    aid.checkin,
    aid.rollcall,
    aid.alert,
    aid.cancel,
    aid.note,
    aid.summary,
    aid.forget,
    stock_skill.stock,
    stock_skill.skill,
    safety_more.deadman,
    safety_more.missing,
):
    cli.add_command(_command)


# --- entry point -------------------------------------------------------------------


def _error_prefix(error: ShoraError) -> str:
    if isinstance(error, ProfileError):
        return _("Error (profile): ")
    if isinstance(error, NotFound):
        return _("Error (not found): ")
    if isinstance(error, NotAllowed):
        return _("Error (not allowed): ")
    if isinstance(error, InvalidInput):
        return _("Error (invalid input): ")
    if isinstance(error, BundleDamaged):
        return _("Error (damaged bundle): ")
    if isinstance(error, RemoteError):
        return _("Error (refused data): ")
    return _("Error: ")


def _fail(message: str, code: int) -> int:
    click.echo(message.replace("\n", " "), err=True)
    return code


def _language(args: Sequence[str]) -> str:
    """The language asked for by --lang (before the command runs), else by the environment."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args) and args[i + 1] in SUPPORTED:
            return args[i + 1]
        if arg.startswith("--lang=") and arg[7:] in SUPPORTED:
            return arg[7:]
    return language_from_env(os.environ)


def run(args: Sequence[str]) -> int:
    """Run the command line with `args`; return the exit code instead of exiting."""
    set_language(_language(args))
    localise_click()
    localise_tree(cli)
    try:
        code = cli.main(
            args=[arg.translate(BIDI_ISOLATES) for arg in args],
            prog_name="shora",
            standalone_mode=False,
        )
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help())
        return 0
    except click.UsageError as exc:
        hint = ""
        if exc.ctx is not None:
            hint = " " + _("(see '{command} --help')").format(command=exc.ctx.command_path)
        return _fail(_("Error: ") + exc.format_message() + hint, exc.exit_code)
    except click.ClickException as exc:
        return _fail(_("Error: ") + exc.format_message(), exc.exit_code)
    except ShoraError as exc:
        return _fail(_error_prefix(exc) + str(exc), 1)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        return _fail(_("Error: ") + (exc.strerror or str(exc)) + where, 1)
    except (click.Abort, KeyboardInterrupt, EOFError) as exc:
        interrupted = isinstance(exc, KeyboardInterrupt) or isinstance(
            exc.__cause__, KeyboardInterrupt
        )
        return _fail(_("Stopped."), 130 if interrupted else 1)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except Exception as exc:  # a bug: one line, unless SHORA_DEBUG asks for more
        if os.environ.get(DEBUG_ENV) == "1":
            raise
        return _fail(
            _("Unexpected error (set SHORA_DEBUG=1 for details): ")
            + f"{type(exc).__name__}: {exc}",
            1,
        )
    return code if isinstance(code, int) else 0


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
