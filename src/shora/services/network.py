"""Where and how a node syncs, for the command line and the pages: each council's
relays, the proxy and what each peer did (`node.network`, a PeerBook), one sync round
with every peer, and a server that keeps syncing (its rounds followed by the node's
housekeeping). The sync engine itself is `shora.sync`.

The engine (websockets, asyncio, LAN discovery) is imported when a node first syncs or
serves, not when it opens: most commands only read."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shora.kernel.core import NodeCore
from shora.services.housekeeping import Housekeeping
from shora.sync.outcome import SyncProgress as SyncProgress
from shora.sync.outcome import SyncResult as SyncResult
from shora.sync.peers import Peer as Peer
from shora.sync.peers import PeerBook as PeerBook
from shora.sync.peers import check_proxy_url as check_proxy_url
from shora.sync.peers import check_relay_url as check_relay_url

if TYPE_CHECKING:
    from shora.sync.runner import PeerOutcome as PeerOutcome
    from shora.sync.runner import Server as Server

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


def __getattr__(name: str) -> Any:
    """`PeerOutcome` and `Server`, from the sync engine, imported on first use."""
    if name in ("PeerOutcome", "Server"):
        from shora.sync import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        timeout: float | None = None,
        negentropy_timeout: float | None = None,
        progress: Callable[[str, SyncProgress], None] | None = None,
    ) -> list[PeerOutcome]:
        """Sync once, in parallel, with every relay of every council (and the LAN peers
        given); what arrives is housekept once per peer's batch. The timeouts default to
        the engine's (`ROUND_TIMEOUT`, `NEGENTROPY_TIMEOUT`)."""
        from shora.sync.runner import ROUND_TIMEOUT, sync_round
        from shora.sync.transport import NEGENTROPY_TIMEOUT

        return await sync_round(
            self.core,
            lan_peers=lan_peers,
            only_due=only_due,
            timeout=ROUND_TIMEOUT if timeout is None else timeout,
            negentropy_timeout=(
                NEGENTROPY_TIMEOUT if negentropy_timeout is None else negentropy_timeout
            ),
            progress=progress,
        )

    def server(self, **kw: Any) -> Server:
        """A server that keeps syncing (see `Server`), the node's housekeeping run once
        after each of its rounds."""
        from shora.sync.runner import Server

        kw.setdefault("after_round", self.housekeeping.after_round)
        return Server(self.core, **kw)
