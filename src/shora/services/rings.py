"""Ring envelopes: the older epochs a newcomer needs, written once per epoch rather than
in every welcome (docs/protocol.md §6.3).

A welcome carries the current epoch E; the newcomer's node then opens every ring
envelope under an epoch it holds, so what it learns is the closure of E over the rings
(`reach`). Before its first welcome under E an admitter makes sure that closure holds
(nearly) every epoch it holds, writing a ring under E if not: a **delta** on a recent
epoch F whose own ring carries everything older than F (F and what came since), or a
**full** ring when there is no such F within FULL_EVERY epochs. A newcomer so needs at
most two rings, E's and F's, which a sync session fetches in two of its refreshes, and
the rings of a council weigh about epochs x FULL_EVERY entries, not epochs squared.
"""

from __future__ import annotations

import base64

from shora.kernel import keys
from shora.kernel.core import NodeCore
from shora.kernel.events import WELCOME_KIND
from shora.kernel.waiting import MAX_WELCOMES_PER_HINT

RING_ENVELOPE_MIN = 4  # fewer missing epochs than this travel in each welcome instead
FULL_EVERY = 16  # a delta ring carries at most this many epochs


class Rings:
    """What ring envelopes under each epoch carry, read once, and the writing of new ones."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core
        self._carried: dict[bytes, frozenset[bytes]] = {}  # by the epoch they are under
        self._reach: dict[bytes, tuple[int, frozenset[bytes]]] = {}  # by epoch: (held, reach)

    def reach(self, epoch: keys.Epoch, ring: list[keys.Epoch]) -> frozenset[bytes]:
        """The epochs a newcomer welcomed under `epoch` learns from ring envelopes,
        writing one under it first if they lack RING_ENVELOPE_MIN or more of `ring`
        (every epoch we hold). `epoch` itself is never in it: the welcome brings it."""
        kept = self._reach.get(epoch.write_pk)
        if kept is not None and kept[0] == len(ring):
            return kept[1]
        reach = self._closure(epoch.write_pk)
        older = [e for e in ring if e.write_pk != epoch.write_pk]
        missing = [e for e in older if e.write_pk not in reach]
        hint = keys.ring_hint(epoch.write_pk)
        stored = self.core.store.events.welcomes_with_hint(hint)
        if len(missing) >= RING_ENVELOPE_MIN and stored < MAX_WELCOMES_PER_HINT:
            content = self._delta(older) or older[-keys.MAX_RING_ENVELOPE :]
            sealed = keys.seal_ring(epoch, content)
            text = base64.b64encode(sealed).decode("ascii")
            self.core.ingest_raw(self.core.envelope(epoch, WELCOME_KIND, [["k", hint]], text))
            self._carried[epoch.write_pk] = self.carried(epoch.write_pk) | {
                e.write_pk for e in content
            }
            self._reach.clear()  # a new ring may extend what other epochs reach
            reach = self._closure(epoch.write_pk)
        self._reach[epoch.write_pk] = (len(ring), reach)
        return reach

    def _delta(self, older: list[keys.Epoch]) -> list[keys.Epoch] | None:
        """F and the epochs not in F's ring, for the newest F among the last FULL_EVERY
        whose ring carries every epoch held before it; None if there is none."""
        for at in range(len(older) - 1, max(len(older) - FULL_EVERY, 0) - 1, -1):
            carried = self.carried(older[at].write_pk)
            if not carried or not all(e.write_pk in carried for e in older[:at]):
                continue
            delta = [e for e in older[at:] if e.write_pk not in carried]
            if len(delta) <= FULL_EVERY:
                return delta
        return None

    def carried(self, write_pk: bytes) -> frozenset[bytes]:
        """The epochs the ring envelopes stored under `write_pk` carry (read once)."""
        found = self._carried.get(write_pk)
        if found is None:
            epoch = self.core.epoch(write_pk)
            found = frozenset()
            if epoch is not None:
                hint = keys.ring_hint(write_pk)
                for sealed in self.core.store.events.contents_with_hint(hint):
                    found |= {e.write_pk for e in keys.open_ring(epoch, sealed) or ()}
            self._carried[write_pk] = found
        return found

    def _closure(self, start: bytes) -> frozenset[bytes]:
        """Every epoch reached from `start` through the rings, `start` excluded."""
        seen: set[bytes] = set()
        edge = [start]
        while edge:
            for found in self.carried(edge.pop()):
                if found not in seen and found != start:
                    seen.add(found)
                    edge.append(found)
        return frozenset(seen)
