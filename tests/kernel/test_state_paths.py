"""Property: every way the code reaches a membership state gives the same state.

The resolver reaches a causal past's state either by folding its events from the first
one or by extending a cached state with one event later in the total order
(`Resolver._extend`), and the projection keeps the final state, the `members` table
and each event's validity from such states as events arrive. On random histories
(concurrent admissions, removals, mutual removals, departures, recoveries, elections
that change who holds a role, forged events, partial and shuffled deliveries), for
every replica:
- the projection's final state, the causal state of every state event, the `members`
  table and the validity of every state event equal a fold from scratch (no cache, no
  extension);
- a projection opened again on the same store (a restart) agrees;
- resolvers fed the same events in other causal orders, asked for the final state after
  each event as the projection asks, reach the same states.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import Clock, admit, make_node, partial_sync, property_examples, send
from kernel.test_convergence import PERSONS, _forge, _key, forgery, op
from shora.domain.decisions import kinds as dk
from shora.errors import LocalError
from shora.kernel import kinds, membership
from shora.kernel.projection import Projection, _member_row
from shora.node import Node


class Refold(membership.Resolver):
    """A resolver that folds every causal past from its first event: no extension of a
    cached state (memoised by the full set only)."""

    def state_of(self, ids: Collection[bytes]) -> membership.CouncilState:
        whole = self.closure(ids)
        found = self._cache.get(whole)
        if found is None:
            found = self._fold(sorted(whole, key=lambda e: (self.events[e].clock, e)))
            self._cache[whole] = found
        return found

    def precedes(self, x: bytes, y: bytes) -> bool:
        return x in self.closure(self.events[y].heads)  # the whole past, no walk


def refolded(
    events: dict[bytes, membership.StateEvent], council: bytes
) -> tuple[Refold, membership.CouncilState]:
    """A resolver that folds from scratch, and its state of every event."""
    fresh = Refold(council)
    for ev in sorted(events.values(), key=lambda e: (e.clock, e.id)):
        fresh.events[ev.id] = ev  # registered without `add`: nothing is extended
    return fresh, fresh.state_of(frozenset(fresh.events))


def causal_order(
    events: dict[bytes, membership.StateEvent], rnd: random.Random
) -> list[membership.StateEvent]:
    """The events in a random order in which each comes after its causal past."""
    left = dict(events)
    done: set[bytes] = set()
    order = []
    while left:
        ready = sorted(e for e, ev in left.items() if ev.heads <= done)
        pick = rnd.choice(ready)
        order.append(left.pop(pick))
        done.add(pick)
    return order


def check_paths(node: Node, council: bytes, rnd: random.Random) -> None:
    projection = node.ingestor.projection
    resolver = projection.resolver(council)
    fresh, final = refolded(resolver.events, council)
    assert projection.final_state(council) == final
    assert resolver.final() == final
    for ev in resolver.events.values():
        assert resolver.state_of(ev.heads) == fresh.state_of(ev.heads)
    rows = sorted(_member_row(council, final, m) for m in final.members.values())
    stored = node.store.members.state_rows(council)
    assert [tuple(r) for r in stored] == [r[1:] for r in rows]
    applied = {e for e, _ in final.applied}
    for eid in resolver.events:
        valid = node.store.one("SELECT valid FROM events WHERE id=?", (eid,))
        assert bool(valid) == (eid in applied)
    # Whether an event precedes an ending: the walk bounded by the clock and resumed
    # across questions answers as the whole ancestry does.
    ends = {x for xs in final.ends.values() for x in xs}
    rows = node.store.rows("SELECT id FROM events WHERE council=?", (council,))
    ids = [bytes(r[0]) for r in rows]
    walker = Projection(node.store)
    for end in sorted(ends):
        whole = Projection(node.store).ancestors(end)
        for eid in rnd.sample(ids, len(ids)):
            assert walker.precedes(eid, end) == (eid in whole)
    # A restart: the same store read again, every state folded or extended anew.
    again = Projection(node.store)
    assert again.final_state(council) == final
    # The same events in other causal orders, the final state asked after each one.
    for _ in range(3):
        other = membership.Resolver(council)
        for ev in causal_order(resolver.events, rnd):
            assert other.add(ev) == fresh.state_of(ev.heads)
            everything = frozenset(other.events)
            assert other.state_of(everything) == fresh.state_of(everything)
            assert other.final() == fresh.state_of(everything)


person = st.integers(0, PERSONS - 1)
governance = st.one_of(
    st.tuples(st.just("elect"), person, person),
    st.tuples(st.just("vote"), person, st.integers(0, 3)),
    st.tuples(st.just("close"), person, st.integers(0, 3)),
)
HOUR_S = 3600


def play(
    root: Path, ops: list[tuple[str, int, object]], seed: int
) -> tuple[list[Node], bytes, random.Random]:
    """Run a random history on five real profiles; returns them and the council."""
    rnd = random.Random(seed)
    clock = Clock()
    people = [make_node(root, f"p{i}") for i in range(PERSONS)]
    for p in people:
        p.now = clock
    council = people[0].councils.create("Block 7", "", "p0", kinds.Rules(removal="member"))
    admit(people[0], people[1], council, "p1")
    admit(people[0], people[2], council, "p2")
    joined = {0, 1, 2}
    requests: dict[int, bytes] = {}
    elections: list[tuple[bytes, bytes]] = []  # (proposal, candidate)
    for kind, i, j in ops:
        node = people[i]
        clock.t += 1
        if i not in joined and kind != "sync":
            continue
        try:
            if kind == "post":
                node.posts.post(council, f"post {rnd.random()}")
            elif kind == "remove" and j in joined:
                node.membership.remove(council, _key(people[j], council))
            elif kind == "admit" and j not in joined:
                admit(node, people[j], council, f"p{j}")
                joined.add(j)
            elif kind == "leave":
                node.membership.leave(council)
            elif kind == "sync":
                partial_sync(node, people[j], rnd)  # type: ignore[index]
            elif kind == "recover" and j in joined and i != j:
                if j not in requests:
                    spare = make_node(root, f"p{j}-again")
                    requests[j] = spare.recovery.ask(council, f"p{j}")
                    spare.close()
                if not node.recovery.vouch(requests[j]).admitted:
                    k = rnd.choice([k for k in sorted(joined) if k not in (i, j)] or [i])
                    send(node, people[k])
                    people[k].recovery.vouch(requests[j])
            elif kind == "forge":
                _forge(people, i, council, j)  # type: ignore[arg-type]
            elif kind == "elect" and j in joined:
                candidate = _key(people[j], council)
                role = rnd.choice(["coordinator", "safety"])
                pid = node.governance.elect(council, role, [candidate], hours=1)
                elections.append((pid, candidate))
                # Most of those who hold it vote at once (concurrent votes, removals and
                # closes come from the other operations).
                ballot = dk.RankedBallot([candidate.hex()])
                for k in sorted(joined):
                    if rnd.random() < 0.8:
                        send(node, people[k])
                        try:
                            people[k].decisions.vote(council, pid, ballot)
                        except LocalError:
                            pass
                        send(people[k], node)
                if rnd.random() < 0.5:
                    clock.t += 2 * HOUR_S
                    node.decisions.close(council, pid)
            elif kind == "vote" and elections:
                pid, candidate = elections[int(j) % len(elections)]  # type: ignore[call-overload]
                node.decisions.vote(council, pid, dk.RankedBallot([candidate.hex()]))
            elif kind == "close" and elections:
                pid, _ = elections[int(j) % len(elections)]  # type: ignore[call-overload]
                clock.t += 2 * HOUR_S
                node.decisions.close(council, pid)
        except LocalError:
            pass  # not allowed from this node's point of view: nothing was written
    return people, council, rnd


@settings(
    max_examples=property_examples(dev=30, ci=12),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    ops=st.lists(st.one_of(op, op, forgery, governance, governance), min_size=1, max_size=30),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_path_to_a_state_gives_the_fold_from_scratch(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, int, object]], seed: int
) -> None:
    people, council, rnd = play(tmp_path_factory.mktemp("paths"), ops, seed)
    try:
        for p in people:
            if p.ingestor.projection.resolver(council).events:  # it holds the council
                final = p.ingestor.projection.final_state(council)
                if any(t.source != final.genesis for ts in final.terms.values() for t in ts):
                    event("an election gave a role")
                check_paths(p, council, rnd)
    finally:
        for p in people:
            p.close()


def test_an_event_after_its_authors_concurrent_removal_is_void(tmp_path: Path) -> None:
    """The history a property test found: m, removed by a, unaware invites and admits
    someone; her events reach a after the removal and sort after everything a holds, so
    a extends its cached state with them one by one. They are void there as in a fold
    from scratch (they once were only left unapplied, out of the void set)."""
    clock = Clock()
    a, b, m, z = (make_node(tmp_path, x) for x in ("a", "b", "m", "z"))
    for node in (a, b, m, z):
        node.now = clock
    council = a.councils.create("Block 7", "", "Azar", kinds.Rules(removal="member"))
    admit(a, b, council, "Bijan")
    admit(a, m, council, "Mina")
    send(a, m)
    send(a, b)
    clock.t += 60
    assert a.membership.remove(council, _key(m, council), "informer").admitted
    m.membership.invite(council)  # her clock runs past a's removal and its grant
    admit(m, z, council, "Zohreh")
    send(m, a)
    final = a.ingestor.projection.final_state(council)
    resolver = a.ingestor.projection.resolver(council)
    hers = {e for e, ev in resolver.events.items() if ev.author == _key(m, council)}
    removal = final.members[_key(m, council)].ended_by
    assert removal is not None
    late = {e for e in hers if e not in resolver.past(removal)}
    assert len(late) == 3 and late <= final.void
    assert _key(z, council) not in final.members
    check_paths(a, council, random.Random(0))
    for node in (a, b, m, z):
        node.close()
