"""The embedded relay: a node's envelopes served as a Nostr relay (NIP-01 and NIP-77).

Each client connection is a :class:`~shora.sync.relay_connection.RelayConnection`
(sans I/O: the protocol, its limits and NIP-42 AUTH). :class:`EmbeddedRelay` runs them
on the ``websockets`` server: a frame size cap, a cap on connections, an idle timeout,
and a bounded queue per connection for live events (a client that does not read them
is disconnected).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.server import Server, ServerConnection
from websockets.http11 import Request, Response

from shora.addresses import counted_address
from shora.errors import RemoteError
from shora.kernel import nip01
from shora.sync import auth
from shora.sync.relay_connection import RelayConnection, RelayLimits, RelayView

SETTLE_DELAY = 0.5
"""Seconds after an envelope accepted from a client before the node's housekeeping runs
for what came in meanwhile (once for a burst, never per event)."""


BATCH_WAIT = 0.002
"""Seconds the relay waits, after an EVENT, for the client's next message to store it
in the same transaction (it answers at once anything that is not an EVENT)."""


@dataclass(eq=False, slots=True)
class _Peer:
    ws: ServerConnection
    connection: RelayConnection
    outbox: asyncio.Queue[str]
    address: str
    opened: float


class EmbeddedRelay:
    """A node's relay on a websocket server (the LAN carrier, docs/sync.md §2.2)."""

    def __init__(
        self,
        view: RelayView,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        limits: RelayLimits | None = None,
        negentropy: bool = True,
        clock: Callable[[], float] = time.monotonic,
        require_auth: bool = True,
    ) -> None:
        self.view = view
        # NIP-42 AUTH before anything moves, when the view holds keys to check proofs with.
        self.keyring: auth.Keyring | None = (
            view if require_auth and isinstance(view, auth.Keyring) else None
        )
        self._challenge_epochs: tuple[float, list[Any]] = (-1e9, [])
        self.host = host
        self.requested_port = port
        self.limits = limits or RelayLimits()
        self.negentropy = negentropy
        self.clock = clock
        self._server: Server | None = None
        self._peers: set[_Peer] = set()
        self._closing: set[asyncio.Task[None]] = set()
        # The view's housekeeping for what clients uploaded (NodeEnvelopes.settle).
        self._settle: Callable[[], object] | None = getattr(view, "settle", None)
        self._settling: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        self._server = await websockets.serve(
            self._serve,
            self.host,
            self.requested_port,
            max_size=self.limits.max_message_bytes,
            max_queue=8,
            open_timeout=10,
            close_timeout=5,
            ping_interval=30,
            ping_timeout=30,
            process_request=self._admit,
        )

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the relay is not running")
        port: int = next(iter(self._server.sockets)).getsockname()[1]
        return port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    @property
    def connections(self) -> int:
        return len(self._peers)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        for task in list(self._closing):
            task.cancel()
        self._settle_now()

    def _settle_soon(self) -> None:
        """Run the view's housekeeping SETTLE_DELAY seconds after an upload (once for
        every upload until then)."""
        if self._settle is None or self._settling is not None:
            return
        self._settling = asyncio.get_running_loop().call_later(SETTLE_DELAY, self._settle_now)

    def _settle_now(self) -> None:
        if self._settling is not None:
            self._settling.cancel()
            self._settling = None
        if self._settle is not None:
            self._settle()

    def broadcast(self, raw: bytes) -> None:
        """Push an envelope the node took in some other way to live subscriptions."""
        try:
            envelope = nip01.decode(raw)
        except RemoteError:
            return
        self._push(envelope, raw)

    # --- internals ---

    def _admit(self, ws: ServerConnection, request: Request) -> Response | None:
        if len(self._peers) >= self.limits.max_connections:
            return ws.respond(503, "too many connections\n")
        address = _address(ws)
        if sum(p.address == address for p in self._peers) >= self.limits.max_per_address:
            return ws.respond(503, "too many connections from this address\n")
        return None

    def _left(self, peer: _Peer, last: float) -> tuple[float, str]:
        """How much longer this connection may stay silent, and why it would be closed:
        less long when the relay is nearly full, and, until it proves a key, no longer
        than its time to prove one."""
        limits, now = self.limits, self.clock()
        wait = limits.idle_timeout
        if 4 * len(self._peers) >= 3 * limits.max_connections:
            wait = min(wait, limits.busy_idle_timeout)
        left, why = wait - (now - last), "idle for too long"
        if not peer.connection.authenticated:
            to_prove = limits.auth_timeout - (now - peer.opened)
            if to_prove < left:
                left, why = to_prove, "no key proven in time"
        return left, why

    def _push(self, envelope: nip01.Envelope, raw: bytes) -> None:
        for peer in list(self._peers):
            for text in peer.connection.deliver(envelope, raw):
                try:
                    peer.outbox.put_nowait(text)
                except asyncio.QueueFull:
                    self._close_later(peer.ws, "not reading its live events")
                    break

    def _close_later(self, ws: ServerConnection, reason: str) -> None:
        task = asyncio.get_running_loop().create_task(ws.close(1008, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _serve(self, ws: ServerConnection) -> None:
        address = _address(ws)
        if len(self._peers) >= self.limits.max_connections or (
            sum(p.address == address for p in self._peers) >= self.limits.max_per_address
        ):
            await ws.close(1013, "too many connections")
            return
        challenge = None
        if self.keyring is not None:
            at, epochs = self._challenge_epochs
            if self.clock() - at > 5:  # a burst of connections reads the keys once
                epochs = self.keyring.recent_epochs()
                self._challenge_epochs = (self.clock(), epochs)
            challenge = auth.challenge(epochs, secrets.token_bytes(16), self.url)
        connection = RelayConnection(
            self.view,
            self.limits,
            clock=self.clock,
            negentropy=self.negentropy,
            challenge=challenge,
            keyring=self.keyring,
        )
        peer = _Peer(ws, connection, asyncio.Queue(self.limits.max_outbox), address, self.clock())
        self._peers.add(peer)
        for text in connection.greeting():
            peer.outbox.put_nowait(text)
        writer = asyncio.get_running_loop().create_task(_write(peer))
        try:
            await self._read(peer)
        finally:
            self._peers.discard(peer)
            writer.cancel()

    async def _read(self, peer: _Peer) -> None:
        ws, connection = peer.ws, peer.connection
        last = self.clock()
        while connection.closing is None:
            # The allowed silence shrinks as the relay fills: look again every second.
            left, why = self._left(peer, last)
            if left <= 0:
                await ws.close(1000, why)
                return
            try:
                async with asyncio.timeout(min(left, 1.0)):
                    text = await ws.recv(decode=False)
            except TimeoutError:
                continue
            except websockets.ConnectionClosed:
                return
            last = self.clock()
            replies = connection.feed(text)
            async for more in self._more(ws, text):
                replies += connection.feed(more)
            replies += connection.flush()
            for reply in replies:
                await peer.outbox.put(reply)
            accepted = connection.take_accepted()
            for envelope, raw in accepted:
                self._push(envelope, raw)
            if accepted:
                self._settle_soon()
        await ws.close(1008, connection.closing[:120])

    async def _more(self, ws: ServerConnection, first: bytes) -> AsyncIterator[bytes]:
        """The messages that follow `first` at once, up to max_batch - 1 of them and
        max_batch_bytes (plus one message), each as it comes: those already received
        and, after an EVENT, those arriving within BATCH_WAIT (the client's next EVENTs,
        most likely). Cancelling `recv` loses nothing."""
        count, last, size = 0, first, len(first)
        while count < self.limits.max_batch - 1 and size < self.limits.max_batch_bytes:
            wait = BATCH_WAIT if last.startswith(b'["EVENT"') else 0
            try:
                async with asyncio.timeout(wait):
                    last = await ws.recv(decode=False)
            except (TimeoutError, websockets.ConnectionClosed):
                return
            count, size = count + 1, size + len(last)
            yield last


def _address(ws: ServerConnection) -> str:
    """The client's address as the per-address cap counts it (an IPv6 /64 as one)."""
    try:
        return counted_address(str(ws.remote_address[0]))
    except (TypeError, IndexError):
        return ""


async def _write(peer: _Peer) -> None:
    try:
        while True:
            await peer.ws.send(await peer.outbox.get())
    except websockets.ConnectionClosed:
        return
