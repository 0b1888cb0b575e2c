"""``shora relays``, ``shora peers``, ``shora sync`` and ``shora serve``: the network carriers."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shora.i18n import N_, _, format_time, number
from shora.services import profiles
from shora.web import DEFAULT_PORT

from .output import council_name, isolate, print_json, short, table
from .session import PASSPHRASE_ENV, Session, pass_session

# `shora relays` and `shora peers` only read: the sync engine, asyncio and the lock
# socket are imported by the commands that run them.
if TYPE_CHECKING:
    import asyncio

    from shora.services.network import PeerOutcome, SyncProgress

SYNC_TIMEOUT = 600.0
"""Seconds `shora sync` may take in all (a first sync may bring a long history)."""


@click.group(help=N_("The relays each council syncs through, and the proxy to reach them."))
def relays() -> None:
    pass


@relays.command("add", help=N_("Sync this council through a relay (ws://HOST:PORT or wss://HOST)."))
@click.argument("council_ref", metavar="COUNCIL")
@click.argument("url")
@pass_session
def relays_add(session: Session, council_ref: str, url: str) -> None:
    node = session.open()
    council = node.find_council(council_ref)
    url = node.network.add_relay(council, url)
    name = isolate(council_name(node.councils.get(council)))
    click.echo(_("{council} now syncs through {url}.").format(council=name, url=url))


@relays.command("remove", help=N_("Stop syncing this council through a relay."))
@click.argument("council_ref", metavar="COUNCIL")
@click.argument("url")
@pass_session
def relays_remove(session: Session, council_ref: str, url: str) -> None:
    node = session.open()
    council = node.find_council(council_ref)
    if not node.network.remove_relay(council, url):
        raise click.ClickException(_("{url} was not one of this council's relays.").format(url=url))
    click.echo(_("Removed {url}.").format(url=url))


@relays.command("list", help=N_("List the relays of every council (or of one)."))
@click.argument("council_ref", metavar="COUNCIL", required=False)
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON for scripts."))
@pass_session
def relays_list(session: Session, council_ref: str | None, as_json: bool) -> None:
    node = session.open()
    council = node.find_council(council_ref) if council_ref else None
    book = node.network
    rows = book.relays(council)
    if as_json:
        print_json(
            {"proxy": book.proxy(), "relays": [{"council": c.hex(), "url": url} for c, url in rows]}
        )
        return
    names = {c.id: council_name(c) for c in node.councils.all()}
    if not rows:
        click.echo(_("No relays yet: add one with 'shora relays add COUNCIL URL'."))
    else:
        table(
            [
                [_("Council"), _("Relay")],
                *([isolate(names.get(c, short(c))), url] for c, url in rows),
            ]
        )
    proxy = book.proxy()
    if proxy:
        click.echo(_("Through the proxy {proxy}.").format(proxy=proxy))


@relays.command(
    "proxy",
    help=N_("Reach relays through a proxy, e.g. socks5h://127.0.0.1:9050 for Tor; 'none' to stop."),
)
@click.argument("url")
@pass_session
def relays_proxy(session: Session, url: str) -> None:
    node = session.open()
    book = node.network
    book.set_proxy(None if url.lower() == "none" else url)
    proxy = book.proxy()
    click.echo(
        _("Relays are reached through {proxy}.").format(proxy=proxy)
        if proxy
        else _("Relays are reached directly.")
    )


@click.command(help=N_("The relays and local peers this node has synced with, and how it went."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON for scripts."))
@pass_session
def peers(session: Session, as_json: bool) -> None:
    node = session.open()
    known = node.network.peers()
    if as_json:
        print_json(
            [
                {
                    "address": p.address,
                    "kind": p.kind,
                    "last_contact": p.last_contact,
                    "events_in": p.events_in,
                    "events_out": p.events_out,
                    "failures": p.failures,
                    "last_error": p.last_error,
                }
                for p in known
            ]
        )
        return
    if not known:
        click.echo(_("No peers yet: add a relay, or run 'shora serve --lan' on the local network."))
        return
    rows = [[_("Peer"), _("Kind"), _("Last contact"), _("In"), _("Out"), _("Last error")]]
    for p in known:
        rows.append(
            [
                p.address,
                _("relay") if p.kind == "relay" else _("local network"),
                format_time(p.last_contact) if p.last_contact else _("never"),
                number(p.events_in),
                number(p.events_out),
                p.last_error or "",
            ]
        )
    table(rows)


def _report(outcomes: list[PeerOutcome]) -> int:
    failed = 0
    for o in outcomes:
        if o.error:
            failed += 1
            click.echo(_("{peer}: failed: {error}").format(peer=o.address, error=o.error))
        else:
            click.echo(
                _("{peer}: received {received}, sent {sent}.").format(
                    peer=o.address, received=number(o.received), sent=number(o.sent)
                )
            )
            if not o.complete:
                why = "; ".join(o.shortfalls)
                click.echo(_("{peer}: not complete: {why}").format(peer=o.address, why=why))
        if o.waiting:
            click.echo(
                _("{peer}: {n} events wait for earlier ones that have not come.").format(
                    peer=o.address, n=number(o.waiting)
                )
            )
    return failed


@click.command(help=N_("Sync now, once, with every relay of every council."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON for scripts."))
@pass_session
def sync(session: Session, as_json: bool) -> None:
    node = session.open()
    if not node.network.relays():
        raise click.ClickException(_("No relays to sync with: add one with 'shora relays add'."))
    shown: dict[str, str] = {}

    def progress(peer: str, state: SyncProgress) -> None:
        line = _(
            "{peer}: {phase}: received {fetched} of {to_fetch}, sent {sent} of {to_send}"
        ).format(
            peer=peer,
            phase=state.phase,
            fetched=number(state.fetched),
            to_fetch=number(state.to_fetch),
            sent=number(state.sent),
            to_send=number(state.to_send),
        )
        if sys.stderr.isatty() and shown.get(peer) != line:
            shown[peer] = line
            click.echo("\r" + line[:100].ljust(100), nl=False, err=True)

    import asyncio

    outcomes = asyncio.run(node.network.sync_round(timeout=SYNC_TIMEOUT, progress=progress))
    if shown:
        click.echo("", err=True)
    if as_json:
        print_json(
            [
                {
                    "address": o.address,
                    "kind": o.kind,
                    "received": o.received,
                    "sent": o.sent,
                    "error": o.error,
                    "complete": o.complete,
                    "shortfalls": list(o.shortfalls),
                    "waiting": o.waiting,
                    "waiting_parents": o.waiting_parents,
                    "mode": o.mode,
                }
                for o in outcomes
            ]
        )
    elif _report(outcomes) == len(outcomes) and outcomes:
        raise click.ClickException(_("No relay could be reached."))


@click.command(
    help=N_(
        "Run the node: the web interface on this computer, syncing with relays, "
        "and with --lan serving the local network."
    )
)
@click.option(
    "--lan",
    is_flag=True,
    help=N_("Run a relay on the local network and find other nodes there (no internet needed)."),
)
@click.option("--lan-address", help=N_("The local address to serve on (default: found)."))
@click.option("--lan-port", type=int, default=0, help=N_("The port to serve on (default: any)."))
@click.option(
    "--interval", type=float, default=30.0, help=N_("Seconds between sync rounds (default 30).")
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    help=N_("The web interface's port (default 8150, or the next free one; 0: any)."),
)
@click.option(
    "--host",
    default="127.0.0.1",
    help=N_("Where the web interface listens (default 127.0.0.1: this computer only)."),
)
@click.option(
    "--lock-after",
    type=click.FloatRange(0),
    default=15.0,
    help=N_("Lock the profile after this many idle minutes (default 15; 0: never)."),
)
@click.option("--open", "open_browser", is_flag=True, help=N_("Open the web interface."))
@click.option("--no-web", is_flag=True, help=N_("Only sync: no web interface."))
@click.pass_context
def serve(
    ctx: click.Context,
    lan: bool,
    lan_address: str | None,
    lan_port: int,
    interval: float,
    port: int,
    host: str,
    lock_after: float,
    open_browser: bool,
    no_web: bool,
) -> None:
    session: Session = ctx.obj
    if no_web:
        _serve_sync_only(ctx, session, lan, lan_address, lan_port, interval)
        return
    # The pages load only when served: every other command starts without them.
    from shora.web.server import bind, is_loopback, login_url, serve_web
    from shora.web.state import Keeper, SyncSettings

    settings = SyncSettings(lan, lan_address, lan_port, interval)
    keeper = Keeper(
        session.home,
        lock_after=lock_after * 60,
        sync=settings,
        insecure_test_kdf=session.insecure_test_kdf,
    )
    given = session.passphrase_file is not None or bool(os.environ.get(PASSPHRASE_ENV))
    if not is_loopback(host):
        click.echo(
            _(
                "Warning: the web interface listens on {host}, so other devices can reach "
                "it; anyone holding the login link can use this profile."
            ).format(host=host),
            err=True,
        )
    sock = bind(host, port)

    def started(actual: int) -> None:
        url = login_url(host, actual, keeper.login_token or "")
        click.echo(_("Open Shora in your browser (the link works once): {url}").format(url=url))
        click.echo(
            _("Syncing every {n} seconds once unlocked; stop with Ctrl-C.").format(
                n=number(int(interval))
            )
        )
        sys.stdout.flush()
        if open_browser:
            import webbrowser

            webbrowser.open(url)

    async def main() -> None:
        if given and profiles.exists(session.home):
            await keeper.unlock(session.passphrase())
            if keeper.server is not None and keeper.server.relay is not None:
                click.echo(
                    _("Serving the local network at {url}.").format(url=keeper.server.relay.url)
                )
        await serve_web(keeper, sock, host, started)

    import asyncio

    asyncio.run(main())
    click.echo(_("Stopped."))


def _serve_sync_only(
    ctx: click.Context,
    session: Session,
    lan: bool,
    lan_address: str | None,
    lan_port: int,
    interval: float,
) -> None:
    if not profiles.exists(session.home) and sys.stdin.isatty():
        # A fresh machine: create the profile first, as 'shora init' does.
        click.echo(_("No profile yet in {home}: let's create one.").format(home=session.home))
        assert ctx.parent is not None
        init = ctx.parent.command.get_command(ctx.parent, "init")  # type: ignore[attr-defined]
        ctx.invoke(init)
    import asyncio

    from shora.services import locking

    node = session.open()
    server = node.network.server(
        lan=lan, lan_address=lan_address, lan_port=lan_port, interval=interval
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.stopping.set)

        async def stop() -> None:  # with no pages to unlock again, to lock is to stop
            server.stopping.set()

        asked = await locking.listen_for_lock(session.home, stop)
        watch = asyncio.create_task(_stop_on_sleep_or_panic(session.home, server.stopping))
        signals = asyncio.create_task(locking.watch_dbus(stop))
        await server.start()
        if server.relay is not None:
            click.echo(_("Serving the local network at {url}.").format(url=server.relay.url))
        click.echo(
            _("Syncing every {n} seconds; stop with Ctrl-C.").format(n=number(int(interval)))
        )
        sys.stdout.flush()
        await server.run()
        watch.cancel()
        signals.cancel()
        if asked is not None:
            asked.close()
            locking.lock_socket(session.home).unlink(missing_ok=True)

    asyncio.run(main())
    click.echo(_("Stopped."))


async def _stop_on_sleep_or_panic(home: Path, stopping: asyncio.Event) -> None:
    """Stop the sync-only node when the host slept or its keystore is gone."""
    import asyncio

    from shora.services import locking

    watch = locking.SleepWatch()
    while not stopping.is_set():
        await asyncio.sleep(1.0)
        if watch.slept() or not profiles.exists(home):
            stopping.set()
