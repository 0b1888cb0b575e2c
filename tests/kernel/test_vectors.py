"""The protocol test vectors (tests/vectors/protocol-v1.json), checked two ways.

(i)   regenerating them with the package gives the committed file byte for byte, so a
      format change cannot slip in silently;
(ii)  the independent verifier (tests/independent: pure Python from docs/protocol.md on
      hashlib alone, no shora, no crypto library) accepts every vector and reproduces
      every deterministic signature;
(iii) shora's own decoders accept every vector and refuse single-byte mutations;
(iv)  shora's NIP-01 ids match the tricky-string vectors.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from independent import aead, bip340, ed25519, mpack, nip01, protocol, sealedbox
from shora.errors import RemoteError
from shora.kernel import crypto, events, keys, kinds, tokens
from shora.kernel import nip01 as shora_nip01

VECTORS_DIR = Path(__file__).parents[1] / "vectors"
VECTORS_PATH = VECTORS_DIR / "protocol-v1.json"
V: dict[str, Any] = json.loads(VECTORS_PATH.read_text("utf-8"))
INPUTS = {name: bytes.fromhex(value) for name, value in V["inputs"].items()}
EVENTS: list[dict[str, Any]] = V["events"]
BY_NAME = {vec["name"]: vec for vec in EVENTS}
COUNCIL = bytes.fromhex(V["council"]["id"])
INNER_CONTEXT = b"shora/inner/v1" + b"\x00"  # the spec's literal, not shora's constant


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "shora_vectors_generate", VECTORS_DIR / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hexed(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return obj.hex()
    if isinstance(obj, list):
        return [_hexed(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _hexed(v) for k, v in obj.items()}
    return obj


def _epochs() -> dict[bytes, tuple[bytes, bytes]]:
    """write key → (write secret, content key), the write key derived independently."""
    out = {}
    for n in (1, 2):
        sk = INPUTS[f"epoch{n}_write_secret"]
        out[bip340.xonly_pubkey(sk)] = (sk, INPUTS[f"epoch{n}_content_key"])
    return out


EPOCHS = _epochs()
FOUNDER_PK = ed25519.public_key(INPUTS["founder_sign_seed"])


# --- (i) regeneration ------------------------------------------------------------------------


def test_regenerating_gives_the_committed_file_byte_for_byte() -> None:
    generate = _load_generator()
    rebuilt = generate.build(generate.recorded_boxes(VECTORS_PATH))
    assert json.loads(generate.render(rebuilt)) == V  # a readable diff first
    assert generate.render(rebuilt) == VECTORS_PATH.read_text("utf-8")


def test_regeneration_notices_a_format_change(monkeypatch: pytest.MonkeyPatch) -> None:
    generate = _load_generator()
    monkeypatch.setattr(events, "CONTENT_AD", b"shora/content/v3")
    rebuilt = generate.build(generate.recorded_boxes(VECTORS_PATH))
    assert generate.render(rebuilt) != VECTORS_PATH.read_text("utf-8")


# --- the independent verifier checks itself against published vectors -----------------------


def test_independent_primitives_match_published_vectors() -> None:
    # BIP-340 test vector 0 (bip-0340/test-vectors.csv)
    sk = (3).to_bytes(32, "big")
    pk = bytes.fromhex("F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9")
    sig = bytes.fromhex(
        "E907831F80848D1069A5371B402410364BDF1C5F8307B0084C55F1CE2DCA8215"
        "25F66A4A85EA8B71E482A74F382D2CE5EBEEE8FDB2172F477DF4900D310536C0"
    )
    assert bip340.xonly_pubkey(sk) == pk
    assert bip340.sign(sk, bytes(32), bytes(32)) == sig
    assert bip340.verify(pk, bytes(32), sig)
    assert not bip340.verify(pk, bytes(31) + b"\x01", sig)
    # RFC 8032, section 7.1, TEST 1
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    pk = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    sig = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    assert ed25519.public_key(seed) == pk
    assert ed25519.sign(seed, b"") == sig
    assert ed25519.verify(pk, b"", sig)
    assert not ed25519.verify(pk, b"x", sig)
    # RFC 7748, section 5.2, first X25519 vector
    scalar = bytes.fromhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
    u = bytes.fromhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
    out = "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"
    assert sealedbox.x25519(scalar, u).hex() == out
    # RFC 8439, section 2.5.2 (Poly1305) and 2.3.2 (ChaCha20 block, first 32 bytes)
    key = bytes.fromhex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")
    tag = aead.poly1305(key, b"Cryptographic Forum Research Group")
    assert tag.hex() == "a8061dc1305136c6c22b8baf0c0127a9"
    block = aead.chacha20_block(bytes(range(32)), 1, bytes.fromhex("000000090000004a00000000"))
    assert block[:32].hex() == "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
    # draft-irtf-cfrg-xchacha-03, section 2.2.1 (HChaCha20)
    sub = aead.hchacha20(bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927"))
    assert sub.hex() == "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"
    # NaCl's HSalsa20 test (core1): the crypto_box key of Alice and Bob
    shared = bytes.fromhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
    out = "1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389"
    assert sealedbox.hsalsa20(shared, bytes(16)).hex() == out


# --- (ii) the independent verifier accepts every vector ------------------------------------


def _independent_envelope(vec: dict[str, Any]) -> dict[str, Any]:
    """Parse, recompute the id, verify and re-sign (aux = 0) an envelope independently."""
    env = protocol.parse_envelope(vec["envelope_json"].encode("utf-8"))
    assert env["content"] == vec["content"]
    assert env["created_at"] == vec["created_at"] and env["created_at"] % 3600 == 0
    assert env["tags"] == vec["tags"]
    assert protocol.serialization(env) == vec["nip01_serialisation"]
    digest = hashlib.sha256(vec["nip01_serialisation"].encode("utf-8")).hexdigest()
    assert digest == env["id"] == vec["envelope_id"]
    protocol.verify_envelope(env)
    write_sk = EPOCHS[bytes.fromhex(env["pubkey"])][0]
    assert bip340.sign(write_sk, bytes.fromhex(env["id"]), bytes(32)).hex() == env["sig"]
    return env


@pytest.mark.parametrize("vec", EVENTS, ids=[v["name"] for v in EVENTS])
def test_independent_verifier_accepts_event(vec: dict[str, Any]) -> None:
    env = _independent_envelope(vec)
    assert env["kind"] == 4040 and env["tags"] == []
    write_pk = bytes.fromhex(env["pubkey"])
    assert write_pk.hex() == vec["write_key"]
    content_key = EPOCHS[write_pk][1]

    nonce, plain = protocol.open_content(env["content"], content_key, write_pk)
    blob = base64.b64decode(env["content"])
    assert blob[0] == 2 and blob[1:25] == nonce and blob[25:].hex() == vec["ciphertext"]
    assert vec["associated_data"] == (b"shora/content/v2" + write_pk).hex()
    assert nonce.hex() == vec["nonce"] and plain.hex() == vec["plaintext"]
    # padded to a size bucket, with the length in front and zeros behind
    padded = bytes.fromhex(vec["padded_plaintext"])
    assert len(padded) in (256, 512, 1024, 2048, 4096) or len(padded) % 4096 == 0
    assert protocol.unpad(padded) == plain and len(padded) >= len(plain) + 4

    inner = protocol.open_inner(plain)
    assert inner.payload.hex() == vec["payload"] and inner.sig.hex() == vec["inner_sig"]
    assert inner.inner_id == hashlib.sha256(inner.payload).digest()
    assert inner.inner_id.hex() == vec["inner_id"]
    # Ed25519 is deterministic: the independent signer makes the same signature
    assert ed25519.sign(INPUTS["founder_sign_seed"], INNER_CONTEXT + inner.payload) == inner.sig

    f = inner.fields
    assert _hexed(f) == vec["payload_fields"]
    assert f["epoch"] == write_pk, "epoch must equal the envelope's pubkey"
    assert f["council"] == COUNCIL and f["author"] == FOUNDER_PK and f["kind"] == vec["kind"]
    assert f["body"].hex() == vec["body"]
    body = protocol.decode_body(f["kind"], f["body"])
    assert _hexed(body) == vec["body_fields"]
    assert env["created_at"] == f["time"] // 1000 // 3600 * 3600
    # written as the spec says msgspec writes: shortest forms, maps in the listed order
    for raw in (plain, inner.payload, f["body"]):
        assert mpack.packb(mpack.unpackb(raw)) == raw

    if f["kind"] == "council.create":
        assert f["parents"] == [] and f["clock"] == 1
        assert protocol.council_id(f["author"], f["body"]) == COUNCIL
        assert f["body"].hex() == V["council"]["create_body"]
        assert body["founder_kx"] == sealedbox.x25519_public(INPUTS["founder_kx_secret"])
        assert body["nonce"] == INPUTS["council_nonce"]
    else:
        assert f["parents"], "only the founding event has no parents"


def test_version_1_content_is_still_read_by_both() -> None:
    """Old profiles and relays hold unpadded version-1 envelopes: both readers open them."""
    vec, v2 = V["event_v1"], BY_NAME["e_post_message"]
    env = _independent_envelope(vec)
    write_pk = bytes.fromhex(env["pubkey"])
    _nonce, plain = protocol.open_content(env["content"], EPOCHS[write_pk][1], write_pk)
    assert base64.b64decode(env["content"])[0] == 1 and plain.hex() == vec["plaintext"]
    assert vec["padded_plaintext"] == vec["plaintext"] == v2["plaintext"]
    assert vec["associated_data"] == (b"shora/content/v1" + write_pk).hex()
    opened = _shora_open(vec["envelope_json"].encode("utf-8"))
    assert opened.inner_id.hex() == v2["inner_id"]  # the same event in another envelope
    assert len(vec["content"]) < len(v2["content"])  # only version 2 is padded


def test_independent_history_is_causally_consistent() -> None:
    clocks: dict[bytes, int] = {}
    for vec in EVENTS:
        f = mpack.unpackb(bytes.fromhex(vec["payload"]))
        parents, clock = f[4], f[5]
        assert all(p in clocks for p in parents), "parents are earlier inner ids"
        assert clock == 1 + max((clocks[p] for p in parents), default=0)
        clocks[hashlib.sha256(bytes.fromhex(vec["payload"])).digest()] = clock
    assert len(mpack.unpackb(bytes.fromhex(BY_NAME["e_post_message"]["payload"]))[4]) == 2


def test_independent_verifier_opens_the_grant_box() -> None:
    rotate = mpack.unpackb(bytes.fromhex(BY_NAME["c_epoch_rotate"]["body"]))
    grant = protocol.decode_body("epoch.grant", bytes.fromhex(BY_NAME["d_epoch_grant"]["body"]))
    assert grant["epoch"] == rotate["new_epoch"]
    [[member, box]] = grant["grants"]
    assert member == FOUNDER_PK and box.hex() == V["sealed_boxes"]["grant_box"]
    assert len(box) <= 256
    write_pk, content_key, write_sk = protocol.open_grant_box(
        box, INPUTS["founder_kx_secret"], COUNCIL
    )
    # the write secret's x-only key (own secp256k1 code) is the write key and the body's epoch
    assert bip340.xonly_pubkey(write_sk) == write_pk == grant["epoch"]
    assert (write_sk, content_key) == (
        INPUTS["epoch2_write_secret"],
        INPUTS["epoch2_content_key"],
    )
    # the grant travels under epoch 1; the post after it is written under the granted epoch
    assert BY_NAME["d_epoch_grant"]["write_key"] != write_pk.hex()
    assert BY_NAME["e_post_message"]["write_key"] == write_pk.hex()
    # nobody else opens it
    assert sealedbox.seal_open(box, INPUTS["joiner_kx_secret"]) is None


def test_independent_verifier_opens_the_version_2_grant() -> None:
    """§6.1 version 2: the founder and the newcomer each find their box and open epoch 2;
    shora's own decoder reads the same body and opens the same boxes."""
    body = bytes.fromhex(V["grant_v2"]["body"])
    for sign_pk, kx_secret in (
        (FOUNDER_PK, INPUTS["founder_kx_secret"]),
        (bytes.fromhex(V["keys"]["joiner_sign_pk"]), INPUTS["joiner_kx_secret"]),
    ):
        write_pk, content_key, write_sk = protocol.open_grant_v2(body, sign_pk, kx_secret, COUNCIL)
        assert (write_pk.hex(), content_key, write_sk) == (
            V["keys"]["epoch2_write_key"],
            INPUTS["epoch2_content_key"],
            INPUTS["epoch2_write_secret"],
        )
        grant = msgspec.msgpack.decode(body, type=kinds.EpochGrant)
        kx_pk = sealedbox.x25519_public(kx_secret)
        g = keys.Grants(grant.eph, grant.sealed, grant.boxes)
        epoch = keys.open_grants(sign_pk, kx_pk, kx_secret, COUNCIL, grant.epoch, g)
        assert epoch is not None and epoch.content_key == content_key
    # a key that is not a recipient finds no box
    with pytest.raises(protocol.ProtocolError):
        protocol.open_grant_v2(body, bytes(32), INPUTS["joiner_kx_secret"], COUNCIL)


