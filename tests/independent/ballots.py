"""Secret ballots checked apart from shora: LSAG, Feldman commitments, the batched
Chaum-Pedersen proof of decryption shares, and the hybrid ElGamal box, written from
docs/ballot-secrecy.md on the curve equations of `ed25519` (pure Python integers),
Elligator 2 as RFC 9380 §6.7.1 / libsodium define it, and XChaCha20-Poly1305 from
`aead`. Imports neither shora nor PyNaCl. Slow, variable time: tests only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from independent import aead
from independent.ed25519 import B, D, L, P, Point, _add, _decode, _encode, _mul, _recover_x

A_MONT = 486662
IDENT: Point = (0, 1, 1, 0)


def _h(tag: bytes, *parts: bytes, size: int = 64) -> bytes:
    data = b"".join(len(p).to_bytes(4, "little") + p for p in parts)
    return hashlib.blake2b(data, digest_size=size, person=tag).digest()


def hs(tag: bytes, *parts: bytes) -> int:
    return int.from_bytes(_h(tag, *parts), "little") % L


def _neg(pt: Point) -> Point:
    x, y, z, t = pt
    return (-x % P, y, z, -t % P)


def _is_identity(pt: Point) -> bool:
    return pt[0] % P == 0 and (pt[1] - pt[2]) % P == 0


def point(s: bytes) -> Point | None:
    """A canonical encoding of a point of the prime-order subgroup, not the identity."""
    pt = _decode(s)
    if pt is None or _encode(pt) != s or _is_identity(pt):
        return None
    if not _is_identity(_mul(L, pt)):
        return None
    return pt


def elligator2(r: bytes) -> bytes:
    """libsodium's crypto_core_ed25519_from_uniform: the map to Curve25519, the
    birational map to edwards25519 (sign of x from r's top bit), times the cofactor 8."""
    sign = r[31] >> 7
    u = int.from_bytes(r, "little") & ((1 << 255) - 1)
    u %= P
    x = -A_MONT * pow(1 + 2 * u * u, -1, P) % P
    e = (x * x * x + A_MONT * x * x + x) % P
    if pow(e, (P - 1) // 2, P) == P - 1:  # not a square: the other root
        x = (-x - A_MONT) % P
    y = (x - 1) * pow(x + 1, -1, P) % P
    xe = _recover_x(y, sign)
    assert xe is not None
    pt: Point = (xe, y, 1, xe * y % P)
    return _encode(_mul(8, pt))


def hp(tag: bytes, *parts: bytes) -> bytes:
    return elligator2(_h(tag, *parts, size=32))


def _enc(pt: Point) -> bytes:
    return _encode(pt)


def _sc(n: int) -> bytes:
    return (n % L).to_bytes(32, "little")


# --- LSAG ---------------------------------------------------------------------------


def lsag_verify(message: bytes, ring: Sequence[bytes], sig: bytes, context: bytes) -> bool:
    """sig = image || c0 || s_0..s_{n-1}; True iff the ring closes."""
    n = len(ring)
    if len(sig) != 32 * (n + 2) or n == 0 or len(set(ring)) != n:
        return False
    image = point(sig[:32])
    keys = [point(k) for k in ring]
    if image is None or any(k is None for k in keys):
        return False
    hb = _decode(hp(b"shora/lsag/image", context))
    assert hb is not None
    ring_digest = _h(b"shora/lsag/ring", *ring, size=32)
    prefix = _h(b"shora/lsag/chal", context, ring_digest, sig[:32], message)
    c0 = int.from_bytes(sig[32:64], "little")
    if c0 >= L:
        return False
    c = c0
    for i, key in enumerate(keys):
        assert key is not None
        s = int.from_bytes(sig[64 + 32 * i : 96 + 32 * i], "little")
        if s >= L:
            return False
        left = _add(_mul(s, B), _mul(c, key))
        right = _add(_mul(s, hb), _mul(c, image))
        c = hs(b"shora/lsag/chal", prefix, _enc(left), _enc(right))
    return c == c0


def ballot_message(proposal: bytes, ciphertext: bytes, sequence: int) -> bytes:
    """What a ballot's ring signature signs: Hb("shora/ballot/msg", proposal,
    ciphertext, sequence as 8 bytes big-endian), 32 bytes."""
    return _h(b"shora/ballot/msg", proposal, ciphertext, sequence.to_bytes(8, "big"), size=32)


def counted(ballots: Iterable[tuple[bytes, int, bytes]]) -> dict[bytes, bytes]:
    """Of verified (key image, sequence, ciphertext) ballots, the one that counts per
    key image: the highest sequence; at one sequence, the lesser ciphertext. Whatever
    the order or how often a ballot is repeated."""
    best: dict[bytes, tuple[int, bytes]] = {}
    for image, sequence, ciphertext in ballots:
        held = best.get(image)
        if held is None or sequence > held[0] or (sequence == held[0] and ciphertext < held[1]):
            best[image] = (sequence, ciphertext)
    return {image: ct for image, (_seq, ct) in best.items()}


def key_image(secret: int, context: bytes) -> bytes:
    hb = _decode(hp(b"shora/lsag/image", context))
    assert hb is not None
    return _enc(_mul(secret, hb))


# --- threshold ElGamal ---------------------------------------------------------------


def feldman_ok(commitments: Sequence[bytes], j: int, share: int) -> bool:
    acc = IDENT
    for m, c in enumerate(commitments):
        pt = point(c)
        if pt is None:
            return False
        acc = _add(acc, _mul(pow(j, m, L), pt))
    return _enc(_mul(share, B)) == _enc(acc)


def public_share(all_commitments: Sequence[Sequence[bytes]], j: int) -> bytes:
    acc = IDENT
    for commitments in all_commitments:
        for m, c in enumerate(commitments):
            pt = point(c)
            assert pt is not None
            acc = _add(acc, _mul(pow(j, m, L), pt))
    return _enc(acc)


def joint_key(all_commitments: Sequence[Sequence[bytes]]) -> bytes:
    acc = IDENT
    for commitments in all_commitments:
        pt = point(commitments[0])
        assert pt is not None
        acc = _add(acc, pt)
    return _enc(acc)


def ciphertext_ok(ct: bytes, context: bytes, bind: bytes) -> bool:
    a = point(ct[:32])
    e, z = int.from_bytes(ct[32:64], "little"), int.from_bytes(ct[64:96], "little")
    if a is None or e >= L or z >= L:
        return False
    t = _add(_mul(z, B), _neg(_mul(e, a)))
    return hs(b"shora/elg/pok", context, bind, ct[:32], _enc(t), ct[96:]) == e


def shares_ok(
    y_j: bytes, a_s: Sequence[bytes], d_s: Sequence[bytes], proof: bytes, context: bytes
) -> bool:
    if not a_s or len(a_s) != len(d_s):
        return False
    y = point(y_j)
    aps = [point(a) for a in a_s]
    dps = [point(d) for d in d_s]
    if y is None or any(p is None for p in aps) or any(p is None for p in dps):
        return False
    seed = _h(b"shora/elg/weight", context, y_j, *a_s, *d_s)
    w = [hs(b"shora/elg/weight", seed, i.to_bytes(4, "little")) for i in range(len(a_s))]
    a_star, d_star = IDENT, IDENT
    for wi, ap, dp in zip(w, aps, dps, strict=True):
        assert ap is not None and dp is not None
        a_star = _add(a_star, _mul(wi, ap))
        d_star = _add(d_star, _mul(wi, dp))
    c, z = int.from_bytes(proof[:32], "little"), int.from_bytes(proof[32:], "little")
    if c >= L or z >= L:
        return False
    u = _add(_mul(z, B), _neg(_mul(c, y)))
    v = _add(_mul(z, a_star), _neg(_mul(c, d_star)))
    parts = (context, y_j, _enc(a_star), _enc(d_star), _enc(u), _enc(v))
    return hs(b"shora/elg/dleq", *parts) == c


def decrypt(ct: bytes, shares: dict[int, bytes], context: bytes) -> bytes | None:
    """Lagrange at zero over the tellers' shares of this ciphertext, then the box."""
    acc = IDENT
    numbers = sorted(shares)
    for j in numbers:
        num, den = 1, 1
        for m in numbers:
            if m != j:
                num, den = num * m % L, den * (m - j) % L
        pt = point(shares[j])
        if pt is None:
            return None
        acc = _add(acc, _mul(num * pow(den, -1, L) % L, pt))
    key = _h(b"shora/elg/key", _enc(acc), ct[:32], context, size=32)
    return aead.xchacha20poly1305_decrypt(key, bytes(24), ct[96:], ct[:32])


_ = D  # the curve constant comes with the point functions
