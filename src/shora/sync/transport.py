"""The asyncio client adapter: drives a sans-I/O exchange over a relay's websocket.

:func:`sync_with_relay` runs a :class:`~shora.sync.session.SyncSession`;
:func:`publish` pushes new envelopes to one relay and :func:`publish_everywhere` to
several at once. The adapter owns everything the sessions do not: the connection (an
optional SOCKS or HTTP proxy, e.g. ``socks5h://127.0.0.1:9050`` for Tor; SOCKS needs
the ``python-socks`` package), the frame size cap, the per-message and overall time
limits. A relay that sends oversized frames, junk or floods, or stops answering, ends
the exchange with a :class:`~shora.errors.RemoteError` in bounded time and memory.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol
from urllib.parse import urlsplit

import msgspec
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import CloseCode

from shora.addresses import on_local_network
from shora.errors import RemoteError, ShoraError
from shora.kernel import nip01
from shora.sync import messages
from shora.sync.auth import MAX_ANSWERS, Authenticated, Keyring, answer
from shora.sync.messages import ProtocolError
from shora.sync.outcome import PublishResult, SyncProgress, SyncResult
from shora.sync.session import (
    EnvelopeView,
    RelayTimeout,
    SyncFailed,
    SyncSession,
    SyncStateError,
)

TIMEOUT = 600.0
"""Seconds one whole sync may take."""
MESSAGE_TIMEOUT = 30.0
"""Seconds to wait for the relay's next message before giving up."""
NEGENTROPY_TIMEOUT = 8.0
"""Seconds to wait for an answer to NEG-OPEN before taking the relay for NIP-01 only."""
OPEN_TIMEOUT = 20.0


class ConnectionFailed(RemoteError):
    """The relay could not be reached, or closed the connection before we were done."""


class Exchange(Protocol):
    """A sans-I/O client exchange the adapter can drive."""

    @property
    def done(self) -> bool: ...
    @property
    def probing(self) -> bool: ...
    def start(self) -> list[str]: ...
    def receive(self, text: str | bytes) -> list[str]: ...
    def timeout(self) -> list[str]: ...


class Publication:
    """Sans-I/O publishing: EVENT for each envelope, in a sliding window, until every OK
    is in."""

    probing = False

    def __init__(
        self,
        raws: Iterable[bytes],
        *,
        window: int = 1000,
        max_bad: int = 8,
        max_frame: int = 0,
        url: str = "",
        keyring: Keyring | None = None,
    ) -> None:
        self._url = url
        self._keyring = keyring  # answers the relay's AUTH (NIP-42) with these keys
        self._answered = 0
        self._auth_ids: set[str] = set()
        self._raws: dict[str, bytes] = {}
        self._retried: set[str] = set()
        self._retry: list[bytes] = []  # refused before our AUTH answer: sent again, in order
        self._queue = list(raws)
        self._queue.reverse()
        self._window = max(1, window)
        self._in_flight: set[str] = set()
        self._max_bad = max_bad
        self._max_frame = max_frame or messages.MAX_FRAME_BYTES
        self._bad = 0
        self.result = PublishResult()
        self.done = False

    def start(self) -> list[str]:
        # With keys to prove, one EVENT first: a relay that asks for AUTH refuses what
        # comes before the proof, so the window waits for its first answer.
        return self._next(1 if self._keyring is not None else self._window)

    def receive(self, text: str | bytes) -> list[str]:
        try:
            message = messages.decode_relay(text, max_bytes=self._max_frame)
        except ProtocolError:
            message = None
        if isinstance(message, messages.Auth) and self._keyring is not None:
            return self._answer(message.challenge)
        if isinstance(message, messages.Ok) and message.event_id in self._auth_ids:
            self._auth_ids.discard(message.event_id)
            return []
        if not isinstance(message, messages.Ok) or message.event_id not in self._in_flight:
            if not isinstance(message, messages.Notice | messages.Auth):
                self._bad += 1
                if self._bad > self._max_bad:
                    raise SyncFailed(f"relay sent {self._bad} messages that are not answers")
            return []
        self._in_flight.discard(message.event_id)
        raw = self._raws.pop(message.event_id)
        if (
            message.code == "auth-required"
            and self._keyring is not None
            and message.event_id not in self._retried
        ):
            self._retried.add(message.event_id)  # sent before we had answered AUTH
            self._retry.append(raw)
        elif not message.accepted:
            reason = message.code or "refused"
            self.result.refused[reason] = self.result.refused.get(reason, 0) + 1
        elif message.code == "duplicate":
            self.result.duplicate += 1
        else:
            self.result.accepted += 1
        # A sliding window: once half of it is answered, the other half goes, so the
        # relay is reading more while it stores what came before.
        if len(self._in_flight) > self._window // 2:
            return []
        return self._next(self._window - len(self._in_flight))

    def timeout(self) -> list[str]:
        raise RelayTimeout(f"relay did not answer {len(self._in_flight)} events")

    def _answer(self, challenge: str) -> list[str]:
        if self._keyring is None or self._answered >= MAX_ANSWERS:
            return []
        self._answered += 1
        out = []
        for epoch in self._keyring.recent_epochs():
            text = answer(epoch, self._url, challenge, int(time.time()))
            self._auth_ids.add(msgspec.json.decode(text)[1]["id"])
            out.append(text)
        return out

    def _next(self, window: int = 0) -> list[str]:
        if self._retry:  # parents before children, as they were first sent
            self._queue += reversed(self._retry)
            self._retry.clear()
        out: list[str] = []
        while self._queue and len(out) < (window or self._window):
            raw = self._queue.pop()
            eid = nip01.decode(raw).id
            self._in_flight.add(eid)
            self._raws[eid] = raw
            out.append(messages.event(raw))
        self.done = not out and not self._in_flight
        return out


