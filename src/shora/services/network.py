"""Where and how a node syncs, for the command line and the pages: each council's
relays, the proxy and what each peer did (`node.network`, a PeerBook), one sync round
with every peer, and a server that keeps syncing (its rounds followed by the node's
housekeeping). The sync engine itself is `shora.sync`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shora.kernel.core import NodeCore
from shora.services.housekeeping import Housekeeping
from shora.sync.outcome import SyncProgress as SyncProgress
from shora.sync.outcome import SyncResult as SyncResult
from shora.sync.peers import Peer as Peer
from shora.sync.peers import PeerBook as PeerBook
from shora.sync.peers import check_proxy_url as check_proxy_url
from shora.sync.peers import check_relay_url as check_relay_url
from shora.sync.runner import ROUND_TIMEOUT
from shora.sync.runner import PeerOutcome as PeerOutcome
from shora.sync.runner import Server as Server
from shora.sync.runner import sync_round as _sync_round
from shora.sync.transport import NEGENTROPY_TIMEOUT

__all__ = [
    "Network",
    "Peer",
    "PeerBook",
    "PeerOutcome",
    "Server",
    "SyncProgress",
    "SyncResult",
    "check_proxy_url",
    "check_relay_url",
]


class Network(PeerBook):
    """The relay lists, proxy and peer statistics of one node, and syncing with them."""

    def __init__(self, core: NodeCore, housekeeping: Housekeeping) -> None:
        super().__init__(core.store)
        self.core = core
        self.housekeeping = housekeeping

    async def sync_round(
        self,
        *,
        lan_peers: list[str] | None = None,
        only_due: bool = False,
        timeout: float = ROUND_TIMEOUT,
        negentropy_timeout: float = NEGENTROPY_TIMEOUT,
        progress: Callable[[str, SyncProgress], None] | None = None,
    ) -> list[PeerOutcome]:
        """Sync once, in parallel, with every relay of every council (and the LAN peers
        given); what arrives is housekept once per peer's batch."""
        return await _sync_round(
            self.core,
            lan_peers=lan_peers,
            only_due=only_due,
            timeout=timeout,
            negentropy_timeout=negentropy_timeout,
            progress=progress,
        )

    def server(self, **kw: Any) -> Server:
        """A server that keeps syncing (see `Server`), the node's housekeeping run once
        after each of its rounds."""
        kw.setdefault("after_round", self.housekeeping.after_round)
        return Server(self.core, **kw)
