"""The formats of docs/protocol.md, checked from the text of the spec alone.

Every function raises ProtocolError with the reason when its input does not follow
the spec; section numbers refer to docs/protocol.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from independent import aead, bip340, ed25519, mpack, nip01, sealedbox


class ProtocolError(ValueError):
    pass


def _require(cond: bool, why: str) -> None:
    if not cond:
        raise ProtocolError(why)


def H(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _b32(n: Any, length: int = 32) -> bool:
    return isinstance(n, bytes) and len(n) == length


def _uint(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


# --- section 2: the envelope ---------------------------------------------------------

ENVELOPE_FIELDS = {"id", "pubkey", "created_at", "kind", "tags", "content", "sig"}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")


def parse_envelope(raw: bytes) -> dict[str, Any]:
    """Section 2: a NIP-01 event within the limits; unknown fields are refused."""
    _require(len(raw) <= 65_536, "envelope larger than 65,536 bytes")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        _require(len({k for k, _ in pairs}) == len(pairs), "duplicate JSON key")
        return dict(pairs)

    try:
        env = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from exc
    _require(isinstance(env, dict) and set(env) == ENVELOPE_FIELDS, "wrong envelope fields")
    _require(isinstance(env["id"], str) and bool(_HEX64.fullmatch(env["id"])), "bad id")
    _require(isinstance(env["pubkey"], str) and bool(_HEX64.fullmatch(env["pubkey"])), "pubkey")
    _require(isinstance(env["sig"], str) and bool(_HEX128.fullmatch(env["sig"])), "bad sig")
    _require(_uint(env["created_at"]) and env["created_at"] < 2**40, "bad created_at")
    _require(_uint(env["kind"]), "bad kind")
    tags = env["tags"]
    _require(isinstance(tags, list) and len(tags) <= 8, "too many tags")
    for tag in tags:
        _require(isinstance(tag, list) and 1 <= len(tag) <= 4, "bad tag")
        _require(all(isinstance(i, str) and len(i) <= 256 for i in tag), "bad tag item")
    _require(isinstance(env["content"], str), "bad content")
    return env


def serialization(env: dict[str, Any]) -> str:
    return nip01.serialize(
        env["pubkey"], env["created_at"], env["kind"], env["tags"], env["content"]
    )


def verify_envelope(env: dict[str, Any]) -> None:
    """Section 2: the NIP-01 id, then the BIP-340 signature of the 32 id bytes."""
    expected = nip01.event_id(
        env["pubkey"], env["created_at"], env["kind"], env["tags"], env["content"]
    )
    _require(expected == env["id"], "envelope id does not match")
    ok = bip340.verify(
        bytes.fromhex(env["pubkey"]), bytes.fromhex(env["id"]), bytes.fromhex(env["sig"])
    )
    _require(ok, "BIP-340 signature does not verify")


def b64decode_strict(text: str) -> bytes:
    """Standard base64 with padding, and only its canonical spelling."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError("not base64") from exc
    _require(base64.b64encode(raw).decode("ascii") == text, "non-canonical base64")
    return raw


CONTENT_AD = {1: b"shora/content/v1", 2: b"shora/content/v2"}


def unpad(padded: bytes) -> bytes:
    """Section 2.1, version 2: u32be(n) || n bytes || zeros."""
    _require(len(padded) >= 4, "padded content too short")
    n = int.from_bytes(padded[:4], "big")
    _require(n <= len(padded) - 4, "padded content shorter than its stated length")
    _require(all(b == 0 for b in padded[4 + n :]), "padding is not zeros")
    return padded[4 : 4 + n]


def open_content(content: str, content_key: bytes, write_pk: bytes) -> tuple[bytes, bytes]:
    """Section 2.1: return (nonce, plaintext) of a kind-4040 content, version 1 or 2."""
    blob = b64decode_strict(content)
    _require(len(blob) >= 1 + 24 + 16 and blob[0] in CONTENT_AD, "bad content version or length")
    nonce = blob[1:25]
    ad = CONTENT_AD[blob[0]] + write_pk
    plain = aead.xchacha20poly1305_decrypt(content_key, nonce, blob[25:], ad)
    _require(plain is not None, "content does not decrypt")
    assert plain is not None
    return nonce, unpad(plain) if blob[0] == 2 else plain


# --- section 3: the inner event ---------------------------------------------------------

INNER_CONTEXT = b"shora/inner/v1" + b"\x00"
PAYLOAD_FIELDS = ("v", "council", "epoch", "author", "parents", "clock", "time", "kind", "body")
_KIND = re.compile(r"[a-z][a-z0-9_.]{0,39}")


