"""A running node publishes what it writes at once, not at the next round.

Writes reach the profile's store from the web pages (in the process that runs the
node) or from the command line (another process on the same profile, while
``shora serve`` runs). Both end as rows of the envelopes table, so the node watches
that table: every half second it takes the envelopes written since it last looked
whose inner author is one of this profile's identities (and welcomes, which an
admitter writes), and publishes them to their council's relays and to the live
subscriptions of its LAN relay. A relay that cannot be reached gets them with the
next round's sync, which uploads whatever the relay lacks: nothing is lost offline.
A council whose rules set `upload_delay_seconds` has its writes held back for a random
time up to that and sent together.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Callable

from shora.errors import RemoteError
from shora.kernel.core import NodeCore
from shora.kernel.events import WELCOME_KIND
from shora.kernel.storage import Store
from shora.sync.local import NodeEnvelopes
from shora.sync.peers import PeerBook
from shora.sync.transport import publish_everywhere

POLL = 0.5
"""Seconds between two looks at the store."""
BATCH = 1000
PUBLISH_TIMEOUT = 20.0


class Outbox:
    """This profile's own envelopes written since the node started, in order."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.mark = store.events.last_rowid()

    def take(self) -> dict[bytes, list[bytes]]:
        """The own envelopes written since the last call, by council."""
        top = self.store.events.last_rowid()
        rows = self.store.events.own_after(self.mark, top, WELCOME_KIND, BATCH)
        # Past what arrived from others too, unless the batch was cut short.
        self.mark = int(rows[-1][0]) if len(rows) == BATCH else max(self.mark, top)
        by_council: dict[bytes, list[bytes]] = defaultdict(list)
        for _rowid, council, raw in rows:
            by_council[bytes(council)].append(bytes(raw))
        return dict(by_council)


async def publish_loop(
    core: NodeCore,
    stopping: asyncio.Event,
    *,
    broadcast: Callable[[bytes], None] | None = None,
    poll: float = POLL,
) -> None:
    """Publish the node's own new envelopes as they are written, until `stopping`. Each
    batch goes out in its own task, so a slow relay does not hold the next write."""
    outbox = Outbox(core.store)
    held = Delay()
    sending: set[asyncio.Task[None]] = set()
    try:
        while not stopping.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), poll)
            except TimeoutError:
                pass
            now = time.monotonic()
            for council, raws in outbox.take().items():
                held.add(council, raws, now, delay_of(core, council))
            for council, raws in held.take(now).items():
                if broadcast is not None:
                    for raw in raws:
                        broadcast(raw)
                book = PeerBook(core.store)
                urls = [url for _c, url in book.relays(council)]
                if urls:
                    # Shora relays ask the uploader to prove the council's key (NIP-42).
                    keyring = NodeEnvelopes(core, [council])
                    task = asyncio.create_task(_publish(urls, raws, book.proxy(), keyring))
                    sending.add(task)
                    task.add_done_callback(sending.discard)
    finally:
        for task in list(sending):
            task.cancel()


def delay_of(core: NodeCore, council: bytes) -> int:
    """The most seconds the council's rules let a node hold its writes back."""
    return core.ingestor.projection.final_state(council).rules.upload_delay_seconds


class Delay:
    """Writes held back until a random time within their council's delay, then sent
    together: a relay (or a LAN listener) sees one batch at an unrelated moment rather
    than each write as it is made (docs/sync.md, "A write leaves at once")."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.SystemRandom()
        self._due: dict[bytes, tuple[float, list[bytes]]] = {}

    def add(self, council: bytes, raws: list[bytes], now: float, delay: int) -> None:
        """Hold `raws` (at once, if the delay is 0); a batch keeps its first due time."""
        when, batch = self._due.get(council, (now + self._rng.uniform(0, delay), []))
        self._due[council] = (when, batch + raws)

    def take(self, now: float) -> dict[bytes, list[bytes]]:
        """The batches whose time has come, in the order they were first held."""
        ready = {c: batch for c, (when, batch) in self._due.items() if when <= now}
        for council in ready:
            del self._due[council]
        return ready


async def _publish(
    urls: list[str], raws: list[bytes], proxy: str | None, keyring: NodeEnvelopes
) -> None:
    try:
        await publish_everywhere(urls, raws, proxy=proxy, timeout=PUBLISH_TIMEOUT, keyring=keyring)
    except RemoteError:
        pass  # the next round's sync uploads what a relay lacks
