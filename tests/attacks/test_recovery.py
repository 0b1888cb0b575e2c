"""Recovery abused: an informer takes someone's place, a removed member tries to come
back, a recovered-away key keeps signing (docs/protocol.md §9.1).

The informer runs a real profile with a modified client (tests/attacks/adversary.py)
that signs whatever it likes on any parents and claimed times; the honest replicas are
unmodified real profiles, and every assertion is on what they hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_aid import AREAS, offer

from attacks.adversary import Adversary
from conftest import FAST_KDF, Clock, admit, everyone, make_node, send
from shora.domain.aid import kinds as ak
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.kernel import crypto, kinds
from shora.node import Node


def _council(tmp_path: Path, rules: kinds.Rules) -> tuple[list[Node], bytes, Clock]:
    """Azar (the coordinator), Bijan, Mina (the informer) and Dara."""
    clock = Clock()
    nodes = [make_node(tmp_path, n) for n in ("a", "b", "m", "d")]
    for node in nodes:
        node.now = clock
    a, b, m, d = nodes
    council = a.councils.create("Refinery council", "", "Azar", rules)
    for node, name in ((b, "Bijan"), (m, "Mina"), (d, "Dara")):
        admit(a, node, council, name)
    everyone(nodes)
    return nodes, council, clock


def _texts(node: Node, council: bytes) -> list[str]:
    return [p["text"] for p in node.posts.posts(council, limit=1000)]


def _stored_void(node: Node, eid: bytes) -> bool:
    """The event reached the replica (it is stored) and does not count there."""
    return node.store.one("SELECT valid FROM events WHERE id=?", (eid,)) == 0


def _import(nodes: list[Node], raws: list[bytes]) -> None:
    for node in nodes:
        node.bundles.import_envelopes(raws)


def test_an_informer_cannot_take_the_coordinators_place_alone(tmp_path: Path) -> None:
    """Admission here is by any one member, yet a recovery needs two: an informer's
    own vouch and her forged `member.recover` hand her key nobody's place."""
    (a, b, m, d), council, clock = _council(tmp_path, kinds.Rules(admission="member"))
    azar = a.identity(council).sign_pk
    informer = Adversary(m, council)
    # Her second profile asks for Azar's place; she vouches and forges the recovery.
    spare = make_node(tmp_path, "spare")
    spare.now = clock
    request = spare.recovery.ask(council, "Azar")
    assert not m.recovery.vouch(request).admitted
    clock.t += 60
    forged = informer.forge(
        "member.recover", kinds.Recover(request, azar, crypto.random_bytes(32), reason="lost phone")
    )
    honest = [a, b, d]
    _import(honest, [f for f in m.bundles.envelopes()] + [forged.raw])
    everyone(honest)
    spare_key = spare.identity(council).sign_pk
    for node in honest:
        final = node.state(council)
        assert _stored_void(node, forged.id)
        assert final.is_active(azar) and spare_key not in final.members
        assert final.roles_of(azar, int(clock.t * 1000)) == ("coordinator",)
    # A real vouch for a request naming Bijan does not stretch to Azar's place.
    other = make_node(tmp_path, "other")
    other.now = clock
    bijan_request = other.recovery.ask(council, "Bijan")
    d.recovery.vouch(bijan_request)
    everyone([a, b, m, d])
    swapped = informer.forge(
        "member.recover", kinds.Recover(bijan_request, azar, crypto.random_bytes(32))
    )
    _import(honest, [swapped.raw])
    for node in honest:
        assert _stored_void(node, swapped.id)
        assert node.state(council).is_active(azar)
    # And the replaced member's own key is never counted for its replacement.
    with pytest.raises(NotAllowed):
        a.recovery.vouch(request)


def test_a_removed_member_cannot_recover(tmp_path: Path) -> None:
    (a, b, m, d), council, clock = _council(tmp_path, kinds.Rules(removal="member"))
    mina = m.identity(council).sign_pk
    informer = Adversary(m, council)
    before = informer.heads()
    a.membership.remove(council, mina, "informer")
    everyone([a, b, d])
    send(a, m)
    # Her new profile asks for her old place: no honest node vouches for it.
    again = make_node(tmp_path, "again")
    again.now = clock
    request = again.recovery.ask(council, "Mina")
    for node in (a, b, d):
        with pytest.raises(NotFound):
            node.recovery.open(request)
    # Her old key vouches on parents from before her removal, and a forged recovery
    # of her place (by the only key she holds) on those parents: all void or refused.
    clock.t += 60
    vouch = informer.forge("member.vouch", kinds.Vouch("recover", mina, request), parents=before)
    recover = informer.forge(
        "member.recover",
        kinds.Recover(request, mina, crypto.random_bytes(32)),
        parents=[vouch.id],
        clock=informer.clock_of(before) + 1,
    )
    _import([a, b, d], [vouch.raw, recover.raw])
    new_key = again.identity(council).sign_pk
    for node in (a, b, d):
        final = node.state(council)
        assert _stored_void(node, vouch.id) and _stored_void(node, recover.id)
        assert not final.is_active(mina) and final.members[mina].end == "removed"
        assert new_key not in final.members


