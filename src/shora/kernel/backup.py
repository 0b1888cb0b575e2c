"""A member's keys in one council, backed up with the members they trust
(docs/protocol.md §9.2): sealed under a key that needs both a Shamir-shared secret
(k of n trusted members) and the person's passphrase, each share sealed to one
trusted member's X25519 key, and given back to the person's new profile sealed to its
key. Sans-I/O: the caller stores and sends what this returns."""

from __future__ import annotations

from typing import Annotated

import msgspec

from shora.errors import InvalidInput
from shora.i18n import _, digits
from shora.kernel import DECODE_ERRORS, crypto, keys, shamir

CONTEXT = b"shora/backup/v1"
SHARE_CONTEXT = b"shora/backup-share/v1"
RELEASE_CONTEXT = b"shora/backup-release/v1"
MAX_RING = 20  # the newest epochs: grants lead on from them to every later one
MAX_TRUSTED = 16
MAX_CIPHERTEXT = 8 * 1024

Bytes32 = Annotated[bytes, msgspec.Meta(min_length=32, max_length=32)]


class Contents(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    """What is backed up: the member's secret keys, name, and the newest epochs."""

    sign_sk: Annotated[bytes, msgspec.Meta(min_length=64, max_length=64)]
    kx_sk: Bytes32
    name: Annotated[str, msgspec.Meta(max_length=64)]
    ring: Annotated[list[keys.EpochKeys], msgspec.Meta(max_length=MAX_RING)]


class ShareBox(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    context: bytes
    council: Bytes32
    member: Bytes32  # whose keys the backup holds
    x: Annotated[int, msgspec.Meta(ge=1, le=255)]
    y: Bytes32


class Release(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    """One trusted member's share, handed to the person's new profile."""

    context: bytes
    council: Bytes32
    member: Bytes32
    threshold: Annotated[int, msgspec.Meta(ge=1, le=MAX_TRUSTED)]
    salt: Annotated[bytes, msgspec.Meta(min_length=16, max_length=16)]
    opslimit: Annotated[int, msgspec.Meta(ge=1, le=2**32)]
    memlimit: Annotated[int, msgspec.Meta(ge=8192, le=2**32)]
    ciphertext: Annotated[bytes, msgspec.Meta(max_length=MAX_CIPHERTEXT)]
    x: Annotated[int, msgspec.Meta(ge=1, le=255)]
    y: Bytes32


def _key(secret: bytes, passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    slow = crypto.derive_key(passphrase.encode("utf-8"), salt, opslimit, memlimit)
    return crypto.keyed_hash(secret, CONTEXT + slow)


def _ad(council: bytes, member: bytes) -> bytes:
    return CONTEXT + council + member


def seal(
    council: bytes,
    member: bytes,
    contents: Contents,
    passphrase: str,
    threshold: int,
    trusted_kx: list[bytes],
    limits: tuple[int, int],
) -> tuple[bytes, bytes, list[bytes]]:
    """(salt, ciphertext, one sealed share per trusted member, in their order)."""
    if not passphrase:
        raise InvalidInput(_("a backup needs your passphrase"))
    secret = crypto.random_bytes(32)
    salt = crypto.random_bytes(16)
    key = _key(secret, passphrase, salt, *limits)
    ciphertext = crypto.aead_encrypt(key, msgspec.msgpack.encode(contents), _ad(council, member))
    shares = shamir.split(secret, threshold, len(trusted_kx), crypto.random_bytes)
    boxes = [
        crypto.seal(kx, msgspec.msgpack.encode(ShareBox(SHARE_CONTEXT, council, member, x, y)))
        for kx, (x, y) in zip(trusted_kx, shares, strict=True)
    ]
    return salt, ciphertext, boxes


def open_share(
    kx_pk: bytes, kx_sk: bytes, council: bytes, member: bytes, box: bytes
) -> tuple[int, bytes] | None:
    """A trusted member's share of `member`'s backup, if the box is theirs."""
    plain = crypto.unseal(kx_pk, kx_sk, box)
    if plain is None:
        return None
    try:
        opened = msgspec.msgpack.decode(plain, type=ShareBox)
    except DECODE_ERRORS:
        return None
    if (opened.context, opened.council, opened.member) != (SHARE_CONTEXT, council, member):
        return None
    return opened.x, opened.y


def seal_release(requester_kx: bytes, release: Release) -> bytes:
    return crypto.seal(requester_kx, msgspec.msgpack.encode(release))


def open_release(kx_pk: bytes, kx_sk: bytes, sealed: bytes) -> Release | None:
    plain = crypto.unseal(kx_pk, kx_sk, sealed)
    if plain is None:
        return None
    try:
        release = msgspec.msgpack.decode(plain, type=Release)
    except DECODE_ERRORS:
        return None
    return release if release.context == RELEASE_CONTEXT else None


def restore(releases: list[Release], passphrase: str) -> Contents:
    """The backed-up keys from enough releases of one backup and the passphrase;
    InvalidInput if there are too few, they do not match, or the passphrase is wrong."""
    first = releases[0]
    same = [
        r
        for r in releases
        if (r.council, r.member, r.ciphertext, r.salt)
        == (first.council, first.member, first.ciphertext, first.salt)
    ]
    shares = {r.x: r.y for r in same}
    if len(shares) < first.threshold:
        raise InvalidInput(
            _("{n} of the {needed} shares needed are here").format(
                n=digits(str(len(shares))), needed=digits(str(first.threshold))
            )
        )
    secret = shamir.combine(sorted(shares.items()))
    key = _key(secret, passphrase, first.salt, first.opslimit, first.memlimit)
    plain = crypto.aead_decrypt(key, first.ciphertext, _ad(first.council, first.member))
    if plain is None:
        raise InvalidInput(_("the passphrase is wrong, or the shares are not of one backup"))
    try:
        contents = msgspec.msgpack.decode(plain, type=Contents)
    except DECODE_ERRORS as exc:
        raise InvalidInput(_("the backup is damaged")) from exc
    if contents.sign_sk[32:] != first.member:
        raise InvalidInput(_("the backup is damaged"))
    return contents


def ring_of(contents: Contents, council: bytes) -> list[keys.Epoch]:
    """The epochs a backup holds, checked as a welcome's are."""
    return [e for e in (keys.epoch_from(council, t) for t in contents.ring) if e is not None]
