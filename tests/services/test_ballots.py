"""Secret ballots end to end on real profiles: the tellers' ceremony, anonymous
ballots, re-votes, the close, k of n tellers counting while one withholds, and every
replica reaching the same result from the events alone (docs/ballot-secrecy.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import T0, Clock, admit, everyone, make_node
from shora.domain.ballots.state import verdict_key
from shora.domain.decisions import kinds as dk
from shora.errors import NotAllowed
from shora.node import Node
from shora.services import ballots as sb

DAY = 86_400


def secret_proposal(method: str = "yes_no", **kw: Any) -> dk.Propose:
    kw.setdefault("deadline", T0 + DAY)
    return dk.Propose(title=f"A secret {method} vote", text="Strike?", method=method, **kw)


def elect_tellers(nodes: list[Node], council: bytes, clock: Clock, tellers: list[Node]) -> None:
    """Elect `tellers` to the role "teller": everyone votes for them, then the vote is
    closed (an hour's vote, so that a secret ballot's deadline a day on is still ahead)."""
    keys = [t.me(council) for t in tellers]
    ranked = [k.hex() for k in keys if k]
    pid = nodes[0].governance.elect(
        council, "teller", [k for k in keys if k], seats=len(keys), hours=1
    )
    everyone(nodes)
    for node in nodes:
        node.decisions.vote(council, pid, dk.RankedBallot(ranked))
    everyone(nodes)
    clock.t = max(clock.t, nodes[0].decisions.proposal(council, pid).closes_at)
    nodes[0].decisions.close(council, pid)
    everyone(nodes)
    assert nodes[0].ballots.tellers(council).keys == tuple(sorted(k for k in keys if k))


def setup_vote(nodes: list[Node], council: bytes, clock: Clock, body: dk.Propose) -> bytes:
    """Elect every node teller (2 of 3 needed, the default share of two thirds), propose,
    and run the key ceremony."""
    elect_tellers(nodes, council, clock, nodes)
    pid = nodes[0].ballots.propose(council, body)
    everyone(nodes)
    for node in nodes[1:]:
        assert node.ballots.take_part(council, pid) == ["dealt"]
    everyone(nodes)
    for node in nodes:
        assert node.ballots.take_part(council, pid) == ["ready"]
    everyone(nodes)
    assert all(n.ballots.ballot(council, pid).key is not None for n in nodes)
    return pid


def count(
    nodes: list[Node], council: bytes, pid: bytes, clock: Clock, tellers: list[Node]
) -> sb.SecretState:
    clock.t = nodes[0].ballots.ballot(council, pid).closes_at
    nodes[0].ballots.close(council, pid)
    everyone(nodes)
    for teller in tellers:
        assert teller.ballots.take_part(council, pid) == ["shares"]
    everyone(nodes)
    states = [n.ballots.ballot(council, pid) for n in nodes]
    assert states[0] == states[1] == states[2]
    return states[0]


def test_secret_yes_no_with_a_revote_and_a_withholding_teller(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    nodes, council, clock = council3
    a, b, c = nodes
    pid = setup_vote(nodes, council, clock, secret_proposal())
    a.ballots.vote(council, pid, dk.YesNoBallot("yes"), delay=0)
    b.ballots.vote(council, pid, dk.YesNoBallot("no"), delay=0)
    c.ballots.vote(council, pid, dk.YesNoBallot("no"), delay=0)
    everyone(nodes)
    c.ballots.vote(council, pid, dk.YesNoBallot("yes"), delay=0)  # a re-vote replaces
    everyone(nodes)
    before = a.ballots.ballot(council, pid)
    assert before.result is None and before.opened == ()  # nothing before the close
    assert len(before.ballots) == 3 and before.replaced == 1
    # no ballot event names its voter
    for row in a.store.events.valid_of_kind(council, "ballot.cast"):
        assert row[1] not in {n.me(council) for n in nodes}
    with pytest.raises(NotAllowed):
        b.ballots.publish_shares(council, pid)  # not before the close
    state = count(nodes, council, pid, clock, [a, c])  # b withholds: 2 of 3 suffice
    assert state.final and state.passed is True
    assert (state.result.yes, state.result.no) == (2, 1)
    assert set(state.decrypted_by) == {a.me(council), c.me(council)}
    for node, vote in ((a, "yes"), (b, "no"), (c, "yes")):
        mine = node.ballots.my_ballot(council, pid)
        assert mine.counted and mine.read == dk.YesNoBallot(vote)


def test_ranked_secret_ballot(council3: tuple[list[Node], bytes, Clock]) -> None:
    nodes, council, clock = council3
    opts = ["Dara", "Elham", "Farid"]
    pid = setup_vote(nodes, council, clock, secret_proposal("schulze", options=opts))
    for node, ranking in zip(
        nodes, (["Elham", "Dara"], ["Elham"], ["Farid", "Elham"]), strict=True
    ):
        node.ballots.vote(council, pid, dk.RankedBallot(ranking), delay=0)
    everyone(nodes)
    state = count(nodes, council, pid, clock, nodes)
    assert state.winners == ("Elham",)


def test_too_few_tellers_no_result(council3: tuple[list[Node], bytes, Clock]) -> None:
    nodes, council, clock = council3
    pid = setup_vote(nodes, council, clock, secret_proposal())
    nodes[1].ballots.vote(council, pid, dk.YesNoBallot("yes"), delay=0)
    everyone(nodes)
    clock.t = nodes[0].ballots.ballot(council, pid).closes_at
    nodes[0].ballots.close(council, pid)
    everyone(nodes)
    nodes[2].ballots.take_part(council, pid)
    everyone(nodes)
    state = nodes[0].ballots.ballot(council, pid)
    assert state.closed_by is not None and state.result is None and state.opened == ()
    assert sb.phase(state, clock.t) == "counting"


def test_delayed_ballot_waits_then_counts(council3: tuple[list[Node], bytes, Clock]) -> None:
    nodes, council, clock = council3
    pid = setup_vote(nodes, council, clock, secret_proposal())
    nodes[1].ballots.vote(council, pid, dk.YesNoBallot("no"), delay=300)
    assert nodes[1].ballots.ballot(council, pid).ballots == ()  # held back
    clock.t += 301
    nodes[1].take_in([])
    assert len(nodes[1].ballots.ballot(council, pid).ballots) == 1


def test_a_change_of_vote_made_while_the_first_ballot_waits_goes_after_it(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    """The first ballot is held back for five minutes, the change goes out at once:
    its sequence goes past the waiting ballot's, so the change counts once both are out."""
    nodes, council, clock = council3
    pid = setup_vote(nodes, council, clock, secret_proposal())
    nodes[1].ballots.vote(council, pid, dk.YesNoBallot("yes"), delay=300)
    change = nodes[1].ballots.vote(council, pid, dk.YesNoBallot("no"), delay=0)
    clock.t += 301
    nodes[1].take_in([])
    everyone(nodes)
    for node in nodes:
        state = node.ballots.ballot(council, pid)
        assert [b.event for b in state.ballots] == [change] and state.replaced == 1


