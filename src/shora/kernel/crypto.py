"""Every cryptographic primitive Shora uses, behind one small module.

All primitives come from libsodium (PyNaCl) and libsecp256k1 (coincurve).
Verification functions return nothing and raise BadSignature on failure.
Key encodings are raw bytes of fixed length; the lengths are checked here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import nacl.bindings as sodium
import nacl.exceptions
import nacl.pwhash
from nacl._sodium import ffi as _ffi
from nacl._sodium import lib as _lib

from shora.errors import BadSignature, InvalidInput
from shora.i18n import _

SIGN_PK_LEN = 32
SIGN_SK_LEN = 64
SIG_LEN = 64
KX_PK_LEN = 32
KX_SK_LEN = 32
KEY_LEN = 32
NONCE_LEN = 24
AEAD_TAG_LEN = 16
SEAL_OVERHEAD = sodium.crypto_box_SEALBYTES

# Argon2id at libsodium's "moderate" limits (256 MiB, 3 passes).
KDF_OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
KDF_MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_MODERATE
KDF_SALT_LEN = nacl.pwhash.argon2id.SALTBYTES


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


# The hashes are libsodium's, loaded for the key derivation anyway: hashlib would load
# OpenSSL's libcrypto too (about 11 M instructions, 4 ms, of every command's start).


# At or above this size, SHA-256 is OpenSSL's (hashlib, imported then): it uses the
# CPU's SHA instructions, 0.8 ns a byte against libsodium's 7 here, and only imports
# (a rekey's `epoch.grant` events are tens of KB) hash that much, never a read.
LARGE_HASH = 16 * 1024
_large_sha256: Callable[[bytes], Any] | None = None


def sha256(data: bytes) -> bytes:
    if len(data) >= LARGE_HASH:
        return _sha256_large(data)
    out = bytearray(32)
    _lib.crypto_hash_sha256(_ffi.from_buffer(out), bytes(data), len(data))
    return bytes(out)


def _sha256_large(data: bytes) -> bytes:
    global _large_sha256
    if _large_sha256 is None:
        import hashlib

        _large_sha256 = hashlib.sha256
    digest: bytes = _large_sha256(data).digest()
    return digest


def keyed_hash(key: bytes, data: bytes, size: int = 32) -> bytes:
    """BLAKE2b keyed hash (a MAC)."""
    return blake2b(data, size, key=key)


_NO_SALT = bytes(16)


def blake2b(data: bytes, size: int, *, key: bytes = b"", person: bytes = b"") -> bytes:
    """BLAKE2b of `size` bytes, keyed and personalised (the person zero-padded to 16
    bytes, as hashlib does)."""
    if not 1 <= size <= 64 or len(key) > 64 or len(person) > 16:
        raise ValueError("BLAKE2b: digest of 1 to 64 bytes, key to 64, person to 16")
    out = bytearray(size)
    _lib.crypto_generichash_blake2b_salt_personal(
        _ffi.from_buffer(out),
        size,
        bytes(data),
        len(data),
        bytes(key),
        len(key),
        _NO_SALT,
        bytes(person).ljust(16, b"\0"),
    )
    return bytes(out)


def equal(a: bytes, b: bytes) -> bool:
    """Whether `a` and `b` are equal, compared in constant time (hmac.compare_digest)."""
    return sodium.sodium_memcmp(bytes(a), bytes(b))


# --- Ed25519: member signatures -------------------------------------------------


def sign_keypair() -> tuple[bytes, bytes]:
    """Return (public key, secret key) for Ed25519."""
    pk, sk = sodium.crypto_sign_keypair()
    return bytes(pk), bytes(sk)


def sign(secret_key: bytes, message: bytes) -> bytes:
    return bytes(sodium.crypto_sign(message, secret_key)[:SIG_LEN])


def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise BadSignature unless signature is a valid Ed25519 signature of message."""
    if len(public_key) != SIGN_PK_LEN or len(signature) != SIG_LEN:
        raise BadSignature(_("signature or key has the wrong length"))
    try:
        sodium.crypto_sign_open(signature + message, public_key)
    except nacl.exceptions.BadSignatureError as exc:
        raise BadSignature(_("member signature does not verify")) from exc
    except nacl.exceptions.ValueError as exc:  # a key that is not a curve point
        raise BadSignature(_("member key is not a valid Ed25519 key")) from exc


# --- X25519 sealed boxes: key delivery ------------------------------------------


def kx_keypair() -> tuple[bytes, bytes]:
    """Return (public key, secret key) for X25519."""
    pk, sk = sodium.crypto_box_keypair()
    return bytes(pk), bytes(sk)


def kx_public_key(secret_key: bytes) -> bytes:
    """The X25519 public key of a secret key."""
    return bytes(sodium.crypto_scalarmult_base(secret_key))


