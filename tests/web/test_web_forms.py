"""The web interface's small parsers: whatever comes in, a value within bounds or a
clear InvalidInput / NotFound, never another exception (property tests)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import FormData

from shora.errors import InvalidInput, NotFound
from shora.web.forms import hex_id, integer, text
from shora.web.responses import safe_next


@given(st.one_of(st.none(), st.text(max_size=40)), st.integers(-5, 5), st.integers(0, 50))
def test_integer_is_within_bounds_or_invalid_input(value: str | None, low: int, span: int) -> None:
    high = low + span
    try:
        n = integer(value, low, low, high)
    except InvalidInput:
        return
    assert low <= n <= high


@pytest.mark.parametrize(("value", "n"), [("۱۲", 12), ("٣", 3), (" 7 ", 7), ("", 1), (None, 1)])
def test_integer_reads_persian_and_arabic_digits(value: str | None, n: int) -> None:
    assert integer(value, 1, 0, 100) == n


@given(st.text(max_size=80))
def test_hex_id_is_32_bytes_or_not_found(value: str) -> None:
    try:
        found = hex_id(value)
    except NotFound:
        return
    assert len(found) == 32 and found.hex() == value.lower()


@given(st.text(max_size=300))
def test_safe_next_never_leaves_this_server(url: str) -> None:
    path = safe_next(url)
    assert path.startswith("/") and not path.startswith("//") and "\\" not in path


@given(st.text(max_size=300), st.integers(1, 200))
def test_text_is_stripped_and_bounded_or_invalid_input(value: str, limit: int) -> None:
    try:
        got = text(FormData([("f", value)]), "f", limit)
    except InvalidInput:
        assert not value.strip() or len(value.strip()) > limit
        return
    assert got == value.strip() and 0 < len(got) <= limit
