"""Shamir's secret sharing over GF(2^8), byte by byte (docs/protocol.md §9.2).

A secret is split into `count` shares, any `threshold` of which give it back and fewer
of which say nothing about it. Each byte of the secret is the constant term of its own
random polynomial of degree threshold - 1; share x holds every polynomial at x
(x = 1 .. count). Pure: the randomness is passed in.
"""

from __future__ import annotations

from collections.abc import Callable

from shora.errors import InvalidInput
from shora.i18n import _

# log and exp tables of GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 and
# generator 3.
_EXP = [0] * 510
_LOG = [0] * 256
_value = 1
for _i in range(255):
    _EXP[_i] = _value
    _LOG[_value] = _i
    _value ^= (_value << 1) ^ (0x11B if _value & 0x80 else 0)
    _value &= 0xFF
for _i in range(255, 510):
    _EXP[_i] = _EXP[_i - 255]

MAX_SHARES = 255


def _mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


def _div(a: int, b: int) -> int:
    return 0 if a == 0 else _EXP[_LOG[a] - _LOG[b] + 255]


def split(
    secret: bytes, threshold: int, count: int, random: Callable[[int], bytes]
) -> list[tuple[int, bytes]]:
    """`count` shares (x, y) of `secret`, any `threshold` of which recover it."""
    if not 1 <= threshold <= count <= MAX_SHARES:
        raise InvalidInput(_("a backup needs 1 ≤ shares needed ≤ shares ≤ 255"))
    coefficients = [random(len(secret)) for _ in range(threshold - 1)]
    shares = []
    for x in range(1, count + 1):
        y = bytearray()
        for i, byte in enumerate(secret):
            value = 0
            for c in reversed(coefficients):  # Horner: ((c_k x + ...) x + c_1) x + s
                value = _mul(value ^ c[i], x)
            y.append(value ^ byte)
        shares.append((x, bytes(y)))
    return shares


def combine(shares: list[tuple[int, bytes]]) -> bytes:
    """The secret from `threshold` or more distinct shares (Lagrange at 0). With fewer
    than the threshold the result is unrelated to the secret; callers authenticate it."""
    xs = [x for x, _y in shares]
    if not shares or len(set(xs)) != len(xs) or not all(1 <= x <= MAX_SHARES for x in xs):
        raise InvalidInput(_("backup shares must be distinct"))
    size = len(shares[0][1])
    if any(len(y) != size for _x, y in shares):
        raise InvalidInput(_("backup shares do not belong together"))
    secret = bytearray(size)
    for j, (xj, yj) in enumerate(shares):
        weight = 1  # the Lagrange basis polynomial of x_j, at 0
        for m, (xm, _ym) in enumerate(shares):
            if m != j:
                weight = _mul(weight, _div(xm, xm ^ xj))
        for i in range(size):
            secret[i] ^= _mul(yj[i], weight)
    return bytes(secret)