def test_independent_verifier_opens_the_ring_envelope() -> None:
    vec = V["ring_envelope"]
    env = _independent_envelope(vec)
    assert protocol.ring_hint(bytes.fromhex(vec["write_key"])) == vec["hint"]
    ring = protocol.open_ring(env, INPUTS["epoch2_content_key"], COUNCIL)
    assert ring == [
        (
            bytes.fromhex(V["keys"]["epoch1_write_key"]),
            INPUTS["epoch1_content_key"],
            INPUTS["epoch1_write_secret"],
        )
    ]
    with pytest.raises(protocol.ProtocolError):  # another epoch's key does not open it
        protocol.open_ring(env, INPUTS["epoch1_content_key"], COUNCIL)


def test_independent_verifier_accepts_the_welcome() -> None:
    vec = V["welcome"]
    env = _independent_envelope(vec)
    join, request_id = protocol.open_join_request(bytes.fromhex(V["join_request"]["signed"]))
    assert request_id.hex() == vec["request_id"]
    assert protocol.welcome_hint(request_id) == vec["hint"]
    assert env["tags"] == [["k", vec["hint"]]]
    assert protocol.b64decode_strict(env["content"]).hex() == vec["box"]
    ring = protocol.open_welcome(env, INPUTS["joiner_kx_secret"], COUNCIL, request_id)
    assert ring == [(pk, ck, sk) for pk, (sk, ck) in EPOCHS.items()]
    # signed by the current write key, sealed to the newcomer's X25519 key from the request
    assert env["pubkey"] == V["keys"]["epoch2_write_key"]
    assert join["kx_pk"] == sealedbox.x25519_public(INPUTS["joiner_kx_secret"])
    plain = sealedbox.seal_open(bytes.fromhex(vec["box"]), INPUTS["joiner_kx_secret"])
    assert plain is not None and plain.hex() == vec["box_plaintext"]
    assert mpack.packb(mpack.unpackb(plain)) == plain