@dataclass(frozen=True)
class Inner:
    payload: bytes
    sig: bytes
    inner_id: bytes
    fields: dict[str, Any]


def open_inner(plain: bytes) -> Inner:
    """Section 3: [payload, sig]; the Ed25519 signature over the payload as received."""
    try:
        outer = mpack.unpackb(plain)
    except mpack.DecodeError as exc:
        raise ProtocolError(f"plaintext is not msgpack: {exc}") from exc
    _require(isinstance(outer, list) and len(outer) == 2, "plaintext is not [payload, sig]")
    payload, sig = outer
    _require(isinstance(payload, bytes) and len(payload) <= 41_984, "payload is not bin")
    _require(_b32(sig, 64), "sig is not a 64-byte bin")
    try:
        values = mpack.unpackb(payload)
    except mpack.DecodeError as exc:
        raise ProtocolError(f"payload is not msgpack: {exc}") from exc
    _require(isinstance(values, list) and len(values) == 9, "payload is not a 9-array")
    f = dict(zip(PAYLOAD_FIELDS, values, strict=True))
    _require(f["v"] == 1 and _uint(f["v"]), "v is not 1")
    _require(_b32(f["council"]) and _b32(f["epoch"]) and _b32(f["author"]), "bad key field")
    parents = f["parents"]
    _require(isinstance(parents, list) and len(parents) <= 16, "bad parents")
    _require(all(_b32(p) for p in parents) and len(set(parents)) == len(parents), "bad parent")
    _require(_uint(f["clock"]) and 1 <= f["clock"] < 2**53, "bad clock")
    _require(_uint(f["time"]), "bad time")
    _require(isinstance(f["kind"], str) and bool(_KIND.fullmatch(f["kind"])), "bad kind")
    _require(isinstance(f["body"], bytes) and len(f["body"]) <= 40_960, "bad body")
    _require(ed25519.verify(f["author"], INNER_CONTEXT + payload, sig), "member sig fails")
    return Inner(payload, sig, H(payload), f)


# --- section 4: bodies --------------------------------------------------------------------

BODY_FIELDS = {
    "council.create": ("name", "description", "rules", "founder_name", "founder_kx", "nonce"),
    "council.update": ("name", "description"),
    "invite.create": ("secret", "expires"),
    "member.vouch": ("action", "subject", "request", "reason"),
    "member.admit": ("request", "mandate"),
    "member.remove": ("member", "new_epoch", "reason", "emergency"),
    "member.leave": ("reason",),
    "member.recover": ("request", "member", "new_epoch", "acknowledged", "reason"),
    "epoch.rotate": ("new_epoch",),
    "epoch.grant": ("epoch", "grants"),
    "post.announcement": ("title", "text"),
    "post.message": ("text", "thread"),
}
RULES_FIELDS = (
    "admission",
    "admission_vouches",
    "removal",
    "removal_vouches",
    "emergency_removal_roles",
    "quorum",
    "threshold",
    "blocks_to_stop",
    "grace_hours",
    "governance_quorum",
    "rule_change_threshold",
    "recall_threshold",
    "ratify_threshold",
    "recall_petition",
    "term_days",
    "term_limit",
    "emergency_ratify_hours",
    "federation",
    "seats_per_council",
    "max_pending_emergencies",
    "min_vote_hours",
    "min_governance_vote_hours",
    "clock_skew_minutes",
    "upload_delay_seconds",
    "time_zone",
    "treasurer_limits",
    "recovery",
    "recovery_vouches",
    "teller_threshold",
    "secret_ballots",
)
SHARES = ("quorum", "threshold", "governance_quorum", "rule_change_threshold")
SHARES += ("recall_threshold", "ratify_threshold", "teller_threshold")
RULE_NUMBERS = {
    "grace_hours": (0, 720),
    "recall_petition": (1, 1000),
    "term_days": (1, 3650),
    "term_limit": (0, 100),
    "emergency_ratify_hours": (0, 8760),
    "seats_per_council": (1, 100),
    "max_pending_emergencies": (1, 100),
    "min_vote_hours": (0, 720),
    "min_governance_vote_hours": (1, 720),
    "clock_skew_minutes": (1, 1440),
    "upload_delay_seconds": (0, 3600),
}


def _share(value: Any) -> bool:
    if not isinstance(value, str) or value.count("/") != 1:
        return False
    num, den = value.split("/")
    return (
        num.isdigit()
        and den.isdigit()
        and 1 <= len(num) <= 6
        and 1 <= len(den) <= 6
        and den[0] != "0"
        and num.isascii()
        and den.isascii()
    )


