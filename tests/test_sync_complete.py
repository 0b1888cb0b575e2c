"""A sync never stalls silently: it ends with everything the relay holds, or says what it
could not get and why (docs/sync.md §2.1, "Without NIP-77").

In process: relays without NIP-77 that cap their answers anywhere from 500 to 60,000
envelopes and read `until` as inclusive (NIP-01) or exclusive (nostr-relay); then real
relays on loopback (nostr-relay, nostr-sdk's) with a council of sequential posts, each
the parent of the next, through a partition and heal; and members uploading while
another syncs by fall-back.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shora.kernel import nip01
from shora.sync.paging import Pager
from shora.sync.relay import RelayConnection, RelayLimits
from shora.sync.session import SyncSession
from test_relay import (
    nostr_relay,
)
from test_sync_protocol import HOUR, KIND, SIGNER, START, MemoryView, _pool, run_pair

needs_nostr_relay = pytest.mark.skipif(nostr_relay is None, reason="needs nostr-relay==1.14")


class ExclusiveUntil(MemoryView):
    """A relay that reads `until` as `created_at < until`, as nostr-relay does."""

    def query(self, flt: dict[str, Any], limit: int = 50_000) -> list[bytes]:
        if "until" in flt:
            flt = {**flt, "until": flt["until"] - 1}
        return super().query(flt, limit)


@functools.cache
def _hour(h: int) -> list[nip01.Envelope]:
    """1,300 envelopes dated hour h of the pool (signed once for every example)."""
    return [_dated(e, START + h * HOUR) for e in _pool(1300, 1, h)]


def _dated(envelope: nip01.Envelope, created_at: int) -> nip01.Envelope:
    return nip01.sign_envelope(SIGNER, created_at, KIND, [], envelope.content)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    per_hour=st.lists(st.integers(0, 1300), min_size=1, max_size=4),
    cap=st.sampled_from([500, 501, 600, 1000, 5000, 6000, 60_000]),
    exclusive=st.booleans(),
    ours=st.integers(0, 50),
)
def test_complete_means_every_envelope_the_relay_holds(
    per_hour: list[int], cap: int, exclusive: bool, ours: int
) -> None:
    pool = [e for h, n in enumerate(per_hour) for e in _hour(h)[:n]]
    server = (ExclusiveUntil if exclusive else MemoryView).of(pool)
    client = MemoryView.of(pool[-ours:] if ours else [])
    session = SyncSession(client, fallback_window=None)
    relay = RelayConnection(server, RelayLimits(max_query=cap), negentropy=False)
    assert run_pair(session, relay)
    result = session.result
    lacking = {e.created_at for e in pool if bytes.fromhex(e.id) not in client.raws}
    if result.complete:
        assert lacking == set() and result.cut_hours == [] and result.shortfalls == []
    # Whatever did not come is in an hour the sync names; it names only hours too full
    # for a page, and every hour over the relay's cap.
    assert lacking <= set(result.cut_hours)
    full = {START + h * HOUR for h, n in enumerate(per_hour) if n >= 500}
    assert {START + h * HOUR for h, n in enumerate(per_hour) if n > cap} <= set(result.cut_hours)
    assert set(result.cut_hours) <= full
    assert bool(result.shortfalls) == bool(result.cut_hours)


def test_the_pager_always_ends() -> None:
    """Each request lowers the cursor or raises the limit (at most twice per date): a
    relay with endless envelopes at every second cannot keep a walk going."""
    since, top = 5 * HOUR - 300, 5 * HOUR
    pager = Pager({"kinds": [KIND], "since": since}, 10 * HOUR)
    requests = 0
    while (request := pager.request()) is not None:
        requests += 1
        pager.page_done([min(request["until"], top)] * request["limit"])
    assert requests <= 3 * (top - since + 1) + 1
    assert pager.cut == list(range(top, since - 1, -1))
