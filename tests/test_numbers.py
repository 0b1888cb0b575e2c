"""Numbers typed by people: every digit form that int() would misread is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shora.errors import InvalidInput
from shora.numbers import digits_only, parse_int


@pytest.mark.parametrize(
    ("text", "value"), [("42", 42), ("۴۲", 42), ("٤٢", 42), (" 7 ", 7), ("۰", 0)]
)
def test_latin_persian_and_arabic_digits(text: str, value: int) -> None:
    assert parse_int(text) == value


@pytest.mark.parametrize(
    "text", ["²", "1²", "¹⁰", "٣.5", "", " ", "1e3", "0x10", "-3", "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩"]
)
def test_what_int_or_isdigit_would_misread_is_refused(text: str) -> None:
    assert not digits_only(text.strip())
    with pytest.raises(InvalidInput):
        parse_int(text)


def test_bounds_and_sign() -> None:
    assert parse_int("-۳", signed=True) == -3
    with pytest.raises(InvalidInput, match="out of range"):
        parse_int("11", low=0, high=10)
    with pytest.raises(InvalidInput, match="out of range"):
        parse_int("0", low=1)


@given(st.text(max_size=12))
def test_any_text_is_a_number_or_a_clear_refusal(text: str) -> None:
    try:
        value = parse_int(text, signed=True)
    except InvalidInput:
        return
    assert isinstance(value, int) and abs(value) < 10**18
