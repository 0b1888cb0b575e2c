"""ChaCha20 and Poly1305 (RFC 8439), HChaCha20 and XChaCha20-Poly1305
(draft-irtf-cfrg-xchacha-03, libsodium's crypto_aead_xchacha20poly1305_ietf), pure Python.
"""

from __future__ import annotations

import hmac
import struct

_MASK = 0xFFFFFFFF
_SIGMA = struct.unpack("<4I", b"expand 32-byte k")


def _rotl(v: int, c: int) -> int:
    return ((v << c) & _MASK) | (v >> (32 - c))


def _quarter(s: list[int], a: int, b: int, c: int, d: int) -> None:
    s[a] = (s[a] + s[b]) & _MASK
    s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & _MASK
    s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & _MASK
    s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & _MASK
    s[b] = _rotl(s[b] ^ s[c], 7)


def _rounds(state: list[int]) -> list[int]:
    s = list(state)
    for _ in range(10):
        _quarter(s, 0, 4, 8, 12)
        _quarter(s, 1, 5, 9, 13)
        _quarter(s, 2, 6, 10, 14)
        _quarter(s, 3, 7, 11, 15)
        _quarter(s, 0, 5, 10, 15)
        _quarter(s, 1, 6, 11, 12)
        _quarter(s, 2, 7, 8, 13)
        _quarter(s, 3, 4, 9, 14)
    return s


def chacha20_block(key: bytes, counter: int, nonce: bytes) -> bytes:
    state = [*_SIGMA, *struct.unpack("<8I", key), counter, *struct.unpack("<3I", nonce)]
    out = _rounds(state)
    return struct.pack("<16I", *((x + y) & _MASK for x, y in zip(out, state, strict=True)))


def chacha20_xor(key: bytes, counter: int, nonce: bytes, data: bytes) -> bytes:
    out = bytearray()
    for i in range(0, len(data), 64):
        block = chacha20_block(key, counter + i // 64, nonce)
        out += bytes(a ^ b for a, b in zip(data[i : i + 64], block, strict=False))
    return bytes(out)


def hchacha20(key: bytes, nonce16: bytes) -> bytes:
    s = _rounds([*_SIGMA, *struct.unpack("<8I", key), *struct.unpack("<4I", nonce16)])
    return struct.pack("<8I", *s[0:4], *s[12:16])


def poly1305(key: bytes, msg: bytes) -> bytes:
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:], "little")
    p = (1 << 130) - 5
    acc = 0
    for i in range(0, len(msg), 16):
        chunk = msg[i : i + 16]
        acc = (acc + int.from_bytes(chunk + b"\x01", "little")) * r % p
    return ((acc + s) % (1 << 128)).to_bytes(16, "little")


def _pad16(n: int) -> bytes:
    return b"\x00" * (-n % 16)


def chacha20poly1305_decrypt(key: bytes, nonce12: bytes, ct_tag: bytes, ad: bytes) -> bytes | None:
    """RFC 8439 AEAD_CHACHA20_POLY1305 decryption; None if the tag does not verify."""
    if len(ct_tag) < 16:
        return None
    ct, tag = ct_tag[:-16], ct_tag[-16:]
    otk = chacha20_block(key, 0, nonce12)[:32]
    mac_data = ad + _pad16(len(ad)) + ct + _pad16(len(ct)) + struct.pack("<QQ", len(ad), len(ct))
    if not hmac.compare_digest(poly1305(otk, mac_data), tag):
        return None
    return chacha20_xor(key, 1, nonce12, ct)


def xchacha20poly1305_decrypt(key: bytes, nonce24: bytes, ct_tag: bytes, ad: bytes) -> bytes | None:
    """XChaCha20-Poly1305: HChaCha20 subkey from nonce[0:16], then the IETF AEAD with
    nonce 0x00000000 || nonce[16:24]."""
    if len(key) != 32 or len(nonce24) != 24:
        raise ValueError("bad key or nonce length")
    subkey = hchacha20(key, nonce24[:16])
    return chacha20poly1305_decrypt(subkey, b"\x00" * 4 + nonce24[16:], ct_tag, ad)
