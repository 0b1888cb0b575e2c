"""A secret election seats its winners (docs/ballot-secrecy.md, "Secret elections"), on
real profiles: tellers elected by open ballot, a secret election of a treasurer and of
a coordinator, the count by k of n tellers, the seat any member's node publishes once
the count is final, and the role held on every replica, whatever the order in which
the events reach it."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from test_ballots import elect_tellers

from conftest import (
    Clock,
    check_convergence,
    council_of_members,
    everyone,
    freeze_observer,
)
from shora.domain.decisions import kinds as dk
from shora.errors import NotAllowed
from shora.node import Node


def secret_election(
    nodes: list[Node], council: bytes, clock: Clock, role: str, candidates: list[Node]
) -> bytes:
    """Open a secret election of `role` among `candidates`; the tellers make its key."""
    a = nodes[0]
    keys = [c.me(council) for c in candidates]
    action, body = a.governance.election(council, role, [k for k in keys if k], hours=30)
    pid = a.ballots.propose(council, body, action)
    everyone(nodes)
    for _ in range(2):
        for node in nodes:
            if node.me(council) in a.ballots.ballot(council, pid).tellers:
                node.ballots.take_part(council, pid)
        everyone(nodes)
    assert a.ballots.ballot(council, pid).key is not None
    return pid


def rank(nodes: list[Node], council: bytes, pid: bytes, rankings: list[list[Node]]) -> None:
    for node, ranking in zip(nodes, rankings, strict=True):
        order = [c.me(council).hex() for c in ranking]  # type: ignore[union-attr]
        node.ballots.vote(council, pid, dk.RankedBallot(order), delay=0)
    everyone(nodes)


def holders(node: Node, council: bytes, role: str) -> set[bytes]:
    return {t.member for t in node.governance.roles(council) if t.role == role}


def test_a_secret_election_seats_its_winner_on_every_replica(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    nodes, council, clock = council3
    a, b, c = nodes
    elect_tellers(nodes, council, clock, nodes)  # 2 of 3 count
    pid = secret_election(nodes, council, clock, "treasurer", [b, c])
    rank(nodes, council, pid, [[c, b], [b, c], [c]])
    with pytest.raises(NotAllowed):
        a.ballots.seat(council, pid)  # not before the count
    clock.t = a.ballots.ballot(council, pid).closes_at
    a.ballots.close(council, pid)
    everyone(nodes)
    assert a.ballots.take_part(council, pid) == ["shares"]  # one share: no result yet
    assert holders(a, council, "treasurer") == set()
    everyone(nodes)
    # the second teller's node completes the count and seats the winner itself
    assert b.ballots.take_part(council, pid) == ["shares", "seated"]
    everyone(nodes)
    for node in nodes:
        state = node.ballots.ballot(council, pid)
        assert state.final and state.winners == (c.me(council).hex(),)  # type: ignore[union-attr]
        assert holders(node, council, "treasurer") == {c.me(council)}
        assert node.ballots.holders(council, pid) == (c.me(council),)
        assert node.ballots.seated_by(council, pid) is not None
    with pytest.raises(NotAllowed):
        c.ballots.seat(council, pid)  # once
    assert c.ballots.seat_elected(council) == []


def test_a_running_node_seats_a_counted_election_by_itself(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    """The count made final by shares that came from elsewhere: the node's round (its
    housekeeping) publishes the seat; the coordinator's role passes to the winner."""
    nodes, council, clock = council3
    a, b, c = nodes
    elect_tellers(nodes, council, clock, nodes)
    pid = secret_election(nodes, council, clock, "coordinator", [b])  # b against RON
    rank(nodes, council, pid, [[b], [b], [b]])
    clock.t = a.ballots.ballot(council, pid).closes_at
    a.ballots.close(council, pid)
    everyone(nodes)
    for teller in (a, c):
        teller.ballots.publish_shares(council, pid)
    everyone(nodes)
    assert holders(b, council, "coordinator") == {a.me(council)}  # the founder, still
    b.housekeeping.after_round()
    everyone(nodes)
    for node in nodes:
        assert holders(node, council, "coordinator") == {b.me(council)}


def test_a_secret_election_nobody_wins_seats_nobody(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    nodes, council, clock = council3
    a, b, _c = nodes
    elect_tellers(nodes, council, clock, nodes)
    pid = secret_election(nodes, council, clock, "treasurer", [b])
    for node in nodes:
        node.ballots.vote(council, pid, dk.RankedBallot(["ron"]), delay=0)
    everyone(nodes)
    clock.t = a.ballots.ballot(council, pid).closes_at
    a.ballots.close(council, pid)
    everyone(nodes)
    for node in nodes:
        node.ballots.take_part(council, pid)
    everyone(nodes)
    assert a.ballots.ballot(council, pid).final
    assert a.ballots.seat_elected(council) == []
    with pytest.raises(NotAllowed):
        a.ballots.seat(council, pid)
    assert holders(a, council, "treasurer") == set()


@pytest.mark.parametrize("seed", [16, 61])
def test_every_replica_seats_the_same_holders_in_any_order(tmp_path: Path, seed: int) -> None:
    """Four members; two publish a seat at once, neither knowing of the other's; the
    events reach a device frozen before the election shuffled, in pieces, with
    duplicates: every replica ends with the same state and the same holders, those the
    ballots elected, and exactly one seat stands."""
    people, council, clock = council_of_members(tmp_path, 4, "Bakery")
    elect_tellers(people, council, clock, people[:3])
    observer_home = freeze_observer(people[0], tmp_path)
    a, b, c, d = people
    pid = secret_election(people, council, clock, "treasurer", [c, d])
    rank(people, council, pid, [[d, c], [c, d], [d], [d, c]])
    clock.t = a.ballots.ballot(council, pid).closes_at
    a.ballots.close(council, pid)
    everyone(people)
    for teller in (a, b, c):
        teller.ballots.publish_shares(council, pid)
    everyone(people)
    seats = [d.ballots.seat(council, pid), b.ballots.seat(council, pid)]
    everyone(people)
    check_convergence(people, council, observer_home, random.Random(seed), now=clock)
    observer = Node.open(observer_home, "correct horse battery", allow_weak_kdf=True)
    observer.now = clock
    try:
        for node in [*people, observer]:
            assert holders(node, council, "treasurer") == {d.me(council)}
            assert node.ballots.seated_by(council, pid) in seats
        assert len({n.ballots.seated_by(council, pid) for n in [*people, observer]}) == 1
    finally:
        observer.close()
        for person in people:
            person.close()
