"""Values people type for aid, checked in their language: a category, a quantity.
The command line, the pages and the writers of `node.aid` and `node.care` share them."""

from __future__ import annotations

from shora.domain.aid import kinds as ak
from shora.errors import InvalidInput
from shora.i18n import _, number


def check_category(value: str) -> str:
    """A category as people type it (any case, spaces around): one of the council's."""
    text = value.strip().lower()
    if text not in ak.CATEGORIES:
        raise InvalidInput(
            _("unknown category: {value}; the categories are: {categories}").format(
                value=value, categories=", ".join(ak.CATEGORIES)
            )
        )
    return text


def check_quantity(quantity: int) -> int:
    if not 1 <= quantity <= ak.MAX_QUANTITY:
        raise InvalidInput(
            _("a quantity is a whole number from 1 to {high}, not {value}").format(
                high=number(ak.MAX_QUANTITY), value=number(quantity)
            )
        )
    return quantity
