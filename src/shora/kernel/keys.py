"""Key epochs and their delivery to members (libsodium sealed boxes).

An epoch is a content key (XChaCha20-Poly1305) and a write key (secp256k1, the
envelope's pubkey), named by the write key's x-only public key. New epochs reach
members in `epoch.grant` events, one sealed box per member; a newcomer receives
every epoch the admitter knows in a welcome envelope (kind 4041) sealed to them.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from shora.kernel import DECODE_ERRORS, crypto
from shora.kernel.events import Bytes32

GRANT_CONTEXT = b"shora/grant/v1"
WELCOME_CONTEXT = b"shora/welcome/v1"
MAX_RING = 500


class Epoch(msgspec.Struct, frozen=True):
    council: bytes
    write_pk: bytes
    content_key: bytes
    write_sk: bytes

    @classmethod
    def generate(cls, council: bytes) -> Epoch:
        write_pk, write_sk = crypto.write_keypair()
        return cls(council, write_pk, crypto.random_bytes(crypto.KEY_LEN), write_sk)


class EpochKeys(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
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


def return_id(member: bytes) -> bytes:
    """What a welcome back is addressed by, for a member whose removal was undone."""
    return crypto.sha256(b"shora/welcome-back/v1" + member)


def welcome_hint(request_id: bytes) -> str:
    """The tag a joining node looks for; reveals nothing without the request id."""
    return crypto.sha256(WELCOME_CONTEXT + request_id)[:16].hex()


def encode_ring(ring: list[Epoch]) -> msgspec.Raw:
    """A welcome's ring, encoded once: it changes only when the council rotates, and a
    council that admits many keeps it for every welcome until then (`seal_welcome`)."""
    keys = [(e.write_pk, e.content_key, e.write_sk) for e in ring]
    return msgspec.Raw(msgspec.msgpack.encode(keys))


def seal_welcome(
    member_kx: bytes, council: bytes, request_id: bytes, ring: list[Epoch] | msgspec.Raw
) -> bytes:
    """A WelcomeBox sealed to a newcomer. It carries every epoch, so it is encoded from
    tuples (the same bytes as the array-like structs, without building one per epoch),
    or given already encoded (`encode_ring`)."""
    keys = ring if isinstance(ring, msgspec.Raw) else encode_ring(ring)
    box = (WELCOME_CONTEXT, council, request_id, keys)
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
