"""libsodium's sealed box, opened in pure Python.

crypto_box_seal(m, pk) = epk || crypto_box(m, nonce, pk, esk) with
nonce = BLAKE2b-192(epk || pk); crypto_box is X25519 (RFC 7748), HSalsa20 of the shared
point into a key, then XSalsa20-Poly1305 (secretbox): the first 32 keystream bytes are
the Poly1305 key, the box is tag(16) || ciphertext. Salsa20 per Bernstein's spec.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from independent.aead import poly1305

_P = 2**255 - 19
_A24 = 121665
_MASK = 0xFFFFFFFF
_SIGMA = struct.unpack("<4I", b"expand 32-byte k")


# --- X25519 (RFC 7748, section 5) --------------------------------------------------


def x25519(scalar: bytes, u_bytes: bytes) -> bytes:
    k = bytearray(scalar)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    kn = int.from_bytes(k, "little")
    x1 = int.from_bytes(u_bytes, "little") & ((1 << 255) - 1)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in reversed(range(255)):
        bit = (kn >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = (x2 + z2) % _P, (x2 - z2) % _P
        aa, bb = a * a % _P, b * b % _P
        e = (aa - bb) % _P
        c, d = (x3 + z3) % _P, (x3 - z3) % _P
        da, cb = d * a % _P, c * b % _P
        x3 = (da + cb) ** 2 % _P
        z3 = x1 * (da - cb) ** 2 % _P
        x2 = aa * bb % _P
        z2 = e * (aa + _A24 * e) % _P
    if swap:
        x2, x3, z2, z3 = x3, x2, z3, z2
    return (x2 * pow(z2, _P - 2, _P) % _P).to_bytes(32, "little")


def x25519_public(secret: bytes) -> bytes:
    return x25519(secret, (9).to_bytes(32, "little"))


# --- Salsa20 / HSalsa20 / XSalsa20 -------------------------------------------------


def _rotl(v: int, c: int) -> int:
    return ((v << c) & _MASK) | (v >> (32 - c))


def _salsa_rounds(state: list[int]) -> list[int]:
    x = list(state)

    def qr(a: int, b: int, c: int, d: int) -> None:
        x[b] ^= _rotl((x[a] + x[d]) & _MASK, 7)
        x[c] ^= _rotl((x[b] + x[a]) & _MASK, 9)
        x[d] ^= _rotl((x[c] + x[b]) & _MASK, 13)
        x[a] ^= _rotl((x[d] + x[c]) & _MASK, 18)

    for _ in range(10):
        qr(0, 4, 8, 12)
        qr(5, 9, 13, 1)
        qr(10, 14, 2, 6)
        qr(15, 3, 7, 11)
        qr(0, 1, 2, 3)
        qr(5, 6, 7, 4)
        qr(10, 11, 8, 9)
        qr(15, 12, 13, 14)
    return x


def _salsa_state(key: bytes, in16: bytes) -> list[int]:
    k = struct.unpack("<8I", key)
    n = struct.unpack("<4I", in16)
    return [_SIGMA[0], *k[:4], _SIGMA[1], *n, _SIGMA[2], *k[4:], _SIGMA[3]]


def hsalsa20(key: bytes, in16: bytes) -> bytes:
    x = _salsa_rounds(_salsa_state(key, in16))
    return struct.pack("<8I", x[0], x[5], x[10], x[15], x[6], x[7], x[8], x[9])


def _salsa20_stream(key: bytes, nonce8: bytes, length: int) -> bytes:
    out = bytearray()
    block = 0
    while len(out) < length:
        state = _salsa_state(key, nonce8 + struct.pack("<Q", block))
        x = _salsa_rounds(state)
        out += struct.pack("<16I", *((a + b) & _MASK for a, b in zip(x, state, strict=True)))
        block += 1
    return bytes(out[:length])


def secretbox_open(box: bytes, nonce24: bytes, key: bytes) -> bytes | None:
    """XSalsa20-Poly1305 (crypto_secretbox_open_easy): box = tag || ciphertext."""
    if len(box) < 16:
        return None
    tag, ct = box[:16], box[16:]
    stream = _salsa20_stream(hsalsa20(key, nonce24[:16]), nonce24[16:], 32 + len(ct))
    if not hmac.compare_digest(poly1305(stream[:32], ct), tag):
        return None
    return bytes(a ^ b for a, b in zip(ct, stream[32:], strict=True))


def seal_open(sealed: bytes, secret: bytes) -> bytes | None:
    """crypto_box_seal_open with the recipient's X25519 secret; None if not for us."""
    if len(sealed) < 48:
        return None
    epk, box = sealed[:32], sealed[32:]
    pk = x25519_public(secret)
    shared = x25519(secret, epk)
    if shared == bytes(32):
        return None
    key = hsalsa20(shared, bytes(16))
    nonce = hashlib.blake2b(epk + pk, digest_size=24).digest()
    return secretbox_open(box, nonce, key)
