"""Property: self-government is a function of the event set, like membership.

Random histories on real profiles: rule changes, elections, recall petitions and
votes, emergency removals (some beyond the limits on pending ones, which the fold
refuses), ratifications and lapses, ballots changed and cast concurrently, closes
written concurrently by several members and closes claimed before the least voting
period (which do not count), all exchanged in
partial, shuffled, duplicated deliveries. Replicas holding the same envelopes have
byte-identical state (rules, role terms, members, validity), and a device of the
founder fed the union in any order ends with the same state.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_convergence import _key

from conftest import (
    T0,
    Clock,
    admit,
    check_convergence,
    freeze_observer,
    make_node,
    partial_sync,
    property_examples,
)
from shora.domain.decisions import kinds as dk
from shora.errors import LocalError
from shora.node import Node

PEOPLE = 4
person = st.integers(0, PEOPLE - 1)
op = st.one_of(
    st.tuples(st.just("rules"), person, st.integers(1, 5)),
    st.tuples(st.just("elect"), person, st.integers(1, 2)),
    st.tuples(st.just("petition"), person, person),
    st.tuples(st.just("recall"), person, person),
    st.tuples(st.just("vote"), person, st.integers(0, 5)),
    st.tuples(st.just("vote"), person, st.integers(0, 5)),
    st.tuples(st.just("close"), person, st.integers(0, 5)),
    st.tuples(st.just("close"), person, st.integers(0, 5)),
    st.tuples(st.just("early_close"), person, st.integers(0, 5)),
    st.tuples(st.just("emergency"), person, person),
    st.tuples(st.just("ratify"), person, st.just(0)),
    st.tuples(st.just("time"), st.just(0), st.integers(1, 80)),
    st.tuples(st.just("sync"), person, person),
)


def _act(people: list[Node], council: bytes, kind: str, i: int, j: int, rnd: random.Random) -> None:
    node, clock = people[i], people[0].now
    keys = [_key(p, council) for p in people]
    proposals = node.decisions.proposals(council, limit=20)
    if kind == "rules":
        changes = {"term_days": 10 * j, "max_pending_emergencies": j % 3 + 1}
        node.governance.change_rules(council, changes, hours=24)
    elif kind == "elect":
        node.governance.elect(council, "safety", keys[:3], seats=j, hours=1)
    elif kind == "petition":
        node.governance.petition(council, "coordinator", keys[j])
    elif kind == "recall":
        node.governance.recall(council, "coordinator", keys[j], hours=24)
    elif kind == "vote" and proposals:
        state = proposals[j % len(proposals)]
        if state.body.method == "yes_no":
            node.decisions.vote(council, state.id, dk.YesNoBallot(rnd.choice(["yes", "no"])))
        else:
            ranking = list(state.body.options)
            rnd.shuffle(ranking)
            node.decisions.vote(council, state.id, dk.RankedBallot(ranking))
    elif kind == "close" and proposals:
        assert isinstance(clock, Clock)
        state = proposals[j % len(proposals)]
        clock.t = max(clock.t, state.closes_at + rnd.choice([0, 0, 600]))
        node.decisions.close(council, state.id)
    elif kind == "early_close" and proposals:
        # A close claimed now, whatever the deadline: before it, it does not count.
        state = proposals[j % len(proposals)]
        node.append(council, "gov.close" if state.action else "decision.close", dk.Close(state.id))
    elif kind == "emergency":
        node.membership.remove(council, keys[j], "suspected", emergency=True)
    elif kind == "ratify":
        for em in node.governance.emergencies(council):
            node.governance.ratify(council, em.action, hours=24)
    elif kind == "time":
        assert isinstance(clock, Clock)
        clock.t += j * 1800
        node.housekeeping.run(council)


@settings(
    max_examples=property_examples(dev=25, ci=10),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(ops=st.lists(op, min_size=1, max_size=30), seed=st.integers(0, 2**32 - 1))
def test_governance_state_is_a_function_of_the_event_set(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, int, int]], seed: int
) -> None:
    root = tmp_path_factory.mktemp("gov")
    rnd = random.Random(seed)
    clock = Clock(T0)
    people = [make_node(root, f"p{i}") for i in range(PEOPLE)]
    for p in people:
        p.now = clock
    council = people[0].councils.create("Block 9", "", "p0")
    for k in range(1, PEOPLE):
        admit(people[0], people[k], council, f"p{k}")
    for p in people[1:]:
        p.bundles.import_envelopes(people[0].bundles.envelopes())
    observer = freeze_observer(people[0], root)
    # Every history starts with one of each governance proposal, seen by everyone.
    script = [("rules", 1, 3), ("elect", 2, 2), *[("petition", k, 0) for k in (1, 2, 3)]]
    script += [("sync", k, m) for k in range(PEOPLE) for m in range(PEOPLE) if k != m]
    for kind, i, j in [*script, ("recall", 3, 0)]:
        if kind == "sync":
            people[j].bundles.import_envelopes(people[i].bundles.envelopes())
        else:
            _act(people, council, kind, i, j, rnd)
    # Concurrent closes: two members close the first proposal without having met.
    tail = [("emergency", 0, 3), ("emergency", 0, 2), ("ratify", 1, 0), ("vote", 1, 0)]
    tail += [("close", 1, 0), ("close", 2, 0)]
    for kind, i, j in [*ops, *tail]:
        try:
            if kind == "sync":
                partial_sync(people[i], people[j], rnd)
            else:
                _act(people, council, kind, i, j, rnd)
        except LocalError:
            pass  # not allowed from this node's point of view: nothing was written
    check_convergence(people, council, observer, rnd, clock)
    for p in people:
        p.close()
