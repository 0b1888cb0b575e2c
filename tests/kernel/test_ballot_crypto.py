"""The secret-ballot primitives (shora.kernel.ring, shora.kernel.threshold):
the committed vectors regenerate byte for byte, the independent verifier
(tests/independent/ballots.py, pure Python on the curve equations) accepts them,
and the properties the construction rests on hold (docs/ballot-secrecy.md)."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import nacl.bindings as sodium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from independent import ballots as ib
from shora.kernel import curve, ring, threshold

VECTORS_DIR = Path(__file__).parents[1] / "vectors"
V: dict[str, Any] = json.loads((VECTORS_DIR / "ballots-v1.json").read_text("utf-8"))
CONTEXT = bytes.fromhex(V["context"])
RING = [bytes.fromhex(k) for k in V["ring"]]


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "gen_ballots", VECTORS_DIR / "generate_ballots.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vectors_regenerate_byte_for_byte() -> None:
    assert _generator().render() == (VECTORS_DIR / "ballots-v1.json").read_text("utf-8")


def test_independent_verifier_accepts_lsag_vectors() -> None:
    assert ib.hp(b"shora/lsag/image", CONTEXT).hex() == V["image_base"]
    for vec in V["lsag"]:
        sig = bytes.fromhex(vec["signature"])
        msg = bytes.fromhex(vec["message"])
        assert ib.lsag_verify(msg, RING, sig, CONTEXT)
        assert not ib.lsag_verify(msg + b"!", RING, sig, CONTEXT)
        assert not ib.lsag_verify(msg, RING, sig, CONTEXT + b"!")
        secret = int.from_bytes(bytes.fromhex(vec["secret_scalar"]), "little")
        assert ib.key_image(secret, CONTEXT).hex() == vec["key_image"]
    # the same signer twice: the same key image (a re-vote); another signer: another
    images = [v["key_image"] for v in V["lsag"]]
    assert images[0] == images[2] != images[1]


def test_independent_verifier_accepts_cast_vectors_and_counts_the_highest_sequence() -> None:
    proposal = bytes.fromhex(V["proposal"])
    cts = [bytes.fromhex(c) for c in V["threshold"]["ciphertexts"]]
    seen = []
    for cast in V["casts"]:
        ct, sequence = cts[cast["ciphertext_index"]], cast["sequence"]
        msg = ib.ballot_message(proposal, ct, sequence)
        assert msg.hex() == cast["message"]
        sig = bytes.fromhex(cast["signature"])
        assert ib.lsag_verify(msg, RING, sig, CONTEXT)
        # the sequence is signed: the same ballot claiming another sequence does not verify
        assert not ib.lsag_verify(ib.ballot_message(proposal, ct, sequence + 1), RING, sig, CONTEXT)
        seen.append((sig[:32], sequence, ct))
    want = {bytes.fromhex(i): cts[n] for i, n in V["counted"].items()}
    # the first ballot of signer 0 has the higher sequence: it counts, though cast "first"
    assert want[bytes.fromhex(V["lsag"][0]["key_image"])] == cts[0]
    for order in (seen, seen[::-1], [*seen, seen[2], seen[2]]):
        assert ib.counted(order) == want


def test_independent_verifier_accepts_threshold_vectors() -> None:
    t = V["threshold"]
    commitments = [[bytes.fromhex(c) for c in cs] for cs in t["commitments"]]
    assert ib.joint_key(commitments).hex() == t["joint_key"]
    for i, dealt in enumerate(t["shares_dealt"]):
        for j, share in enumerate(dealt, start=1):
            assert ib.feldman_ok(commitments[i], j, int.from_bytes(bytes.fromhex(share), "little"))
    cts = [bytes.fromhex(c) for c in t["ciphertexts"]]
    for ct, bind in zip(cts, t["binds"], strict=True):
        assert ib.ciphertext_ok(ct, CONTEXT, bytes.fromhex(bind))
        assert not ib.ciphertext_ok(ct, CONTEXT, bytes(32))
    a_s = [ct[:32] for ct in cts]
    shares: dict[int, list[bytes]] = {}
    for teller in t["tellers"]:
        y_j = bytes.fromhex(teller["public_share"])
        assert ib.public_share(commitments, teller["number"]) == y_j
        d_s = [bytes.fromhex(d) for d in teller["shares"]]
        assert ib.shares_ok(y_j, a_s, d_s, bytes.fromhex(teller["proof"]), CONTEXT)
        assert not ib.shares_ok(
            y_j, a_s, [d_s[1], d_s[0], *d_s[2:]], bytes.fromhex(teller["proof"]), CONTEXT
        )
        shares[teller["number"]] = d_s
    for i, ct in enumerate(cts):
        plain = ib.decrypt(ct, {j: shares[j][i] for j in shares}, CONTEXT)
        assert plain is not None and plain.hex() == t["plaintexts"][i]
        assert ib.decrypt(ct, {1: shares[1][i]}, CONTEXT) is None  # k-1 shares: nothing


def test_hash_to_point_matches_the_independent_elligator() -> None:
    for _ in range(16):
        r = os.urandom(32)
        assert bytes(sodium.crypto_core_ed25519_from_uniform(r)) == ib.elligator2(r)


def _members(n: int) -> list[tuple[bytes, int]]:
    out = []
    for _ in range(n):
        pk, sk = sodium.crypto_sign_keypair()
        out.append((bytes(pk), curve.ed25519_scalar(bytes(sk))))
    return out


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 6), who=st.integers(0, 5), msg=st.binary(max_size=40))
def test_every_member_signs_and_only_for_its_context(n: int, who: int, msg: bytes) -> None:
    members = _members(n)
    keys = sorted(pk for pk, _x in members)
    _pk, x = members[who % n]
    sig = ring.sign(msg, keys, x, CONTEXT)
    assert ring.verify(msg, keys, sig, CONTEXT)
    assert not ring.verify(msg, keys, sig, CONTEXT + b"other proposal")
    assert sig.image == ring.key_image(x, CONTEXT)
    again = ring.sign(msg + b"re-vote", keys, x, CONTEXT)
    assert ring.link(sig, again)
    assert ring.key_image(x, CONTEXT + b"other") != sig.image  # unlinkable elsewhere


def test_an_outsider_cannot_sign_and_a_forged_image_fails() -> None:
    members = _members(4)
    keys = sorted(pk for pk, _x in members)
    outsider = curve.random_scalar()
    with pytest.raises(ValueError):
        ring.sign(b"m", keys, outsider, CONTEXT)
    # the outsider signs with its own key in the ring, then presents the members' ring
    sig = ring.sign(b"m", sorted([*keys[:3], curve.base(outsider)]), outsider, CONTEXT)
    assert not ring.verify(b"m", keys, sig, CONTEXT)
    # a member swaps in another key image (a second vote): the ring no longer closes
    _pk, x = members[0]
    good = ring.sign(b"m", keys, x, CONTEXT)
    forged = ring.Signature(curve.add(good.image, curve.base(1)), good.c0, good.s)
    assert not ring.verify(b"m", keys, forged, CONTEXT)
    assert not ib.lsag_verify(b"m", keys, forged.encode(), CONTEXT)
    # a non-canonical response (s + L) is refused, not read mod L
    s0 = int.from_bytes(good.s[0], "little") + curve.L
    if s0 < 2**256:
        bent = ring.Signature(good.image, good.c0, (s0.to_bytes(32, "little"), *good.s[1:]))
        assert not ring.verify(b"m", keys, bent, CONTEXT)


@settings(max_examples=6, deadline=None)
@given(n=st.integers(1, 5), data=st.data())
def test_any_k_tellers_decrypt_and_fewer_do_not(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(1, n))
    dealings = [threshold.deal(k) for _ in range(n)]
    comms = [d.commitments for d in dealings]
    secrets = {j: sum(d.share_for(j) for d in dealings) % curve.L for j in range(1, n + 1)}
    ct = threshold.encrypt(threshold.joint_key(comms), b"ballot", CONTEXT, b"bind")
    chosen = data.draw(st.sets(st.integers(1, n), min_size=k, max_size=k))
    shares = {j: threshold.decryption_shares(secrets[j], [ct.a], CONTEXT)[0][0] for j in chosen}
    assert threshold.open_box(threshold.combine(shares), ct, CONTEXT) == b"ballot"
    if k > 1:
        fewer = dict(list(shares.items())[: k - 1])
        assert threshold.open_box(threshold.combine(fewer), ct, CONTEXT) is None
