"""secp256k1 and BIP-340 Schnorr signatures, after the BIP's reference algorithm.

BIP-340: https://github.com/bitcoin/bips/blob/master/bip-0340.mediawiki
(reference code: bip-0340/reference.py). Affine coordinates, variable time: tests only.
"""

from __future__ import annotations

import hashlib

P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (
    0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
    0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8,
)

Point = tuple[int, int] | None  # None is the point at infinity


def tagged_hash(tag: str, msg: bytes) -> bytes:
    t = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(t + t + msg).digest()


def point_add(p1: Point, p2: Point) -> Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    if p1[0] == p2[0] and p1[1] != p2[1]:
        return None
    if p1 == p2:
        lam = 3 * p1[0] * p1[0] * pow(2 * p1[1], -1, P) % P
    else:
        lam = (p2[1] - p1[1]) * pow(p2[0] - p1[0], -1, P) % P
    x3 = (lam * lam - p1[0] - p2[0]) % P
    return x3, (lam * (p1[0] - x3) - p1[1]) % P


def point_mul(pt: Point, k: int) -> Point:
    acc: Point = None
    for i in range(256):
        if (k >> i) & 1:
            acc = point_add(acc, pt)
        pt = point_add(pt, pt)
    return acc


def _int(b: bytes) -> int:
    return int.from_bytes(b, "big")


def _bytes(x: int) -> bytes:
    return x.to_bytes(32, "big")


def lift_x(x: int) -> Point:
    if x >= P:
        return None
    y_sq = (pow(x, 3, P) + 7) % P
    y = pow(y_sq, (P + 1) // 4, P)
    if pow(y, 2, P) != y_sq:
        return None
    return x, y if y % 2 == 0 else P - y


def xonly_pubkey(secret: bytes) -> bytes:
    """The 32-byte x-only public key of a secret key (BIP-340 PubKey)."""
    d = _int(secret)
    if not 1 <= d < N:
        raise ValueError("secret key out of range")
    pt = point_mul(G, d)
    assert pt is not None
    return _bytes(pt[0])


def sign(secret: bytes, msg: bytes, aux_rand: bytes) -> bytes:
    """BIP-340 Sign; with fixed aux_rand the signature is deterministic."""
    d0 = _int(secret)
    if not 1 <= d0 < N or len(aux_rand) != 32:
        raise ValueError("bad secret key or aux_rand")
    pt = point_mul(G, d0)
    assert pt is not None
    d = d0 if pt[1] % 2 == 0 else N - d0
    t = bytes(a ^ b for a, b in zip(_bytes(d), tagged_hash("BIP0340/aux", aux_rand), strict=True))
    k0 = _int(tagged_hash("BIP0340/nonce", t + _bytes(pt[0]) + msg)) % N
    if k0 == 0:
        raise ValueError("nonce is zero")
    r = point_mul(G, k0)
    assert r is not None
    k = k0 if r[1] % 2 == 0 else N - k0
    e = _int(tagged_hash("BIP0340/challenge", _bytes(r[0]) + _bytes(pt[0]) + msg)) % N
    sig = _bytes(r[0]) + _bytes((k + e * d) % N)
    if not verify(_bytes(pt[0]), msg, sig):
        raise ValueError("produced an invalid signature")
    return sig


def verify(pubkey: bytes, msg: bytes, sig: bytes) -> bool:
    """BIP-340 Verify."""
    if len(pubkey) != 32 or len(sig) != 64:
        return False
    pt = lift_x(_int(pubkey))
    r, s = _int(sig[:32]), _int(sig[32:])
    if pt is None or r >= P or s >= N:
        return False
    e = _int(tagged_hash("BIP0340/challenge", sig[:32] + pubkey + msg)) % N
    big_r = point_add(point_mul(G, s), point_mul(pt, N - e))
    return big_r is not None and big_r[1] % 2 == 0 and big_r[0] == r