async def drive(
    url: str,
    exchange: Exchange,
    *,
    proxy: str | None = None,
    timeout: float = TIMEOUT,
    message_timeout: float = MESSAGE_TIMEOUT,
    negentropy_timeout: float = NEGENTROPY_TIMEOUT,
    open_timeout: float = OPEN_TIMEOUT,
    max_frame_bytes: int = messages.MAX_FRAME_BYTES,
    on_step: Callable[[], None] | None = None,
) -> None:
    """Connect to url and run the exchange until it is done, within the time limits."""
    try:
        async with asyncio.timeout(timeout):
            ws = await websockets.connect(
                url,
                proxy=proxy,  # None: never an environment proxy we were not told about
                open_timeout=open_timeout,
                close_timeout=2,
                max_size=max_frame_bytes,
                max_queue=4,
                ping_interval=None,
                user_agent_header=None,
                extensions=_deflate(proxy is None and on_local_network(urlsplit(url).hostname)),
            )
            try:
                await _run(ws, exchange, message_timeout, negentropy_timeout, on_step)
            except BaseException:
                # No closing handshake with a relay that misbehaved: it could stall it.
                ws.transport.abort()
                raise
            await ws.close()
    except TimeoutError as exc:
        raise RelayTimeout(f"{url}: no result within {timeout:g} s") from exc
    except websockets.ConnectionClosed as exc:
        if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
            raise SyncFailed(f"{url}: relay sent a frame over {max_frame_bytes} bytes") from exc
        raise ConnectionFailed(f"{url}: the relay closed the connection ({exc})") from exc
    except SyncFailed as exc:
        raise type(exc)(f"{url}: {exc}") from exc
    except ShoraError:
        raise
    except (
        OSError,
        websockets.InvalidURI,
        websockets.InvalidProxy,
        websockets.InvalidHandshake,
    ) as exc:
        raise ConnectionFailed(f"{url}: cannot connect: {exc}") from exc
    except ImportError as exc:  # a SOCKS proxy without python-socks installed
        raise ConnectionFailed(f"{url}: {exc}") from exc


def _deflate(local: bool) -> list[ClientPerMessageDeflateFactory]:
    """permessage-deflate as websockets offers it; to a relay on the local network
    (reached directly), what we send is compressed with Huffman coding alone. Envelopes
    are hex and base64 of ciphertext, which Huffman coding shrinks nearly as much as
    full deflate does (the sync benchmark's bytes: 3-6 % more) for about half its CPU
    time, which a local network's bandwidth does not repay (docs/sync.md, Compression)."""
    settings: dict[str, int] = {"memLevel": 5}
    if local:
        settings["strategy"] = zlib.Z_HUFFMAN_ONLY
    return [ClientPerMessageDeflateFactory(compress_settings=settings)]


