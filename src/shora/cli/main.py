"""The ``shora`` group: global options, ``shora init``, and turning errors into one line."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import click
import click.formatting

from shora import __version__, load_msgspec
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

from .localise import keep_click_english, localise_click, localise_tree

if TYPE_CHECKING:
    pass

# Click's own words in the options below are made now, before the language is chosen:
# kept as written (they are shown through the catalogue later), so that making them
# does not go through the standard gettext module, which imports `locale` and looks
# for click's catalogues on disk at every start.
keep_click_english()

# The command modules are imported when their command runs (or its help is asked for):
# most commands need neither the sync runner, the web server, LAN discovery nor QR
# codes, and importing them all made every command start a quarter-second late.
# name -> (module under shora.cli, attribute, its help as the listing shows it; a test
# checks these against the commands themselves).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "council": ("councils", "council", N_("Found, list, show and rename councils.")),
    "invite": (
        "members",
        "invite",
        N_("Invite someone: prints an invitation to give them (text, link, QR code)."),
    ),
    "join": (
        "members",
        "join",
        N_("Answer an invitation: prints a join request to send back to a member."),
    ),
    "admit": (
        "members",
        "admit",
        N_("Vouch for a join request; it is admitted once enough members have."),
    ),
    "members": ("members", "members", N_("List a council's members and former members.")),
    "recover": (
        "recovery",
        "recover",
        N_(
            "Ask for your place in a council again after losing your device: prints a "
            "recovery request for its members."
        ),
    ),
    "backup": (
        "recovery",
        "backup_keys",
        N_(
            "Leave a backup of your keys in a council with members you trust: any NEEDED of "
            "them, with your passphrase, can give them back if your device is lost."
        ),
    ),
    "release-share": (
        "recovery",
        "release_share",
        N_(
            "Give someone asking for their place your share of their key backup, sealed to "
            "their new profile."
        ),
    ),
    "restore": (
        "recovery",
        "restore",
        N_("Take your keys back from shares your trusted members gave you."),
    ),
    "vouch-recovery": (
        "recovery",
        "vouch_recovery",
        N_(
            "Vouch that a recovery request comes from the member it names; their place "
            "passes to the new key once enough members have."
        ),
    ),
    "remove": (
        "members",
        "remove",
        N_("Vouch to remove a member; they are removed once the rules allow it."),
    ),
    "leave": (
        "members",
        "leave",
        N_("Leave a council. You keep what you have, but receive nothing new."),
    ),
    "post": (
        "posts",
        "post",
        N_("Write to a council: a message, or with --title an announcement."),
    ),
    "log": ("posts", "log", N_("Show a council's events, newest first.")),
    "bundle": (
        "bundles",
        "bundle",
        N_("Carry events between profiles on a file (a USB stick, a messenger ...)."),
    ),
    "relays": (
        "network",
        "relays",
        N_("The relays each council syncs through, and the proxy to reach them."),
    ),
    "peers": (
        "network",
        "peers",
        N_("The relays and local peers this node has synced with, and how it went."),
    ),
    "sync": ("network", "sync", N_("Sync now, once, with every relay of every council.")),
    "serve": (
        "network",
        "serve",
        N_(
            "Run the node: the web interface on this computer, syncing with relays, and with --lan serving the local network."  # noqa: E501
        ),
    ),
    "community": (
        "community",
        "community",
        N_("Serve several people's profiles to their phones from one node."),
    ),
    "propose": ("decisions", "propose", N_("Put a proposal to the council's vote.")),
    "amend": (
        "decisions",
        "amend",
        N_("Propose a new text for a proposal; its author accepts it, or the council votes."),
    ),
    "vote": ("decisions", "vote", N_("Cast your ballot, or change it until the vote is closed.")),
    "close": (
        "decisions",
        "close",
        N_("Close a vote after its deadline and grace period: the result is final."),
    ),
    "result": (
        "decisions",
        "result",
        N_("Show the council's proposals, or one proposal and its result."),
    ),
    "secret": (
        "secret",
        "secret",
        N_("Votes by secret ballot: nobody learns how anyone voted, only the result."),
    ),
    "pledge": (
        "pledges",
        "pledge",
        N_("Pledges: I will do it if enough of us pledge the same; nobody learns who."),
    ),
    "minutes": ("decisions", "minutes", N_("Write and read the council's minutes.")),
    "task": ("decisions", "task", N_("Tasks: who does what by when, and how far they got.")),
    "rules": (
        "governance",
        "rules",
        N_("Show the council's rules, or propose to change them (--set)."),
    ),
    "roles": ("governance", "roles", N_("Show who holds which role, and until when.")),
    "elect": (
        "governance",
        "elect",
        N_("Open an election to a role (IRV for one seat, STV for several)."),
    ),
    "recall": (
        "governance",
        "recall",
        N_("Support recalling a member from a role; open the vote when enough do."),
    ),
    "ratify": (
        "governance",
        "ratify",
        N_("Put an emergency action to the council's vote to ratify it."),
    ),
    "emergencies": (
        "governance",
        "emergencies",
        N_("Show emergency actions and whether they were ratified."),
    ),
    "federation": (
        "federation",
        "federation",
        N_("Councils of councils: delegates seated on mandates the base can recall."),
    ),
    "mandate": (
        "federation",
        "mandate",
        N_("Mandates: what your council gives its delegate, signed by its members."),
    ),
    "areas": (
        "aid_areas",
        "areas",
        N_(
            "Show the council's areas, or replace them: give their names, in any script (ids are made for them; an area already on the map keeps its id)."  # noqa: E501
        ),
    ),
    "need": ("aid_items", "need", N_("Post a need (or list the open needs with --list).")),
    "offer": (
        "aid_items",
        "offer",
        N_("Post an offer of help (or list the open offers with --list)."),
    ),
    "match": ("aid_items", "match", N_("Propose who gives what to whom; nothing is committed.")),
    "commit": (
        "aid_items",
        "commit",
        N_("Commit an offer to a need (confirming a proposed match)."),
    ),
    "dispatch": ("aid_items", "dispatch", N_("Record that (part of) a commitment is on its way.")),
    "fulfil": (
        "aid_items",
        "fulfil",
        N_("Record a delivery against a commitment (or a need, with --need)."),
    ),
    "checkin": (
        "aid_safety",
        "checkin",
        N_("Tell the council how you are: safe, need_help or injured."),
    ),
    "rollcall": (
        "aid_safety",
        "rollcall",
        N_("Start a roll call, or show who answered the latest one (--show)."),
    ),
    "alert": (
        "aid_safety",
        "alert",
        N_("Raise an alert, confirm or retract one, or list the active ones."),
    ),
    "cancel": (
        "aid_items",
        "cancel",
        N_("Withdraw your need or offer, or mark it a duplicate of another."),
    ),
    "note": (
        "aid_items",
        "note",
        N_(
            "Add a private note to a need (such as where to find the door), readable only by the people handling it; or show the notes with --show."  # noqa: E501
        ),
    ),
    "summary": (
        "aid_areas",
        "summary",
        N_(
            "Counts of the open needs and offers by category, triage level and area, with no names and no free text: to share with a federation (--json) or with humanitarian organisations (--csv FILE, with HXL hashtags)."  # noqa: E501
        ),
    ),
    "forget": (
        "aid_areas",
        "forget",
        N_(
            "Forget now, on this device, the needs, offers, alerts and check-ins that are over: expired, or closed a week ago (every aid command does it as it starts)."  # noqa: E501
        ),
    ),
    "comment": (
        "discussion",
        "comment",
        N_("Comment on a proposal, need, offer or task, or reply to a comment."),
    ),
    "comments": (
        "discussion",
        "comments",
        N_("Show the comments on a proposal, need, offer or task."),
    ),
    "fund": (
        "fund",
        "fund",
        N_("The strike fund: pledges, receipts, disbursements and the ledger."),
    ),
    "stock": (
        "care",
        "stock",
        N_("What the council holds together: add, draw from and list its stocks."),
    ),
    "skill": (
        "care",
        "skill",
        N_("The skills register: who can do what, as members choose to say."),
    ),
    "deadman": (
        "deadman_missing",
        "deadman",
        N_("A dead-man timer: if you have not checked in within N hours, alert them."),
    ),
    "missing": (
        "deadman_missing",
        "missing",
        N_("Missing people, private to the council (after Person Finder, PFIF)."),
    ),
    "profile": ("profile", "profile", N_("Your profile on this device: the duress passphrase.")),
    "panic": (
        "profile",
        "panic",
        N_(
            "Destroy this profile now, for good: its keys are overwritten and its files removed, and a running node stops. Nothing opens it again, not even the passphrase."  # noqa: E501
        ),
    ),
    "lock": (
        "profile",
        "lock",
        N_("Lock the profile that 'shora serve' holds open: its keys leave memory at once."),
    ),
}
# What `shora.cli.output.BIDI_ISOLATES` strips from arguments (the isolates our own
# output wraps names in), without importing the output module and the node with it.
BIDI_ISOLATES = str.maketrans("", "", "\u2066\u2067\u2068\u2069")


def _terminal_columns() -> int:
    """The terminal's width as `shutil.get_terminal_size` gives it (COLUMNS, else the
    terminal on stdout, else 80), without importing shutil and the archive modules
    it brings for a help that is printed at once."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class ShoraContext(click.Context):
    """The group's context: its help formatter measures the terminal as click does."""

    def make_formatter(self) -> click.HelpFormatter:
        width = self.terminal_width or click.formatting.FORCED_WIDTH
        if width is None:
            width = max(min(_terminal_columns(), self.max_content_width or 80) - 2, 50)
        return self.formatter_class(width=width, max_width=self.max_content_width)