def _zone_shape(zone: str) -> bool:
    """ "" or parts of [A-Za-z0-9_+-] separated by single slashes."""
    if not zone:
        return True
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-")
    return all(part and set(part) <= allowed for part in zone.split("/"))


def _currency(text: Any) -> bool:
    """rial, toman, usd, eur, or token: and 1-24 of [a-z0-9_-] starting with a letter."""
    if not isinstance(text, str):
        return False
    if text in ("rial", "toman", "usd", "eur"):
        return True
    name = text.removeprefix("token:")
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789_-")
    return (
        text.startswith("token:")
        and 1 <= len(name) <= 24
        and name[0] in allowed - set("0123456789_-")
        and set(name) <= allowed
    )


def _treasurer_limit(limit: Any) -> bool:
    """{currency, amount 0..10^15, days 1..366}, in that order."""
    return (
        isinstance(limit, dict)
        and tuple(limit) == ("currency", "amount", "days")
        and _currency(limit["currency"])
        and _uint(limit["amount"])
        and limit["amount"] <= 10**15
        and _uint(limit["days"])
        and 1 <= limit["days"] <= 366
    )


def decode_body(kind: str, body: bytes) -> dict[str, Any]:
    """Section 4: a map with every listed field, in the listed order, as written."""
    _require(kind in BODY_FIELDS, f"unknown kind {kind}")
    try:
        m = mpack.unpackb(body)
    except mpack.DecodeError as exc:
        raise ProtocolError(f"body is not msgpack: {exc}") from exc
    _require(isinstance(m, dict) and tuple(m) == BODY_FIELDS[kind], f"{kind} body fields")
    if kind == "council.create":
        _require(isinstance(m["name"], str) and 1 <= len(m["name"]) <= 120, "name")
        _require(isinstance(m["description"], str) and len(m["description"]) <= 20_000, "text")
        rules = m["rules"]
        _require(isinstance(rules, dict) and tuple(rules) == RULES_FIELDS, "rules fields")
        for mode in ("admission", "removal"):
            _require(rules[mode] in ("member", "vouches", "vote"), "rules mode")
            _require(_uint(rules[mode + "_vouches"]), "rules count")
            _require(1 <= rules[mode + "_vouches"] <= 1000, "rules count")
        roles = rules["emergency_removal_roles"]
        _require(isinstance(roles, list) and len(roles) <= 16, "roles")
        _require(all(_share(rules[name]) for name in SHARES), "rules share")
        for name, (low, high) in RULE_NUMBERS.items():
            _require(_uint(rules[name]) and low <= rules[name] <= high, "rules number")
        _require(isinstance(rules["federation"], bool), "rules federation")
        zone = rules["time_zone"]
        _require(isinstance(zone, str) and len(zone) <= 64 and _zone_shape(zone), "time_zone")
        limits = rules["treasurer_limits"]
        _require(isinstance(limits, list) and len(limits) <= 16, "treasurer_limits")
        for limit in limits:
            _require(_treasurer_limit(limit), "treasurer_limit")
        _require(rules["recovery"] in (None, "member", "vouches", "vote"), "recovery mode")
        count = rules["recovery_vouches"]
        _require(count is None or (_uint(count) and 1 <= count <= 1000), "recovery_vouches")

        _require(rules["secret_ballots"] in ("never", "choice", "always"), "secret_ballots")
        blocks = rules["blocks_to_stop"]
        _require(blocks is None or (_uint(blocks) and 1 <= blocks <= 1000), "blocks_to_stop")
        _require(isinstance(m["founder_name"], str) and 1 <= len(m["founder_name"]) <= 64, "fn")
        _require(_b32(m["founder_kx"]) and _b32(m["nonce"], 16), "founder_kx / nonce")
    elif kind == "post.message":
        _require(isinstance(m["text"], str) and len(m["text"]) <= 20_000, "text")
        _require(m["thread"] is None or _b32(m["thread"]), "thread")
    elif kind == "invite.create":
        _require(_b32(m["secret"]) and _uint(m["expires"]), "invite.create fields")
    elif kind == "member.recover":
        _require(isinstance(m["request"], bytes) and len(m["request"]) <= 1024, "request")
        _require(_b32(m["member"]) and _b32(m["new_epoch"]), "member.recover keys")
        acknowledged = m["acknowledged"]
        _require(isinstance(acknowledged, list) and len(acknowledged) <= 1000, "acknowledged")
        _require(all(_b32(x) for x in acknowledged), "acknowledged ids")
        _require(isinstance(m["reason"], str) and len(m["reason"]) <= 1000, "reason")
    elif kind == "epoch.rotate":
        _require(_b32(m["new_epoch"]), "new_epoch")
    elif kind == "member.admit":
        _require(isinstance(m["request"], bytes) and len(m["request"]) <= 1024, "request")
        mandate = m["mandate"]
        _require(mandate is None or (isinstance(mandate, bytes) and len(mandate) <= 32768), "m")
    elif kind == "epoch.grant":
        _require(_b32(m["epoch"]) and isinstance(m["grants"], list), "epoch.grant fields")
        _require(len(m["grants"]) <= 200, "too many grants")
        for g in m["grants"]:
            _require(isinstance(g, list) and len(g) == 2 and _b32(g[0]), "grant")
            _require(isinstance(g[1], bytes) and len(g[1]) <= 256, "grant box")
    return m


