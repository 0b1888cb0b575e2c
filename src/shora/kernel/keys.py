"""Key epochs and their delivery to members (libsodium sealed boxes).

An epoch is a content key (XChaCha20-Poly1305) and a write key (secp256k1, the
envelope's pubkey), named by the write key's x-only public key. New epochs reach
members in `epoch.grant` events: the epoch's keys sealed once under a random grant
key, and for each member that grant key wrapped to their X25519 key (24 bytes a
member, docs/protocol.md §6.1). A newcomer receives the current epoch in a welcome
envelope (kind 4041) sealed to them, and every older one from a ring envelope (kind
4041 too) written once per epoch under it (§6.3).
"""

from __future__ import annotations

from collections.abc import Container
from typing import Annotated

import msgspec

from shora.errors import InvalidInput
from shora.kernel import DECODE_ERRORS, crypto
from shora.kernel.events import Bytes32

GRANT_CONTEXT = b"shora/grant/v1"
GRANT_V2_CONTEXT = b"shora/grant/v2"
WELCOME_CONTEXT = b"shora/welcome/v1"
RING_CONTEXT = b"shora/ring/v1"
MAX_RING = 500
MAX_RING_ENVELOPE = 400  # epochs in one ring envelope: about 54 kB of JSON
GRANT_KEY_LEN = 16
MEMBER_TAG_LEN = 8  # a grant box names its member by the first bytes of their key
GRANT_BOX_LEN = MEMBER_TAG_LEN + GRANT_KEY_LEN


class Epoch(msgspec.Struct, frozen=True):
    council: bytes
    write_pk: bytes
    content_key: bytes
    write_sk: bytes

    @classmethod
    def generate(cls, council: bytes) -> Epoch:
        write_pk, write_sk = crypto.write_keypair()
        return cls(council, write_pk, crypto.random_bytes(crypto.KEY_LEN), write_sk)


class EpochKeys(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True, gc=False):
    """(Bytes only, so never in a cycle: untracked by the garbage collector, which a
    ring of hundreds decoded during a large import would otherwise wake.)"""

    write_pk: Bytes32
    content_key: Bytes32
    write_sk: Bytes32


