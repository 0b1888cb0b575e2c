"""Running sync: one round with every relay and LAN peer, or a node that keeps at it.

A round syncs each relay with the councils that list it and each node found on the
local network with every council; an unreachable peer is retried with exponential
backoff (peers.py) while the others go on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shora.errors import ShoraError
from shora.sync.lan import LanPresence, local_addresses
from shora.sync.local import NodeEnvelopes
from shora.sync.outcome import SyncProgress
from shora.sync.peers import PeerBook
from shora.sync.relay import EmbeddedRelay
from shora.sync.transport import sync_with_relay

if TYPE_CHECKING:
    from shora.node import Node

ROUND_TIMEOUT = 120.0  # seconds one peer may take in one round


@dataclass(frozen=True, slots=True)
class PeerOutcome:
    address: str
    kind: str  # "relay" or "lan"
    received: int
    sent: int
    error: str | None


async def sync_round(
    node: Node,
    *,
    lan_peers: list[str] | None = None,
    only_due: bool = False,
    timeout: float = ROUND_TIMEOUT,
    progress: Callable[[str, SyncProgress], None] | None = None,
) -> list[PeerOutcome]:
    """Sync once with every relay of every council and every LAN peer given."""
    book = PeerBook(node.store)
    targets: dict[str, tuple[str, set[bytes] | None]] = {}
    for council, url in book.relays():
        councils = targets.setdefault(url, ("relay", set()))[1]
        assert councils is not None
        councils.add(council)
    for url in lan_peers or []:
        targets.setdefault(url, ("lan", None))
    now = int(time.time())
    outcomes = []
    for url, (kind, councils) in sorted(targets.items()):
        known = book.peer(url)
        if only_due and known is not None and known.next_try() > now:
            continue
        view = NodeEnvelopes(node, councils)
        proxy = book.proxy() if kind == "relay" else None

        def report(state: SyncProgress, url: str = url) -> None:
            if progress is not None:
                progress(url, state)

        try:
            result = await asyncio.wait_for(
                sync_with_relay(
                    url,
                    view,
                    proxy=proxy,
                    timeout=timeout,
                    progress=report,
                    mutual=kind == "lan",  # a LAN peer proves a council of ours first
                ),
                timeout + 5,
            )
        except (OSError, TimeoutError, ShoraError) as exc:
            message = str(exc) or type(exc).__name__
            book.record(url, kind, error=message)
            outcomes.append(PeerOutcome(url, kind, 0, 0, message))
            continue
        book.record(url, kind, received=result.received, sent=result.sent)
        outcomes.append(PeerOutcome(url, kind, result.received, result.sent, None))
    return outcomes


class Server:
    """A node that keeps syncing: relays and LAN peers every `interval` seconds, and,
    with `lan`, its own relay on the local network, announced over mDNS."""

    def __init__(
        self,
        node: Node,
        *,
        lan: bool = False,
        lan_address: str | None = None,
        lan_port: int = 0,
        interval: float = 30.0,
        after_round: Callable[[], object] | None = None,
    ) -> None:
        self.node = node
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
            raise ShoraError("no local network address to serve the LAN relay on")
        self.relay = EmbeddedRelay(NodeEnvelopes(self.node), host=addresses[0], port=self.lan_port)
        await self.relay.start()
        self.presence = LanPresence(self.relay.port, addresses[:1])
        await self.presence.start()

    async def run(self) -> None:
        await self.start()
        try:
            while not self.stopping.is_set():
                peers = self.presence.peers() if self.presence else []
                await sync_round(self.node, lan_peers=peers, only_due=True)
                if self.after_round is not None:
                    self.after_round()
                self.rounds += 1
                try:
                    await asyncio.wait_for(self.stopping.wait(), self.interval)
                except TimeoutError:
                    pass
        finally:
            await self.stop()

    async def stop(self) -> None:
        self.stopping.set()
        if self.presence is not None:
            await self.presence.stop()
            self.presence = None
        if self.relay is not None:
            await self.relay.stop()
            self.relay = None