# --- section 5: councils -----------------------------------------------------------------


def council_id(founder: bytes, create_body: bytes) -> bytes:
    return H(b"shora/council/v1" + founder + create_body)


# --- section 6: epochs and key delivery --------------------------------------------------


def _epoch_keys(k: Any) -> tuple[bytes, bytes, bytes]:
    _require(isinstance(k, list) and len(k) == 3 and all(_b32(x) for x in k), "epoch keys")
    write_pk, content_key, write_sk = k
    _require(bip340.xonly_pubkey(write_sk) == write_pk, "write secret does not match write key")
    return write_pk, content_key, write_sk


def open_grant_box(box: bytes, kx_secret: bytes, council: bytes) -> tuple[bytes, bytes, bytes]:
    """Section 6.1: return (write key, content key, write secret)."""
    plain = sealedbox.seal_open(box, kx_secret)
    _require(plain is not None, "grant box does not open")
    assert plain is not None
    m = mpack.unpackb(plain)
    _require(isinstance(m, list) and len(m) == 3, "grant box is not a 3-array")
    _require(m[0] == b"shora/grant/v1" and m[1] == council, "grant context or council")
    return _epoch_keys(m[2])


def open_grant_v2(
    body: bytes, sign_pk: bytes, kx_secret: bytes, council: bytes
) -> tuple[bytes, bytes, bytes]:
    """Section 6.1, version 2: find our 24-byte box by our key's first 8 bytes, unwrap
    the grant key with X25519, open the epoch's keys sealed under it."""
    try:
        m = mpack.unpackb(body)
    except mpack.DecodeError as exc:
        raise ProtocolError(f"body is not msgpack: {exc}") from exc
    _require(isinstance(m, dict) and tuple(m) == ("epoch", "eph", "sealed", "boxes"), "fields")
    epoch, eph, sealed, boxes = m["epoch"], m["eph"], m["sealed"], m["boxes"]
    _require(_b32(epoch) and _b32(eph) and isinstance(sealed, bytes), "grant v2 fields")
    _require(isinstance(boxes, bytes) and boxes and len(boxes) % 24 == 0, "grant v2 boxes")
    mine = [
        boxes[i + 8 : i + 24] for i in range(0, len(boxes), 24) if boxes[i : i + 8] == sign_pk[:8]
    ]
    _require(len(mine) == 1, "no box for this member")
    kx_pk = sealedbox.x25519_public(kx_secret)
    shared = sealedbox.x25519(kx_secret, eph)
    wrap = hashlib.blake2b(
        eph + kx_pk, digest_size=16, key=shared, person=b"shora-grant-v2"
    ).digest()
    grant_key = bytes(a ^ b for a, b in zip(mine[0], wrap, strict=True))
    key = hashlib.blake2b(grant_key, digest_size=32, person=b"shora-grantkey2").digest()
    _require(len(sealed) > 24 + 16, "sealed keys too short")
    ad = b"shora/grant/v2" + council + epoch
    plain = aead.xchacha20poly1305_decrypt(key, sealed[:24], sealed[24:], ad)
    _require(plain is not None, "the grant's keys do not open")
    assert plain is not None
    keys = _epoch_keys(mpack.unpackb(plain))
    _require(keys[0] == epoch, "the grant's keys are of another epoch")
    return keys


def ring_hint(write_pk: bytes) -> str:
    return H(b"shora/ring/v1" + write_pk)[:16].hex()


