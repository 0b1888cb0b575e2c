"""The ed25519 group as secret ballots use it: points and scalars, domain-separated
hashes to scalars and to points. See docs/ballot-secrecy.md.

Points are libsodium's canonical 32-byte encodings, always in the prime-order
subgroup (``crypto_core_ed25519_is_valid_point``); scalars are integers mod L, written
as 32 little-endian bytes. Point arithmetic is libsodium's (PyNaCl's bindings); the
scalar arithmetic mod L is plain integers, which need no secret-independent timing
here beyond what Python gives (see the doc's "side channels").

Every hash is BLAKE2b with a 16-byte personalisation naming its use, over a
length-prefixed list of parts, so no two uses (or two splits of the same bytes) can
give the same input.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable

import nacl.bindings as sodium
import nacl.exceptions

L = 2**252 + 27742317777372353535851937790883648493
POINT_LEN = 32
SCALAR_LEN = 32
IDENTITY = bytes([1]) + bytes(31)

Rng = Callable[[int], bytes]


class CurveError(ValueError):
    """A point that is not in the group, or an operation that gives the identity."""


def _parts(parts: Iterable[bytes]) -> bytes:
    return b"".join(len(p).to_bytes(4, "little") + p for p in parts)


def hash_bytes(tag: bytes, *parts: bytes, size: int = 64) -> bytes:
    if len(tag) > 16:
        raise ValueError("a hash tag has at most 16 bytes")
    return hashlib.blake2b(_parts(parts), digest_size=size, person=tag).digest()


def hash_scalar(tag: bytes, *parts: bytes) -> int:
    """A scalar from 512 hash bits reduced mod L (bias below 2**-250)."""
    return int.from_bytes(hash_bytes(tag, *parts), "little") % L


def hash_point(tag: bytes, *parts: bytes) -> bytes:
    """A point whose discrete logarithm nobody knows: libsodium's Elligator 2 map
    (``crypto_core_ed25519_from_uniform``, which clears the cofactor) of 256 hash bits."""
    return bytes(sodium.crypto_core_ed25519_from_uniform(hash_bytes(tag, *parts, size=32)))


def scalar(n: int) -> bytes:
    return (n % L).to_bytes(SCALAR_LEN, "little")


def read_scalar(b: bytes) -> int:
    """A canonical scalar (< L); CurveError otherwise."""
    if len(b) != SCALAR_LEN:
        raise CurveError("a scalar has 32 bytes")
    n = int.from_bytes(b, "little")
    if n >= L:
        raise CurveError("a scalar must be below the group order")
    return n


def random_scalar(rng: Rng | None = None) -> int:
    while True:
        n = int.from_bytes((rng or os.urandom)(64), "little") % L
        if n:
            return n


def valid_point(p: bytes) -> bool:
    """Canonical, in the prime-order subgroup, not of small order (not the identity)."""
    return len(p) == POINT_LEN and bool(sodium.crypto_core_ed25519_is_valid_point(p))


def base(n: int) -> bytes:
    """n·G."""
    try:
        return bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(scalar(n)))
    except (nacl.exceptions.RuntimeError, nacl.exceptions.ValueError) as exc:
        raise CurveError("n·G is the identity") from exc


def mul(n: int, p: bytes) -> bytes:
    """n·P for a valid point P."""
    try:
        return bytes(sodium.crypto_scalarmult_ed25519_noclamp(scalar(n), p))
    except (nacl.exceptions.RuntimeError, nacl.exceptions.ValueError, TypeError) as exc:
        raise CurveError("not a group point, or the product is the identity") from exc


def add(p: bytes, q: bytes) -> bytes:
    try:
        return bytes(sodium.crypto_core_ed25519_add(p, q))
    except (nacl.exceptions.RuntimeError, nacl.exceptions.ValueError, TypeError) as exc:
        raise CurveError("not a group point") from exc


def sub(p: bytes, q: bytes) -> bytes:
    try:
        return bytes(sodium.crypto_core_ed25519_sub(p, q))
    except (nacl.exceptions.RuntimeError, nacl.exceptions.ValueError, TypeError) as exc:
        raise CurveError("not a group point") from exc


def lincomb(a: int, p: bytes, b: int, q: bytes) -> bytes:
    """a·P + b·Q (either term may vanish, not the sum)."""
    if a % L == 0:
        return mul(b, q)
    if b % L == 0:
        return mul(a, p)
    return add(mul(a, p), mul(b, q))


def base_plus(a: int, b: int, q: bytes) -> bytes:
    """a·G + b·Q."""
    if a % L == 0:
        return mul(b, q)
    if b % L == 0:
        return base(a)
    return add(base(a), mul(b, q))


def ed25519_scalar(sign_sk: bytes) -> int:
    """The secret scalar x of an Ed25519 key (libsodium's 64-byte seed || public key),
    as RFC 8032 §5.1.5 derives it: x·G is the public key."""
    if len(sign_sk) != 64:
        raise ValueError("an Ed25519 secret key has 64 bytes")
    h = bytearray(hashlib.sha512(sign_sk[:32]).digest()[:32])
    h[0] &= 248
    h[31] &= 127
    h[31] |= 64
    return int.from_bytes(h, "little") % L