def test_independent_verifier_accepts_invitation_and_join_request() -> None:
    inv_vec, join_vec = V["invitation"], V["join_request"]
    assert re.fullmatch(r"[A-Z2-7]{5}(-[A-Z2-7]{5})*(-[A-Z2-7]{1,5})?", inv_vec["text"])
    assert inv_vec["uri"] == "shora:invite/" + inv_vec["text"].replace("-", "")
    for text in (inv_vec["text"], inv_vec["uri"], inv_vec["uri"].upper()):
        council, secret, expires, reach = protocol.parse_invitation(text)
        assert council == COUNCIL and secret == INPUTS["invite_secret"]
        assert expires == inv_vec["expires"] and reach == inv_vec["reach"]
    assert protocol.dearmor(inv_vec["text"], "shora:invite/").hex() == inv_vec["msgpack"]
    assert protocol.invite_id(secret).hex() == inv_vec["invite_id"]

    assert join_vec["text"].startswith("shora:join/")
    signed = protocol.dearmor(join_vec["text"], "shora:join/")
    assert signed.hex() == join_vec["signed"] and len(signed) <= 1024
    f, request_id = protocol.open_join_request(signed)
    assert request_id.hex() == join_vec["request_id"]
    assert f["council"] == COUNCIL and f["invite_id"] == protocol.invite_id(secret)
    assert f["sign_pk"] == ed25519.public_key(INPUTS["joiner_sign_seed"])
    assert f["kx_pk"] == sealedbox.x25519_public(INPUTS["joiner_kx_secret"])
    assert f["name"] == join_vec["name"] and f["time"] == join_vec["time"]
    assert f["proof"] == protocol.join_proof(secret, COUNCIL, f["sign_pk"], f["kx_pk"])
    payload = bytes.fromhex(join_vec["payload"])
    expected_sig = ed25519.sign(INPUTS["joiner_sign_seed"], b"shora/join/v1\x00" + payload)
    assert expected_sig.hex() == join_vec["signature"]
    for raw in (signed, payload, bytes.fromhex(inv_vec["msgpack"])):
        assert mpack.packb(mpack.unpackb(raw)) == raw

    # the council records the secret, and the admission carries the request as received
    created = mpack.unpackb(bytes.fromhex(BY_NAME["b_invite_create"]["body"]))
    assert created == {"secret": secret, "expires": expires}
    admit = mpack.unpackb(bytes.fromhex(BY_NAME["f_member_admit"]["body"]))
    assert admit == {"request": signed, "mandate": None}


