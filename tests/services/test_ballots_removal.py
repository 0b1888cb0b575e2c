"""A member removed after a secret ballot is proposed (docs/ballot-secrecy.md §5): a
ballot over a ring that still holds them, and that the removal's author had not seen,
could be theirs; it is refused with its reason, and an honest member whose ballot was
refused so is told to cast it again, which counts. Real profiles, real SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_ballots import elect_tellers

from conftest import T0, Clock, council_of_members, everyone, remove_by_two, send
from shora.domain.decisions import kinds as dk
from shora.errors import NotAllowed
from shora.node import Node

DAY = 86_400
YES, NO = dk.YesNoBallot("yes"), dk.YesNoBallot("no")


def four(root: Path) -> tuple[list[Node], bytes, Clock]:
    nodes, council, clock = council_of_members(root, 4)
    elect_tellers(nodes, council, clock, nodes[:3])
    return nodes, council, clock


def open_vote(nodes: list[Node], council: bytes) -> bytes:
    body = dk.Propose(title="Strike on Monday?", text="", method="yes_no", deadline=T0 + DAY)
    pid = nodes[0].ballots.propose(council, body)
    everyone(nodes)
    for _ in range(2):
        for teller in nodes[:3]:
            teller.ballots.take_part(council, pid)
        everyone(nodes)
    return pid


def test_a_removed_members_ballot_is_refused_and_an_honest_one_is_cast_again(
    tmp_path: Path,
) -> None:
    nodes, council, clock = four(tmp_path)
    a, b, c, d = nodes
    d_key = d.me(council)
    assert d_key is not None
    pid = open_vote(nodes, council)
    a.ballots.vote(council, pid, YES, delay=0)  # seen by the removal's authors: it stands
    c.ballots.vote(council, pid, NO, delay=0)  # not seen by them before the removal
    d.ballots.vote(council, pid, YES, delay=0)  # the member about to be removed
    remove_by_two(a, b, council, d_key)
    everyone(nodes)
    for node in (a, b, c):
        state = node.ballots.ballot(council, pid)
        assert state.removed == {d_key}
        assert len(state.ballots) == 1 and dict(state.refused) == {"removed": 2}
    # the honest member is told, on the vote's page and in the notifications
    mine = c.ballots.my_ballot(council, pid)
    assert mine.recast and not mine.counted
    assert [s.id for s in c.ballots.to_cast_again(council)] == [pid]
    assert not a.ballots.my_ballot(council, pid).recast
    assert a.ballots.to_cast_again(council) == []
    with pytest.raises(NotAllowed):
        d.ballots.vote(council, pid, YES, delay=0)  # no longer a member on its own node
    c.ballots.vote(council, pid, NO, delay=0)  # the same key image: it replaces the first
    everyone(nodes)
    assert c.ballots.my_ballot(council, pid).counted
    assert c.ballots.to_cast_again(council) == []
    clock.t = a.ballots.ballot(council, pid).closes_at
    b.ballots.close(council, pid)
    everyone(nodes)
    for teller in (a, b):
        teller.ballots.take_part(council, pid)
    everyone(nodes)
    for node in (a, b, c):
        state = node.ballots.ballot(council, pid)
        assert state.final and dict(state.refused) == {"removed": 2}
        assert (state.result.yes, state.result.no) == (1, 1)
        assert len(state.recast) == 1  # the removed member's: it can never be cast again
        assert c.ballots.my_ballot(council, pid).image not in state.recast
    assert c.ballots.my_ballot(council, pid).read == NO


def test_a_removal_after_the_deadline_voids_nothing(tmp_path: Path) -> None:
    """The member was one for the whole vote, and nobody could cast again by then."""
    nodes, council, clock = four(tmp_path)
    a, b, c, d = nodes
    d_key = d.me(council)
    assert d_key is not None
    pid = open_vote(nodes, council)
    c.ballots.vote(council, pid, NO, delay=0)
    d.ballots.vote(council, pid, YES, delay=0)
    clock.t = a.ballots.ballot(council, pid).body.deadline + 1
    remove_by_two(a, b, council, d_key)
    everyone(nodes)
    clock.t = a.ballots.ballot(council, pid).closes_at
    b.ballots.close(council, pid)
    everyone(nodes)
    for teller in (a, b):
        teller.ballots.take_part(council, pid)
    everyone(nodes)
    for node in (a, b, c):
        state = node.ballots.ballot(council, pid)
        assert state.final and state.refused == () and state.removed == frozenset()
        assert (state.result.yes, state.result.no) == (1, 1)


def test_a_change_of_vote_a_removal_voided_is_asked_again(tmp_path: Path) -> None:
    """The member's first ballot was seen by the removal's author and stands; their
    change of vote, cast before they knew of the removal, is refused: they are told,
    the earlier ballot counts until they cast the change again."""
    nodes, council, clock = four(tmp_path)
    a, b, c, d = nodes
    d_key = d.me(council)
    assert d_key is not None
    pid = open_vote(nodes, council)
    c.ballots.vote(council, pid, NO, delay=0)
    send(c, a)
    send(c, b)  # the removal's authors see the first ballot
    c.ballots.vote(council, pid, YES, delay=0)  # the change, not seen before the removal
    remove_by_two(a, b, council, d_key)
    everyone(nodes)
    mine = c.ballots.my_ballot(council, pid)
    assert mine.counted and mine.recast
    assert [s.id for s in c.ballots.to_cast_again(council)] == [pid]
    assert dict(a.ballots.ballot(council, pid).refused) == {"removed": 1}
    c.ballots.vote(council, pid, YES, delay=0)
    everyone(nodes)
    mine = c.ballots.my_ballot(council, pid)
    assert mine.counted and not mine.recast
    clock.t = a.ballots.ballot(council, pid).closes_at
    b.ballots.close(council, pid)
    everyone(nodes)
    for teller in (a, b):
        teller.ballots.take_part(council, pid)
    everyone(nodes)
    for node in (a, b, c):
        state = node.ballots.ballot(council, pid)
        assert (state.result.yes, state.result.no) == (1, 0) and state.replaced == 1