def kx_shared(secret_key: bytes, public_key: bytes) -> bytes:
    """X25519 of our secret and another's public key; InvalidInput for a public key of
    low order (the result would be all zeros, known to anyone)."""
    try:
        return bytes(sodium.crypto_scalarmult(secret_key, public_key))
    except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError, RuntimeError) as exc:
        raise InvalidInput(_("not a usable X25519 key")) from exc


def seal(recipient_pk: bytes, message: bytes) -> bytes:
    """libsodium sealed box: anonymous-sender encryption to a public key."""
    return bytes(sodium.crypto_box_seal(message, recipient_pk))


def unseal(public_key: bytes, secret_key: bytes, sealed: bytes) -> bytes | None:
    """Open a sealed box addressed to us, or return None if it is not for us."""
    try:
        return bytes(sodium.crypto_box_seal_open(sealed, public_key, secret_key))
    except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        return None


# --- XChaCha20-Poly1305 AEAD: content ------------------------------------------


def aead_encrypt(key: bytes, plaintext: bytes, ad: bytes, nonce: bytes | None = None) -> bytes:
    """Return nonce || ciphertext || tag (a random nonce unless one is given: the test
    vectors fix theirs)."""
    nonce = os.urandom(NONCE_LEN) if nonce is None else nonce
    ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, nonce, key)
    return nonce + bytes(ct)


def aead_decrypt(key: bytes, sealed: bytes, ad: bytes) -> bytes | None:
    """Decrypt nonce || ciphertext || tag, or return None if it does not authenticate.

    Calls libsodium through PyNaCl's own cffi module: this runs once per event on
    ingest, where the checked wrapper cost three times the decryption itself.
    """
    if len(sealed) < NONCE_LEN + AEAD_TAG_LEN or len(key) != KEY_LEN:
        return None
    ct = sealed[NONCE_LEN:]
    out = _ffi.new("unsigned char[]", len(ct))
    out_len = _ffi.new("unsigned long long *")
    rc = _lib.crypto_aead_xchacha20poly1305_ietf_decrypt(
        out, out_len, _ffi.NULL, ct, len(ct), ad, len(ad), sealed[:NONCE_LEN], key
    )
    return bytes(_ffi.buffer(out, out_len[0])) if rc == 0 else None


# --- Argon2id: passphrases -------------------------------------------------------


def derive_key(
    passphrase: bytes, salt: bytes, opslimit: int = KDF_OPSLIMIT, memlimit: int = KDF_MEMLIMIT
) -> bytes:
    if len(salt) != KDF_SALT_LEN:
        raise InvalidInput(_("salt has the wrong length"))
    return bytes(
        nacl.pwhash.argon2id.kdf(KEY_LEN, passphrase, salt, opslimit=opslimit, memlimit=memlimit)
    )


# --- secp256k1 BIP-340 Schnorr: envelope (write keys) ----------------------------
# coincurve is imported where it is used: only envelopes for relays need it, and a
# command that reads what the profile holds never loads libsecp256k1.


def write_keypair() -> tuple[bytes, bytes]:
    """Return (x-only public key, secret key) for a council write key."""
    from coincurve import PrivateKey

    sk = PrivateKey()
    return sk.public_key_xonly.format(), sk.secret


def write_public_key(secret: bytes) -> bytes:
    from coincurve import PrivateKey

    return bytes(PrivateKey(secret).public_key_xonly.format())


class WriteSigner:
    """A council write key, parsed once for many signatures."""

    __slots__ = ("_key", "public_key")

    def __init__(self, secret: bytes) -> None:
        from coincurve import PrivateKey

        self._key = PrivateKey(secret)
        self.public_key: bytes = self._key.public_key_xonly.format()

    def sign(self, digest: bytes) -> bytes:
        return bytes(self._key.sign_schnorr(digest))


class WriteVerifier:
    """A parsed x-only public key, cached because parsing costs as much as verifying."""

    __slots__ = ("_key",)

    def __init__(self, public_key: bytes) -> None:
        from coincurve import PublicKeyXOnly

        try:
            self._key = PublicKeyXOnly(public_key)
        except ValueError as exc:
            raise BadSignature(_("envelope pubkey is not a valid secp256k1 x-only key")) from exc

    def verify(self, digest: bytes, signature: bytes) -> None:
        try:
            ok = self._key.verify(signature, digest)
        except ValueError as exc:
            raise BadSignature(_("envelope signature is malformed")) from exc
        if not ok:
            raise BadSignature(_("envelope signature does not verify"))


def schnorr_verify(public_key: bytes, digest: bytes, signature: bytes) -> None:
    WriteVerifier(public_key).verify(digest, signature)
