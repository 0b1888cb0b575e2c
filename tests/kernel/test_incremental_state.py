"""Property: the membership state kept up to date event by event is the state folded
again from scratch.

The resolver extends the final state with each state event that comes last in the
total order, and the projection rewrites only the members that extension wrote
(docs/architecture.md, "Membership state at scale"). On random histories (the same
operations as tests/kernel/test_convergence.py: concurrent admissions, removals, mutual
removals, departures, recoveries, forged events, partial and shuffled deliveries), every
replica's final state, the causal state of every state event and the `members` table
equal what a straightforward fold of the full causal past gives, with no cache and no
extension.
"""

from __future__ import annotations

from collections.abc import Collection

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import property_examples
from kernel.test_convergence import forgery, op
from kernel.test_state_paths import play
from shora.kernel import kinds, membership
from shora.kernel.projection import _member_row
from shora.node import Node


class Refold(membership.Resolver):
    """A resolver that folds every causal past from its first event: no extension of a
    cached state, no final state kept up to date (memoised by the full set only)."""

    def state_of(self, ids: Collection[bytes]) -> membership.CouncilState:
        whole = self.closure(ids)
        found = self._cache.get(whole)
        if found is None:
            found = self._fold(sorted(whole, key=lambda e: (self.events[e].clock, e)))
            self._cache[whole] = found
        return found

    def precedes(self, x: bytes, y: bytes) -> bool:
        return x in self.closure(self.events[y].heads)  # the whole past, no walk


def _refolded(node: Node, council: bytes) -> tuple[Refold, membership.CouncilState]:
    resolver = node.ingestor.projection.resolver(council)
    fresh = Refold(council)
    for ev in sorted(resolver.events.values(), key=lambda e: (e.clock, e.id)):
        fresh.events[ev.id] = ev  # registered without `add`: nothing is extended
    return fresh, fresh.state_of(frozenset(fresh.events))


def _check(node: Node, council: bytes) -> None:
    projection = node.ingestor.projection
    resolver = projection.resolver(council)
    fresh, final = _refolded(node, council)
    assert projection.final_state(council) == final
    assert resolver.final() == final
    for ev in resolver.events.values():
        assert resolver.state_of(ev.heads) == fresh.state_of(ev.heads)
    # The same events added one by one to a resolver that keeps only two causal pasts'
    # states: what it forgot is folded again, to the same states.
    small = membership.Resolver(council)
    small._cache = membership.LRU(2)
    for ev in sorted(resolver.events.values(), key=lambda e: (e.clock, e.id)):
        assert small.add(ev) == fresh.state_of(ev.heads)
        if isinstance(ev.body, kinds.Admit | kinds.Recover):
            assert small.causal_epochs(ev.id) == frozenset(fresh.state_of(ev.heads).epochs)
    assert small.final() == final
    rows = sorted(_member_row(council, final, m) for m in final.members.values())
    stored = node.store.members.state_rows(council)
    assert [tuple(r) for r in stored] == [(r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]


@settings(
    max_examples=property_examples(dev=30, ci=12),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    ops=st.lists(st.one_of(op, forgery), min_size=1, max_size=30), seed=st.integers(0, 2**32 - 1)
)
def test_incremental_state_equals_a_fold_from_scratch(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, int, object]], seed: int
) -> None:
    people, council, _rnd = play(tmp_path_factory.mktemp("incr"), ops, seed)
    for p in people:
        if p.ingestor.projection.resolver(council).events:  # it holds the council
            _check(p, council)
    for p in people:
        p.close()
