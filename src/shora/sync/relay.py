"""The embedded relay: a node's envelopes served as a Nostr relay (NIP-01 and NIP-77).

:class:`RelayConnection` is one client connection, sans I/O: ``receive(text)`` returns
the texts to send back, and :meth:`RelayConnection.deliver` returns what a newly
accepted envelope means for this connection's open subscriptions. It never raises on
what a client sends: bad input is answered with NOTICE, CLOSED, NEG-ERR or OK false.
Its clock is injected (rate limits), it draws no random numbers and opens no socket.
Given a challenge and a keyring it requires NIP-42 AUTH (shora.sync.auth): envelopes of
a council move only once a recent write key of that council is proven on the connection.

:class:`EmbeddedRelay` runs connections on the ``websockets`` server: a frame size cap,
a cap on connections, an idle timeout, and a bounded queue per connection for live
events (a client that does not read them is disconnected).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import websockets
from websockets.asyncio.server import Server, ServerConnection
from websockets.http11 import Request, Response

from shora.addresses import counted_address
from shora.errors import RemoteError
from shora.i18n import using_language
from shora.kernel import nip01
from shora.sync import auth, messages, nip77
from shora.sync.messages import ProtocolError
from shora.sync.negentropy import (
    COMPACT_BUCKETS,
    COMPACT_IDLIST_BELOW,
    Negentropy,
    NegentropyError,
    Storage,
)
from shora.sync.paging import Filter

SETTLE_DELAY = 0.5
"""Seconds after an envelope accepted from a client before the node's housekeeping runs
for what came in meanwhile (once for a burst, never per event)."""


BATCH_WAIT = 0.002
"""Seconds the relay waits, after an EVENT, for the client's next message to store it
in the same transaction (it answers at once anything that is not an EVENT)."""


class RelayView(Protocol):
    """What the relay needs of a node (``shora.sync.local.NodeEnvelopes``)."""

    def items(self, flt: Filter) -> list[tuple[int, bytes]]: ...
    def query(self, flt: Filter, limit: int = ...) -> list[bytes]: ...
    def accept(self, raw: bytes) -> tuple[bool, str]: ...


@dataclass(frozen=True, slots=True)
class RelayLimits:
    """Per-connection limits of the embedded relay (and, last three, of its server)."""

    max_message_bytes: int = 512 * 1024
    max_subscriptions: int = 20
    max_filters: int = messages.MAX_FILTERS
    max_query: int = 500
    """Events one REQ returns, over all its filters."""
    max_query_bytes: int = 8 * 2**20
    """Bytes of events one REQ returns (the client pages for the rest)."""
    events_per_minute: int = 6000
    requests_per_minute: int = 600
    """REQ and NEG-OPEN together."""
    max_negentropy_sessions: int = 4
    max_negentropy_items: int = 500_000
    negentropy_frame_limit: int = 60_000
    negentropy_buckets: int = COMPACT_BUCKETS
    negentropy_idlist_below: int = COMPACT_IDLIST_BELOW
    """How our Negentropy splits ranges (any choice interoperates; docs/sync.md §1.6)."""
    max_bad_messages: int = 50
    """Malformed messages tolerated before the connection is closed."""
    max_connections: int = 64
    max_per_address: int = 8
    """Connections from one IP address."""
    idle_timeout: float = 300.0
    """Seconds a connection may stay silent, even with open subscriptions."""
    busy_idle_timeout: float = 15.0
    """The same once three quarters of max_connections are taken."""
    auth_timeout: float = 30.0
    """Seconds a connection may stay without proving a key (welcome fetches need none)."""
    max_proofs: int = 64
    """AUTH events one connection may send."""
    max_outbox: int = 4096
    """Texts queued for one connection; live events beyond it close the connection."""
    max_batch: int = 1024
    """Messages a connection has already sent that are read together: the EVENTs among
    them are stored in one transaction (each still gets its own OK)."""
    max_batch_bytes: int = 16 * 2**20
    """And at most this many bytes of them (a batch is held in memory until stored)."""


@dataclass(slots=True)
class _Bucket:
    """A token bucket: `per_minute` tokens a minute, a minute's worth of burst."""

    per_minute: int
    tokens: float = -1.0
    at: float = 0.0

    def take(self, now: float) -> bool:
        if self.tokens < 0:
            self.tokens, self.at = float(self.per_minute), now
        self.tokens = min(self.per_minute, self.tokens + (now - self.at) * self.per_minute / 60)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass(slots=True)
