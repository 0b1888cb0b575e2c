"""Getting back in: a member whose device was wiped takes their place again under a new
key on a new profile, vouched for by the others (docs/protocol.md §9.1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from attacks.adversary import Adversary
from conftest import Clock, everyone, make_node, send, three_members
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.kernel import kinds
from shora.node import Node
from shora.services import recovery


def _texts(node: Node, council: bytes) -> list[str]:
    return [p["text"] for p in node.posts.posts(council, limit=1000)]


def _wipe(node: Node, root: Path, keep_as: str | None = None) -> Path | None:
    """The device is wiped (its profile directory deleted); a copy taken before, as a
    seizure would, is kept under `keep_as`."""
    node.close()
    kept = None
    if keep_as is not None:
        kept = root / keep_as
        shutil.copytree(node.home, kept)
    shutil.rmtree(node.home)
    return kept


def test_a_wiped_member_gets_back_in_with_name_and_role(tmp_path: Path) -> None:
    clock = Clock()
    (a, b, c), council = three_members(tmp_path, clock)
    old = a.identity(council).sign_pk
    a.posts.post(council, "before the wipe")
    everyone([a, b, c])
    _wipe(a, tmp_path)

    fresh = make_node(tmp_path, "a-new")
    fresh.now = clock
    signed = fresh.recovery.ask(council, "azadeh")  # as remembered: case does not matter
    assert fresh.recovery.pending(council) == signed
    text = recovery.recovery_request_text(signed)
    link = recovery.recovery_request_link(signed)
    assert recovery.read_recovery_request(link) == signed

    asked = b.recovery.open(recovery.read_recovery_request(text))
    assert (asked.old_key, asked.name, asked.roles) == (old, "Azadeh", ("coordinator",))
    assert (asked.supporters, asked.needed, asked.vouched, asked.mine) == (0, 2, False, False)
    first = b.recovery.vouch(signed)
    assert (first.admitted, first.supporters, first.needed) == (False, 1, 2)
    assert b.recovery.open(signed).vouched
    send(b, c)
    clock.t += 60
    done = c.recovery.vouch(signed)
    assert done.admitted and done.name == "Azadeh"
    everyone([b, c])
    send(c, fresh)

    new = fresh.identity(council).sign_pk
    assert new != old
    for node in (b, c, fresh):
        final = node.state(council)
        assert not final.is_active(old) and final.members[old].end == "recovered"
        assert final.is_active(new) and final.members[new].name == "Azadeh"
        assert final.roles_of(new, int(clock.t * 1000)) == ("coordinator",)
        assert final.current_key(old) == new and final.keys_of(new) == {old, new}
        assert node.find_member(council, "Azadeh") == new
    assert fresh.store.councils.status(council) == "member"
    # The history before the wipe is readable on the new profile, and it writes again.
    assert "before the wipe" in _texts(fresh, council)
    fresh.posts.post(council, "back again")
    everyone([fresh, b, c])
    assert "back again" in _texts(b, council)
    digests = {n.councils.state_digest(council) for n in (b, c, fresh)}
    assert len(digests) == 1


def test_the_old_key_signs_nothing_that_counts_afterwards(tmp_path: Path) -> None:
    clock = Clock()
    (a, b, c), council = three_members(tmp_path, clock)
    clock.t += 60
    everyone([a, b, c])
    early_heads = Adversary(a, council).heads()
    seized = _wipe(a, tmp_path, keep_as="seized")
    assert seized is not None
    fresh = make_node(tmp_path, "a-new")
    fresh.now = clock
    signed = fresh.recovery.ask(council, "Azadeh")
    b.recovery.vouch(signed)
    send(b, c)
    clock.t += 60
    assert c.recovery.vouch(signed).admitted
    everyone([b, c])
    send(c, fresh)

    # Whoever holds the seized copy signs with the old key: on old parents, back-dated,
    # and on the newest heads it can see.
    thief = Node.open(seized, "correct horse battery", allow_weak_kdf=True)
    thief.now = clock
    forger = Adversary(thief, council)
    t0 = int(clock.t * 1000)
    forged = [
        forger.forge(
            "post.message",
            kinds.Message("old parents, old time"),
            parents=early_heads,
            time_ms=t0 - 3_600_000,
        ),
        forger.forge("member.leave", kinds.Leave("leaving on old parents"), parents=early_heads),
        forger.forge("post.message", kinds.Message("on the latest heads")),
    ]
    for node in (b, c, fresh):
        node.bundles.import_envelopes([f.raw for f in forged])
        texts = _texts(node, council)
        assert "old parents, old time" not in texts and "on the latest heads" not in texts
        assert node.state(council).is_active(fresh.identity(council).sign_pk)
    # Nothing written after the recovery can be read with the old key's epochs.
    b.posts.post(council, "after the recovery")
    send(b, thief)
    assert "after the recovery" not in _texts(thief, council)
    thief.close()


def test_what_a_voucher_is_refused(tmp_path: Path) -> None:
    clock = Clock()
    (_a, b, _c), council = three_members(tmp_path, clock)
    fresh = make_node(tmp_path, "new")
    fresh.now = clock
    with pytest.raises(NotFound):
        b.recovery.open(fresh.recovery.ask(council, "Nobody here"))
    other = make_node(tmp_path, "other")
    other.now = clock
    mine = other.recovery.ask(council, "Bahram")
    with pytest.raises(NotAllowed):
        b.recovery.vouch(mine)  # a request for your own place
    with pytest.raises(InvalidInput):
        fresh.recovery.ask(council, "Azadeh")  # this profile already waits for it
    assert b.recovery.pending(council) is None


def test_commitments_offers_and_tasks_carry_over(tmp_path: Path) -> None:
    """What the member wrote before (an offer, a commitment, a task assigned to them)
    is theirs under the new key: they send what they committed and withdraw what they
    offered; the task shows their name."""
    from test_aid import AREAS, need, offer

    clock = Clock()
    (a, b, c), council = three_members(tmp_path, clock)
    a.aid.set_areas(council, AREAS)
    everyone([a, b, c])
    wanted = b.aid.post_need(council, need(quantity=5))
    everyone([a, b, c])
    water = a.aid.post_offer(council, offer(quantity=5))
    blankets = a.aid.post_offer(council, offer(category="shelter", quantity=3))
    committed = a.aid.commit(council, wanted, water, 5)
    old = a.identity(council).sign_pk
    task = b.decisions.create_task(council, "Fetch the pump", who_member=old)
    everyone([a, b, c])
    _wipe(a, tmp_path)
    fresh = make_node(tmp_path, "a-new")
    fresh.now = clock
    signed = fresh.recovery.ask(council, "Azadeh")
    b.recovery.vouch(signed)
    send(b, c)
    assert c.recovery.vouch(signed).admitted
    everyone([b, c])
    send(c, fresh)

    fresh.aid.dispatch(council, committed, 5)
    fresh.aid.cancel(council, blankets, "given elsewhere")
    everyone([fresh, b, c])
    now = int(clock.t)
    for node in (b, c, fresh):
        st = node.aid.state(council, now)
        assert st.commitments[committed].dispatched == 5
        assert st.offers[blankets].cancelled == "given elsewhere"
        [found] = [t for t in node.decisions.tasks(council) if t.id == task]
        assert node.councils.names(council)[found.who_member or b""] == "Azadeh"


def test_a_recovered_member_votes_once_and_still_owns_their_proposal(tmp_path: Path) -> None:
    """A vote open across the recovery: the member's ballot under the new key replaces
    the one under the old key (one member, one ballot), and they accept an amendment
    to the proposal they made before."""
    from test_decisions import proposal

    from shora.domain.decisions import kinds as dk

    clock = Clock()
    (a, b, c), council = three_members(tmp_path, clock)
    pid = a.decisions.propose(council, proposal("yes_no"))
    a.decisions.vote(council, pid, dk.YesNoBallot("no"))
    everyone([a, b, c])
    amendment = b.decisions.amend(council, pid, "What shall we do first?")
    everyone([a, b, c])
    _wipe(a, tmp_path)
    fresh = make_node(tmp_path, "a-new")
    fresh.now = clock
    signed = fresh.recovery.ask(council, "Azadeh")
    b.recovery.vouch(signed)
    send(b, c)
    assert c.recovery.vouch(signed).admitted
    everyone([b, c])
    send(c, fresh)
    new = fresh.identity(council).sign_pk
    fresh.decisions.vote(council, pid, dk.YesNoBallot("yes"))
    fresh.decisions.accept_amendment(council, amendment)
    everyone([fresh, b, c])
    for node in (b, c, fresh):
        state = node.decisions.proposal(council, pid)
        assert [(x.member, x.ballot) for x in state.ballots] == [(new, dk.YesNoBallot("yes"))]
        assert state.author == new and state.text == "What shall we do first?"


def test_a_governance_vote_open_across_the_recovery_counts_the_member_once(
    tmp_path: Path,
) -> None:
    """A rule change opened before the recovery: the ballot under the new key replaces
    the one under the old key, in the kernel's count at the close as on every node,
    and a ballot the seized old key signs afterwards counts nowhere."""
    from shora.domain.decisions import kinds as dk

    clock = Clock()
    (a, b, c), council = three_members(tmp_path, clock)
    pid = a.governance.change_rules(council, {"term_limit": 2})
    everyone([a, b, c])
    a.decisions.vote(council, pid, dk.YesNoBallot("no"))
    b.decisions.vote(council, pid, dk.YesNoBallot("yes"))
    c.decisions.vote(council, pid, dk.YesNoBallot("no"))
    everyone([a, b, c])
    seized = _wipe(a, tmp_path, keep_as="seized")
    assert seized is not None
    fresh = make_node(tmp_path, "a-new")
    fresh.now = clock
    signed = fresh.recovery.ask(council, "Azadeh")
    b.recovery.vouch(signed)
    send(b, c)
    assert c.recovery.vouch(signed).admitted
    everyone([b, c])
    send(c, fresh)
    new = fresh.identity(council).sign_pk
    fresh.decisions.vote(council, pid, dk.YesNoBallot("yes"))
    thief = Node.open(seized, "correct horse battery", allow_weak_kdf=True)
    thief.now = clock
    forged = Adversary(thief, council).forge("gov.vote", dk.Vote(pid, dk.YesNoBallot("no")))
    thief.close()
    everyone([fresh, b, c])
    for node in (b, c, fresh):
        node.bundles.import_envelopes([forged.raw])
    clock.t = max(clock.t, b.decisions.proposal(council, pid).closes_at)
    b.decisions.close(council, pid)
    everyone([fresh, b, c])
    for node in (b, c, fresh):
        state = node.decisions.proposal(council, pid)
        assert state.final and state.passed is True  # two of three: yes from b and Azadeh
        members = sorted([new, b.identity(council).sign_pk, c.identity(council).sign_pk])
        assert sorted(x.member for x in state.ballots) == members
        assert node.governance.rules(council).term_limit == 2  # the kernel enacted it
    assert len({n.councils.state_digest(council) for n in (b, c, fresh)}) == 1


def _recover(tmp_path: Path, clock: Clock, a: Node, b: Node, c: Node, council: bytes) -> Node:
    """`a` is wiped and gets back in on a new profile, vouched for by `b` and `c`."""
    _wipe(a, tmp_path)
    fresh = make_node(tmp_path, "a-new")
    fresh.now = clock
    signed = fresh.recovery.ask(council, "Azadeh")
    b.recovery.vouch(signed)
    send(b, c)
    assert c.recovery.vouch(signed).admitted
    everyone([b, c])
    send(c, fresh)
    return fresh


def test_a_recovered_member_is_the_author_of_their_alerts(tmp_path: Path) -> None:
    """An alert raised before the recovery is the member's under the new key: they
    cannot confirm it themselves, and they may retract it; an earlier confirmation by
    the old key and a later one by the new key are one confirmer."""
    from test_aid import AREAS

    clock = Clock()
    (a, b, c), council = three_members(tmp_path, clock)
    b.aid.set_areas(council, AREAS)
    everyone([a, b, c])
    raid = a.safety.alert(council, "air_raid", "market")
    gas = b.safety.alert(council, "gas_leak", "market")
    everyone([a, b, c])
    a.safety.confirm_alert(council, gas)
    everyone([a, b, c])
    fresh = _recover(tmp_path, clock, a, b, c, council)
    new = fresh.identity(council).sign_pk
    with pytest.raises(NotAllowed):
        fresh.safety.confirm_alert(council, raid)
    fresh.safety.confirm_alert(council, gas)  # again, under the new key
    fresh.safety.retract_alert(council, raid)
    everyone([fresh, b, c])
    now = int(clock())
    for node in (b, c, fresh):
        shown = {x.id: x for x in node.safety.alerts(council, now, active_only=False)}
        assert shown[raid].author == new and shown[raid].retracted
        assert shown[gas].confirmers == (new,) and not shown[gas].retracted


def test_an_election_the_old_key_wins_seats_the_new_key(tmp_path: Path) -> None:
    """An election opened before the recovery names the old key: won after it, the term
    goes to the key that holds the member's place now."""
    from shora.domain.decisions import kinds as dk

    clock = Clock()
    (a, b, c), council = three_members(tmp_path, clock)
    old = a.identity(council).sign_pk
    pid = b.governance.elect(council, "safety", [old], term_days=30)
    everyone([a, b, c])
    fresh = _recover(tmp_path, clock, a, b, c, council)
    new = fresh.identity(council).sign_pk
    for node in (b, c, fresh):
        node.decisions.vote(council, pid, dk.RankedBallot([old.hex()]))
    everyone([fresh, b, c])
    clock.t = max(clock.t, b.decisions.proposal(council, pid).closes_at)
    b.decisions.close(council, pid)
    everyone([fresh, b, c])
    now = int(clock.t * 1000)
    for node in (b, c, fresh):
        state = node.decisions.proposal(council, pid)
        assert state.final and state.winners == (old.hex(),) and len(state.ballots) == 3
        final = node.state(council)
        assert "safety" in final.roles_of(new, now) and "safety" not in final.roles_of(old, now)


