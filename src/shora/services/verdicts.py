"""Ring signatures checked once per device, on every core: the verdicts of anonymous
events' proofs (secret ballots, pledges), kept in the profile.

A verdict depends only on the event's bytes and on its vote's or campaign's electorate,
which its causal past fixes: it never changes, so it is kept and never invalidated.
libsodium runs without Python's global lock (cffi releases it around each call), so
checks on a thread per core run at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from shora.domain.decisions.state import EventView
from shora.kernel.core import NodeCore


def checked_once(
    core: NodeCore,
    events: Sequence[EventView],
    check: Callable[[EventView], str],
    key: Callable[[EventView], bytes] = lambda e: e.id,
) -> dict[bytes, str]:
    """Each event's verdict ("" good, else the reason), by `key` (the event's id unless
    the verdict depends on more than the event, as a ballot's on its ring): kept ones
    read back, the rest checked with `check` (pure: it runs on worker threads) and kept."""
    if not events:
        return {}
    keys = {key(e): e for e in events}
    kept = core.store.events.verdicts(list(keys))
    fresh = [k for k in keys if k not in kept]
    if fresh:
        with ThreadPoolExecutor(max_workers=min(len(fresh), os.cpu_count() or 1)) as pool:
            found = dict(zip(fresh, pool.map(check, (keys[k] for k in fresh)), strict=True))
        core.store.events.keep_verdicts(found)
        kept.update(found)
    return kept
