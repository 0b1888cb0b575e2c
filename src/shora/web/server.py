"""Running the web interface beside the sync loop, in one event loop (shora serve)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import signal
import socket
from collections.abc import Callable, Iterator

import uvicorn

from shora.services import locking
from shora.web import DEFAULT_PORT
from shora.web.app import create_app
from shora.web.community import Hall
from shora.web.state import Keeper

KEEP_ALIVE = 75  # seconds an idle connection stays open
PORTS_TO_TRY = 20  # if the default is taken (another node on this machine), the next ones


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: shora serve stops everything itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; port 0 is any, DEFAULT_PORT tries a few more."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    tries = PORTS_TO_TRY if port == DEFAULT_PORT else 1
    for offset in range(tries):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port + offset))
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE or offset == tries - 1:
                raise
            continue
        # Accepted sockets inherit this on Linux: a response's head and body go out at once
        # instead of waiting out the client's delayed acknowledgement (40 ms a request).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.listen(128)
        sock.setblocking(False)
        return sock
    raise AssertionError("unreachable")


def login_url(host: str, port: int, token: str) -> str:
    shown = "127.0.0.1" if host in ("127.0.0.1", "0.0.0.0") else host  # noqa: S104
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/login?token={token}"


async def serve_web(
    keeper: Keeper,
    sock: socket.socket,
    host: str,
    started: Callable[[int], None],
) -> None:
    """Serve the pages on `sock` until SIGINT or SIGTERM; then lock the profile."""
    port = int(sock.getsockname()[1])
    app = create_app(keeper, host=host, port=port)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        date_header=False,
        # As in community mode: a person reads a page for a while, and a connection
        # closed after uvicorn's 5 s could be closed just as the next request is sent
        # on it (the client then sees it reset, and not every client sends it again).
        timeout_keep_alive=KEEP_ALIVE,
    )
    server = _Uvicorn(config)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    web = asyncio.create_task(server.serve(sockets=[sock]))
    watcher = asyncio.create_task(keeper.watch_idle())
    asked = await locking.listen_for_lock(keeper.home, keeper.lock)  # shora lock
    signals = asyncio.create_task(locking.watch_dbus(keeper.lock))  # sleep, screen lock
    started(port)
    stop = asyncio.create_task(stopping.wait())
    await asyncio.wait({web, stop}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    watcher.cancel()
    signals.cancel()
    await asyncio.gather(web, watcher, signals, return_exceptions=True)
    stop.cancel()
    if asked is not None:
        asked.close()
        locking.lock_socket(keeper.home).unlink(missing_ok=True)
    await keeper.lock()


async def serve_community(
    hall: Hall,
    sock: socket.socket,
    host: str,
    names: list[str],
    started: Callable[[int], None],
) -> None:
    """Serve many people's pages on `sock` (over TLS with the hall's certificate) until
    SIGINT or SIGTERM; then lock every profile."""
    port = int(sock.getsockname()[1])
    cert = hall.certificate
    app = create_app(None, host=host, port=port, hall=hall, secure=cert is not None, names=names)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        date_header=False,
        # A phone reads a page for a while: keep its connection (and TLS session) open
        # rather than pay a new handshake on its slow CPU for the next page.
        timeout_keep_alive=KEEP_ALIVE,
        ssl_certfile=str(cert.cert) if cert is not None else None,
        ssl_keyfile=str(cert.key) if cert is not None else None,
    )
    server = _Uvicorn(config)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    web = asyncio.create_task(server.serve(sockets=[sock]))
    watcher = asyncio.create_task(hall.watch_idle())
    started(port)
    stop = asyncio.create_task(stopping.wait())
    await asyncio.wait({web, stop}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    watcher.cancel()
    await asyncio.gather(web, watcher, return_exceptions=True)
    stop.cancel()
    await hall.lock_all()


def community_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"https://{shown}:{port}/"
