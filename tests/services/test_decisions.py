"""Decisions end to end on real profiles: every method, changing a ballot, the grace
period, closing, ballots after the close, quorum, amendments, minutes and tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from conftest import T0, Clock, admit, everyone, make_node, send
from shora.domain.decisions import kinds as dk
from shora.domain.decisions.state import phase
from shora.errors import InvalidInput, NotAllowed
from shora.node import Node
from shora.services import decisions as dec

DAY = 86_400


def proposal(method: str, **kw: Any) -> dk.Propose:
    kw.setdefault("deadline", T0 + DAY)
    return dk.Propose(title=f"A {method} vote", text="What shall we do?", method=method, **kw)


def close_all(nodes: list[Node], council: bytes, pid: bytes, clock: Clock) -> None:
    state = nodes[0].decisions.proposal(council, pid)
    clock.t = state.closes_at
    nodes[0].decisions.close(council, pid)
    everyone(nodes)


def run_vote(
    council3: tuple[list[Node], bytes, Clock], body: dk.Propose, ballots: list[dk.Ballot]
) -> dec.ProposalState:
    nodes, council, clock = council3
    # Clocks only go forward: a later vote in the same council moves its deadline on.
    body = msgspec.structs.replace(body, deadline=body.deadline + int(clock.t) - T0)
    pid = nodes[0].decisions.propose(council, body)
    everyone(nodes)
    for node, ballot in zip(nodes, ballots, strict=False):
        node.decisions.vote(council, pid, ballot)
    everyone(nodes)
    provisional = nodes[1].decisions.proposal(council, pid)
    assert not provisional.final
    close_all(nodes, council, pid, clock)
    states = [node.decisions.proposal(council, pid) for node in nodes]
    assert states[0] == states[1] == states[2]
    assert states[0].final
    assert states[0].result == provisional.result
    return states[0]


def test_yes_no(council3: tuple[list[Node], bytes, Clock]) -> None:
    Y, N = dk.YesNoBallot("yes"), dk.YesNoBallot("no")
    state = run_vote(council3, proposal("yes_no", threshold="2/3", inclusive=True), [Y, Y, N])
    assert (state.result.yes, state.result.no) == (2, 1)
    assert state.passed is True
    assert len(state.ballots) == 3 and state.quorum is not None and state.quorum.met


def test_consent_block_stops(council3: tuple[list[Node], bytes, Clock]) -> None:
    ballots = [
        dk.ConsentBallot("agree"),
        dk.ConsentBallot("object", "too soon"),
        dk.ConsentBallot("block", "unsafe for the night shift"),
    ]
    state = run_vote(council3, proposal("consent"), ballots)
    assert state.passed is False and state.result.blocked
    assert state.result.blocks == ("unsafe for the night shift",)


def test_approval_score_dots(council3: tuple[list[Node], bytes, Clock]) -> None:
    opts = ["park", "school", "mosque"]
    state = run_vote(
        council3,
        proposal("approval", options=opts, max_choices=2),
        [dk.ApprovalBallot(["park"]), dk.ApprovalBallot(["park", "school"])],
    )
    assert state.winners == ("park",) and state.result.totals["school"] == 1


def test_score(council3: tuple[list[Node], bytes, Clock]) -> None:
    state = run_vote(
        council3,
        proposal("score", options=["a", "b"], min_score=0, max_score=3),
        [dk.ScoreBallot({"a": 3, "b": 1}), dk.ScoreBallot({"b": 3}), dk.ScoreBallot({"a": 1})],
    )
    assert dict(state.result.totals) == {"a": 4, "b": 4} and state.winners == ("a",)


def test_dots(council3: tuple[list[Node], bytes, Clock]) -> None:
    state = run_vote(
        council3,
        proposal("dots", options=["a", "b"], budget=3),
        [dk.DotsBallot({"b": 3}), dk.DotsBallot({"a": 2, "b": 1})],
    )
    assert state.winners == ("b",)


def test_ranked_methods(council3: tuple[list[Node], bytes, Clock]) -> None:
    ballots: list[dk.Ballot] = [
        dk.RankedBallot(["x", "y", "z"]),
        dk.RankedBallot(["y", "x"]),
        dk.RankedBallot(["x"]),
    ]
    irv = run_vote(council3, proposal("irv", options=["x", "y", "z"]), ballots)
    assert irv.winners == ("x",)
    schulze = run_vote(council3, proposal("schulze", options=["x", "y", "z"]), ballots)
    assert schulze.winners == ("x",)
    stv = run_vote(council3, proposal("stv", options=["x", "y", "z"], seats=2), ballots)
    assert set(stv.winners) == {"x", "y"}


def test_time_poll(council3: tuple[list[Node], bytes, Clock]) -> None:
    state = run_vote(
        council3,
        proposal("time_poll", options=["Mon 18:00", "Tue 19:00"]),
        [
            dk.TimeBallot({"Mon 18:00": "no", "Tue 19:00": "yes"}),
            dk.TimeBallot({"Mon 18:00": "yes", "Tue 19:00": "if_need_be"}),
        ],
    )
    assert state.winners == ("Tue 19:00",)


def test_changing_a_ballot_and_my_ballot(council3: tuple[list[Node], bytes, Clock]) -> None:
    nodes, council, clock = council3
    a, b, _c = nodes
    pid = a.decisions.propose(council, proposal("yes_no"))
    send(a, b)
    b.decisions.vote(council, pid, dk.YesNoBallot("no"))
    clock.t += 60
    b.decisions.vote(council, pid, dk.YesNoBallot("yes"))
    everyone(nodes)
    state = a.decisions.proposal(council, pid)
    mine = state.ballot_of(b.councils.get(council).my_key or b"")
    assert mine is not None and mine.ballot == dk.YesNoBallot("yes")
    assert (state.result.yes, state.result.no) == (1, 0)


def test_late_ballot_within_grace_counts_then_close_fixes(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    nodes, council, clock = council3
    a, b, c = nodes
    pid = a.decisions.propose(council, proposal("yes_no", grace=DAY))
    everyone(nodes)
    a.decisions.vote(council, pid, dk.YesNoBallot("yes"))
    c.decisions.vote(council, pid, dk.YesNoBallot("no"))  # cast in time, carried late
    clock.t = T0 + DAY + 10  # in the grace period
    send(a, b)
    state = b.decisions.proposal(council, pid)
    assert phase(state, clock.t) == "grace" and len(state.ballots) == 1
    with pytest.raises(NotAllowed, match="can be closed from"):
        b.decisions.close(council, pid)
    with pytest.raises(NotAllowed, match="deadline for voting passed"):
        b.decisions.vote(council, pid, dk.YesNoBallot("yes"))
    send(c, b)  # the late delivery, still within grace
    assert len(b.decisions.proposal(council, pid).ballots) == 2
    clock.t = T0 + 2 * DAY
    assert phase(b.decisions.proposal(council, pid), clock.t) == "closable"
    b.decisions.close(council, pid)
    everyone(nodes)
    states = [n.decisions.proposal(council, pid) for n in nodes]
    assert states[0] == states[1] == states[2]
    assert states[0].final and (states[0].result.yes, states[0].result.no) == (1, 1)
    with pytest.raises(NotAllowed, match="closed"):
        a.decisions.vote(council, pid, dk.YesNoBallot("yes"))


def test_ballot_after_the_close_counts_nowhere(council3: tuple[list[Node], bytes, Clock]) -> None:
    nodes, council, clock = council3
    a, b, c = nodes
    pid = a.decisions.propose(council, proposal("yes_no"))
    everyone(nodes)
    a.decisions.vote(council, pid, dk.YesNoBallot("yes"))
    c.decisions.vote(council, pid, dk.YesNoBallot("no"))  # c has not shared it yet
    send(a, b)
    clock.t = T0 + DAY
    b.decisions.close(council, pid)  # b closes without c's ballot
    # c's ballot, claimed before the deadline, is concurrent with the close.
    send(c, a)  # a sees c's ballot before the close: provisional 1 : 1
    assert (
        a.decisions.proposal(council, pid).result.no,
        a.decisions.proposal(council, pid).final,
    ) == (
        1,
        False,
    )
    everyone(nodes)
    states = [n.decisions.proposal(council, pid) for n in nodes]
    assert states[0] == states[1] == states[2]
    assert states[0].final and (states[0].result.yes, states[0].result.no) == (1, 0)


def test_backdated_ballot_after_the_close_is_ignored(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    nodes, council, clock = council3
    a, _b, c = nodes
    pid = a.decisions.propose(council, proposal("yes_no"))
    everyone(nodes)
    clock.t = T0 + DAY + 1
    a.decisions.close(council, pid)
    everyone(nodes)
    clock.t = T0 + 10  # c lies about the time: the ballot claims to precede the deadline
    c.append(council, "decision.vote", dk.Vote(pid, dk.YesNoBallot("yes")))
    everyone(nodes)
    for node in nodes:
        assert node.decisions.proposal(council, pid).ballots == ()


def test_quorum(council3: tuple[list[Node], bytes, Clock]) -> None:
    state = run_vote(council3, proposal("yes_no", quorum="2/3"), [dk.YesNoBallot("yes")])
    assert state.quorum is not None and (state.quorum.required, state.quorum.met) == (2, False)
    assert state.passed is False
    abstain = [dk.YesNoBallot("yes"), dk.YesNoBallot("abstain")]
    state = run_vote(council3, proposal("yes_no", quorum="2/3"), abstain)
    assert state.quorum is not None and state.quorum.met and state.passed


def test_newcomer_cannot_vote_and_quorum_base(
    council3: tuple[list[Node], bytes, Clock], tmp_path: Path
) -> None:
    nodes, council, _clock = council3
    a = nodes[0]
    pid = a.decisions.propose(council, proposal("yes_no", quorum="1/1"))
    d = make_node(tmp_path, "d")
    d.now = a.now
    try:
        admit(a, d, council, "Dara")
        send(a, d)
        with pytest.raises(NotAllowed, match="not a member when this proposal was made"):
            d.decisions.vote(council, pid, dk.YesNoBallot("yes"))
        d.append(council, "decision.vote", dk.Vote(pid, dk.YesNoBallot("yes")))
        send(d, a)
        state = a.decisions.proposal(council, pid)
        assert len(state.eligible) == 3 and state.ballots == () and state.ineligible == 1
    finally:
        d.close()


def test_ballot_errors(council3: tuple[list[Node], bytes, Clock]) -> None:
    nodes, council, _clock = council3
    a = nodes[0]
    ranked = a.decisions.propose(council, proposal("irv", options=["x", "y"]))
    with pytest.raises(InvalidInput, match="ranked twice"):
        a.decisions.vote(council, ranked, dk.RankedBallot(["x", "x"]))
    with pytest.raises(InvalidInput, match="not an option"):
        a.decisions.vote(council, ranked, dk.RankedBallot(["w"]))
    with pytest.raises(InvalidInput, match="does not fit"):
        a.decisions.vote(council, ranked, dk.YesNoBallot("yes"))
    consent = a.decisions.propose(council, proposal("consent"))
    with pytest.raises(InvalidInput, match="block must give a reason"):
        a.decisions.vote(council, consent, dk.ConsentBallot("block", " "))
    with pytest.raises(InvalidInput, match="cannot be voted on"):
        a.decisions.propose(council, proposal("irv", options=["x"]))
    with pytest.raises(InvalidInput, match="future"):
        a.decisions.propose(council, proposal("yes_no", deadline=T0 - 1))


def test_amendments(council3: tuple[list[Node], bytes, Clock]) -> None:
    nodes, council, clock = council3
    a, b, _c = nodes
    pid = a.decisions.propose(council, proposal("yes_no"))
    send(a, b)
    first = b.decisions.amend(council, pid, "Text one", "clearer")
    clock.t += 1
    second = b.decisions.amend(council, pid, "Text two")
    send(b, a)
    assert a.decisions.proposal(council, pid).text == "What shall we do?"
    with pytest.raises(NotAllowed, match="only the proposal's author"):
        b.decisions.accept_amendment(council, first)
    a.decisions.accept_amendment(council, second)
    a.decisions.accept_amendment(council, first)  # accepted later, but amended earlier
    state = a.decisions.proposal(council, pid)
    assert state.text == "Text two"
    assert [x.accepted for x in state.amendments] == [True, True]
    assert state.amendments[0].reason == "clearer"


def test_the_council_can_pass_an_amendment_its_author_would_not(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    nodes, council, clock = council3
    a, b, c = nodes
    pid = a.decisions.propose(council, proposal("yes_no", deadline=T0 + 10 * DAY))
    everyone(nodes)
    amendment = b.decisions.amend(council, pid, "Two guards a night, not one.")
    everyone(nodes)
    vote = c.decisions.put_amendment_to_vote(council, amendment, hours=24)
    everyone(nodes)
    for node in (b, c):
        node.decisions.vote(council, vote, dk.YesNoBallot("yes"))
    a.decisions.vote(council, vote, dk.YesNoBallot("no"))
    everyone(nodes)
    assert a.decisions.proposal(council, pid).text == "What shall we do?"  # not closed yet
    clock.t = c.decisions.proposal(council, vote).closes_at
    c.decisions.close(council, vote)
    everyone(nodes)
    for node in nodes:
        state = node.decisions.proposal(council, pid)
        assert state.text == "Two guards a night, not one."
        assert [x.accepted for x in state.amendments] == [True]
    # A failed amendment vote changes nothing.
    other = a.decisions.amend(council, pid, "No guards.")
    everyone(nodes)
    vote = a.decisions.put_amendment_to_vote(council, other, hours=24)
    everyone(nodes)
    for node in nodes:
        node.decisions.vote(council, vote, dk.YesNoBallot("no"))
    everyone(nodes)
    clock.t = a.decisions.proposal(council, vote).closes_at
    a.decisions.close(council, vote)
    everyone(nodes)
    assert b.decisions.proposal(council, pid).text == "Two guards a night, not one."


def test_outcome_minutes_and_tasks(council3: tuple[list[Node], bytes, Clock]) -> None:
    nodes, council, clock = council3
    a, b, _c = nodes
    pid = a.decisions.propose(council, proposal("yes_no"))
    a.decisions.record_outcome(council, pid, "Adopted at the meeting")
    a.decisions.write_minutes(council, "Meeting 1", "We met.", [pid])
    send(a, b)
    [m] = b.decisions.minutes(council)
    assert (m.title, m.decisions) == ("Meeting 1", (pid,))
    assert b.decisions.proposal(council, pid).outcomes[0][2] == "Adopted at the meeting"
    bkey = b.councils.get(council).my_key
    task = a.decisions.create_task(
        council, "Buy water", decision=pid, who_member=bkey, due=T0 + DAY
    )
    a.decisions.create_task(council, "Call the school", who="the school's caretaker")
    send(a, b)
    b.decisions.update_task(council, task, "doing", "on it")
    clock.t += 1
    b.decisions.update_task(council, task, "done")
    send(b, a)
    [done] = a.decisions.tasks(council, status="done")
    assert done.id == task and [n[1] for n in done.notes] == ["doing", "done"]
    assert [t.what for t in a.decisions.tasks(council, status="open")] == ["Call the school"]
    with pytest.raises(InvalidInput):
        a.decisions.update_task(council, task, "finished")


def test_proposals_open_first_and_paginated(council3: tuple[list[Node], bytes, Clock]) -> None:
    nodes, council, clock = council3
    a = nodes[0]
    early = a.decisions.propose(council, proposal("yes_no", deadline=T0 + 3600))
    later = [a.decisions.propose(council, proposal("yes_no")) for _ in range(3)]
    clock.t = T0 + 3601
    a.decisions.close(council, early)
    listed = [p.id for p in a.decisions.proposals(council)]
    assert listed == [*reversed(later), early]
    assert [p.id for p in a.decisions.proposals(council, limit=2, offset=2)] == [later[0], early]
