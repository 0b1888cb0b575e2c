"""Membership end to end between real profiles: admission, vouching, removal, leaving."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from attacks.adversary import Adversary
from conftest import FAST_KDF, admit, make_node, send
from shora.errors import NotAllowed, NotAMember, NotFound
from shora.kernel import kinds, tokens
from shora.kernel.events import encode_body
from shora.node import Node


def _texts(node: Node, council: bytes) -> list[str]:
    return [p["text"] for p in node.posts.posts(council, limit=1000)]


def test_founder_admits_and_newcomer_reads_history(nodes: list[Node]) -> None:
    a, b, *_ = nodes
    council = a.councils.create("Block 4", "our street", "Nasrin")
    a.posts.post(council, "water at the mosque at 6", title="Water")
    admit(a, b, council, "Bahram")
    assert b.councils.get(council).status == "member"
    assert b.councils.get(council).name == "Block 4"
    assert _texts(b, council) == ["water at the mosque at 6"]
    assert {m.name for m in b.councils.members(council)} == {"Nasrin", "Bahram"}
    assert b.councils.state_digest(council) == a.councils.state_digest(council)


def test_removed_member_cannot_read_anything_after_removal(nodes: list[Node]) -> None:
    a, b, c, _ = nodes
    council = a.councils.create("Refinery", "", "Azar", kinds.Rules(removal="vouches"))
    admit(a, b, council, "Bijan")
    admit(a, c, council, "Cima")
    send(a, b)
    informer = a.find_member(council, "Cima")
    first = a.membership.remove(council, informer, "informer")
    assert not first.admitted and first.needed == 2
    send(a, b)
    assert b.membership.remove(council, informer, "informer").admitted
    send(b, a)
    send(b, c)  # the informer still receives the envelopes...
    a.posts.post(council, "strike on monday")
    send(a, c)
    send(a, b)
    # ...but holds no key of the new epoch, so nothing new decrypts on their device.
    assert c.councils.get(council).status == "removed"
    assert "strike on monday" not in _texts(c, council)
    new_epoch = a.ingestor.projection.final_state(council).current_epoch
    assert new_epoch is not None and c.ingestor.keyring.epoch(new_epoch) is None
    assert b.ingestor.keyring.epoch(new_epoch) is not None
    assert "strike on monday" in _texts(b, council)
    # Their own node refuses to write; a modified client's events are refused by the rest.
    with pytest.raises(NotAllowed):
        c.posts.post(council, "fake order: strike cancelled")
    forged = (
        Adversary(c, council)
        .forge("post.message", kinds.Message("fake order: strike cancelled"))
        .raw
    )
    with pytest.raises(NotAMember):
        a.ingestor.ingest_one(forged)
    report = a.bundles.import_envelopes([forged])
    assert report.accepted == 0 and report.refused == {"NotAMember": 1}
    assert "fake order: strike cancelled" not in _texts(a, council)
    assert a.councils.state_digest(council) == b.councils.state_digest(council)


def test_post_concurrent_with_own_removal_is_void(nodes: list[Node]) -> None:
    a, b, c, _ = nodes
    council = a.councils.create("Clinic", "", "Ava", kinds.Rules(removal="member"))
    admit(a, b, council, "Babak")
    admit(a, c, council, "Cyrus")
    send(a, b)
    send(a, c)
    c.posts.post(council, "written before seeing the removal")  # concurrent with the removal
    a.membership.remove(council, a.find_member(council, "Cyrus"))
    send(c, a)
    send(c, b)
    send(a, b)
    for node in (a, b):
        assert "written before seeing the removal" not in _texts(node, council)
    assert a.councils.state_digest(council) == b.councils.state_digest(council)


def test_emergency_removal_needs_a_named_role(nodes: list[Node]) -> None:
    a, b, c, _ = nodes
    council = a.councils.create("Union", "", "Arash")
    admit(a, b, council, "Behnaz")
    admit(a, c, council, "Cyrus")
    send(a, b)
    with pytest.raises(NotAllowed):
        b.membership.remove(council, b.find_member(council, "Cyrus"), emergency=True)
    assert a.membership.remove(council, a.find_member(council, "Cyrus"), emergency=True).admitted
    assert [m.status for m in a.councils.members(council) if m.name == "Cyrus"] == ["removed"]


def test_admission_by_vouches(nodes: list[Node]) -> None:
    a, b, _c, d = nodes
    rules = kinds.Rules(admission="vouches", admission_vouches=2)
    council = a.councils.create("Bakery", "", "Anahita", rules)
    # While the council has one member, one voice is enough.
    admit(a, b, council, "Bita")
    send(a, b)
    invitation = b.membership.invite(council)
    request = d.membership.join(tokens.parse_invitation(tokens.invitation_uri(invitation)), "Dara")
    send(b, a)
    first = a.membership.admit(request)
    assert not first.admitted and (first.supporters, first.needed) == (1, 2)
    send(a, b)
    assert b.membership.admit(request).admitted
    send(b, d)
    assert d.councils.get(council).status == "member"
    assert {m.name for m in d.councils.members(council)} == {"Anahita", "Bita", "Dara"}


def test_invitation_is_one_time(nodes: list[Node]) -> None:
    a, b, c, _ = nodes
    council = a.councils.create("Co-op", "", "Ali")
    invitation = a.membership.invite(council)
    b_request = b.membership.join(invitation, "Bahar")
    c_request = c.membership.join(invitation, "Cina")
    assert a.membership.admit(b_request).admitted
    with pytest.raises(NotAllowed):
        a.membership.admit(c_request)


def test_leave_then_keys_rotate(nodes: list[Node]) -> None:
    a, b, c, _ = nodes
    council = a.councils.create("Street 9", "", "Amir", kinds.Rules(removal="member"))
    admit(a, b, council, "Bardia")
    admit(a, c, council, "Caspian")
    send(a, b)
    c.membership.leave(council, "moving away")
    assert c.councils.get(council).status == "left"
    before = a.ingestor.projection.final_state(council).current_epoch
    send(c, a)  # importing the departure makes a's node rotate the keys at once
    assert a.ingestor.projection.final_state(council).current_epoch != before
    assert a.membership.heal_epochs(council) is None
    a.posts.post(council, "new meeting place")
    send(a, b)
    send(a, c)
    assert "new meeting place" in _texts(b, council)
    assert "new meeting place" not in _texts(c, council)


def test_rename_and_unknown_references(nodes: list[Node]) -> None:
    a, *_ = nodes
    council = a.councils.create("Old name", "", "Ava")
    a.councils.update(council, "کميته محله", None)  # Arabic yeh is normalised on the way in
    assert a.councils.get(council).name == "کمیته محله"
    assert a.find_council("كمیته محله") == council
    with pytest.raises(NotFound):
        a.find_council("no such council")
    with pytest.raises(NotFound):
        a.find_member(council, "nobody")


def test_leave_concurrent_with_removal(nodes: list[Node]) -> None:
    """Found by the convergence property: whichever ends the membership first in the
    total order counts, the other is void, identically on every replica."""
    a, b, c, _ = nodes
    council = a.councils.create("Depot", "", "Ava", kinds.Rules(removal="member"))
    admit(a, b, council, "Bahar")
    admit(a, c, council, "Cyrus")
    send(a, b)
    b.posts.post(council, "last words")
    b.membership.leave(council)
    a.membership.remove(council, a.find_member(council, "Bahar"))
    c.bundles.import_envelopes(b.bundles.envelopes(), heal=False)
    c.bundles.import_envelopes(a.bundles.envelopes(), heal=False)
    a.bundles.import_envelopes(b.bundles.envelopes(), heal=False)
    assert a.councils.state_digest(council) == c.councils.state_digest(council)


def test_two_connections_to_one_profile_see_each_others_writes(tmp_path: Path) -> None:
    """`shora post` while `shora serve` runs: each sees what the other wrote."""
    first = Node.create(
        tmp_path / "p", "correct horse battery", kdf_limits=FAST_KDF, allow_weak_kdf=True
    )
    council = first.councils.create("Shared", "", "Ava", kinds.Rules(removal="member"))
    other = make_node(tmp_path, "other")
    admit(first, other, council, "Omid")
    second = Node.open(tmp_path / "p", "correct horse battery", allow_weak_kdf=True)
    assert {m.name for m in first.councils.members(council)} == {"Ava", "Omid"}
    second.membership.remove(
        council, second.find_member(council, "Omid")
    )  # first's caches are stale
    assert not first.ingestor.projection.final_state(council).is_active(
        second.find_member(council, "Omid")
    )
    first.posts.post(council, "written after the removal, by the first connection")
    assert first.councils.state_digest(council) == second.councils.state_digest(council)
    for node in (first, second, other):
        node.close()


def test_a_replica_checks_only_the_shape_of_the_time_zone_rule() -> None:
    """Validity never depends on a device's zone data: a zone this device does not know
    is kept as written (and shown as UTC); a string that cannot be a zone is refused."""
    for zone in ("", "Asia/Tehran", "Mars/Olympus", "Etc/GMT+3", "America/Port-au-Prince"):
        raw = encode_body(kinds.Rules(time_zone=zone))
        assert msgspec.msgpack.decode(raw, type=kinds.Rules).time_zone == zone
    for zone in ("a b", "../etc", "/etc/localtime", "Asia//Tehran", "x" * 65, "ساعت"):
        raw = encode_body(kinds.Rules(time_zone=zone))
        with pytest.raises(msgspec.ValidationError):
            msgspec.msgpack.decode(raw, type=kinds.Rules)
