"""Linkable ring signatures (LSAG) over ed25519. See docs/ballot-secrecy.md §2.

The scheme of Liu, Wei and Wong (ACISP 2004), in the form Monero's MLSAG takes with
one key per ring member (Noether, "Ring Confidential Transactions", 2016), with one
change from Monero: the key image is ``I = x·Hp(context)``, a point hashed from the
context (a vote, a pledge), not from the signer's own key. So one key signs at most
once per context without being seen twice (``link``), a re-vote is recognised as the
same signer, and signatures in two contexts cannot be linked to each other.

    sign(message, ring, secret, context) -> Signature   (the key image in it)
    verify(message, ring, signature, context) -> bool
    link(a, b) -> bool                                  (same signer, same context)

The ring is a list of distinct public keys (member keys: Ed25519 public keys are
ed25519 points, and ``curve.ed25519_scalar`` gives a member's secret scalar). Every
challenge hashes the context, the whole ring, the key image and the message.
Pure: no I/O; randomness only from ``rng`` (os.urandom unless a test vector fixes it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shora.kernel import curve
from shora.kernel.curve import CurveError, Rng

IMAGE_TAG = b"shora/lsag/image"
CHALLENGE_TAG = b"shora/lsag/chal"
RING_TAG = b"shora/lsag/ring"
NONCE_TAG = b"shora/lsag/nonce"
MAX_RING = 2000


@dataclass(frozen=True, slots=True)
class Signature:
    image: bytes  # I = x·Hp(context)
    c0: bytes  # the first challenge
    s: tuple[bytes, ...]  # one response per ring member

    def encode(self) -> bytes:
        return self.image + self.c0 + b"".join(self.s)

    @classmethod
    def decode(cls, raw: bytes) -> Signature:
        """Parse image || c0 || s_0 .. s_{n-1}; ValueError if the length is wrong."""
        if len(raw) < 96 or len(raw) % 32:
            raise ValueError("a ring signature is 32-byte image, challenge, responses")
        n = len(raw) // 32 - 2
        return cls(raw[:32], raw[32:64], tuple(raw[64 + 32 * i : 96 + 32 * i] for i in range(n)))


def image_base(context: bytes) -> bytes:
    """Hp(context): the base of every key image in this context."""
    return curve.hash_point(IMAGE_TAG, context)


def key_image(secret: int, context: bytes) -> bytes:
    """The key image a secret scalar gives in a context (a member finds their own)."""
    return curve.mul(secret, image_base(context))


def ring_digest(ring: Sequence[bytes]) -> bytes:
    return curve.hash_bytes(RING_TAG, *ring, size=32)


def _challenge(prefix: bytes, left: bytes, right: bytes) -> int:
    return curve.hash_scalar(CHALLENGE_TAG, prefix, left, right)


def _prefix(context: bytes, ring: Sequence[bytes], image: bytes, message: bytes) -> bytes:
    return curve.hash_bytes(CHALLENGE_TAG, context, ring_digest(ring), image, message)


def _check_ring(ring: Sequence[bytes]) -> None:
    if not 1 <= len(ring) <= MAX_RING:
        raise ValueError(f"a ring has 1 to {MAX_RING} keys")
    if len(set(ring)) != len(ring):
        raise ValueError("a ring lists each key once")


def sign(
    message: bytes, ring: Sequence[bytes], secret: int, context: bytes, rng: Rng | None = None
) -> Signature:
    """Sign as one of `ring` (the key secret·G must be in it)."""
    _check_ring(ring)
    me = curve.base(secret)
    if me not in ring:
        raise ValueError("the signer's key is not in the ring")
    pi = ring.index(me)
    n = len(ring)
    h = image_base(context)
    image = curve.mul(secret, h)
    prefix = _prefix(context, ring, image, message)
    # alpha is random, mixed with the secret and message so a weak rng alone cannot leak x.
    alpha = curve.hash_scalar(
        NONCE_TAG, curve.scalar(secret), prefix, curve.scalar(curve.random_scalar(rng))
    )
    c = [0] * n
    s = [0] * n
    c[(pi + 1) % n] = _challenge(prefix, curve.base(alpha), curve.mul(alpha, h))
    i = (pi + 1) % n
    while i != pi:
        s[i] = curve.random_scalar(rng)
        left = curve.base_plus(s[i], c[i], ring[i])
        right = curve.lincomb(s[i], h, c[i], image)
        c[(i + 1) % n] = _challenge(prefix, left, right)
        i = (i + 1) % n
    s[pi] = (alpha - c[pi] * secret) % curve.L
    return Signature(image, curve.scalar(c[0]), tuple(curve.scalar(x) for x in s))


def verify(message: bytes, ring: Sequence[bytes], sig: Signature, context: bytes) -> bool:
    """True if `sig` was made by the holder of one key of `ring`, for this message and
    context. Never raises on a malformed signature or ring."""
    try:
        _check_ring(ring)
        if len(sig.s) != len(ring) or not curve.valid_point(sig.image):
            return False
        # Each ring key goes through libsodium's scalar multiplication, which refuses a
        # point that is not canonical or not in the prime-order subgroup: no separate check.
        h = image_base(context)
        prefix = _prefix(context, ring, sig.image, message)
        c0 = curve.read_scalar(sig.c0)
        c = c0
        for i, pk in enumerate(ring):
            si = curve.read_scalar(sig.s[i])
            left = curve.base_plus(si, c, pk)
            right = curve.lincomb(si, h, c, sig.image)
            c = _challenge(prefix, left, right)
        return c == c0
    except (CurveError, ValueError):
        return False


def link(a: Signature, b: Signature) -> bool:
    """Whether two signatures, verified in the same context, come from one key."""
    return a.image == b.image