def test_a_recall_of_the_old_key_ends_the_new_keys_term(tmp_path: Path) -> None:
    """A recall opened before the recovery names the old key: passed after it, it ends
    the role the place took to the new key."""
    from shora.domain.decisions import kinds as dk

    clock = Clock()
    (a, b, c), council = three_members(tmp_path, clock)
    old = a.identity(council).sign_pk
    b.governance.petition(council, "coordinator", old, "hides the stock")
    everyone([a, b, c])
    c.governance.petition(council, "coordinator", old)
    everyone([a, b, c])
    pid = c.governance.recall(council, "coordinator", old)
    everyone([a, b, c])
    fresh = _recover(tmp_path, clock, a, b, c, council)
    new = fresh.identity(council).sign_pk
    assert "coordinator" in fresh.state(council).roles_of(new, int(clock.t * 1000))
    b.decisions.vote(council, pid, dk.YesNoBallot("yes"))
    c.decisions.vote(council, pid, dk.YesNoBallot("yes"))
    fresh.decisions.vote(council, pid, dk.YesNoBallot("no"))
    everyone([fresh, b, c])
    clock.t = max(clock.t, b.decisions.proposal(council, pid).closes_at)
    b.decisions.close(council, pid)
    everyone([fresh, b, c])
    now = int(clock.t * 1000)
    for node in (b, c, fresh):
        assert node.decisions.proposal(council, pid).passed is True
        assert "coordinator" not in node.state(council).roles_of(new, now)
