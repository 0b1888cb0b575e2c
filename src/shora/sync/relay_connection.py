"""One client connection of the embedded relay, sans I/O (NIP-01, NIP-42 and NIP-77).

:class:`RelayConnection`: ``receive(text)`` returns the texts to send back, and
:meth:`RelayConnection.deliver` returns what a newly accepted envelope means for this
connection's open subscriptions. It never raises on what a client sends: bad input is
answered with NOTICE, CLOSED, NEG-ERR or OK false. Its clock is injected (rate limits),
it draws no random numbers and opens no socket. Given a challenge and a keyring it
requires NIP-42 AUTH (shora.sync.auth): envelopes of a council move only once a recent
write key of that council is proven on the connection. `shora.sync.relay` runs it on a
websocket server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

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
