"""Currencies and amounts as people read and type them (docs/fund.md, "Amounts").

Amounts are whole numbers of a currency's smallest unit (rials, tomans, cents, token
units), never floats. A rial amount is shown with its toman equivalent and a toman
amount with its rial one (1 toman = 10 rials), for display only: the two are different
currencies and never share an account.
"""

from __future__ import annotations

import re

from shora.errors import InvalidInput
from shora.i18n import N_, _, normalize_digits, normalize_persian, number
from shora.kernel.kinds import CURRENCY_PATTERN, MAX_AMOUNT

CURRENCIES = ("rial", "toman", "usd", "eur")
CURRENCY_NAMES = {
    "rial": N_("rial"),
    "toman": N_("toman"),
    "usd": N_("US dollar"),
    "eur": N_("euro"),
}
CENTS = {"usd": 100, "eur": 100}  # smallest units per whole unit; others: 1
RIALS_PER_TOMAN = 10
_ALIASES = {
    "rial": "rial",
    "rials": "rial",
    "irr": "rial",
    "ریال": "rial",
    "toman": "toman",
    "tomans": "toman",
    "تومان": "toman",
    "usd": "usd",
    "dollar": "usd",
    "dollars": "usd",
    "$": "usd",
    "دلار": "usd",
    "eur": "eur",
    "euro": "eur",
    "euros": "eur",
    "€": "eur",
    "یورو": "eur",
}
_CURRENCY = re.compile(CURRENCY_PATTERN)
_SEPARATORS = str.maketrans("", "", ",٬ _'")


def parse_currency(text: str) -> str:
    """A currency from what a person typed: rial, toman, dollar, euro (in English or
    Persian) or token:NAME."""
    value = normalize_persian(text).strip().lower()
    value = _ALIASES.get(value, value)
    if not _CURRENCY.fullmatch(value):
        raise InvalidInput(
            _("unknown currency {value}: use rial, toman, dollar, euro or token:NAME").format(
                value=text.strip()[:40]
            )
        )
    return value


def currency_name(currency: str) -> str:
    """The currency's name in the current language."""
    if currency.startswith("token:"):
        return _("token {name}").format(name=currency.removeprefix("token:"))
    return _(CURRENCY_NAMES.get(currency, currency))


def parse_amount(text: str, currency: str) -> int:
    """An amount in the currency's smallest unit from what a person typed: whole units
    (12, ۱۲٬۰۰۰) or, for dollars and euros, with cents (12.50, ۱۲٫۵)."""
    latin = normalize_digits(text).strip().translate(_SEPARATORS).replace("٫", ".")
    scale = CENTS.get(currency, 1)
    whole, dot, frac = latin.partition(".")
    places = len(str(scale)) - 1
    ok = whole.isascii() and whole.isdigit() and len(whole) <= 18
    ok = ok and (not dot or (frac.isascii() and frac.isdigit() and 0 < len(frac) <= places))
    if not ok:
        if dot and places == 0:
            raise InvalidInput(
                _("amounts in {currency} are whole numbers").format(
                    currency=currency_name(currency)
                )
            )
        raise InvalidInput(_("{value} is not an amount").format(value=text.strip()[:40]))
    value = int(whole) * scale + (int(frac.ljust(places, "0")) if dot else 0)
    if not 1 <= value <= MAX_AMOUNT:
        raise InvalidInput(
            _("an amount is from 1 to {high} of the smallest unit").format(high=number(MAX_AMOUNT))
        )
    return value


def _plain(amount: int, scale: int) -> str:
    sign = "-" if amount < 0 else ""
    whole, rest = divmod(abs(amount), scale)
    if scale == 1:
        return sign + number(whole)
    places = len(str(scale)) - 1
    point = "٫" if number(1) == "۱" else "."
    frac = number(rest).rjust(places, number(0))
    return sign + number(whole) + point + frac


def plain_amount(amount: int, currency: str) -> str:
    """The number alone, in the currency's whole units ("12.50", "-3,000,000")."""
    return _plain(amount, CENTS.get(currency, 1))


def format_amount(amount: int, currency: str) -> str:
    """ "12,340 rial (1,234 toman)", "۱۲٫۵۰ دلار آمریکا": digits as the language writes
    them; a rial amount with its toman equivalent and the other way round."""
    shown = _("{amount} {currency}").format(
        amount=_plain(amount, CENTS.get(currency, 1)), currency=currency_name(currency)
    )
    if currency == "rial":
        other = _("{amount} {currency}").format(
            amount=_plain(amount, RIALS_PER_TOMAN), currency=currency_name("toman")
        )
    elif currency == "toman":
        other = _("{amount} {currency}").format(
            amount=_plain(amount * RIALS_PER_TOMAN, 1), currency=currency_name("rial")
        )
    else:
        return shown
    return _("{amount} (= {other})").format(amount=shown, other=other)