def open_ring(
    env: dict[str, Any], content_key: bytes, council: bytes
) -> list[tuple[bytes, bytes, bytes]]:
    """Section 6.3: a kind-4041 ring envelope, opened with its own epoch's content key."""
    write_pk = bytes.fromhex(env["pubkey"])
    _require(env["kind"] == 4041, "not a ring envelope")
    _require(env["tags"] == [["k", ring_hint(write_pk)]], "ring tag")
    sealed = b64decode_strict(env["content"])
    _require(len(sealed) > 24 + 16, "ring too short")
    ad = b"shora/ring/v1" + council + write_pk
    plain = aead.xchacha20poly1305_decrypt(content_key, sealed[:24], sealed[24:], ad)
    _require(plain is not None, "ring envelope does not open")
    assert plain is not None
    ring = mpack.unpackb(plain)
    _require(isinstance(ring, list) and len(ring) <= 400, "ring")
    return [_epoch_keys(k) for k in ring]


def welcome_hint(request_id: bytes) -> str:
    return H(b"shora/welcome/v1" + request_id)[:16].hex()


def open_welcome(
    env: dict[str, Any], kx_secret: bytes, council: bytes, request_id: bytes
) -> list[tuple[bytes, bytes, bytes]]:
    """Section 6.3: a kind-4041 envelope with one k tag, content base64(sealed box)."""
    _require(env["kind"] == 4041, "not a welcome")
    _require(env["tags"] == [["k", welcome_hint(request_id)]], "welcome tag")
    plain = sealedbox.seal_open(b64decode_strict(env["content"]), kx_secret)
    _require(plain is not None, "welcome does not open")
    assert plain is not None
    m = mpack.unpackb(plain)
    _require(isinstance(m, list) and len(m) == 4, "welcome box is not a 4-array")
    _require(m[0] == b"shora/welcome/v1" and m[1] == council and m[2] == request_id, "welcome")
    _require(isinstance(m[3], list) and len(m[3]) <= 500, "ring")
    return [_epoch_keys(k) for k in m[3]]


# --- section 7: invitations and join requests ------------------------------------------


def dearmor(text: str, prefix: str) -> bytes:
    """base32(0x01 || msgpack || H(0x01 || msgpack)[0:4]), upper case, '-' groups allowed."""
    if text.lower().startswith(prefix):
        text = text[len(prefix) :]
    compact = text.replace("-", "")
    _require(compact.isascii() and compact == compact.upper(), "not upper-case base32")
    _require("=" not in compact, "padded base32")
    try:
        raw = base64.b32decode(compact + "=" * (-len(compact) % 8))
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError("not base32") from exc
    _require(len(raw) > 5 and raw[0] == 0x01, "armor version")
    _require(H(raw[:-4])[:4] == raw[-4:], "armor checksum")
    return raw[1:-4]


def invite_id(secret: bytes) -> bytes:
    return H(b"shora/invite/v1" + secret)[:16]


def parse_invitation(text: str) -> list[Any]:
    inv = mpack.unpackb(dearmor(text, "shora:invite/"))
    _require(isinstance(inv, list) and len(inv) == 4, "invitation is not a 4-array")
    council, secret, expires, reach = inv
    _require(_b32(council) and _b32(secret) and _uint(expires), "invitation fields")
    _require(isinstance(reach, list) and len(reach) <= 8, "reach")
    _require(all(isinstance(r, str) and len(r) <= 200 for r in reach), "reach item")
    return inv


JOIN_FIELDS = ("v", "council", "invite_id", "sign_pk", "kx_pk", "name", "time", "proof")


def open_join_request(signed: bytes) -> tuple[dict[str, Any], bytes]:
    """Section 7: return (payload fields, request id) after checking the signature."""
    _require(len(signed) <= 1024, "join request larger than 1,024 bytes")
    outer = mpack.unpackb(signed)
    _require(isinstance(outer, list) and len(outer) == 2, "join request is not a 2-array")
    payload, sig = outer
    _require(isinstance(payload, bytes) and _b32(sig, 64), "join request parts")
    values = mpack.unpackb(payload)
    _require(isinstance(values, list) and len(values) == 8, "join payload is not an 8-array")
    f = dict(zip(JOIN_FIELDS, values, strict=True))
    _require(f["v"] == 1 and _b32(f["council"]) and _b32(f["invite_id"], 16), "join fields")
    _require(_b32(f["sign_pk"]) and _b32(f["kx_pk"]) and _b32(f["proof"]), "join keys")
    _require(isinstance(f["name"], str) and 1 <= len(f["name"]) <= 64, "join name")
    _require(_uint(f["time"]), "join time")
    ok = ed25519.verify(f["sign_pk"], b"shora/join/v1" + b"\x00" + payload, sig)
    _require(ok, "join request signature does not verify")
    return f, H(payload)


def join_proof(secret: bytes, council: bytes, sign_pk: bytes, kx_pk: bytes) -> bytes:
    msg = b"shora/join/v1" + council + sign_pk + kx_pk
    return hashlib.blake2b(msg, key=secret, digest_size=32).digest()