class _Counts:
    events: int = 0
    accepted: int = 0
    requests: int = 0
    negentropy: int = 0
    bad: int = 0
    rate_limited: int = 0
    by_verb: dict[str, int] = field(default_factory=dict)


class RelayConnection:
    """One client's connection to the embedded relay."""

    def __init__(
        self,
        view: RelayView,
        limits: RelayLimits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        negentropy: bool = True,
        challenge: str | None = None,
        keyring: auth.Keyring | None = None,
    ) -> None:
        self.view = view
        self.limits = limits or RelayLimits()
        self.clock = clock
        self.negentropy = negentropy
        self.gate = None if challenge is None or keyring is None else auth.Gate(keyring, challenge)
        """What this connection has proven (None: a relay that asks for no AUTH)."""
        self.counts = _Counts()
        self.closing: str | None = None
        """Why the server should close this connection, once set."""
        self._subs: dict[str, list[messages.Filter]] = {}
        self._neg: dict[str, Negentropy] = {}
        self._events = _Bucket(self.limits.events_per_minute)
        self._requests = _Bucket(self.limits.requests_per_minute)
        self._accepted: list[tuple[nip01.Envelope, bytes]] = []
        self._batch: list[messages.ClientEvent] = []
        """EVENTs checked and waiting to be stored together (see `receive_many`)."""
        self._batch_bytes = 0
        # Signature checks the view may start while the rest of the batch arrives.
        self._check_ahead: Callable[[bytes], None] | None = getattr(view, "check_ahead", None)

    def greeting(self) -> list[str]:
        """What the relay says first: its AUTH challenge, if it requires one."""
        return [] if self.gate is None else [messages.auth(self.gate.challenge)]

    @property
    def authenticated(self) -> bool:
        return self.gate is None or bool(self.gate.proven)

    def receive(self, text: str | bytes) -> list[str]:
        """Answer one message from the client. Every text sent back (OK, NOTICE,
        CLOSED, NEG-ERR reasons) is protocol, read by software: it stays English
        whatever language this node's person reads (errors are worded as they are raised)."""
        return self.receive_many([text])

    def receive_many(self, texts: Iterable[str | bytes]) -> list[str]:
        """Answer messages the client sent in a row, as `receive` would one at a time,
        in the same order; the EVENTs among them are stored in one transaction (a
        sync's uploads then cost what a bundle's import costs), each answered with its
        own OK. Anything else the client asks sees the EVENTs sent before it stored."""
        out: list[str] = []
        for text in texts:
            if self.closing is not None:  # the rest is not read
                break
            out += self.feed(text)
        return out + self.flush()

    def feed(self, text: str | bytes) -> list[str]:
        """One message of those `receive_many` answers, as it arrives: the answers due
        so far (an EVENT waits in the batch, and its checks may start meanwhile: the
        view's `check_ahead`); `flush` stores the batch and answers the rest."""
        if self.closing is not None:
            return []
        with using_language("en"):
            return self._receive(text)

    def flush(self) -> list[str]:
        """Store the EVENTs fed since the last flush and answer them."""
        with using_language("en"):
            return self._store_batch()

    def _receive(self, text: str | bytes) -> list[str]:
        """The answer to one message; an EVENT that passes the connection's checks
        waits in the batch (answered when it is stored), and any other answer is
        preceded by the batch's OKs, so the answers keep the messages' order."""
        message = self._decode(text)
        if isinstance(message, messages.ClientEvent):
            return self._event(message)
        out = self._store_batch()
        if isinstance(message, list):
            return out + message
        return out + self._answer(message)

    def _decode(self, text: str | bytes) -> messages.ClientMessage | list[str]:
        """The message, or the answer to a malformed one."""
        limits = self.limits
        try:
            if len(text) > limits.max_message_bytes:
                raise ProtocolError(f"message over {limits.max_message_bytes} bytes")
            message = messages.decode_client(
                text, max_bytes=limits.max_message_bytes, max_filters=limits.max_filters
            )
        except messages.InvalidEvent as exc:
            self._bad(str(exc))
            if exc.event_id is not None:
                return [messages.ok(exc.event_id, False, str(exc)[:300])]
            return [messages.notice(f"invalid: {exc}"[:300])]
        except ProtocolError as exc:
            self._bad(str(exc))
            return [messages.notice(f"error: {exc}"[:300])]
        verb = type(message).__name__
        self.counts.by_verb[verb] = self.counts.by_verb.get(verb, 0) + 1
        return message

    def _answer(self, message: messages.ClientMessage) -> list[str]:
        if isinstance(message, messages.Req):
            return self._req(message)
        if isinstance(message, messages.Close):
            self._subs.pop(message.subscription_id, None)
            return []
        if isinstance(message, messages.ClientAuth):
            return self._auth(message.raw)
        if not self.negentropy:
            return [messages.notice("error: unknown message type, NIP-77 is not enabled here")]
        if isinstance(message, nip77.NegOpen):
            return self._neg_open(message)
        if isinstance(message, nip77.NegMsg):
            return self._neg_msg(message)
        if isinstance(message, nip77.NegClose):
            self._neg.pop(message.subscription_id, None)
        return []

    def deliver(self, envelope: nip01.Envelope, raw: bytes) -> list[str]:
        """EVENT messages for a newly accepted envelope, one per matching subscription."""
        return [
            messages.relay_event(sub, raw)
            for sub, filters in self._subs.items()
            if any(f.matches(envelope) for f in filters)
        ]

    def take_accepted(self) -> list[tuple[nip01.Envelope, bytes]]:
        """Envelopes this connection stored since the last call (for the server to push)."""
        accepted, self._accepted = self._accepted, []
        return accepted

    @property
    def subscriptions(self) -> int:
        return len(self._subs)

    # --- internals --------------------------------------------------------------------

    def _bad(self, why: str) -> None:
        self.counts.bad += 1
        if self.counts.bad > self.limits.max_bad_messages:
            self.closing = f"too many malformed messages ({why[:60]})"

    def _auth(self, raw: bytes) -> list[str]:
        gate = self.gate
        if gate is None:
            return [messages.notice("error: this relay does not ask for AUTH")]
        if gate.answers >= self.limits.max_proofs or not self._request_allowed():
            return [messages.notice(f"blocked: at most {self.limits.max_proofs} AUTH events")]
        try:
            return [gate.check(raw)]
        except RemoteError as exc:
            self._bad(str(exc))
            return [messages.notice(f"invalid: {exc}"[:300])]

    def _scope(self, flt: messages.Filter) -> messages.Filter | str:
        return flt if self.gate is None else self.gate.scope(flt)

    def _event(self, message: messages.ClientEvent) -> list[str]:
        """Put an EVENT in the batch, or refuse it (after storing the batch: an EVENT
        before it may have brought the key it is written under, and the answers keep
        their order)."""
        self.counts.events += 1
        gate, envelope = self.gate, message.envelope
        out = []
        if self._batch and gate is not None and gate.refuse_upload(envelope) is not None:
            out = self._store_batch()
        refused = None if gate is None else gate.refuse_upload(envelope)
        if refused is None and not self._events.take(self.clock()):
            self.counts.rate_limited += 1
            refused = f"rate-limited: at most {self.limits.events_per_minute} events a minute"
        if refused is not None:
            return [*out, *self._store_batch(), messages.ok(envelope.id, False, refused)]
        self._batch.append(message)
        self._batch_bytes += len(message.raw)
        if self._check_ahead is not None:
            self._check_ahead(message.raw)
        if (
            len(self._batch) >= self.limits.max_batch
            or self._batch_bytes >= self.limits.max_batch_bytes
        ):
            out += self._store_batch()
        return out

    def _store_batch(self) -> list[str]:
        """Store the batch's EVENTs together and answer each (`RelayView.accept` for
        each, in one transaction when the view offers `accept_many`)."""
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        if not batch:
            return []
        accept_many = getattr(self.view, "accept_many", None)
        if accept_many is not None:
            verdicts: list[tuple[bool, str]] = accept_many([m.raw for m in batch])
        else:
            verdicts = [self.view.accept(m.raw) for m in batch]
        out = []
        for message, (accepted, text) in zip(batch, verdicts, strict=True):
            if accepted and not text.startswith("duplicate"):
                self.counts.accepted += 1
                if self.gate is not None:
                    self.gate.forget_authors()  # it may have brought a key (a rotation's grant)
                self._accepted.append((message.envelope, message.raw))
            out.append(messages.ok(message.envelope.id, accepted, text))
        return out

    def _request_allowed(self) -> bool:
        if self._requests.take(self.clock()):
            return True
        self.counts.rate_limited += 1
        return False

    def _req(self, message: messages.Req) -> list[str]:
        sub, limits = message.subscription_id, self.limits
        self.counts.requests += 1
        if sub not in self._subs and len(self._subs) >= limits.max_subscriptions:
            return [messages.closed(sub, f"blocked: at most {limits.max_subscriptions} open")]
        if not self._request_allowed():
            per = limits.requests_per_minute
            return [messages.closed(sub, f"rate-limited: at most {per} requests a minute")]
        filters = []
        for flt in message.filters:
            scoped = self._scope(flt)
            if isinstance(scoped, str):
                self._subs.pop(sub, None)
                return [messages.closed(sub, scoped)]
            filters.append(scoped)
        out: list[str] = []
        sent: set[bytes] = set()
        size = 0
        for flt in filters:
            room = limits.max_query - len(sent)
            if room <= 0 or size >= limits.max_query_bytes:
                break
            n = room if flt.limit is None else min(room, flt.limit)
            for raw in self.view.query(flt.as_dict(), n) if n else ():
                if raw not in sent and size < limits.max_query_bytes:
                    sent.add(raw)
                    size += len(raw)
                    out.append(messages.relay_event(sub, raw))
        self._subs[sub] = filters
        return [*out, messages.eose(sub)]

    def _neg_open(self, message: nip77.NegOpen) -> list[str]:
        sub, limits = message.subscription_id, self.limits
        self.counts.negentropy += 1
        self._neg.pop(sub, None)
        if len(self._neg) >= limits.max_negentropy_sessions:
            n = limits.max_negentropy_sessions
            return [nip77.neg_err(sub, f"blocked: at most {n} negentropy sessions")]
        if not self._request_allowed():
            per = limits.requests_per_minute
            return [nip77.neg_err(sub, f"rate-limited: at most {per} requests a minute")]
        try:
            scoped = self._scope(messages.decode_filter(message.filter))
        except ProtocolError as exc:
            return [nip77.neg_err(sub, f"invalid: {exc}"[:300])]
        if isinstance(scoped, str):
            return [nip77.neg_err(sub, scoped)]
        flt = scoped
        items = self.view.items(flt.as_dict())
        if len(items) > limits.max_negentropy_items:
            return [nip77.neg_err(sub, f"blocked: over {limits.max_negentropy_items} records")]
        session = Negentropy(
            Storage(items),
            limits.negentropy_frame_limit,
            buckets=limits.negentropy_buckets,
            idlist_below=limits.negentropy_idlist_below,
        )
        self._neg[sub] = session
        return self._reconcile(sub, session, message.message)

    def _neg_msg(self, message: nip77.NegMsg) -> list[str]:
        session = self._neg.get(message.subscription_id)
        if session is None:
            return [nip77.neg_err(message.subscription_id, "closed: no such negentropy session")]
        return self._reconcile(message.subscription_id, session, message.message)

    def _reconcile(self, sub: str, session: Negentropy, payload: bytes) -> list[str]:
        try:
            return [nip77.neg_msg(sub, session.reconcile(payload))]
        except NegentropyError as exc:
            self._neg.pop(sub, None)
            self._bad(str(exc))
            return [nip77.neg_err(sub, f"invalid: {exc}"[:300])]


# --- the asyncio server ----------------------------------------------------------------------


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