@pytest.mark.parametrize("vec", V["nip01"], ids=[v["description"] for v in V["nip01"]])
def test_nip01_string_vectors(vec: dict[str, Any]) -> None:
    args = (vec["pubkey"], vec["created_at"], vec["kind"], vec["tags"], vec["content"])
    serialised = vec["serialisation"].encode("utf-8")
    assert serialised.hex() == vec["serialisation_hex"]
    assert hashlib.sha256(serialised).hexdigest() == vec["id"]
    # (ii) the independent serialiser
    assert nip01.serialize(*args) == vec["serialisation"]
    env = protocol.parse_envelope(vec["envelope_json"].encode("utf-8"))
    assert [env[k] for k in ("pubkey", "created_at", "kind", "tags", "content")] == list(args)
    protocol.verify_envelope(env)
    # (iv) shora
    assert shora_nip01.serialize_for_id(*args) == serialised
    assert shora_nip01.event_id(*args) == vec["id"]
    decoded = shora_nip01.decode(vec["envelope_json"].encode("utf-8"))
    assert decoded.content == vec["content"] and decoded.tags == vec["tags"]
    shora_nip01.verify(decoded)


def test_nip01_vectors_cover_the_tricky_characters() -> None:
    text = "".join(v["content"] + "".join(i for t in v["tags"] for i in t) for v in V["nip01"])
    for ch in '\n"\\\r\t\b\f\x00\x01\x1f\x7f\u2028😀ی':
        assert ch in text, repr(ch)
    # the raw control characters other than the seven stay verbatim
    assert (
        "\x01" in V["nip01"][0]["serialisation"] and "\\u0001" not in V["nip01"][0]["serialisation"]
    )