def test_running_nodes_do_their_tellers_part_each_round(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    nodes, council, clock = council3
    elect_tellers(nodes, council, clock, nodes)
    pid = nodes[0].ballots.propose(council, secret_proposal())
    for _ in range(3):  # deal, then check and say ready
        everyone(nodes)
        for node in nodes:
            node.housekeeping.after_round()
    everyone(nodes)
    assert nodes[2].ballots.ballot(council, pid).key is not None
    for node in nodes:
        node.ballots.vote(council, pid, dk.YesNoBallot("no"), delay=0)
    everyone(nodes)
    for node in nodes:
        node.housekeeping.after_round()
    assert nodes[0].ballots.ballot(council, pid).decrypted_by == ()  # nothing before the close
    clock.t = nodes[0].ballots.ballot(council, pid).closes_at
    nodes[1].ballots.close(council, pid)
    everyone(nodes)
    for node in nodes:
        node.housekeeping.after_round()
    everyone(nodes)
    state = nodes[0].ballots.ballot(council, pid)
    assert state.final and state.passed is False and len(state.decrypted_by) == 3


def test_a_member_admitted_after_the_proposal_cannot_vote(
    council3: tuple[list[Node], bytes, Clock], tmp_path: Path
) -> None:
    nodes, council, clock = council3
    pid = setup_vote(nodes, council, clock, secret_proposal())
    late = make_node(tmp_path, "late")
    late.now = clock
    try:
        admit(nodes[0], late, council, "Dariush")
        everyone([*nodes, late])
        with pytest.raises(NotAllowed, match="not a member when this proposal was made"):
            late.ballots.vote(council, pid, dk.YesNoBallot("yes"), delay=0)
        assert late.me(council) not in late.ballots.ballot(council, pid).eligible
    finally:
        late.close()


def test_no_secret_ballot_without_elected_tellers(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    nodes, council, _clock = council3
    assert nodes[0].ballots.tellers(council).keys == ()
    with pytest.raises(NotAllowed, match=r"no elected tellers.*shora elect COUNCIL teller"):
        nodes[0].ballots.propose(council, secret_proposal())


def test_tellers_needed_follow_the_rule(council3: tuple[list[Node], bytes, Clock]) -> None:
    nodes, council, clock = council3
    elect_tellers(nodes, council, clock, nodes[:2])
    tellers = nodes[2].ballots.tellers(council)
    assert len(tellers.keys) == 2 and tellers.needed == 2  # two thirds of 2, rounded up
    assert [sb.needed_of(n, "1/2") for n in (1, 2, 3, 5)] == [1, 1, 2, 3]
    pid = nodes[2].ballots.propose(council, secret_proposal())
    everyone(nodes)
    state = nodes[0].ballots.ballot(council, pid)
    assert state.problem is None and state.tellers == tellers.keys and state.needed == 2


def test_each_ballot_is_verified_once_per_device(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    """The verdict of a ballot's proofs is kept in the profile: a fresh reader (as a
    new command is) takes it from there, and a ballot the device never checked is
    checked then."""
    nodes, council, clock = council3
    a, b, _c = nodes
    pid = setup_vote(nodes, council, clock, secret_proposal())
    a.ballots.vote(council, pid, dk.YesNoBallot("yes"), delay=0)
    everyone(nodes)
    events = [row[0] for row in b.store.events.valid_of_kind(council, "ballot.cast")]
    # filed under the event and the ring it was checked against, never the event alone
    ring_keys = sorted(b.ballots.ballot(council, pid).eligible)
    casts = [verdict_key(events[0], ring_keys)]
    b.store.execute("DELETE FROM verdicts")
    b.ballots._cache.clear()
    assert b.store.events.verdicts(casts) == {}  # not read yet
    assert len(b.ballots.ballot(council, pid).ballots) == 1
    assert b.store.events.verdicts(casts) == {casts[0]: ""}
    assert b.store.events.verdicts(events) == {}
    b.store.execute("DELETE FROM verdicts")
    assert sb.SecretBallots(b).ballot(council, pid).ballots[0].event == events[0]
    assert b.store.events.verdicts(casts) == {casts[0]: ""}  # checked again, kept again
    # a kept verdict is what a fresh reader goes by: here one saying the ring failed
    b.store.execute("UPDATE verdicts SET verdict='not_in_electorate'")
    state = sb.SecretBallots(b).ballot(council, pid)
    assert state.ballots == () and dict(state.refused) == {"not_in_electorate": 1}
