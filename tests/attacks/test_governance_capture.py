"""Capturing self-government: a member whose client signs any event, with any parents
and claimed time, against honest replicas (docs/decisions.md §6, docs/security.md).

The office-holder's emergency powers cannot decide their own fate or remove a majority,
and no vote (rule change, ratification, ordinary proposal) closes before the least
voting period the rules set, however early a forged close claims to be.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from attacks.adversary import Adversary, Forged
from conftest import Clock, admit, council_of_three, everyone, make_node, send
from shora.domain.decisions import kinds as dk
from shora.domain.governance import kinds as gk
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.kernel import crypto, kinds
from shora.node import Node

HOUR, DAY = 3600, 86_400
YES = dk.YesNoBallot("yes")
NO = dk.YesNoBallot("no")


def key_of(node: Node, council: bytes, name: str) -> bytes:
    return next(m.key for m in node.councils.members(council) if m.name == name)


def active(node: Node, council: bytes, key: bytes) -> bool:
    return node.ingestor.projection.final_state(council).is_active(key)


def deliver(nodes: list[Node], *forged: Forged) -> None:
    """Hand the forged events to every node, the forger's own included (so that what it
    forges next descends from them)."""
    for node in nodes:
        node.bundles.import_envelopes([f.raw for f in forged])


def forged_emergency_removal(adv: Adversary, member: bytes) -> Forged:
    new_epoch = crypto.write_keypair()[0]
    return adv.forge("member.remove", kinds.Remove(member, new_epoch, "forged", emergency=True))


def council_of(
    root: Path, n: int, rules: kinds.Rules | None = None
) -> tuple[list[Node], bytes, Clock]:
    """n members m0..m(n-1) on one clock, m0 the founder (and coordinator)."""
    clock = Clock()
    people = [make_node(root, f"m{i}") for i in range(n)]
    for person in people:
        person.now = clock
    council = people[0].councils.create("Block 4 committee", "", "m0", rules)
    for i, person in enumerate(people[1:], start=1):
        admit(people[0], person, council, f"m{i}")
    for person in people[1:]:
        send(people[0], person)
    return people, council, clock


def yes_no(title: str, deadline: int) -> dk.Propose:
    return dk.Propose(title=title, text=title, method="yes_no", deadline=deadline)


# --- 1. emergency powers ---------------------------------------------------------------


def test_a_coordinator_cannot_ratify_her_own_emergency_removals_alone(tmp_path: Path) -> None:
    with council_of_three(tmp_path) as (nodes, council, clock):
        a, _b, c = nodes
        adv = Adversary(a, council)
        kb, kc = key_of(a, council, "Bahram"), key_of(a, council, "Cyrus")
        a.membership.remove(council, kb, "suspected", emergency=True)
        everyone(nodes)
        # Removing Cyrus as well would leave the coordinator half of the council or more:
        # refused by the command line, and by every replica when forged.
        with pytest.raises(NotAllowed, match="never half of the members"):
            a.governance.check_emergency_removal(council)
        deliver(nodes, forged_emergency_removal(adv, kc))
        assert all(active(n, council, kc) for n in (a, c))
        # Azadeh puts her removal of Bahram to the vote and votes alone. Bahram has no
        # key to vote with, but counts: one ballot of three misses the quorum (1/2).
        (em,) = c.governance.emergencies(council)
        pid = a.governance.ratify(council, em.action, hours=24)
        a.decisions.vote(council, pid, YES)
        clock.t = a.decisions.proposal(council, pid).closes_at
        a.decisions.close(council, pid)
        everyone(nodes)
        for node in (a, c):
            state = node.decisions.proposal(council, pid)
            assert state.final and len(state.eligible) == 3 and kb in state.eligible
            assert state.quorum is not None and not state.quorum.met
            assert node.governance.emergencies(council)[0].status == "rejected"
            assert active(node, council, kb)


def test_removed_members_count_in_a_rule_change_after_an_emergency(tmp_path: Path) -> None:
    """The sequel of an emergency removal: a rule change voted by the coordinator alone
    while the member she removed is out does not pass either."""
    with council_of_three(tmp_path) as (nodes, council, clock):
        a, _b, c = nodes
        adv = Adversary(a, council)
        a.membership.remove(council, key_of(a, council, "Bahram"), "suspected", emergency=True)
        everyone(nodes)
        new = msgspec.structs.replace(a.governance.rules(council), emergency_removal_roles=["boss"])
        propose = adv.forge(
            "gov.propose", gk.GovPropose(yes_no("Mine", int(clock.t) + DAY), gk.RuleChange(new))
        )
        deliver(nodes, propose)
        deliver(nodes, adv.forge("gov.vote", dk.Vote(propose.id, YES)))
        clock.t += DAY
        deliver(nodes, adv.forge("gov.close", dk.Close(propose.id)))
        for node in (a, c):
            assert node.decisions.proposal(council, propose.id).passed is False
            assert node.governance.rules(council).emergency_removal_roles == ["coordinator"]


def test_no_more_pending_emergency_removals_than_the_rules_allow(tmp_path: Path) -> None:
    people, council, _clock = council_of(tmp_path, 7)
    try:
        m0 = people[0]
        adv = Adversary(m0, council)
        keys = [key_of(m0, council, f"m{i}") for i in range(7)]
        for i in (1, 2):
            m0.membership.remove(council, keys[i], "suspected", emergency=True)
        everyone(people)
        # Two pending of seven is not half: the third is refused by the pending limit.
        with pytest.raises(NotAllowed, match="at most 2 emergency removals"):
            m0.governance.check_emergency_removal(council)
        deliver(people, forged_emergency_removal(adv, keys[3]))
        for node in people[3:]:
            assert active(node, council, keys[3])
            assert len(node.governance.emergencies(council)) == 2
    finally:
        for person in people:
            person.close()


def test_emergency_powers_cannot_remove_half_of_the_members(tmp_path: Path) -> None:
    # A pending limit the council raised: what stops the third removal is the majority.
    rules = kinds.Rules(max_pending_emergencies=5)
    people, council, _clock = council_of(tmp_path, 5, rules)
    try:
        m0 = people[0]
        adv = Adversary(m0, council)
        keys = [key_of(m0, council, f"m{i}") for i in range(5)]
        for i in (1, 2):  # two of five: fewer than half
            m0.membership.remove(council, keys[i], "suspected", emergency=True)
        everyone(people)
        with pytest.raises(NotAllowed, match="never half of the members"):
            m0.governance.check_emergency_removal(council)
        deliver(people, forged_emergency_removal(adv, keys[3]))
        for node in (m0, people[3], people[4]):
            assert active(node, council, keys[3])
            assert [e.status for e in node.governance.emergencies(council)] == ["pending"] * 2
    finally:
        for person in people:
            person.close()


# --- 2. the least voting period --------------------------------------------------------


def test_a_rule_change_closed_after_thirty_seconds_changes_nothing(tmp_path: Path) -> None:
    with council_of_three(tmp_path) as (nodes, council, clock):
        a, b, c = nodes
        adv = Adversary(a, council)
        opened = int(clock.t)
        new = msgspec.structs.replace(a.governance.rules(council), removal="member")
        body = gk.GovPropose(yes_no("Quick", opened + 30), gk.RuleChange(new))
        propose = adv.forge("gov.propose", body)
        deliver(nodes, propose)
        for node in nodes:  # everyone agrees, at once
            node.decisions.vote(council, propose.id, YES)
        everyone(nodes)
        clock.t = opened + 30
        deliver(nodes, adv.forge("gov.close", dk.Close(propose.id)))
        for node in (b, c):
            assert node.governance.rules(council).removal == "vouches"
            state = node.decisions.proposal(council, propose.id)
            assert not state.final and state.body.deadline == opened + DAY
        # A close by someone who is not a member, at the right time, does not count.
        clock.t = opened + DAY
        outsider = crypto.sign_keypair()
        deliver(nodes, adv.forge("gov.close", dk.Close(propose.id), author=outsider))
        assert all(node.governance.rules(council).removal == "vouches" for node in nodes)
        # The same close, by a member, 24 hours after the proposal: the council decided.
        deliver(nodes, adv.forge("gov.close", dk.Close(propose.id)))
        for node in nodes:
            assert node.governance.rules(council).removal == "member"
            assert node.decisions.proposal(council, propose.id).passed is True


def test_an_ordinary_proposal_closed_early_has_no_result(tmp_path: Path) -> None:
    with council_of_three(tmp_path) as (nodes, council, clock):
        a, b, c = nodes
        adv = Adversary(a, council)
        opened = int(clock.t)
        with pytest.raises(InvalidInput, match="at least 1 hour"):
            a.decisions.propose(council, yes_no("Paint the door", opened + 60))
        propose = adv.forge("decision.propose", yes_no("Paint the door", opened + 60))
        deliver(nodes, propose)
        for node in (b, c):
            node.decisions.vote(council, propose.id, YES)
        everyone(nodes)
        clock.t = opened + 61
        deliver(nodes, adv.forge("decision.close", dk.Close(propose.id)))
        for node in (b, c):
            state = node.decisions.proposal(council, propose.id)
            assert not state.final and state.closes_at == opened + HOUR
        clock.t = opened + HOUR
        deliver(nodes, adv.forge("decision.close", dk.Close(propose.id)))
        for node in nodes:
            state = node.decisions.proposal(council, propose.id)
            assert state.final and state.passed is True


def test_a_backdated_proposal_cannot_pass_without_the_council(tmp_path: Path) -> None:
    """A proposal claimed two days before the events it answers is refused by every
    replica (no event claims a time before its parents'); claimed at its parents' time
    with a deadline already past, it stays open for the least voting period, and the
    council votes it down."""
    with council_of_three(tmp_path) as (nodes, council, clock):
        a, b, c = nodes
        adv = Adversary(a, council)
        now = int(clock.t)
        new = msgspec.structs.replace(a.governance.rules(council), removal="member")
        body = gk.GovPropose(yes_no("Old", now - DAY), gk.RuleChange(new))
        backdated = adv.forge("gov.propose", body, time_ms=(now - 2 * DAY) * 1000)
        for node in (b, c):
            assert node.bundles.import_envelopes([backdated.raw]).refused == {"BadClock": 1}
        parents = adv.heads()
        propose = adv.forge("gov.propose", body, parents=parents, time_ms=adv.time_of(parents))
        deliver(nodes, propose)
        vote = adv.forge("gov.vote", dk.Vote(propose.id, YES), time_ms=adv.time_of([propose.id]))
        deliver(nodes, vote)
        # Its deadline is held to the least voting period: the others still vote.
        for node in (b, c):
            node.decisions.vote(council, propose.id, NO)
        everyone(nodes)
        clock.t += 2 * DAY
        deliver(nodes, adv.forge("gov.close", dk.Close(propose.id)))
        for node in (b, c):
            state = node.decisions.proposal(council, propose.id)
            assert state.final and state.passed is False
            assert node.governance.rules(council).removal == "vouches"


@pytest.mark.parametrize("hours", [0, 1, 23])
def test_a_rule_change_cannot_shorten_the_time_to_ratify(tmp_path: Path, hours: int) -> None:
    """Emergency removals that never lapse (0), or that lapse before a ratification vote
    may close: no rule change can set that, however the council votes."""
    with council_of_three(tmp_path) as (nodes, council, clock):
        a = nodes[0]
        adv = Adversary(a, council)
        with pytest.raises(InvalidInput, match="at least min_governance_vote_hours"):
            a.governance.change_rules(council, {"emergency_ratify_hours": hours})

        def forged_change(to: int) -> bytes:
            new = msgspec.structs.replace(a.governance.rules(council), emergency_ratify_hours=to)
            body = gk.GovPropose(yes_no("Ratify time", int(clock.t) + DAY), gk.RuleChange(new))
            propose = adv.forge("gov.propose", body)
            deliver(nodes, propose)
            return propose.id

        refused = forged_change(hours)
        for node in nodes:
            with pytest.raises(NotFound):  # not a valid proposal anywhere
                node.decisions.proposal(council, refused)
        deliver(nodes, adv.forge("gov.vote", dk.Vote(refused, YES)))
        # The same forged path with a time to ratify the rules allow is a proposal.
        allowed = forged_change(48)
        for node in nodes:
            node.decisions.vote(council, allowed, YES)
        everyone(nodes)
        clock.t += DAY
        deliver(nodes, adv.forge("gov.close", dk.Close(refused)))
        assert all(node.governance.rules(council).emergency_ratify_hours == 72 for node in nodes)
        deliver(nodes, adv.forge("gov.close", dk.Close(allowed)))
        assert all(node.governance.rules(council).emergency_ratify_hours == 48 for node in nodes)


# --- 3. the time zone rule -----------------------------------------------------------


def test_a_forged_time_zone_cannot_break_a_replica_or_its_pages(tmp_path: Path) -> None:
    """A modified client skips the writer's check of the zone. A name of the wrong shape
    is refused by every replica; a well-shaped name no device knows passes like any rule
    the council votes, and every replica still shows its times (as UTC), never fails."""
    from shora.i18n import format_time, using_time_zone

    with council_of_three(tmp_path) as (nodes, council, clock):
        a, b, _c = nodes
        adv = Adversary(a, council)
        opened = int(clock.t)
        rules = a.governance.rules(council)
        bad = msgspec.structs.replace(rules, time_zone="../../etc/" + "x" * 80)
        forged = adv.forge(
            "gov.propose", gk.GovPropose(yes_no("Zone", opened + DAY), gk.RuleChange(bad))
        )
        report = b.bundles.import_envelopes([forged.raw])
        assert report.accepted == 0 and report.refused == {"MalformedEvent": 1}
        unknown = msgspec.structs.replace(rules, time_zone="Mars/Olympus")
        body = gk.GovPropose(yes_no("Zone", opened + DAY), gk.RuleChange(unknown))
        propose = adv.forge("gov.propose", body)
        deliver(nodes, propose)
        for node in nodes:
            node.decisions.vote(council, propose.id, YES)
        everyone(nodes)
        clock.t = opened + DAY
        deliver(nodes, adv.forge("gov.close", dk.Close(propose.id)))
        for node in nodes:
            assert node.governance.rules(council).time_zone == "Mars/Olympus"
        with using_time_zone("Mars/Olympus"):
            assert format_time(opened).endswith("UTC")