def _resigned(vec: dict[str, Any], content: str) -> dict[str, Any]:
    env = json.loads(vec["envelope_json"])
    env["content"] = content
    env["id"] = nip01.event_id(env["pubkey"], env["created_at"], env["kind"], env["tags"], content)
    write_sk = EPOCHS[bytes.fromhex(env["pubkey"])][0]
    env["sig"] = bip340.sign(write_sk, bytes.fromhex(env["id"]), bytes(32)).hex()
    return env


def test_independent_verifier_refuses_tampering() -> None:
    """The verifier is only worth something if it says no: one case per check."""
    vec = BY_NAME["a_council_create"]
    write_pk = bytes.fromhex(vec["write_key"])
    content_key = EPOCHS[write_pk][1]
    env = json.loads(vec["envelope_json"])
    for field, value in (
        ("content", "B" + env["content"][1:]),
        ("created_at", env["created_at"] + 3600),
        ("sig", env["sig"][:-1] + ("0" if env["sig"][-1] != "0" else "1")),
    ):
        with pytest.raises(protocol.ProtocolError):
            protocol.verify_envelope({**env, field: value})
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_envelope(json.dumps({**env, "extra": 1}).encode())
    # the AD binds the write key and the version; versions are 1 and 2
    other_pk = next(pk for pk in EPOCHS if pk != write_pk)
    with pytest.raises(protocol.ProtocolError):
        protocol.open_content(env["content"], content_key, other_pk)
    blob = base64.b64decode(env["content"])
    for version in (b"\x01", b"\x03"):  # another version's key derivation, or none
        with pytest.raises(protocol.ProtocolError):
            other = base64.b64encode(version + blob[1:]).decode()
            protocol.open_content(other, content_key, write_pk)
    # padding that is not zeros, or a length beyond the plaintext
    padded = bytes.fromhex(vec["padded_plaintext"])
    for bad in (padded[:-1] + b"\x01", (len(padded)).to_bytes(4, "big") + padded[4:]):
        with pytest.raises(protocol.ProtocolError):
            protocol.unpad(bad)
    # a re-signed envelope whose inner event is signed by someone else
    plain = bytes.fromhex(vec["plaintext"])
    payload, sig = mpack.unpackb(plain)
    forged = mpack.packb([payload, sig[:-1] + bytes([sig[-1] ^ 1])])
    with pytest.raises(protocol.ProtocolError):
        protocol.open_inner(forged)
    # a founding body that does not hash to the council id
    fields = protocol.open_inner(plain).fields
    assert protocol.council_id(fields["author"], fields["body"] + b"\x00") != COUNCIL
    # a welcome for another request, or opened with the wrong secret
    welcome = protocol.parse_envelope(V["welcome"]["envelope_json"].encode())
    rid = bytes.fromhex(V["welcome"]["request_id"])
    with pytest.raises(protocol.ProtocolError):
        protocol.open_welcome(welcome, INPUTS["founder_kx_secret"], COUNCIL, rid)
    with pytest.raises(protocol.ProtocolError):
        protocol.open_welcome(welcome, INPUTS["joiner_kx_secret"], COUNCIL, bytes(32))
    # a damaged but re-signed content passes the envelope checks, not the AEAD
    damaged = _resigned(
        vec, env["content"][:40] + ("A" if env["content"][40] != "A" else "B") + env["content"][41:]
    )
    protocol.verify_envelope(damaged)
    with pytest.raises(protocol.ProtocolError):
        protocol.open_content(damaged["content"], content_key, write_pk)
    # an invitation with a typo fails its checksum
    text = V["invitation"]["text"]
    typo = text[:7] + ("A" if text[7] != "A" else "B") + text[8:]
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_invitation(typo)