def test_a_recovered_away_key_keeps_signing_and_nothing_counts(tmp_path: Path) -> None:
    """Azar's phone is seized; she recovers on a new profile. The seized key signs on
    old parents with back-dated times, races a removal and a departure against the
    recovery, and builds on the recovery itself: every honest replica refuses it all."""
    (a, b, m, d), council, clock = _council(tmp_path, kinds.Rules(removal="member"))
    azar = a.identity(council).sign_pk
    a.aid.set_areas(council, AREAS)
    water = a.aid.post_offer(council, offer(quantity=5))
    everyone([a, b, m, d])
    seized = Adversary(a, council)
    before = seized.heads()
    clock.t += 60
    fresh = make_node(tmp_path, "fresh")
    fresh.now = clock
    request = fresh.recovery.ask(council, "Azar")
    b.recovery.vouch(request)
    send(b, d)
    assert d.recovery.vouch(request).admitted
    honest = [b, m, d]
    everyone(honest)
    send(d, fresh)
    send(d, a)  # the recovery is written under the old epoch: the seized copy reads it
    recovery_id = bytes(d.state(council).members[azar].ended_by)
    t_old = int(clock.t * 1000) - 3_600_000
    bijan = b.identity(council).sign_pk
    forged = [
        # Dated as early as its parents allow: before the recovery was written.
        seized.forge(
            "post.message",
            kinds.Message("back-dated"),
            parents=before,
            time_ms=seized.time_of(before),
        ),
        seized.forge(
            "member.remove",
            kinds.Remove(bijan, crypto.random_bytes(32), "race", emergency=True),
            parents=before,
        ),
        seized.forge("member.leave", kinds.Leave("race"), parents=before),
        # Her offer withdrawn in her name (a leaf, so on the same heads as any).
        seized.forge("aid.cancel", ak.Cancel(water, "withdrawn"), parents=before),
        seized.forge("post.message", kinds.Message("after it"), parents=[recovery_id]),
        # Dated before its own parents: refused outright (BadClock).
        seized.forge("post.message", kinds.Message("older"), parents=before, time_ms=t_old),
    ]
    for f in forged:
        for node in [*honest, fresh]:
            try:
                node.bundles.import_envelopes([f.raw])
            except Exception as exc:
                raise AssertionError(f"an import raised instead of refusing: {exc}") from exc
    new = fresh.identity(council).sign_pk
    for node in [*honest, fresh]:
        final = node.state(council)
        assert final.is_active(new) and final.is_active(bijan)
        assert final.members[azar].end == "recovered"
        assert final.roles_of(new, int(clock.t * 1000)) == ("coordinator",)
        texts = _texts(node, council)
        assert not {"back-dated", "after it", "older"} & set(texts)
        assert _stored_void(node, forged[0].id) and _stored_void(node, forged[2].id)
        # Her offer from before the recovery is still hers, and still open.
        assert node.aid.state(council, int(clock.t)).offers[water].cancelled is None
        valid = node.store.rows("SELECT id FROM events WHERE valid=1", ())
        assert not {f.id for f in forged} & {bytes(r[0]) for r in valid}
    # What is written from now on cannot be read with the seized keys.
    fresh.posts.post(council, "the new meeting place")
    everyone([*honest, fresh])
    send(d, a)
    assert "the new meeting place" in _texts(b, council)
    assert "the new meeting place" not in _texts(a, council)


def test_a_removal_concurrent_with_a_recovery_wins(tmp_path: Path) -> None:
    """Bijan removes Azar while Dara and Mina recover her place to a new key, neither
    seeing the other: the removal stands and the new key gets nothing."""
    (a, b, m, d), council, clock = _council(tmp_path, kinds.Rules(removal="member"))
    azar = a.identity(council).sign_pk
    fresh = make_node(tmp_path, "fresh")
    fresh.now = clock
    request = fresh.recovery.ask(council, "Azar")
    d.recovery.vouch(request)
    send(d, m)
    assert m.recovery.vouch(request).admitted
    send(m, d)
    b.membership.remove(council, azar, "informer")
    everyone([b, m, d])
    everyone([b, m, d])
    new = fresh.identity(council).sign_pk
    digests = {node.councils.state_digest(council) for node in (b, m, d)}
    assert len(digests) == 1
    for node in (b, m, d):
        final = node.state(council)
        assert final.members[azar].end == "removed"
        assert not final.is_active(new)


def test_an_informer_with_enough_shares_still_lacks_the_passphrase(tmp_path: Path) -> None:
    """Azar leaves a key backup with Mina (the informer) and Dara, both needed. Mina
    makes a recovery request for Azar's place on a profile of her own, releases her own
    share to it and talks Dara into releasing his: without Azar's passphrase the shares
    give nothing, and shares released to Azar's own new profile open on no other."""
    (a, b, m, d), council, clock = _council(tmp_path, kinds.Rules())
    trusted = [n.identity(council).sign_pk for n in (m, d)]
    a.backup.deposit(council, trusted, 2, "azar's own words", FAST_KDF)
    everyone([a, b, m, d])
    spare = make_node(tmp_path, "spare")
    spare.now = clock
    request = spare.recovery.ask(council, "Azar")
    shares = [m.backup.release(request), d.backup.release(request)]
    for guess in ("", "azar", "password", "Azar's own words"):
        with pytest.raises(InvalidInput):
            spare.backup.restore(shares, guess)
    assert spare.identity(council).sign_pk != a.identity(council).sign_pk
    # Shares released to Azar's real new profile: useless on Mina's.
    real = make_node(tmp_path, "real")
    real.now = clock
    for_azar = real.recovery.ask(council, "Azar")
    given = [m.backup.release(for_azar), d.backup.release(for_azar)]
    with pytest.raises(InvalidInput):
        spare.backup.restore(given, "azar's own words")
    assert real.backup.restore(given, "azar's own words") == council
