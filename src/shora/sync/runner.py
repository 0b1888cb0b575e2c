"""Running sync: one round with every relay and LAN peer, or a node that keeps at it.

A round syncs each relay with the councils that list it and each node found on the
local network with every council, all peers at once (asyncio), under one deadline for
the whole round: a peer that answers slowly ("drip") is cut off there and the others
are not held up. An unreachable peer is retried with exponential backoff (peers.py). A
relay found without NIP-77 is remembered for a day, so it is not asked NEG-OPEN (and
waited for) every round. The first sync with a relay without NIP-77 exchanges the whole
history; later ones the recent window (docs/sync.md §2.1, §2.4).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shora.errors import ShoraError
from shora.i18n import _
from shora.kernel.core import NodeCore
from shora.sync.lan import LanPresence, local_addresses
from shora.sync.local import NodeEnvelopes
from shora.sync.outbox import publish_loop
from shora.sync.outcome import SyncProgress, SyncResult
from shora.sync.peers import PeerBook
from shora.sync.relay import EmbeddedRelay
from shora.sync.session import SyncSession
from shora.sync.transport import NEGENTROPY_TIMEOUT, sync_with_relay

ROUND_TIMEOUT = 120.0
"""Seconds one whole round may take (every peer in parallel)."""


@dataclass(frozen=True, slots=True)
class PeerOutcome:
    address: str
    kind: str  # "relay" or "lan"
    received: int
    sent: int
    error: str | None
    complete: bool = False
    """The node ended with every envelope the peer holds for its councils."""
    shortfalls: tuple[str, ...] = ()
    """Why it is not complete (with no error), one sentence per cause."""
    waiting: int = 0
    """Events of those councils still waiting for parents after the sync."""
    waiting_parents: int = 0
    mode: str = ""
    """"nip77" or "fallback" (NIP-01 only)."""
    result: SyncResult | None = field(default=None, compare=False, repr=False)


async def sync_round(
    core: NodeCore,
    *,
    lan_peers: list[str] | None = None,
    only_due: bool = False,
    timeout: float = ROUND_TIMEOUT,
    negentropy_timeout: float = NEGENTROPY_TIMEOUT,
    progress: Callable[[str, SyncProgress], None] | None = None,
) -> list[PeerOutcome]:
    """Sync once, in parallel, with every relay of every council and every LAN peer
    given; the round ends after `timeout` seconds at most, whatever the peers do."""
    book = PeerBook(core.store)
    targets: dict[str, tuple[str, set[bytes] | None]] = {}
    for council, url in book.relays():
        councils = targets.setdefault(url, ("relay", set()))[1]
        assert councils is not None
        councils.add(council)
    for url in lan_peers or []:
        targets.setdefault(url, ("lan", None))
    now = int(core.now())  # the node's clock, as the peers table records it
    deadline = time.monotonic() + timeout
    tasks: dict[str, asyncio.Task[PeerOutcome]] = {}
    for url, (kind, councils) in sorted(targets.items()):
        known = book.peer(url)
        if only_due and known is not None and known.next_try() > now:
            continue

        def report(state: SyncProgress, url: str = url) -> None:
            if progress is not None:
                progress(url, state)

        one = _sync_one(core, book, url, kind, councils, timeout, negentropy_timeout, report)
        tasks[url] = asyncio.create_task(one)
    if tasks:
        await asyncio.wait(tasks.values(), timeout=max(0.0, deadline - time.monotonic()))
    outcomes = []
    for url, task in tasks.items():
        kind = targets[url][0]
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            message = f"cut off at the end of the round ({timeout:g} s)"
            book.record(url, kind, error=message, now=int(core.now()))
            outcomes.append(PeerOutcome(url, kind, 0, 0, message))
        else:
            outcomes.append(task.result())
    return outcomes


async def _sync_one(
    core: NodeCore,
    book: PeerBook,
    url: str,
    kind: str,
    councils: set[bytes] | None,
    timeout: float,
    negentropy_timeout: float,
    report: Callable[[SyncProgress], None],
) -> PeerOutcome:
    view = NodeEnvelopes(core, councils)
    known = book.peer(url)
    # The first sync with a relay exchanges everything (it may lack old history, or we
    # may); later ones only the recent window, if it has no NIP-77.
    first = known is None or known.last_contact is None
    floor = book.relay_floor(url)
    if first:
        session = SyncSession(view, fallback_window=None, relay_floor=floor)
    else:
        last = known.last_contact if known else None
        session = SyncSession(view, fallback_from=last, relay_floor=floor)
    remembered = book.lacks_nip77(url)
    if remembered:
        session.nip77 = False  # do not wait for a NEG-OPEN answer that never comes
    proxy = book.proxy() if kind == "relay" else None
    try:
        result = await sync_with_relay(
            url,
            view,
            proxy=proxy,
            timeout=timeout,
            negentropy_timeout=negentropy_timeout,
            progress=report,
            session=session,
            mutual=kind == "lan",  # a LAN peer proves a council of ours first
        )
    except (OSError, TimeoutError, ShoraError) as exc:
        message = str(exc) or type(exc).__name__
        book.record(url, kind, error=message, now=int(core.now()))
        return PeerOutcome(url, kind, session.result.fetched, session.result.sent, message)
    if session.nip77 is not None and not remembered:
        book.note_nip77(url, session.nip77)
    if result.relay_floor > floor:
        book.note_relay_floor(url, result.relay_floor)
    book.record(url, kind, received=result.received, sent=result.sent, now=int(core.now()))
    return PeerOutcome(
        url,
        kind,
        result.received,
        result.sent,
        None,
        result.complete,
        tuple(result.shortfalls),
        result.waiting,
        result.waiting_parents,
        "fallback" if "fallback" in result.modes else "nip77",
        result,
    )


class Server:
    """A node that keeps syncing: relays and LAN peers every `interval` seconds, and,
    with `lan`, its own relay on the local network, announced over mDNS."""

    def __init__(
        self,
        core: NodeCore,
        *,
        lan: bool = False,
        lan_address: str | None = None,
        lan_port: int = 0,
        interval: float = 30.0,
        after_round: Callable[[], object] | None = None,
    ) -> None:
        self.core = core
        self.after_round = after_round  # the node's own chores, such as dead-man alerts
        self.lan = lan
        self.lan_address = lan_address
        self.lan_port = lan_port
        self.interval = interval
        self.relay: EmbeddedRelay | None = None
        self.presence: LanPresence | None = None
        self.stopping = asyncio.Event()
        self.rounds = 0

    async def start(self) -> None:
        """Open the LAN relay and announce it (with `lan`); run() calls it if needed."""
        if not self.lan or self.relay is not None:
            return
        addresses = [self.lan_address] if self.lan_address else local_addresses()
        if not addresses:
            raise ShoraError(_("no local network address to serve the LAN relay on"))
        self.relay = EmbeddedRelay(NodeEnvelopes(self.core), host=addresses[0], port=self.lan_port)
        await self.relay.start()
        self.presence = LanPresence(self.relay.port, addresses[:1])
        await self.presence.start()

    async def run(self) -> None:
        await self.start()
        broadcast = self.relay.broadcast if self.relay is not None else None
        publisher = asyncio.create_task(publish_loop(self.core, self.stopping, broadcast=broadcast))
        try:
            while not self.stopping.is_set():
                peers = self.presence.peers() if self.presence else []
                await sync_round(self.core, lan_peers=peers, only_due=True)
                if self.after_round is not None:
                    self.after_round()
                self.rounds += 1
                try:
                    await asyncio.wait_for(self.stopping.wait(), self.interval)
                except TimeoutError:
                    pass
        finally:
            await self.stop()
            publisher.cancel()
            await asyncio.gather(publisher, return_exceptions=True)

    async def stop(self) -> None:
        self.stopping.set()
        if self.presence is not None:
            await self.presence.stop()
            self.presence = None
        if self.relay is not None:
            await self.relay.stop()
            self.relay = None
