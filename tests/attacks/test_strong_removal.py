"""A removed member with a modified client tries to undo or outlive her removal.

Each test runs the informer's own real profile, forging events with every key it ever
held (tests/attacks/adversary.py), against honest real profiles, and then looks at what
the honest replicas hold: who is a member, which keys exist and who can read what.
"""

from __future__ import annotations

from pathlib import Path

from attacks.adversary import Adversary, Forged
from conftest import Clock, admit, everyone, make_node, send
from shora.kernel import crypto, kinds, tokens
from shora.kernel.projection import Projection
from shora.node import Node


def _texts(node: Node, council: bytes) -> list[str]:
    return [p["text"] for p in node.posts.posts(council, limit=1000)]


def _event(node: Node, eid: bytes) -> tuple[int, bytes]:
    clock = node.store.one("SELECT clock FROM events WHERE id=?", (eid,))
    return int(clock), eid


def _sorting_before(
    m: Adversary, target: bytes, make: object, parents: list[bytes], t0: int
) -> Forged:
    """Forge on `parents` until the event sorts before `target` in the (clock, id)
    total order (a lower clock sorts first whatever the id)."""
    target_clock, tid = _event(m.node, target)
    clock = m.clock_of(parents)
    assert clock <= target_clock
    for tweak in range(400):
        forged = make(parents, clock, t0 + tweak)  # type: ignore[operator]
        if clock < target_clock or forged.id < tid:
            return forged
    raise AssertionError("no forged event sorted first")


def _removal_id(node: Node, council: bytes, member: bytes) -> bytes:
    return bytes(node.ingestor.projection.final_state(council).members[member].ended_by)


def _council(tmp_path: Path, rules: kinds.Rules) -> tuple[Node, Node, Node, bytes, Clock]:
    clock = Clock()
    a, b, m = (make_node(tmp_path, n) for n in ("a", "b", "m"))
    for node in (a, b, m):
        node.now = clock
    council = a.councils.create("Refinery council", "", "Azar", rules)
    admit(a, b, council, "Bijan")
    admit(a, m, council, "Mina")
    everyone([a, b, m])
    return a, b, m, council, clock


def _assert_cut_off(honest: list[Node], m: Node, council: bytes, secret: str) -> None:
    """Everyone honest agrees m is out; m holds no epoch made after; m cannot read."""
    me = m.identity(council).sign_pk
    honest[0].posts.post(council, secret)
    everyone(honest)
    for node in honest:
        send(node, m)
    digests = {node.councils.state_digest(council) for node in honest}
    assert len(digests) == 1
    for node in honest:
        final = node.ingestor.projection.final_state(council)
        assert not final.is_active(me)
        assert final.current_epoch is not None
        assert m.ingestor.keyring.epoch(final.current_epoch) is None
        assert secret in _texts(node, council)
    assert secret not in _texts(m, council)


def test_a_backdated_rotation_cannot_claim_the_removals_new_epoch(tmp_path: Path) -> None:
    a, b, m, council, clock = _council(tmp_path, kinds.Rules(removal="member"))
    informer = Adversary(m, council)
    before = informer.heads()
    clock.t += 60
    a.membership.remove(council, informer.key, "informer")
    send(a, m)  # the removal is written under the old epoch: she reads its new write key
    removal = _removal_id(a, council, informer.key)
    claimed = a.ingestor.projection.resolver(council).events[removal].body.new_epoch
    rotate = _sorting_before(
        informer,
        removal,
        lambda parents, clock_, t: informer.forge(
            "epoch.rotate", kinds.Rotate(claimed), parents=parents, clock=clock_, time_ms=t
        ),
        before,
        int(clock.t * 1000) - 30_000,
    )
    for node in (a, b):
        node.bundles.import_envelopes([rotate.raw])
    send(a, b)
    _assert_cut_off([a, b], m, council, "strike on monday")
    assert a.ingestor.projection.final_state(council).epochs[claimed] == removal