async def _run(
    ws: ClientConnection,
    exchange: Exchange,
    message_timeout: float,
    negentropy_timeout: float,
    on_step: Callable[[], None] | None,
) -> None:
    for text in exchange.start():
        await ws.send(text)
    while not exchange.done:
        if on_step is not None:
            on_step()
        wait = negentropy_timeout if exchange.probing else message_timeout
        try:
            async with asyncio.timeout(wait):
                frame = await ws.recv(decode=False)
        except TimeoutError:
            replies = exchange.timeout()
        else:
            replies = exchange.receive(frame)
        for text in replies:
            await ws.send(text)
    if on_step is not None:
        on_step()


async def sync_with_relay(
    url: str,
    view: EnvelopeView,
    *,
    proxy: str | None = None,
    timeout: float = TIMEOUT,
    message_timeout: float = MESSAGE_TIMEOUT,
    negentropy_timeout: float = NEGENTROPY_TIMEOUT,
    max_frame_bytes: int = messages.MAX_FRAME_BYTES,
    progress: Callable[[SyncProgress], None] | None = None,
    session: SyncSession | None = None,
    mutual: bool = False,
) -> SyncResult:
    """Sync a node's view with one relay: reconcile, then move the difference both ways.

    ``session`` lets a caller tune the session (id budget, fall-back window, ...); by
    default one with the standard limits and ``max_frame_bytes`` is made. A view that
    holds keys (``NodeEnvelopes``) answers the relay's NIP-42 AUTH; with ``mutual`` (LAN
    peers) nothing is sent until the peer has proven it holds one of our councils, and
    only the councils it proved are synced (shora.sync.auth).
    """
    session = session or SyncSession(view, max_frame_bytes=max_frame_bytes)
    exchange: SyncSession | Authenticated = session
    if isinstance(view, Keyring):
        keyring = view

        def scoped(councils: set[bytes] | None) -> SyncSession:
            if councils is None or session.view is not keyring:
                return session
            return SyncSession(keyring.scoped(councils), max_frame_bytes=max_frame_bytes)

        exchange = Authenticated(url, keyring, scoped, mutual=mutual, now=session.now)
    elif mutual:
        raise SyncStateError("a mutual sync needs a view that holds keys")
    try:
        await drive(
            url,
            exchange,
            proxy=proxy,
            timeout=timeout,
            message_timeout=message_timeout,
            negentropy_timeout=negentropy_timeout,
            max_frame_bytes=max_frame_bytes,
            on_step=(lambda: progress(exchange.progress)) if progress is not None else None,
        )
    except RemoteError as exc:
        exchange.result.complete = False
        exchange.result.error = str(exc)
        if exchange.progress.phase != "failed":
            exchange.progress.phase = "failed"
            if progress is not None:
                progress(exchange.progress)
        raise
    return exchange.result


async def publish(
    url: str,
    raws: Sequence[bytes],
    *,
    proxy: str | None = None,
    timeout: float = 120.0,
    message_timeout: float = MESSAGE_TIMEOUT,
    keyring: Keyring | None = None,
) -> PublishResult:
    """Send envelopes to one relay as EVENTs and count its OK answers (answering its
    AUTH, if it asks, with the keyring's keys)."""
    publication = Publication(raws, url=url, keyring=keyring)
    await drive(url, publication, proxy=proxy, timeout=timeout, message_timeout=message_timeout)
    return publication.result


async def publish_everywhere(
    urls: Iterable[str],
    raws: Sequence[bytes],
    *,
    proxy: str | None = None,
    timeout: float = 120.0,
    keyring: Keyring | None = None,
) -> dict[str, PublishResult]:
    """Publish to every relay at once; a relay that fails has its ``error`` set."""
    targets = sorted(set(urls))

    async def one(url: str) -> PublishResult:
        try:
            return await publish(url, raws, proxy=proxy, timeout=timeout, keyring=keyring)
        except RemoteError as exc:
            return PublishResult(error=str(exc))

    results = await asyncio.gather(*(one(url) for url in targets))
    return dict(zip(targets, results, strict=True))
