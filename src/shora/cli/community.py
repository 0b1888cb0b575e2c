"""``shora community``: one node serving many people's profiles to their phones over
the local network (docs/web.md, "Community mode"; docs/threat-model.md says what
trusting such a node means)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from shora.errors import NotFound
from shora.i18n import N_, _, number
from shora.services.community import Community, certificate, local_addresses
from shora.web import DEFAULT_PORT

from .output import print_json
from .session import Session, json_option

COMMUNITY_ENV = "SHORA_COMMUNITY"
ANY = "0.0.0.0"  # noqa: S104 (every address: only with --lan)


def _dir_option(command: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--dir",
        "directory",
        type=click.Path(file_okay=False, path_type=Path),
        envvar=COMMUNITY_ENV,
        help=N_(
            "The community's directory (default: $SHORA_COMMUNITY, else beside the "
            "profile's directory, named shora-community)."
        ),
    )(command)


def _directory(ctx: click.Context, given: Path | None) -> Path:
    if given is not None:
        return given
    session: Session = ctx.obj
    return session.home.with_name(session.home.name + "-community")


@click.group(help=N_("Serve several people's profiles to their phones from one node."))
def community() -> None:
    pass


@community.command(
    "list",
    help=N_(
        "Who has a profile on this node: the names they chose, when each was made, and "
        "whether it is unlocked now."
    ),
)
@_dir_option
@json_option
@click.pass_context
def community_list(ctx: click.Context, directory: Path | None, as_json: bool) -> None:
    found = Community(_directory(ctx, directory))
    people, open_now = found.people(), found.open_now()
    if as_json:
        print_json(
            [
                {
                    "name": p.label,
                    "created": p.created().date().isoformat(),
                    "unlocked": p.key in open_now,
                }
                for p in people
            ]
        )
        return
    if not people:
        click.echo(_("No one has a profile on this node yet."))
    for person in people:
        state = _("unlocked now") if person.key in open_now else _("locked")
        click.echo(
            _("{name}  made {date}  {state}").format(
                name=person.label, date=person.created().date().isoformat(), state=state
            )
        )


@community.command(
    "code",
    help=N_(
        "The sign-up code a newcomer types to create a profile on this node; with --new, "
        "a new one (the old one stops working, on a running node too)."
    ),
)
@_dir_option
@click.option("--new", "new", is_flag=True, help=N_("Make a new code."))
@json_option
@click.pass_context
def community_code(ctx: click.Context, directory: Path | None, new: bool, as_json: bool) -> None:
    found = Community(_directory(ctx, directory))
    made = found.new_signup_code() if new else found.signup_code()
    if as_json:
        print_json({"code": made})
        return
    click.echo(_("Sign-up code: {code}").format(code=shown_code(made)))


def shown_code(code: str) -> str:
    """The code in groups of five digits, easier to read out."""
    return " ".join(code[i : i + 5] for i in range(0, len(code), 5))


@community.command(
    "remove",
    help=N_(
        "Destroy a person's profile on this node for good, as the panic wipe does: its "
        "keys are overwritten, then its files removed; a running node ends its sessions."
    ),
)
@_dir_option
@click.argument("name")
@click.option("--yes", is_flag=True, help=N_("Do not ask for confirmation."))
@click.pass_context
def community_remove(ctx: click.Context, directory: Path | None, name: str, yes: bool) -> None:
    found = Community(_directory(ctx, directory)).find(name)
    if found is None:
        raise NotFound(_("No one named {name} has a profile here.").format(name=name))
    if not yes:
        click.confirm(
            _("Delete the profile {name} and everything in it?").format(name=found.label),
            abort=True,
        )
    Community(_directory(ctx, directory)).wipe(found)
    click.echo(_("Deleted the profile {name}.").format(name=found.label))


@community.command(
    "panic",
    help=N_(
        "Destroy every profile on this node at once (with --all), as the panic wipe "
        "does; the sign-up code and the certificate stay. A running node ends every "
        "session within a second."
    ),
)
@_dir_option
@click.option("--all", "everyone", is_flag=True, help=N_("Every profile on this node."))
@click.option("--yes", is_flag=True, help=N_("Do not ask for confirmation."))
@click.pass_context
def community_panic(ctx: click.Context, directory: Path | None, everyone: bool, yes: bool) -> None:
    if not everyone:
        raise click.UsageError(
            _("Say --all: this destroys every profile on the node (one: community remove).")
        )
    found = Community(_directory(ctx, directory))
    if not yes:
        click.confirm(
            _("Destroy all {n} profiles on this node, for good?").format(
                n=number(len(found.people()))
            ),
            abort=True,
        )
    gone = found.wipe_all()
    click.echo(_("Destroyed {n} profiles.").format(n=number(len(gone))))


@community.command(
    "serve",
    help=N_(
        "Serve the pages over HTTPS to the people of this node, each with their own "
        "profile and passphrase; with --lan, to the phones on the local network."
    ),
)
@_dir_option
@click.option(
    "--lan",
    is_flag=True,
    help=N_(
        "Serve the pages on the local network (every address of this machine), and sync "
        "each unlocked profile there too."
    ),
)
@click.option(
    "--host",
    default=None,
    help=N_("Where the pages listen (default 127.0.0.1: this machine only)."),
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    help=N_("The port (default 8150, or the next free one; 0: any)."),
)
@click.option(
    "--interval", type=float, default=30.0, help=N_("Seconds between sync rounds (default 30).")
)
@click.option(
    "--lock-after",
    type=click.FloatRange(0),
    default=15.0,
    help=N_("Lock a profile after this many idle minutes (default 15; 0: never)."),
)
@click.option(
    "--max-people",
    type=click.IntRange(1),
    default=200,
    help=N_("At most this many profiles on the node (default 200)."),
)
@click.option(
    "--name",
    "node_name",
    default="",
    help=N_("The node's own name, shown on its pages (e.g. the street's or the workplace's)."),
)
@click.pass_context
def community_serve(
    ctx: click.Context,
    directory: Path | None,
    lan: bool,
    host: str | None,
    port: int,
    interval: float,
    lock_after: float,
    max_people: int,
    node_name: str,
) -> None:
    session: Session = ctx.obj
    root = _directory(ctx, directory)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    # The pages load only when served: every other command starts without them.
    from shora.ui.qr import code
    from shora.web.community import Hall
    from shora.web.server import bind, community_url, is_loopback, serve_community
    from shora.web.state import SyncSettings

    addresses = local_addresses() if lan else []
    if host is None:
        host = ANY if lan else "127.0.0.1"
    names = [*addresses, *([] if host in (ANY, "::") else [host])]
    cert = certificate(root, names)
    shown = next(iter(addresses), host if host not in (ANY, "::") else "127.0.0.1")
    if lan and not addresses and host in (ANY, "::"):
        click.echo(
            _(
                "Warning: no local network address found; give it with --host (on a phone "
                "sharing its hotspot, the hotspot's address)."
            ),
            err=True,
        )
    chosen = None if host in (ANY, "::") else host
    hall = Hall(
        root,
        lock_after=lock_after * 60,
        sync=SyncSettings(lan=lan, lan_address=chosen, interval=interval),
        insecure_test_kdf=session.insecure_test_kdf,
        max_people=max_people,
        certificate=cert,
        name=node_name,
    )
    for folder in hall.community.abandoned():  # a creation cut short by a stop
        hall.community.discard_folder(folder)
    if not is_loopback(host):
        click.echo(
            _(
                "Warning: the pages listen on {host}: anyone on this network can reach them; "
                "making a profile needs the sign-up code, and each profile its own passphrase."
            ).format(host=host),
            err=True,
        )
    sock = bind(host, port)

    def started(actual: int) -> None:
        url = community_url(shown, actual)
        hall.address = url
        people = len(hall.community.people())
        click.echo(_("Community node in {dir}: {n} profiles.").format(dir=root, n=number(people)))
        click.echo(_("Open on each phone: {url}").format(url=url))
        click.echo(_("Certificate fingerprint (SHA-256): {fp}").format(fp=cert.fingerprint))
        if sys.stdout.isatty():
            code(url).terminal(compact=True)
        signup = hall.community.signup_code()
        click.echo(
            _(
                "Sign-up code: {code} (give it only to the people of this node; a new one: "
                "shora community code --new)"
            ).format(code=shown_code(signup))
        )
        if sys.stdout.isatty():
            click.echo(_("To sign up, scan:"))
            code(f"{url}welcome?code={signup}").terminal(compact=True)
        click.echo(
            _(
                "Each profile syncs every {n} seconds while its person has it unlocked; "
                "a locked profile does not sync. Stop with Ctrl-C."
            ).format(n=number(int(interval)))
        )
        sys.stdout.flush()

    asyncio.run(serve_community(hall, sock, host, names, started))
    click.echo(_("Stopped."))