def test_a_removed_coordinator_cannot_remove_her_remover_first(tmp_path: Path) -> None:
    """Her backdated emergency removal of the remover is a mutual removal: both go, and
    neither removal starts an epoch she could read; the others rotate the keys."""
    clock = Clock()
    m, a, b = (make_node(tmp_path, n) for n in ("m", "a", "b"))
    for node in (m, a, b):
        node.now = clock
    council = m.councils.create("Block 4", "", "Mina", kinds.Rules(removal="vouches"))
    admit(m, a, council, "Azar")
    admit(m, b, council, "Bijan")
    everyone([m, a, b])
    informer = Adversary(m, council)
    before = informer.heads()
    clock.t += 60
    a.membership.remove(council, informer.key, "informer")  # a vouch
    send(a, b)
    assert b.membership.remove(council, informer.key, "informer").admitted
    send(b, a)
    send(b, m)
    removal = _removal_id(b, council, informer.key)
    bijan = b.identity(council).sign_pk
    fresh = crypto.random_bytes(32)
    counter = _sorting_before(
        informer,
        removal,
        lambda parents, clock_, t: informer.forge(
            "member.remove",
            kinds.Remove(bijan, fresh, "he is the informer", emergency=True),
            parents=parents,
            clock=clock_,
            time_ms=t,
        ),
        before,
        int(clock.t * 1000) - 30_000,
    )
    for node in (a, b):
        node.bundles.import_envelopes([counter.raw])
    everyone([a, b])
    final = a.ingestor.projection.final_state(council)
    assert not final.is_active(informer.key)
    assert fresh not in final.epochs  # the mutual removal started no epoch
    assert final.emergencies[counter.id].status == "pending"
    assert not final.is_active(bijan)  # until the council ratifies it or it lapses
    _assert_cut_off([a], m, council, "meeting moved to the garage")
    # Not ratified in time: it lapses, Bijan is back and reads; Mina stays out.
    clock.t += 73 * 3600
    a.housekeeping.run(council)
    everyone([a, b])
    assert b.ingestor.projection.final_state(council).is_active(bijan)
    _assert_cut_off([a, b], m, council, "the strike fund is safe")
    assert "meeting moved to the garage" in _texts(b, council)


def _members(tmp_path: Path, names: str, rules: kinds.Rules) -> tuple[list[Node], bytes]:
    nodes = [make_node(tmp_path, n) for n in names]
    council = nodes[0].councils.create("Depot council", "", names[0], rules)
    for node, name in zip(nodes[1:], names[1:], strict=True):
        admit(nodes[0], node, council, name)
    everyone(nodes)
    return nodes, council


def _key(node: Node, council: bytes) -> bytes:
    return node.identity(council).sign_pk


def _active(node: Node, council: bytes) -> set[str]:
    final = node.ingestor.projection.final_state(council)
    return {m.name for m in final.members.values() if m.ended_by is None}


def test_a_chain_of_concurrent_removals_resolves_from_the_causal_order_alone(
    tmp_path: Path,
) -> None:
    """a removes b while b removes c while c removes d, none seeing the others: a's stands,
    so b's is void, so c stays and c's removal of d stands — whatever the ids or clocks."""
    (a, b, c, d), council = _members(tmp_path, "abcd", kinds.Rules(removal="member"))
    a.membership.remove(council, _key(b, council))
    b.membership.remove(council, _key(c, council))
    c.membership.remove(council, _key(d, council))
    everyone([a, b, c, d])
    everyone([a, b, c, d])
    for node in (a, c):
        assert _active(node, council) == {"a", "c"}
    assert a.councils.state_digest(council) == c.councils.state_digest(council)


def test_a_cycle_of_concurrent_removals_removes_everyone_in_it(tmp_path: Path) -> None:
    (a, b, c, d), council = _members(tmp_path, "abcd", kinds.Rules(removal="member"))
    a.membership.remove(council, _key(b, council))
    b.membership.remove(council, _key(c, council))
    c.membership.remove(council, _key(a, council))
    for node in (a, b, c):
        send(node, d)
    assert _active(d, council) == {"d"}
    final = d.ingestor.projection.final_state(council)
    # No removal in the cycle started an epoch (each author is removed and knows its
    # keys); d's node rotated at once, and only d holds the new epoch.
    assert final.current_epoch is not None
    assert final.epochs[final.current_epoch] not in final.mutual
    for node in (a, b, c):
        send(d, node)
        assert node.ingestor.keyring.epoch(final.current_epoch) is None


def test_a_newcomer_admitted_during_a_removal_gets_the_new_epoch_in_one_round(
    tmp_path: Path,
) -> None:
    """Admitted concurrently with a removal, the newcomer's welcome carries only the old
    epoch; the new one reaches her outside the history within one round of exchanges,
    and the removed member reads nothing she writes."""
    (a, b, m), council = _members(tmp_path, "abm", kinds.Rules(removal="member"))
    n = make_node(tmp_path, "n")
    admit(a, n, council, "n")  # a has not seen the removal yet
    b.membership.remove(council, _key(m, council), "informer")
    everyone([a, b, m, n])  # one round
    final = n.ingestor.projection.final_state(council)
    assert final.current_epoch is not None
    assert n.ingestor.keyring.epoch(final.current_epoch) is not None
    n.posts.post(council, "the clinic has insulin")
    everyone([a, b, m, n])
    for node in (a, b):
        assert "the clinic has insulin" in _texts(node, council)
    assert "the clinic has insulin" not in _texts(m, council)
    assert m.ingestor.keyring.epoch(final.current_epoch) is None