# --- shora's randomised writers meet the spec too ------------------------------------------


def test_shora_writers_are_opened_by_the_independent_verifier() -> None:
    write_pk, (write_sk, content_key) = next(iter(EPOCHS.items()))
    plain = bytes.fromhex(BY_NAME["a_council_create"]["plaintext"])
    content = events.seal_content(content_key, write_pk, plain)
    nonce, opened = protocol.open_content(content, content_key, write_pk)
    assert opened == plain and len(nonce) == 24
    env = shora_nip01.sign_envelope(crypto.WriteSigner(write_sk), 3600, 4040, [], content)
    protocol.verify_envelope(protocol.parse_envelope(shora_nip01.encode(env)))

    founder_kx = sealedbox.x25519_public(INPUTS["founder_kx_secret"])
    epoch = keys.Epoch(COUNCIL, write_pk, content_key, write_sk)
    box = keys.seal_grant(founder_kx, epoch)
    assert protocol.open_grant_box(box, INPUTS["founder_kx_secret"], COUNCIL) == (
        write_pk,
        content_key,
        write_sk,
    )


# --- (iii) shora's decoders accept every vector ---------------------------------------------


def _shora_open(raw: bytes) -> events.Opened:
    env = shora_nip01.decode(raw)
    shora_nip01.verify(env)
    write_pk = bytes.fromhex(env.pubkey)
    plain = events.decrypt_content(env, EPOCHS[write_pk][1], write_pk)
    return events.open_inner(env, plain, write_pk, COUNCIL)


def _shora_open_welcome(raw: bytes) -> list[keys.Epoch] | None:
    env = shora_nip01.decode(raw)
    shora_nip01.verify(env)
    vec = V["welcome"]
    if env.tag("k") != keys.welcome_hint(bytes.fromhex(vec["request_id"])):
        return None
    sealed = base64.b64decode(env.content, validate=True)
    kx_sk = INPUTS["joiner_kx_secret"]
    kx_pk = sealedbox.x25519_public(kx_sk)
    return keys.open_welcome(kx_pk, kx_sk, COUNCIL, bytes.fromhex(vec["request_id"]), sealed)


@pytest.mark.parametrize("vec", EVENTS, ids=[v["name"] for v in EVENTS])
def test_shora_accepts_event(vec: dict[str, Any]) -> None:
    raw = vec["envelope_json"].encode("utf-8")
    env = shora_nip01.decode(raw)
    assert shora_nip01.encode(env) == raw
    write_pk = bytes.fromhex(env.pubkey)
    assert shora_nip01.serialize_for_id(
        env.pubkey, env.created_at, env.kind, env.tags, env.content
    ) == vec["nip01_serialisation"].encode("utf-8")
    plain = events.decrypt_content(env, EPOCHS[write_pk][1], write_pk)
    assert plain.hex() == vec["plaintext"]
    opened = _shora_open(raw)
    assert opened.inner_id.hex() == vec["inner_id"]
    assert opened.raw_payload.hex() == vec["payload"]
    assert opened.payload.kind == vec["kind"] and opened.payload.body.hex() == vec["body"]
    assert events.encode_body(opened.body).hex() == vec["body"]