class GrantBox(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    context: bytes
    council: Bytes32
    keys: EpochKeys


class WelcomeBox(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    context: bytes
    council: Bytes32
    request_id: Bytes32
    ring: Annotated[list[EpochKeys], msgspec.Meta(max_length=MAX_RING)]


def _keys(epoch: Epoch) -> EpochKeys:
    return EpochKeys(epoch.write_pk, epoch.content_key, epoch.write_sk)


def _epoch(council: bytes, k: EpochKeys) -> Epoch | None:
    """Accept delivered keys only if the write secret matches its public key."""
    try:
        if crypto.write_public_key(k.write_sk) != k.write_pk:
            return None
    except ValueError:
        return None
    return Epoch(council, k.write_pk, k.content_key, k.write_sk)


def seal_grant(member_kx: bytes, epoch: Epoch) -> bytes:
    box = GrantBox(GRANT_CONTEXT, epoch.council, _keys(epoch))
    return crypto.seal(member_kx, msgspec.msgpack.encode(box))


def open_grant(kx_pk: bytes, kx_sk: bytes, council: bytes, sealed: bytes) -> Epoch | None:
    plain = crypto.unseal(kx_pk, kx_sk, sealed)
    if plain is None:
        return None
    try:
        box = msgspec.msgpack.decode(plain, type=GrantBox)
    except DECODE_ERRORS:
        return None
    if box.context != GRANT_CONTEXT or box.council != council:
        return None
    return _epoch(council, box.keys)


# --- version 2: one copy of the keys, a 24-byte box per member ----------------------


class Grants(msgspec.Struct, frozen=True):
    """What an `epoch.grant` (version 2) carries: an ephemeral X25519 key, the epoch's
    keys sealed under the grant key, and one box per member."""

    eph: bytes
    sealed: bytes
    boxes: bytes


def _grant_ad(council: bytes, write_pk: bytes) -> bytes:
    return GRANT_V2_CONTEXT + council + write_pk


def _wrap(shared: bytes, eph: bytes, kx_pk: bytes) -> bytes:
    """What a member's box XORs the grant key with: keyed by the X25519 result, and
    bound to both public keys (one ephemeral key serves every box of a grant)."""
    return crypto.blake2b(eph + kx_pk, GRANT_KEY_LEN, key=shared, person=b"shora-grant-v2")


def _grant_aead_key(grant_key: bytes) -> bytes:
    return crypto.blake2b(grant_key, crypto.KEY_LEN, person=b"shora-grantkey2")


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def seal_grants(
    epoch: Epoch,
    members: list[tuple[bytes, bytes]],
    *,
    fixed: tuple[bytes, bytes, bytes] | None = None,
) -> Grants:
    """Grant `epoch` to members given as (Ed25519 key, X25519 key). A member whose
    X25519 key is of low order gets no box (anyone could unwrap it). `fixed`: the
    ephemeral secret, grant key and nonce, for test vectors only (else random)."""
    eph_sk, grant_key, nonce = fixed or (
        crypto.random_bytes(crypto.KX_SK_LEN),
        crypto.random_bytes(GRANT_KEY_LEN),
        None,
    )
    eph = crypto.kx_public_key(eph_sk)
    plain = msgspec.msgpack.encode(_keys(epoch))
    ad = _grant_ad(epoch.council, epoch.write_pk)
    sealed = crypto.aead_encrypt(_grant_aead_key(grant_key), plain, ad, nonce)
    boxes = bytearray()
    for sign_pk, kx_pk in members:
        try:
            shared = crypto.kx_shared(eph_sk, kx_pk)
        except InvalidInput:
            continue
        boxes += sign_pk[:MEMBER_TAG_LEN] + _xor(grant_key, _wrap(shared, eph, kx_pk))
    return Grants(eph, sealed, bytes(boxes))


def box_tags(boxes: bytes) -> list[bytes]:
    """The member tags of a version-2 grant's boxes, in order."""
    return [boxes[i : i + MEMBER_TAG_LEN] for i in range(0, len(boxes), GRANT_BOX_LEN)]


def _find_box(boxes: bytes, tag: bytes) -> list[bytes]:
    """The boxes naming `tag` (found by the C search, not a loop over every box)."""
    found = []
    at = boxes.find(tag)
    while at != -1:
        if at % GRANT_BOX_LEN == 0:
            found.append(boxes[at + MEMBER_TAG_LEN : at + GRANT_BOX_LEN])
        at = boxes.find(tag, at + 1)
    return found


def open_grants(
    sign_pk: bytes, kx_pk: bytes, kx_sk: bytes, council: bytes, write_pk: bytes, grants: Grants
) -> Epoch | None:
    """The epoch `write_pk` if a box of `grants` is ours and opens it, else None."""
    found = _find_box(grants.boxes, sign_pk[:MEMBER_TAG_LEN])
    if not found:
        return None
    try:
        shared = crypto.kx_shared(kx_sk, grants.eph)
    except InvalidInput:
        return None
    wrap = _wrap(shared, grants.eph, kx_pk)  # the same for every box naming us
    for wrapped in found:
        grant_key = _xor(wrapped, wrap)
        plain = crypto.aead_decrypt(
            _grant_aead_key(grant_key), grants.sealed, _grant_ad(council, write_pk)
        )
        if plain is None:
            continue
        try:
            k = msgspec.msgpack.decode(plain, type=EpochKeys)
        except DECODE_ERRORS:
            return None
        epoch = _epoch(council, k)
        return epoch if epoch is not None and epoch.write_pk == write_pk else None
    return None


# --- ring envelopes: the older epochs, once per epoch -------------------------------


Ring = Annotated[list[EpochKeys], msgspec.Meta(max_length=MAX_RING_ENVELOPE)]


_RING = msgspec.msgpack.Decoder(Ring)  # made once: a type alias is looked up on every call


def ring_hint(write_pk: bytes) -> str:
    """The `k` tag of a ring envelope written under the epoch `write_pk`."""
    return crypto.sha256(RING_CONTEXT + write_pk)[:16].hex()


def _ring_ad(council: bytes, write_pk: bytes) -> bytes:
    return RING_CONTEXT + council + write_pk


def seal_ring(under: Epoch, ring: list[Epoch], nonce: bytes | None = None) -> bytes:
    """Epochs sealed under the content key of `under`, for a ring envelope (`nonce`:
    for test vectors only)."""
    plain = msgspec.msgpack.encode(_triples(ring))
    ad = _ring_ad(under.council, under.write_pk)
    return crypto.aead_encrypt(under.content_key, plain, ad, nonce)


def open_ring(under: Epoch, sealed: bytes, known: Container[bytes] = ()) -> list[Epoch] | None:
    """The epochs a ring envelope written under `under` carries, None if it does not
    open; those in `known` are skipped unchecked (checking a write secret costs a
    curve multiplication), and so are keys whose secret does not match."""
    plain = crypto.aead_decrypt(under.content_key, sealed, _ring_ad(under.council, under.write_pk))
    if plain is None:
        return None
    try:
        ring = _RING.decode(plain)
    except DECODE_ERRORS:
        return None
    found = [_epoch(under.council, k) for k in ring if k.write_pk not in known]
    return [e for e in found if e is not None]


def return_id(member: bytes) -> bytes:
    """What a welcome back is addressed by, for a member whose removal was undone."""
    return crypto.sha256(b"shora/welcome-back/v1" + member)


def welcome_hint(request_id: bytes) -> str:
    """The tag a joining node looks for; reveals nothing without the request id."""
    return crypto.sha256(WELCOME_CONTEXT + request_id)[:16].hex()


def _triples(ring: list[Epoch]) -> list[tuple[bytes, bytes, bytes]]:
    """Epochs as a welcome or a ring carries them: the same bytes as the array-like
    EpochKeys, without building a struct per epoch."""
    return [(e.write_pk, e.content_key, e.write_sk) for e in ring]


def seal_welcome(member_kx: bytes, council: bytes, request_id: bytes, ring: list[Epoch]) -> bytes:
    """A WelcomeBox sealed to a newcomer: the current epoch and what no ring envelope
    under it carries (§6.3)."""
    box = (WELCOME_CONTEXT, council, request_id, _triples(ring))
    return crypto.seal(member_kx, msgspec.msgpack.encode(box))


def open_welcome(
    kx_pk: bytes, kx_sk: bytes, council: bytes, request_id: bytes, sealed: bytes
) -> list[Epoch] | None:
    plain = crypto.unseal(kx_pk, kx_sk, sealed)
    if plain is None:
        return None
    try:
        box = msgspec.msgpack.decode(plain, type=WelcomeBox)
    except DECODE_ERRORS:
        return None
    if box.context != WELCOME_CONTEXT or box.council != council or box.request_id != request_id:
        return None
    ring = [_epoch(council, k) for k in box.ring]
    return [e for e in ring if e is not None]


def epoch_keys(epoch: Epoch) -> EpochKeys:
    """An epoch's keys as a welcome (or a backup) carries them."""
    return _keys(epoch)


def epoch_from(council: bytes, k: EpochKeys) -> Epoch | None:
    """Delivered keys as an epoch, only if the write secret matches its public key."""
    return _epoch(council, k)
