"""Numbers typed by people: Latin, Persian or Arabic-Indic digits, nothing else.

``'²'.isdigit()`` and ``'١'.isdigit()`` are both true, but ``int('²')`` raises: every
number a person types is read here, so a form or an option answers a clear error
instead of a crash. See docs/architecture.md."""

from __future__ import annotations

from shora.errors import InvalidInput
from shora.i18n import _, normalize_digits, number

ASCII_DIGITS = frozenset("0123456789")
MAX_DIGITS = 18  # beyond any count, amount or time a person types


def digits_only(text: str) -> bool:
    """Whether the text is one or more digits (Latin, Persian or Arabic-Indic), as
    `parse_int` reads them."""
    latin = normalize_digits(text)
    return 0 < len(latin) <= MAX_DIGITS and set(latin) <= ASCII_DIGITS


def parse_int(
    text: str, *, low: int | None = None, high: int | None = None, signed: bool = False
) -> int:
    """A whole number from what a person typed, within [low, high]; InvalidInput,
    in their language, for anything else."""
    latin = normalize_digits(text).strip()
    body = latin[1:] if signed and latin[:1] in {"-", "+"} else latin
    if not digits_only(body):
        raise InvalidInput(_("{value} is not a whole number").format(value=text.strip()[:40]))
    value = int(latin)
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            bounds = _("at least {low}").format(low=number(low or 0))
        elif low is None:
            bounds = _("at most {high}").format(high=number(high))
        else:
            bounds = _("from {low} to {high}").format(low=number(low), high=number(high))
        raise InvalidInput(
            _("{value} is out of range: give {bounds}").format(value=text.strip(), bounds=bounds)
        )
    return value