def test_a_newcomer_admitted_while_someone_leaves_gets_the_rotated_epoch(tmp_path: Path) -> None:
    (a, b, m), council = _members(tmp_path, "abm", kinds.Rules(removal="member"))
    n = make_node(tmp_path, "n")
    admit(a, n, council, "n")
    m.membership.leave(council, "moving away")
    send(m, b)  # b's node rotates the keys at once; it has not seen the newcomer
    everyone([a, b, n])
    everyone([a, b, n])
    final = n.ingestor.projection.final_state(council)
    assert n.ingestor.keyring.epoch(bytes(final.current_epoch or b"")) is not None
    n.posts.post(council, "meeting at six")
    everyone([a, b, n])
    send(a, m)
    assert "meeting at six" in _texts(a, council)
    assert "meeting at six" not in _texts(m, council)


def test_a_removed_members_flood_is_refused_past_a_small_quota(tmp_path: Path) -> None:
    from shora.kernel.ingest import VOID_QUOTA

    (a, _b, m), council = _members(tmp_path, "abm", kinds.Rules(removal="member"))
    informer = Adversary(m, council)
    before = informer.heads()
    a.membership.remove(council, informer.key)
    flood = [
        informer.forge("post.message", kinds.Message(f"noise {i}"), parents=before).raw
        for i in range(VOID_QUOTA + 200)
    ]
    report = a.bundles.import_envelopes(flood)
    assert report.accepted == VOID_QUOTA
    assert report.refused == {"NotAMember": 200}
    stored = a.store.one(
        "SELECT count(*) FROM events WHERE council=? AND author=?", (council, informer.key)
    )
    assert stored <= VOID_QUOTA + 10  # what she wrote as a member, and the quota
    assert all("noise" not in t for t in _texts(a, council))


def test_a_vouch_written_after_removal_counts_for_nothing(tmp_path: Path) -> None:
    """Removed, m backdates a vouch for admitting her accomplice; an honest member who has
    not seen the removal adds the second vouch the rules ask and admits. The vouch is
    void, so the admission lacks support and does not stand anywhere."""
    (a, b), council = _members(tmp_path, "ab", kinds.Rules(admission="vouches"))
    m = make_node(tmp_path, "m")
    m_request = m.membership.join(a.membership.invite(council), "m")
    assert not a.membership.admit(m_request).admitted  # two members: two vouches
    send(a, b)
    assert b.membership.admit(m_request).admitted
    everyone([a, b, m])
    accomplice = make_node(tmp_path, "k")
    invitation = b.membership.invite(council)
    everyone([a, b, m])
    request = accomplice.membership.join(invitation, "k")
    _, request_id = tokens.open_join_request(request)
    informer = Adversary(m, council)
    before = informer.heads()
    assert not a.membership.remove(council, informer.key, "informer").admitted  # a vouch
    send(a, b)
    assert b.membership.remove(council, informer.key, "informer").admitted
    vouch = informer.forge(
        "member.vouch", kinds.Vouch("admit", request_id, request), parents=before
    )
    a.bundles.import_envelopes([vouch.raw])
    assert a.membership.admit(request).admitted  # a counts m's vouch: a has not seen the removal
    everyone([a, b])
    everyone([a, b])
    for node in (a, b):
        assert "k" not in _active(node, council)
    assert a.councils.state_digest(council) == b.councils.state_digest(council)


def test_a_forked_author_chain_is_void_beyond_the_removal(tmp_path: Path) -> None:
    """m writes two branches: one the council sees before removing her, one she keeps and
    reveals afterwards. Only what the removal's author had seen counts."""
    (a, b, m), council = _members(tmp_path, "abm", kinds.Rules(removal="member"))
    informer = Adversary(m, council)
    base = informer.heads()
    seen = informer.forge("post.message", kinds.Message("seen branch"), parents=base)
    hidden = informer.forge("post.message", kinds.Message("hidden branch"), parents=base)
    later = informer.forge("post.message", kinds.Message("hidden, later"), parents=[hidden.id])
    a.bundles.import_envelopes([seen.raw])
    a.membership.remove(council, informer.key)
    for node in (a, b):
        node.bundles.import_envelopes([hidden.raw, later.raw])
    everyone([a, b])
    for node in (a, b):
        texts = _texts(node, council)
        assert "seen branch" in texts
        assert "hidden branch" not in texts and "hidden, later" not in texts


