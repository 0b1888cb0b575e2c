"""Self-government end to end on real profiles: rule changes only through a passed
vote under the current rules' threshold, elections to roles with terms and term
limits, recall petitions and votes, emergency removals ratified or lapsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Clock, admit, everyone, make_node, send, three_members
from shora.domain.decisions import kinds as dk
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.kernel import kinds
from shora.node import Node
from shora.services import decisions as dec

HOUR, DAY = 3600, 86_400
YES, NO = dk.YesNoBallot("yes"), dk.YesNoBallot("no")


def vote_and_close(
    nodes: list[Node], council: bytes, pid: bytes, clock: Clock, ballots: list[dk.Ballot]
) -> dec.ProposalState:
    everyone(nodes)
    for node, ballot in zip(nodes, ballots, strict=False):
        node.decisions.vote(council, pid, ballot)
    everyone(nodes)
    clock.t = max(clock.t, nodes[0].decisions.proposal(council, pid).closes_at)
    nodes[0].decisions.close(council, pid)
    everyone(nodes)
    states = [n.decisions.proposal(council, pid) for n in nodes]
    assert all(s == states[0] for s in states) and states[0].final
    return states[0]


def test_rule_change_needs_the_current_threshold(council3) -> None:  # type: ignore[no-untyped-def]
    nodes, council, clock = council3
    a, b, c = nodes
    # Two of three is exactly 2/3: enough under the default rule (at least two thirds).
    pid = a.governance.change_rules(council, {"quorum": "1/3", "term_limit": 2})
    state = vote_and_close(nodes, council, pid, clock, [YES, YES, NO])
    assert state.passed is True
    for node in nodes:
        assert node.governance.rules(council).term_limit == 2
        assert node.governance.rules(council).quorum == "1/3"
    # Raise the rule-change threshold to unanimity, then a 2-of-3 change fails.
    pid = b.governance.change_rules(council, {"rule_change_threshold": "1/1"})
    vote_and_close(nodes, council, pid, clock, [YES, YES, YES])
    assert c.governance.rules(council).rule_change_threshold == "1/1"
    pid = c.governance.change_rules(council, {"term_days": 30})
    state = vote_and_close(nodes, council, pid, clock, [YES, YES, NO])
    assert state.passed is False and state.body.threshold == "1/1"
    assert all(n.governance.rules(council).term_days == 365 for n in nodes)


def test_a_proposal_cannot_lower_the_rules_floor(council3) -> None:  # type: ignore[no-untyped-def]
    nodes, council, clock = council3
    a = nodes[0]
    # A hostile client writes a rule change with a threshold of one in ten: the kernel
    # holds it to the council's rule (2/3), so one yes of three does not pass it.
    new = msgspec_replace(a.governance.rules(council), term_days=7)
    body = dk.Propose(
        title="t",
        text="t",
        method="yes_no",
        threshold="1/10",
        inclusive=True,
        deadline=int(clock.t) + DAY,
    )
    from shora.domain.governance import kinds as gk

    pid = a.append(council, "gov.propose", gk.GovPropose(body, gk.RuleChange(new)))
    state = vote_and_close(nodes, council, pid, clock, [YES, NO, NO])
    assert state.passed is False
    assert a.governance.rules(council).term_days == 365


def msgspec_replace(rules: kinds.Rules, **changes: object) -> kinds.Rules:
    import msgspec

    return msgspec.structs.replace(rules, **changes)


def test_rules_refuse_nonsense(council3) -> None:  # type: ignore[no-untyped-def]
    a = council3[0][0]
    council = council3[1]
    with pytest.raises(InvalidInput, match="not a rule"):
        a.governance.change_rules(council, {"dictator": "me"})
    with pytest.raises(InvalidInput, match="not valid"):
        a.governance.change_rules(council, {"term_days": 0})
    with pytest.raises(InvalidInput, match="already"):
        a.governance.change_rules(council, {"term_days": 365})


def names(node: Node, council: bytes, role: str) -> list[str]:
    return sorted(t.name for t in node.governance.roles(council) if t.role == role)


def test_election_with_stv_and_terms(council3) -> None:  # type: ignore[no-untyped-def]
    nodes, council, clock = council3
    a, _b, _c = nodes
    keys = {m.name: m.key for m in a.councils.members(council)}
    cands = [keys["Azadeh"], keys["Bahram"], keys["Cyrus"]]
    pid = a.governance.elect(council, "safety", cands, seats=2, term_days=30)
    hx = {n: keys[n].hex() for n in keys}
    ballots = [
        dk.RankedBallot([hx["Bahram"], hx["Cyrus"]]),
        dk.RankedBallot([hx["Bahram"], hx["Azadeh"]]),
        dk.RankedBallot([hx["Cyrus"], hx["Bahram"]]),
    ]
    state = vote_and_close(nodes, council, pid, clock, ballots)
    assert set(state.winners) == {hx["Bahram"], hx["Cyrus"]}
    for node in nodes:
        assert names(node, council, "safety") == ["Bahram", "Cyrus"]
    # The term ends after 30 days.
    for node in nodes:
        node.now = Clock(clock.t + 31 * DAY)
        assert names(node, council, "safety") == []
        node.now = clock


def test_election_replaces_the_founding_coordinator_and_term_limit(council3) -> None:  # type: ignore[no-untyped-def]
    nodes, council, clock = council3
    a, b, c = nodes
    keys = {m.name: m.key for m in a.councils.members(council)}
    pid = a.governance.change_rules(council, {"term_limit": 1})
    vote_and_close(nodes, council, pid, clock, [YES, YES, YES])
    pid = b.governance.elect(council, "coordinator", [keys["Bahram"], keys["Cyrus"]])
    ballots = [dk.RankedBallot([keys["Bahram"].hex()])] * 2 + [
        dk.RankedBallot([keys["Cyrus"].hex()])
    ]
    vote_and_close(nodes, council, pid, clock, ballots)
    assert names(c, council, "coordinator") == ["Bahram"]
    # Azadeh no longer holds an emergency power.
    with pytest.raises(NotAllowed):
        a.membership.remove(council, keys["Cyrus"], "suspected", emergency=True)
    # Bahram has served the one term the rules allow.
    with pytest.raises(NotAllowed, match="most the rules allow"):
        a.governance.elect(council, "coordinator", [keys["Bahram"], keys["Cyrus"]])


def test_recall_needs_a_petition_then_a_vote(tmp_path: Path) -> None:
    clock = Clock()
    (a, b, c), council = three_members(tmp_path, clock)
    d = make_node(tmp_path, "d")
    d.now = clock
    admit(a, d, council, "Dariush")
    nodes = [a, b, c, d]
    everyone(nodes)
    az = a.councils.members(council)[0].key
    az = next(m.key for m in a.councils.members(council) if m.name == "Azadeh")
    # Rules: 3 supporters (at most the 3 others): b and c are not enough.
    assert b.governance.petition(council, "coordinator", az, "hides the stock") == 2
    everyone(nodes)
    assert c.governance.petition(council, "coordinator", az) == 1
    everyone(nodes)
    with pytest.raises(NotAllowed, match="2 of the 3"):
        c.governance.recall(council, "coordinator", az)
    assert d.governance.petition(council, "coordinator", az) == 0
    everyone(nodes)
    pid = d.governance.recall(council, "coordinator", az)
    state = vote_and_close(nodes, council, pid, clock, [NO, YES, YES, YES])
    assert state.passed is True
    for node in nodes:
        assert names(node, council, "coordinator") == []
        node.close()


def test_recall_of_someone_without_the_role(council3) -> None:  # type: ignore[no-untyped-def]
    nodes, council, _ = council3
    a, _b, _c = nodes
    bk = next(m.key for m in a.councils.members(council) if m.name == "Bahram")
    with pytest.raises(NotFound):
        a.governance.petition(council, "coordinator", bk)


def emergency_remove(nodes: list[Node], council: bytes) -> tuple[bytes, bytes]:
    a, b, _c = nodes
    ck = next(m.key for m in a.councils.members(council) if m.name == "Cyrus")
    a.membership.remove(council, ck, "reported to the police", emergency=True)
    everyone(nodes)
    (em,) = b.governance.emergencies(council)
    assert em.status == "pending" and em.member == ck
    assert not b.ingestor.projection.final_state(council).is_active(ck)
    return em.action, ck


def ratification_vote(
    nodes: list[Node], council: bytes, clock: Clock, action: bytes, b_says: dk.Ballot
) -> None:
    """b opens the ratification of an emergency action; a votes yes, b as given; b
    closes it and everyone holds everything."""
    a, b, _c = nodes
    pid = b.governance.ratify(council, action, hours=24)
    everyone(nodes)
    a.decisions.vote(council, pid, YES)
    b.decisions.vote(council, pid, b_says)
    everyone(nodes)
    clock.t = b.decisions.proposal(council, pid).closes_at
    b.decisions.close(council, pid)
    everyone(nodes)


def test_emergency_removal_ratified(council3) -> None:  # type: ignore[no-untyped-def]
    nodes, council, clock = council3
    a, b, _c = nodes
    action, ck = emergency_remove(nodes, council)
    ratification_vote(nodes, council, clock, action, YES)
    for node in (a, b):
        assert node.governance.emergencies(council)[0].status == "ratified"
    clock.t += 100 * HOUR  # long after the period: nothing lapses
    for node in (a, b):
        assert node.governance.record_lapses(council) == 0
        assert not node.ingestor.projection.final_state(council).is_active(ck)


def test_emergency_removal_lapses_without_ratification(council3) -> None:  # type: ignore[no-untyped-def]
    nodes, council, clock = council3
    a, b, c = nodes
    _action, ck = emergency_remove(nodes, council)
    clock.t += 71 * HOUR
    assert b.governance.record_lapses(council) == 0  # not yet: the rules give 72 hours
    clock.t += 2 * HOUR
    assert b.governance.record_lapses(council) == 1
    assert b.governance.record_lapses(council) == 0
    a.housekeeping.run(council)  # any member's node records it, then grants the keys
    send(a, b)
    for node in (a, b):
        assert node.ingestor.projection.final_state(council).is_active(ck)
    everyone(nodes)
    assert c.governance.emergencies(council)[0].status == "lapsed"
    # Reinstated, Cyrus is given the new epoch's key and can write again.
    everyone(nodes)
    c.posts.post(council, "I am back", title="Back")
    everyone(nodes)
    titles = [p["title"] for p in a.posts.posts(council)]
    assert "Back" in titles


def test_ratification_rejected_undoes_the_removal(council3) -> None:  # type: ignore[no-untyped-def]
    nodes, council, clock = council3
    a, _b, _c = nodes
    action, ck = emergency_remove(nodes, council)
    ratification_vote(nodes, council, clock, action, NO)
    assert a.governance.emergencies(council)[0].status == "rejected"
    assert a.ingestor.projection.final_state(council).is_active(ck)


def test_a_running_node_records_a_lapse_without_new_events(council3) -> None:  # type: ignore[no-untyped-def]
    nodes, council, clock = council3
    _action, ck = emergency_remove(nodes, council)
    clock.t += 73 * HOUR
    nodes[1].housekeeping.after_round()  # what shora serve runs after every sync round
    assert nodes[1].governance.emergencies(council)[0].status == "lapsed"
    assert nodes[1].ingestor.projection.final_state(council).is_active(ck)


def test_the_time_zone_is_a_rule_changed_by_a_vote(council3) -> None:  # type: ignore[no-untyped-def]
    nodes, council, clock = council3
    a = nodes[0]
    assert a.governance.rules(council).time_zone == ""  # founded before the rule: UTC
    with pytest.raises(InvalidInput, match="is not a time zone"):
        a.governance.change_rules(council, {"time_zone": "Mars/Olympus"})
    with pytest.raises(InvalidInput, match="not valid"):
        a.governance.change_rules(council, {"time_zone": 7})
    pid = a.governance.change_rules(council, {"time_zone": " Asia/Tehran "})
    vote_and_close(nodes, council, pid, clock, [YES, YES, YES])
    assert all(n.governance.rules(council).time_zone == "Asia/Tehran" for n in nodes)


def test_founding_checks_the_time_zone(tmp_path: Path) -> None:
    node = make_node(tmp_path / "a")
    with pytest.raises(InvalidInput, match="is not a time zone"):
        node.councils.create("X", "", "N", kinds.Rules(time_zone="Mars/Olympus"))
    council = node.councils.create("X", "", "N", kinds.Rules(time_zone="Asia/Tehran"))
    assert node.governance.rules(council).time_zone == "Asia/Tehran"
