"""Property: the projected state is a function of the set of events.

Random histories on real profiles: concurrent admissions, removals (including
members removing each other at once), leaving and posts, exchanged in partial,
shuffled and duplicated deliveries across partitions. Afterwards:
- replicas that hold the same envelopes have byte-identical projected state;
- a replica fed the union of everything in a random order, in random chunks, with
  duplicates, ends with exactly the founder's state;
- delivering everything a second time changes nothing.
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import admit, check_convergence, freeze_observer, make_node, partial_sync
from shora.errors import LocalError
from shora.kernel import kinds
from shora.node import Node

PERSONS = 5  # 0 founds; 1 and 2 join at once; 3 and 4 may be admitted later

person = st.integers(0, PERSONS - 1)
op = st.one_of(
    st.tuples(st.just("post"), person, st.just(0)),
    st.tuples(st.just("remove"), person, st.integers(1, PERSONS - 1)),
    st.tuples(st.just("admit"), person, st.integers(3, PERSONS - 1)),
    st.tuples(st.just("leave"), st.integers(1, PERSONS - 1), st.just(0)),
    st.tuples(st.just("sync"), person, person),
)


@settings(
    max_examples=int(os.environ.get("SHORA_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(ops=st.lists(op, min_size=1, max_size=30), seed=st.integers(0, 2**32 - 1))
def test_state_is_a_function_of_the_event_set(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, int, int]], seed: int
) -> None:
    root = tmp_path_factory.mktemp("conv")
    rnd = random.Random(seed)
    people = [make_node(root, f"p{i}") for i in range(PERSONS)]
    council = people[0].create_council("Block 7", "", "p0", kinds.Rules(removal="member"))
    admit(people[0], people[1], council, "p1")
    admit(people[0], people[2], council, "p2")
    for p in people[1:3]:
        people[0].import_envelopes(p.envelopes())
        p.import_envelopes(people[0].envelopes())
    observer = freeze_observer(people[0], root)
    joined = {0, 1, 2}
    for kind, i, j in ops:
        node = people[i]
        if i not in joined and kind != "sync":
            continue
        try:
            if kind == "post":
                node.post(council, f"post {rnd.random()}")
            elif kind == "remove" and j in joined:
                node.remove(council, _key(people[j], council))
            elif kind == "admit" and j not in joined:
                admit(node, people[j], council, f"p{j}")
                joined.add(j)
            elif kind == "leave":
                node.leave(council)
            elif kind == "sync":
                partial_sync(node, people[j], rnd)
        except LocalError:
            pass  # not allowed from this node's point of view: nothing was written
    check_convergence(people, council, observer, rnd)
    for p in people:
        p.close()


def _key(node: Node, council: bytes) -> bytes:
    key = node.store.one("SELECT sign_pk FROM identities WHERE council=?", (council,))
    return bytes(key) if key else b"\0" * 32