class LazyGroup(click.Group):
    """The `shora` group: its commands are imported when first looked up."""

    context_class = ShoraContext

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attr, _help = COMMANDS[cmd_name]
            load_msgspec()  # without typing_extensions: most command modules import it
            command = getattr(importlib.import_module(f"shora.cli.{module}"), attr)
            localise_tree(command)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List every command with its help, importing none that is not loaded yet."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None:
                listed = click.Command(name, help=_(COMMANDS[name][2]))
                rows.append((name, listed.get_short_help_str(limit)))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)


DEBUG_ENV = "SHORA_DEBUG"
INSECURE_KDF_WARNING = N_(
    "WARNING: insecure test key derivation is on: profiles made now can be cracked in "
    "seconds, and such profiles are opened. For tests only: never keep anything real in them."
)
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(
    cls=LazyGroup,
    context_settings=CONTEXT_SETTINGS,
    help=N_(
        "Shora: councils and mutual aid that keep working when the network is cut. "
        "Start with 'shora init', then create a council or join one."
    ),
)
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    help=N_("The profile's directory (default: $SHORA_HOME, else your data directory)."),
)
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False),
    help=N_("Read the passphrase from the first line of this file (else $SHORA_PASSPHRASE)."),
)
@click.option(
    "--lang",
    type=click.Choice(SUPPORTED),
    help=N_("Language of the output: fa or en (default: from $SHORA_LANG or $LANG)."),
)
@click.option("--insecure-test-kdf", "insecure_kdf", is_flag=True, hidden=True)
@click.version_option(__version__, "--version", prog_name="shora", message="%(prog)s %(version)s")
@click.pass_context
def cli(
    ctx: click.Context,
    home: str | None,
    passphrase_file: str | None,
    lang: str | None,
    insecure_kdf: bool,
) -> None:
    # What main() asks to run before any command (hardening the process): here, not
    # at the start, as --help and --version never get here and need none of it.
    if isinstance(ctx.obj, BeforeCommand):
        ctx.obj.run()
    if lang is not None:
        set_language(lang)
    from pathlib import Path

    from shora.services import profiles as profile  # not for --help: it loads the crypto

    from .session import insecure_test_kdf

    insecure = insecure_test_kdf(insecure_kdf)
    if insecure:
        click.echo(_(INSECURE_KDF_WARNING), err=True)
    from .session import Session

    ctx.obj = Session(
        Path(home) if home is not None else profile.default_home(),
        Path(passphrase_file) if passphrase_file is not None else None,
        insecure_test_kdf=insecure,
    )


@cli.command(
    help=N_("Create a profile: a passphrase-protected place for your councils and keys."),
)
@click.pass_context
def init(ctx: click.Context) -> None:
    from shora.node import Node
    from shora.services import profiles as profile

    session = ctx.obj
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


class BeforeCommand:
    """What to run once the arguments are parsed and a command is about to run."""

    __slots__ = ("run",)

    def __init__(self, run: Callable[[], None]) -> None:
        self.run = run


def run(args: Sequence[str], *, before_command: Callable[[], None] | None = None) -> int:
    """Run the command line with `args`; return the exit code instead of exiting.
    `before_command` is called before any command runs (not for --help or --version)."""
    set_language(_language(args))
    localise_click()
    localise_tree(cli)
    try:
        code = cli.main(
            args=[arg.translate(BIDI_ISOLATES) for arg in args],
            prog_name="shora",
            standalone_mode=False,
            obj=BeforeCommand(before_command) if before_command is not None else None,
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


def _harden() -> None:
    from shora.services.hardening import harden_process

    harden_process()  # before any key is in memory: no core dump, no debugger


def main() -> None:
    sys.exit(run(sys.argv[1:], before_command=_harden))


if __name__ == "__main__":
    main()
