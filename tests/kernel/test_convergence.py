"""Property: the projected state is a function of the set of events.

Random histories on real profiles: concurrent admissions, removals (including
members removing each other at once), leaving, recoveries of a member's place to a new
key (concurrent with the rest, while the old key keeps signing) and posts, exchanged in partial,
shuffled and duplicated deliveries across partitions. Afterwards:
- replicas that hold the same envelopes have byte-identical projected state;
- a replica fed the union of everything in a random order, in random chunks, with
  duplicates, ends with exactly the founder's state;
- delivering everything a second time changes nothing;
- with a malicious member among them (a modified client forging rotations, removals,
  vouches, grants, departures and posts on any parents it holds), the same holds, and
  no removed member's device ever holds a key of an epoch made after its removal.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from attacks.adversary import Adversary
from conftest import (
    admit,
    check_convergence,
    freeze_observer,
    make_node,
    partial_sync,
    property_examples,
    send,
)
from shora.errors import LocalError
from shora.kernel import crypto, keys, kinds
from shora.node import Node

PERSONS = 5  # 0 founds; 1 and 2 join at once; 3 and 4 may be admitted later

person = st.integers(0, PERSONS - 1)
op = st.one_of(
    st.tuples(st.just("post"), person, st.just(0)),
    st.tuples(st.just("remove"), person, st.integers(1, PERSONS - 1)),
    st.tuples(st.just("admit"), person, st.integers(3, PERSONS - 1)),
    st.tuples(st.just("leave"), st.integers(1, PERSONS - 1), st.just(0)),
    st.tuples(st.just("sync"), person, person),
    st.tuples(st.just("recover"), person, st.integers(0, PERSONS - 1)),
)
forgery = st.tuples(
    st.just("forge"),
    person,
    st.tuples(
        st.sampled_from(["rotate", "rotate-claim", "remove", "vouch", "grant", "leave", "post"]),
        st.integers(0, 2**32 - 1),
    ),
)


@settings(
    max_examples=property_examples(dev=60, ci=20),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    ops=st.lists(st.one_of(op, forgery), min_size=1, max_size=30), seed=st.integers(0, 2**32 - 1)
)
def test_state_is_a_function_of_the_event_set(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, int, object]], seed: int
) -> None:
    root = tmp_path_factory.mktemp("conv")
    rnd = random.Random(seed)
    people = [make_node(root, f"p{i}") for i in range(PERSONS)]
    council = people[0].councils.create("Block 7", "", "p0", kinds.Rules(removal="member"))
    admit(people[0], people[1], council, "p1")
    admit(people[0], people[2], council, "p2")
    for p in people[1:3]:
        people[0].bundles.import_envelopes(p.bundles.envelopes())
        p.bundles.import_envelopes(people[0].bundles.envelopes())
    observer = freeze_observer(people[0], root)
    joined = {0, 1, 2}
    requests: dict[int, bytes] = {}  # person -> a recovery request for their place
    for kind, i, j in ops:
        node = people[i]
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
                if j not in requests:  # their new profile asks; the old one keeps its key
                    spare = make_node(root, f"p{j}-again")
                    requests[j] = spare.recovery.ask(council, f"p{j}")
                    spare.close()
                if not node.recovery.vouch(requests[j]).admitted:  # a second voucher
                    k = rnd.choice([k for k in sorted(joined) if k not in (i, j)] or [i])
                    send(node, people[k])
                    if people[k].recovery.vouch(requests[j]).admitted:
                        event("a place recovered")
            elif kind == "forge":
                _forge(people, i, council, j)  # type: ignore[arg-type]
        except LocalError:
            pass  # not allowed from this node's point of view: nothing was written
    check_convergence(people, council, observer, rnd)
    _no_removed_member_holds_a_later_key(people, council)
    for p in people:
        p.close()


def _forge(people: list[Node], i: int, council: bytes, what: tuple[str, int]) -> None:
    """Person i's modified client signs one event on parents of its choosing (any it
    holds) with any epoch it holds, and hands it to itself and to someone else."""
    kind, seed = what
    rnd = random.Random(seed)
    node = people[i]
    evil = Adversary(node, council)
    held = [
        bytes(r[0]) for r in node.store.rows("SELECT id FROM events WHERE council=?", (council,))
    ]
    parents = rnd.sample(held, k=min(len(held), rnd.randint(1, 3)))
    members = [
        bytes(r[0]) for r in node.store.rows("SELECT key FROM members WHERE council=?", (council,))
    ]
    epochs = evil.epochs()
    final = node.ingestor.projection.final_state(council)
    body: object
    if kind == "rotate":
        body = kinds.Rotate(crypto.random_bytes(32))
    elif kind == "rotate-claim":  # name an epoch someone else made, to block it
        body = kinds.Rotate(rnd.choice(sorted(final.epochs)))
    elif kind == "remove":
        body = kinds.Remove(rnd.choice(members), keys.Epoch.generate(council).write_pk)
    elif kind == "vouch":
        body = kinds.Vouch("remove", rnd.choice(members))
    elif kind == "grant":  # to itself: a member can always leak keys out of band
        epoch = rnd.choice(epochs)
        box = keys.seal_grant(final.members[evil.key].kx, epoch)
        body = kinds.EpochGrant(epoch.write_pk, [kinds.Grant(evil.key, box)])
    elif kind == "leave":
        body = kinds.Leave("")
    else:
        body = kinds.Message(f"forged {seed}")
    event_kind = {
        "rotate": "epoch.rotate",
        "rotate-claim": "epoch.rotate",
        "remove": "member.remove",
        "vouch": "member.vouch",
        "grant": "epoch.grant",
        "leave": "member.leave",
        "post": "post.message",
    }[kind]
    forged = evil.forge(
        event_kind,
        body,  # type: ignore[arg-type]
        parents=parents,
        time_ms=evil.time_of(parents) + rnd.randint(0, 60_000),
        epoch=rnd.choice(epochs),
    )
    node.bundles.import_envelopes([forged.raw])
    people[rnd.randrange(len(people))].bundles.import_envelopes([forged.raw])


def _no_removed_member_holds_a_later_key(people: list[Node], council: bytes) -> None:
    """No one whose membership ended holds an epoch whose creation saw that ending."""
    final = people[0].ingestor.projection.final_state(council)
    resolver = people[0].ingestor.projection.resolver(council)
    for p in people:
        me = _key(p, council)
        member = final.members.get(me)
        if member is None or member.ended_by is None or final.is_active(me):
            continue
        for write_key, created_by in final.epochs.items():
            if member.ended_by in resolver.past(created_by):
                assert p.ingestor.keyring.epoch(write_key) is None


def _key(node: Node, council: bytes) -> bytes:
    return node.me(council) or b"\0" * 32