def test_shora_opens_the_boxes_and_tokens() -> None:
    founder_kx_sk = INPUTS["founder_kx_secret"]
    box = bytes.fromhex(V["sealed_boxes"]["grant_box"])
    epoch = keys.open_grant(sealedbox.x25519_public(founder_kx_sk), founder_kx_sk, COUNCIL, box)
    assert epoch is not None
    assert (epoch.write_sk, epoch.content_key) == (
        INPUTS["epoch2_write_secret"],
        INPUTS["epoch2_content_key"],
    )
    ring = _shora_open_welcome(V["welcome"]["envelope_json"].encode("utf-8"))
    assert ring is not None
    assert [(e.write_pk, e.content_key, e.write_sk) for e in ring] == [
        (pk, ck, sk) for pk, (sk, ck) in EPOCHS.items()
    ]

    inv = tokens.parse_invitation(V["invitation"]["text"])
    assert tokens.parse_invitation(V["invitation"]["uri"]) == inv
    assert msgspec.msgpack.encode(inv).hex() == V["invitation"]["msgpack"]
    signed = tokens.parse_join_request_text(V["join_request"]["text"])
    payload, request_id = tokens.open_join_request(signed)
    tokens.check_proof(payload, inv.secret)
    assert request_id.hex() == V["join_request"]["request_id"] == V["welcome"]["request_id"]


# --- (iii) ... and refuse every single-byte mutation of content, sig and id ------------------

_HEX = b"0123456789abcdef"
_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_JUNK = b'"\\ G\x00\xff{~'


def _swap(c: int, alphabet: bytes) -> int:
    """Another character of the same alphabet, differing in a bit that carries data."""
    if c == ord("="):
        return ord("A")
    i = alphabet.index(c)
    return alphabet[i ^ (0x20 if alphabet is _B64 else 0x08)]


def _value_span(raw: bytes, field: str) -> range:
    start = raw.index(b'"' + field.encode() + b'":"') + len(field) + 4
    return range(start, raw.index(b'"', start))


def _mutations(raw: bytes) -> Iterator[bytes]:
    for field, alphabet in (("id", _HEX), ("sig", _HEX), ("content", _B64)):
        for i in _value_span(raw, field):
            yield raw[:i] + bytes([_swap(raw[i], alphabet)]) + raw[i + 1 :]
            junk = _JUNK[i % len(_JUNK)]
            junk = junk if junk != raw[i] else _JUNK[(i + 1) % len(_JUNK)]
            yield raw[:i] + bytes([junk]) + raw[i + 1 :]


ENVELOPES = [*EVENTS, V["welcome"]]


@pytest.mark.parametrize("vec", ENVELOPES, ids=[v["name"] for v in ENVELOPES])
def test_shora_refuses_every_single_byte_mutation(vec: dict[str, Any]) -> None:
    raw = vec["envelope_json"].encode("utf-8")
    opener = _shora_open_welcome if vec["envelope_kind"] == 4041 else _shora_open
    assert opener(raw)
    count = 0
    for mutated in _mutations(raw):
        assert mutated != raw
        with pytest.raises(RemoteError):
            opener(mutated)
        count += 1
    assert count == 2 * (64 + 128 + len(vec["content"]))


@pytest.mark.parametrize("vec", ENVELOPES, ids=[v["name"] for v in ENVELOPES])
def test_shora_refuses_mutated_content_even_when_re_signed(vec: dict[str, Any]) -> None:
    """A write-key holder re-signing a damaged content: the AEAD or the box must catch it."""
    write_pk = bytes.fromhex(vec["write_key"])
    signer = crypto.WriteSigner(EPOCHS[write_pk][0])
    content = vec["content"].encode("ascii")
    for i in range(len(content)):
        damaged = content[:i] + bytes([_swap(content[i], _B64)]) + content[i + 1 :]
        env = shora_nip01.sign_envelope(
            signer, vec["created_at"], vec["envelope_kind"], vec["tags"], damaged.decode()
        )
        raw = shora_nip01.encode(env)
        if vec["envelope_kind"] == 4041:
            try:
                assert _shora_open_welcome(raw) is None
            except RemoteError:
                pass
        else:
            with pytest.raises(RemoteError):
                _shora_open(raw)
