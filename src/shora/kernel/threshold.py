"""Threshold ElGamal over ed25519: a key no fewer than k of n tellers can use.
See docs/ballot-secrecy.md §3.

* Key ceremony without a dealer (Pedersen's DKG with Feldman commitments, as
  ElectionGuard's key ceremony and Belenios' threshold mode run it): teller i picks
  a polynomial f_i of degree k-1, publishes commitments C_i,m = a_i,m·G and gives
  teller j the share f_i(j), which j checks against the commitments (`check_share`).
  The joint key is Y = Σ C_i,0; teller j's secret is s_j = Σ_i f_i(j), its public
  share Y_j = s_j·G, computable by anyone from the commitments (`public_share`).
* Encryption (`encrypt`): hybrid ElGamal (DHIES): A = r·G, the key K = r·Y hashed
  with A and the context into an XChaCha20-Poly1305 key, and a Schnorr proof of
  knowledge of r bound to a caller's value (the ballot's key image), so a ciphertext
  cannot be copied into another ballot (the replay of Cortier and Smyth, 2011).
* Decryption shares (`decryption_shares`): D_j = s_j·A for a batch of ciphertexts,
  with one Chaum–Pedersen proof that log_G Y_j = log_A* D* for a random linear
  combination A* = Σ w_i A_i, D* = Σ w_i D_i (weights hashed from the whole batch),
  so a wrong share anywhere in the batch fails the proof.
* `combine`: any k valid shares give K = Σ λ_j D_j (Lagrange at 0), then the box.

Pure: no I/O; randomness only from ``rng``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import nacl.bindings as sodium
import nacl.exceptions

from shora.kernel import curve
from shora.kernel.curve import CurveError, Rng

KEY_TAG = b"shora/elg/key"
POK_TAG = b"shora/elg/pok"
WEIGHT_TAG = b"shora/elg/weight"
DLEQ_TAG = b"shora/elg/dleq"
NONCE = bytes(24)  # every box key is used once: it is hashed from a fresh A
MAX_TELLERS = 15


@dataclass(frozen=True, slots=True)
class Dealing:
    """A teller's polynomial (secret) and its commitments (published)."""

    coefficients: tuple[int, ...]
    commitments: tuple[bytes, ...]

    def share_for(self, j: int) -> int:
        """f(j) for teller number j (1-based)."""
        return sum(a * pow(j, m, curve.L) for m, a in enumerate(self.coefficients)) % curve.L


@dataclass(frozen=True, slots=True)
class Ciphertext:
    a: bytes  # r·G
    e: bytes  # proof of knowledge of r: challenge
    z: bytes  # and response
    box: bytes  # XChaCha20-Poly1305 of the plaintext under H(r·Y, A, context)

    def encode(self) -> bytes:
        return self.a + self.e + self.z + self.box

    @classmethod
    def decode(cls, raw: bytes) -> Ciphertext:
        if len(raw) < 96 + 16:
            raise ValueError("a ciphertext is too short")
        return cls(raw[:32], raw[32:64], raw[64:96], raw[96:])


@dataclass(frozen=True, slots=True)
class SharesProof:
    c: bytes
    z: bytes

    def encode(self) -> bytes:
        return self.c + self.z

    @classmethod
    def decode(cls, raw: bytes) -> SharesProof:
        if len(raw) != 64:
            raise ValueError("a shares proof has 64 bytes")
        return cls(raw[:32], raw[32:])


# --- the key ceremony ---------------------------------------------------------------


def deal(k: int, rng: Rng | None = None) -> Dealing:
    if not 1 <= k <= MAX_TELLERS:
        raise ValueError(f"a threshold is 1 to {MAX_TELLERS}")
    coefficients = tuple(curve.random_scalar(rng) for _ in range(k))
    return Dealing(coefficients, tuple(curve.base(a) for a in coefficients))


def _commitment_at(commitments: Sequence[bytes], j: int) -> bytes:
    acc = commitments[0]
    for m in range(1, len(commitments)):
        acc = curve.add(acc, curve.mul(pow(j, m, curve.L), commitments[m]))
    return acc


def check_share(commitments: Sequence[bytes], j: int, share: int) -> bool:
    """Feldman's check: share·G == Σ_m C_m·j^m."""
    try:
        return curve.base(share) == _commitment_at(commitments, j)
    except CurveError:
        return False


def valid_commitments(commitments: Sequence[bytes], k: int) -> bool:
    return len(commitments) == k and all(curve.valid_point(c) for c in commitments)


def joint_key(all_commitments: Sequence[Sequence[bytes]]) -> bytes:
    acc = all_commitments[0][0]
    for commitments in all_commitments[1:]:
        acc = curve.add(acc, commitments[0])
    return acc


def public_share(all_commitments: Sequence[Sequence[bytes]], j: int) -> bytes:
    """Y_j = s_j·G, from the published commitments alone."""
    acc = _commitment_at(all_commitments[0], j)
    for commitments in all_commitments[1:]:
        acc = curve.add(acc, _commitment_at(commitments, j))
    return acc