def test_a_replayed_or_rewrapped_grant_gives_nothing(tmp_path: Path) -> None:
    """m replays an honest grant of the new epoch, and re-wraps its boxes in a grant of
    her own dated before her removal: the honest state does not change, and she holds
    no key of the new epoch (the boxes are sealed to the others)."""
    (a, b, m), council = _members(tmp_path, "abm", kinds.Rules(removal="member"))
    informer = Adversary(m, council)
    before = informer.heads()
    a.membership.remove(council, informer.key)
    everyone([a, b])
    send(a, m)
    resolver = a.ingestor.projection.resolver(council)
    grant = next(e for e in resolver.events.values() if e.kind == "epoch.grant")
    replayed = a.store.events.raw(
        bytes(a.store.one("SELECT envelope FROM events WHERE id=?", (grant.id,)))
    )
    assert replayed
    rewrapped = informer.forge("epoch.grant", grant.body, parents=before)
    for node in (a, b):
        digest = node.councils.state_digest(council)
        report = node.bundles.import_envelopes([replayed, rewrapped.raw])
        assert report.duplicate == 1
        assert node.councils.state_digest(council) == digest
    m.bundles.import_envelopes([replayed, rewrapped.raw])
    assert m.ingestor.keyring.epoch(grant.body.epoch) is None
    _assert_cut_off([a, b], m, council, "new shift rota")


def test_a_member_removed_then_readmitted_keeps_the_old_identitys_acts_void(
    tmp_path: Path,
) -> None:
    """The old identity's acts concurrent with its removal stay void; the person comes
    back only as a new identity through a new admission, which stands."""
    (a, b, m), council = _members(tmp_path, "abm", kinds.Rules(removal="member"))
    informer = Adversary(m, council)
    before = informer.heads()
    a.membership.remove(council, informer.key)
    everyone([a, b])
    m2 = make_node(tmp_path, "m2")
    admit(b, m2, council, "m again")
    late = informer.forge("post.message", kinds.Message("old identity"), parents=before)
    for node in (a, b):
        node.bundles.import_envelopes([late.raw])
    everyone([a, b, m2])
    m2.posts.post(council, "new identity")
    everyone([a, b, m2])
    for node in (a, b):
        texts = _texts(node, council)
        assert "new identity" in texts and "old identity" not in texts
        assert not node.ingestor.projection.final_state(council).is_active(informer.key)


def test_a_removed_informers_concurrent_vouch_never_backs_a_removal(tmp_path: Path) -> None:
    """Removed while she was vouching to remove an honest member, the informer's vouch
    is void: her accomplice's removal that rests on it does not stand, on a replica that
    held her removal first and extended its state event by event, as on one that folds
    the history again (restarted) or got her branch first."""
    clock = Clock()
    a, b, m, n, t = (make_node(tmp_path, x) for x in ("a", "b", "m", "n", "t"))
    for node in (a, b, m, n, t):
        node.now = clock
    council = a.councils.create("Refinery council", "", "Azar", kinds.Rules(removal="vouches"))
    for node, name in ((b, "Bijan"), (m, "Mina"), (n, "Nima"), (t, "Taha")):
        admit(a, node, council, name)
    everyone([a, b, m, n, t])
    keys = {x: x.identity(council).sign_pk for x in (m, t)}
    clock.t += 60
    # a and b remove the informer (two supporters) ...
    assert not a.membership.remove(council, keys[m], "informer").admitted
    send(a, b)
    assert b.membership.remove(council, keys[m], "informer").admitted
    send(b, a)
    # ... while she, unaware, writes on (her clock runs ahead of the removal's) and
    # vouches to remove t; her accomplice removes t on the strength of that vouch.
    for _ in range(4):  # her events sort after everything the others wrote meanwhile
        m.membership.invite(council)
    assert not m.membership.remove(council, keys[t], "made up").admitted
    send(m, n)
    assert n.membership.remove(council, keys[t], "made up").admitted
    send(n, t)  # t gets the accomplice's branch before the removal
    send(a, t)
    send(n, a)  # a held the removal: her events arrive after it, one by one
    send(a, b)
    for node in (a, b, t):
        final = node.ingestor.projection.final_state(council)
        assert not final.is_active(keys[m])
        assert final.is_active(keys[t]), "a void vouch backed a removal"
        assert Projection(node.store).final_state(council) == final  # folded again
    assert len({node.councils.state_digest(council) for node in (a, b, t)}) == 1
