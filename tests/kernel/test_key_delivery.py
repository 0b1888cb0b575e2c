"""Key delivery of version 2 (docs/protocol.md §6.1, §6.3): grants with one 24-byte box a
member, and ring envelopes carrying the older epochs once per epoch instead of in every
welcome. Real profiles, real SQLite files, bundles carried between them."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import admit, admit_stranger, make_node
from shora.errors import MalformedEvent
from shora.kernel import crypto, keys, kinds
from shora.kernel.events import WELCOME_KIND, decode_body
from shora.node import Node
from shora.services import rings

COUNCIL = b"c" * 32


def _member() -> tuple[bytes, bytes, bytes]:
    sign_pk, _ = crypto.sign_keypair()
    kx_pk, kx_sk = crypto.kx_keypair()
    return sign_pk, kx_pk, kx_sk


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), data=st.data())
def test_every_recipient_and_nobody_else_opens_a_version_2_grant(
    n: int, data: st.DataObject
) -> None:
    epoch = keys.Epoch.generate(COUNCIL)
    members = [_member() for _ in range(n)]
    grants = keys.seal_grants(epoch, [(s, kx) for s, kx, _ in members])
    assert len(grants.boxes) == n * keys.GRANT_BOX_LEN
    for sign_pk, kx_pk, kx_sk in members:
        assert keys.open_grants(sign_pk, kx_pk, kx_sk, COUNCIL, epoch.write_pk, grants) == epoch
    # an outsider, even one claiming a recipient's tag, unwraps nothing
    who = data.draw(st.sampled_from(members))
    _, out_pk, out_sk = _member()
    assert keys.open_grants(who[0], out_pk, out_sk, COUNCIL, epoch.write_pk, grants) is None
    # the grant is bound to its council and its epoch
    other = keys.Epoch.generate(COUNCIL).write_pk
    assert keys.open_grants(who[0], who[1], who[2], COUNCIL, other, grants) is None
    assert keys.open_grants(who[0], who[1], who[2], b"d" * 32, epoch.write_pk, grants) is None


@settings(max_examples=200, deadline=None)
@given(flip=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_a_changed_byte_of_a_version_2_grant_opens_to_nothing_or_the_same_keys(
    flip: int, bit: int
) -> None:
    """One bit changed anywhere (eph, sealed keys, the box): the recipient gets no
    epoch, never another one (a changed tag of somebody else's box changes nothing)."""
    epoch = keys.Epoch.generate(COUNCIL)
    me, other = _member(), _member()
    g = keys.seal_grants(epoch, [(me[0], me[1]), (other[0], other[1])])
    whole = bytearray(g.eph + g.sealed + g.boxes)
    whole[flip % len(whole)] ^= 1 << bit
    eph, rest = bytes(whole[:32]), bytes(whole[32:])
    changed = keys.Grants(eph, rest[: len(g.sealed)], rest[len(g.sealed) :])
    found = keys.open_grants(me[0], me[1], me[2], COUNCIL, epoch.write_pk, changed)
    assert found is None or found == epoch


def test_a_low_order_x25519_key_gets_no_box() -> None:
    """Its shared point would be zero, known to anyone: the grant key would leak to
    whoever reads the grant (a removed member holding the old epoch)."""
    epoch = keys.Epoch.generate(COUNCIL)
    me = _member()
    g = keys.seal_grants(epoch, [(me[0], me[1]), (b"z" * 32, bytes(32))])
    assert keys.box_tags(g.boxes) == [me[0][: keys.MEMBER_TAG_LEN]]


@settings(max_examples=300, deadline=None)
@given(blob=st.binary(max_size=2_000))
def test_fuzz_grant_bodies_and_rings(blob: bytes) -> None:
    """Arbitrary bytes as an epoch.grant body are refused with a decode error, and as a
    ring or a version-2 grant open to nothing; never a crash."""
    try:
        body = decode_body("epoch.grant", blob)
    except MalformedEvent:
        pass
    else:
        assert isinstance(body, kinds.EpochGrant)
    under = keys.Epoch.generate(COUNCIL)
    assert keys.open_ring(under, blob) is None
    me = _member()
    g = keys.Grants(blob[:32].ljust(32, b"\0"), blob, blob[: len(blob) // 24 * 24])
    assert keys.open_grants(me[0], me[1], me[2], COUNCIL, under.write_pk, g) is None


def test_a_grant_body_is_of_one_version() -> None:
    e, me = keys.Epoch.generate(COUNCIL), _member()
    g = keys.seal_grants(e, [(me[0], me[1])])
    v1 = kinds.Grant(me[0], keys.seal_grant(me[1], e))
    mixed = {
        "epoch": e.write_pk,
        "grants": [v1],
        "eph": g.eph,
        "sealed": g.sealed,
        "boxes": g.boxes,
    }
    for body in (
        mixed,
        {"epoch": e.write_pk},
        {"epoch": e.write_pk, "eph": g.eph, "sealed": g.sealed, "boxes": g.boxes[:-1]},
        {"epoch": e.write_pk, "eph": g.eph[:31], "sealed": g.sealed, "boxes": g.boxes},
    ):
        with pytest.raises(MalformedEvent):
            decode_body("epoch.grant", msgspec.msgpack.encode(body))


def test_a_ring_opens_only_under_its_own_epoch() -> None:
    under, older = keys.Epoch.generate(COUNCIL), [keys.Epoch.generate(COUNCIL) for _ in range(3)]
    sealed = keys.seal_ring(under, older)
    assert keys.open_ring(under, sealed) == older
    assert keys.open_ring(keys.Epoch.generate(COUNCIL), sealed) is None
    # epochs already held are skipped unchecked; a key whose secret does not match is dropped
    assert keys.open_ring(under, sealed, {older[0].write_pk}) == older[1:]
    forged = keys.Epoch(COUNCIL, older[0].write_pk, older[0].content_key, older[1].write_sk)
    assert keys.open_ring(under, keys.seal_ring(under, [forged, older[2]])) == [older[2]]


# --- whole profiles --------------------------------------------------------------------


def _welcomes(node: Node) -> list[tuple[str, int]]:
    """(hint, bytes of content) of every kind-4041 envelope the node stores."""
    rows = node.store.rows(
        "SELECT hint, content FROM envelopes WHERE kind=? ORDER BY rowid", (WELCOME_KIND,)
    )
    return [(str(h), len(bytes(c))) for h, c in rows]


def _council_with_removals(tmp_path: Path, removals: int) -> tuple[Node, bytes, list[str]]:
    founder = make_node(tmp_path, "founder")
    council = founder.councils.create("Depot", "", "Azar", kinds.Rules(removal="member"))
    posts = []
    for i in range(removals):
        text = f"shift rota {i}"
        founder.posts.post(council, text)  # one post under each epoch
        posts.append(text)
        gone = admit_stranger(founder, council, f"m{i}")
        admit_stranger(founder, council, f"k{i}")
        assert founder.membership.remove(council, gone).admitted
    return founder, council, posts


def test_a_newcomer_reads_every_epoch_from_a_small_welcome_and_one_ring(tmp_path: Path) -> None:
    """After six removals a welcome carries the current epoch alone; the six older ones
    travel once, in a ring envelope under the current epoch, which the newcomer opens
    with the key the welcome brings: it reads the posts of every epoch."""
    founder, council, posts = _council_with_removals(tmp_path, 6)
    newcomer = make_node(tmp_path, "newcomer")
    admit(founder, newcomer, council, "Bahar")
    current = founder.ingestor.projection.final_state(council).current_epoch
    assert current is not None
    ring_hint = keys.ring_hint(current)
    stored = dict(_welcomes(founder))
    assert ring_hint in stored
    epochs = {e.write_pk for e in founder.ingestor.keyring.epochs_of(council)}
    assert len(epochs) == 7
    assert {e.write_pk for e in newcomer.ingestor.keyring.epochs_of(council)} == epochs
    assert {p["text"] for p in newcomer.posts.posts(council, limit=100)} >= set(posts)
    assert newcomer.councils.state_digest(council) == founder.councils.state_digest(council)
    # the newcomer's welcome, the last written, holds one epoch: a sealed box of about
    # 240 bytes, not 7 x 100 bytes of keys
    welcomes = [size for hint, size in _welcomes(founder) if hint != ring_hint]
    assert welcomes[-1] < 300
    # a second admission under the same epoch writes no second ring envelope
    admit_stranger(founder, council, "later")
    assert sum(1 for h, _ in _welcomes(founder) if h == ring_hint) == 1


def test_the_ring_envelope_is_found_again_after_a_restart(tmp_path: Path) -> None:
    """The admitter's note of which epochs a ring carries lives in memory: reopened, it
    reads the stored ring envelope instead of writing another."""
    founder, council, _ = _council_with_removals(tmp_path, 5)
    admit_stranger(founder, council, "first")
    home = founder.home
    founder.close()
    with Node.open(home, "correct horse battery", allow_weak_kdf=True) as again:
        current = again.ingestor.projection.final_state(council).current_epoch
        assert current is not None
        admit_stranger(again, council, "second")
        hints = [h for h, _ in _welcomes(again)]
        assert hints.count(keys.ring_hint(current)) == 1


def test_rings_grow_with_epochs_not_epochs_squared(tmp_path: Path) -> None:
    """Forty removals, an admission after each: every ring under an epoch is a delta on
    a recent full ring (FULL_EVERY) or a full one, so they carry far fewer entries than
    one full ring per epoch would (820), and a newcomer still learns all 41 epochs from
    a one-epoch welcome, through at most two rings."""
    founder = make_node(tmp_path, "founder")
    council = founder.councils.create("Depot", "", "Azar", kinds.Rules(removal="member"))
    for i in range(40):
        gone = admit_stranger(founder, council, f"m{i}")
        assert founder.membership.remove(council, gone).admitted
        admit_stranger(founder, council, f"k{i}")
    newcomer = make_node(tmp_path, "newcomer")
    admit(founder, newcomer, council, "Bahar")
    held = {e.write_pk: e for e in founder.ingestor.keyring.epochs_of(council)}
    assert len(held) == 41
    entries, full = 0, 0
    for under in held.values():
        for sealed in founder.store.events.contents_with_hint(keys.ring_hint(under.write_pk)):
            ring = keys.open_ring(under, sealed)
            assert (ring is not None and len(ring) <= rings.FULL_EVERY) or len(ring) > 16
            entries += len(ring)
            full += len(ring) > rings.FULL_EVERY
    assert entries < 500 and full <= 3
    assert {e.write_pk for e in newcomer.ingestor.keyring.epochs_of(council)} == set(held)
    assert newcomer.councils.state_digest(council) == founder.councils.state_digest(council)
