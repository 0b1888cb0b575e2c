"""A removed member with a modified client tries to undo or outlive her removal.

Each test runs the informer's own real profile, forging events with every key it ever
held (tests/attacks/adversary.py), against honest real profiles, and then looks at what
the honest replicas hold: who is a member, which keys exist and who can read what.
"""

from __future__ import annotations

from pathlib import Path

from attacks.adversary import Adversary, Forged
from conftest import Clock, admit, everyone, make_node, send
from shora.kernel import crypto, kinds
from shora.node import Node


def _texts(node: Node, council: bytes) -> list[str]:
    return [p["text"] for p in node.posts(council, limit=1000)]


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
    council = a.create_council("Refinery council", "", "Azar", rules)
    admit(a, b, council, "Bijan")
    admit(a, m, council, "Mina")
    everyone([a, b, m])
    return a, b, m, council, clock


def _assert_cut_off(honest: list[Node], m: Node, council: bytes, secret: str) -> None:
    """Everyone honest agrees m is out; m holds no epoch made after; m cannot read."""
    me = m._identity(council).sign_pk
    honest[0].post(council, secret)
    everyone(honest)
    for node in honest:
        send(node, m)
    digests = {node.state_digest(council) for node in honest}
    assert len(digests) == 1
    for node in honest:
        final = node.ingestor.projection.final_state(council)
        assert not final.is_active(me)
        assert final.current_epoch is not None
        assert m.ingestor.epoch(final.current_epoch) is None
        assert secret in _texts(node, council)
    assert secret not in _texts(m, council)


def test_a_backdated_rotation_cannot_claim_the_removals_new_epoch(tmp_path: Path) -> None:
    a, b, m, council, clock = _council(tmp_path, kinds.Rules(removal="member"))
    informer = Adversary(m, council)
    before = informer.heads()
    clock.t += 60
    a.remove(council, informer.key, "informer")
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
        node.import_envelopes([rotate.raw])
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
    council = m.create_council("Block 4", "", "Mina", kinds.Rules(removal="vouches"))
    admit(m, a, council, "Azar")
    admit(m, b, council, "Bijan")
    everyone([m, a, b])
    informer = Adversary(m, council)
    before = informer.heads()
    clock.t += 60
    a.remove(council, informer.key, "informer")  # a vouch
    send(a, b)
    assert b.remove(council, informer.key, "informer").admitted
    send(b, a)
    send(b, m)
    removal = _removal_id(b, council, informer.key)
    bijan = b._identity(council).sign_pk
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
        node.import_envelopes([counter.raw])
    everyone([a, b])
    final = a.ingestor.projection.final_state(council)
    assert not final.is_active(informer.key)
    assert fresh not in final.epochs  # the mutual removal started no epoch
    assert final.emergencies[counter.id].status == "pending"
    assert not final.is_active(bijan)  # until the council ratifies it or it lapses
    _assert_cut_off([a], m, council, "meeting moved to the garage")
    # Not ratified in time: it lapses, Bijan is back and reads; Mina stays out.
    clock.t += 73 * 3600
    a.housekeeping(council)
    everyone([a, b])
    assert b.ingestor.projection.final_state(council).is_active(bijan)
    _assert_cut_off([a, b], m, council, "the strike fund is safe")
    assert "meeting moved to the garage" in _texts(b, council)