# --- encryption ---------------------------------------------------------------------


def _box_key(shared: bytes, a: bytes, context: bytes) -> bytes:
    return curve.hash_bytes(KEY_TAG, shared, a, context, size=32)


def _pok_challenge(context: bytes, bind: bytes, a: bytes, t: bytes, box: bytes) -> int:
    return curve.hash_scalar(POK_TAG, context, bind, a, t, box)


def encrypt(
    key: bytes, plaintext: bytes, context: bytes, bind: bytes, rng: Rng | None = None
) -> Ciphertext:
    r = curve.random_scalar(rng)
    a = curve.base(r)
    box_key = _box_key(curve.mul(r, key), a, context)
    box = bytes(sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, a, NONCE, box_key))
    t = curve.random_scalar(rng)
    e = _pok_challenge(context, bind, a, curve.base(t), box)
    z = (t + e * r) % curve.L
    return Ciphertext(a, curve.scalar(e), curve.scalar(z), box)


def check_ciphertext(ct: Ciphertext, context: bytes, bind: bytes) -> bool:
    """A is a group point and its maker knew r (for this context and bind)."""
    try:
        if not curve.valid_point(ct.a):
            return False
        e, z = curve.read_scalar(ct.e), curve.read_scalar(ct.z)
        t = curve.base_plus(z, curve.L - e, ct.a)
        return _pok_challenge(context, bind, ct.a, t, ct.box) == e
    except CurveError:
        return False


def open_box(shared: bytes, ct: Ciphertext, context: bytes) -> bytes | None:
    """The plaintext, given K = r·Y (from `combine`), or None if it does not open."""
    try:
        return bytes(
            sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
                ct.box, ct.a, NONCE, _box_key(shared, ct.a, context)
            )
        )
    except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        return None


# --- decryption shares --------------------------------------------------------------


def _weights(context: bytes, y_j: bytes, a_s: Sequence[bytes], d_s: Sequence[bytes]) -> list[int]:
    seed = curve.hash_bytes(WEIGHT_TAG, context, y_j, *a_s, *d_s)
    return [curve.hash_scalar(WEIGHT_TAG, seed, i.to_bytes(4, "little")) for i in range(len(a_s))]


def _combined(points: Sequence[bytes], weights: Sequence[int]) -> bytes:
    acc = curve.mul(weights[0], points[0])
    for w, p in zip(weights[1:], points[1:], strict=True):
        acc = curve.add(acc, curve.mul(w, p))
    return acc


def _dleq_challenge(context: bytes, y_j: bytes, a: bytes, d: bytes, u: bytes, v: bytes) -> int:
    return curve.hash_scalar(DLEQ_TAG, context, y_j, a, d, u, v)


def decryption_shares(
    secret: int, a_s: Sequence[bytes], context: bytes, rng: Rng | None = None
) -> tuple[list[bytes], SharesProof]:
    """Teller's shares s·A_i of a batch, with one proof for the batch."""
    if not a_s:
        raise ValueError("no ciphertexts to decrypt")
    y_j = curve.base(secret)
    d_s = [curve.mul(secret, a) for a in a_s]
    w = _weights(context, y_j, a_s, d_s)
    a_star, d_star = _combined(a_s, w), _combined(d_s, w)
    t = curve.random_scalar(rng)
    c = _dleq_challenge(context, y_j, a_star, d_star, curve.base(t), curve.mul(t, a_star))
    z = (t + c * secret) % curve.L
    return d_s, SharesProof(curve.scalar(c), curve.scalar(z))


def check_shares(
    y_j: bytes, a_s: Sequence[bytes], d_s: Sequence[bytes], proof: SharesProof, context: bytes
) -> bool:
    """Chaum–Pedersen: every D_i is s·A_i for the s with s·G = Y_j."""
    try:
        if not a_s or len(a_s) != len(d_s) or not all(curve.valid_point(d) for d in d_s):
            return False
        w = _weights(context, y_j, a_s, d_s)
        a_star, d_star = _combined(a_s, w), _combined(d_s, w)
        c, z = curve.read_scalar(proof.c), curve.read_scalar(proof.z)
        u = curve.base_plus(z, curve.L - c, y_j)
        v = curve.lincomb(z, a_star, curve.L - c, d_star)
        return _dleq_challenge(context, y_j, a_star, d_star, u, v) == c
    except CurveError:
        return False


def lagrange_at_zero(j: int, others: Sequence[int]) -> int:
    num, den = 1, 1
    for m in others:
        if m != j:
            num = num * m % curve.L
            den = den * (m - j) % curve.L
    return num * pow(den, -1, curve.L) % curve.L


def combine(shares: Mapping[int, bytes]) -> bytes:
    """K = Σ λ_j D_j over the given tellers' shares of one ciphertext (k or more)."""
    numbers = sorted(shares)
    acc: bytes | None = None
    for j in numbers:
        term = curve.mul(lagrange_at_zero(j, numbers), shares[j])
        acc = term if acc is None else curve.add(acc, term)
    assert acc is not None
    return acc
