"""The bodies of stock.*, skill.*, safety.deadman_* and missing.* events: any bytes
decode to a valid body or raise MalformedEvent, never anything else; the bounds hold;
the age typed on the command line parses or is refused with InvalidInput."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shora.cli.deadman_missing import _age
from shora.domain.care import kinds as ck
from shora.errors import InvalidInput, MalformedEvent
from shora.kernel.events import decode_body, encode_body

KINDS = {**ck.STOCK_KINDS, **ck.SKILL_KINDS, **ck.DEADMAN_KINDS, **ck.MISSING_KINDS}
KEY = b"\x01" * 32

values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=30)
    | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(
        st.sampled_from(
            ["stock", "item", "category", "quantity", "area", "expires", "skills", "hours",
             "contacts", "member", "timer", "since", "person", "status", "full_name",
             "age_min", "linked_person", "lot", "need", "visibility", "x"]
        ),
        inner,
        max_size=6,
    ),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(KINDS)), values | st.binary(max_size=200))
def test_bodies_decode_or_raise_malformed(kind: str, value: Any) -> None:
    raw = value if isinstance(value, bytes) else msgspec.msgpack.encode(value)
    try:
        body = decode_body(kind, raw)
    except MalformedEvent:
        return
    assert isinstance(body, KINDS[kind])
    assert decode_body(kind, encode_body(body)) == body


def test_bounds() -> None:
    def refused(kind: str, body: dict[str, Any]) -> None:
        with pytest.raises(MalformedEvent):
            decode_body(kind, msgspec.msgpack.encode(body))

    refused("stock.add", {"item": "x", "category": "food", "area": "a", "quantity": 0})
    refused("stock.add", {"item": "x", "category": "bread", "area": "a", "quantity": 1})
    refused("stock.add", {"item": "x", "category": "food", "area": "Main St 4", "quantity": 1})
    refused("stock.draw", {"stock": KEY, "quantity": 1_000_001})
    refused("skill.set", {"skills": []})
    refused("skill.set", {"skills": ["astronaut"]})
    refused("skill.set", {"skills": ["cook"], "visibility": "everyone"})
    refused("safety.deadman_set", {"hours": 145, "contacts": [KEY]})
    refused("safety.deadman_set", {"hours": 2, "contacts": [KEY] * 21})
    refused("missing.person", {"full_name": ""})
    refused("missing.person", {"full_name": "x", "home_street": "Main St 4"})
    refused("missing.person", {"full_name": "x", "photo_url": "http://x"})
    refused("missing.note", {"person": KEY, "status": "found"})
    refused("missing.note", {"person": KEY, "text": "x" * 2001})


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12) | st.from_regex(r"[0-9۰-۹]{1,4}(-[0-9۰-۹]{1,4})?", fullmatch=True))
def test_age_parses_or_is_refused(text: str) -> None:
    try:
        low, high = _age(text)
    except InvalidInput:
        return
    assert low is not None and high is not None
    assert 0 <= low <= high <= ck.MAX_AGE


def test_age_examples() -> None:
    assert _age("۳۰-۴۰") == (30, 40)
    assert _age(" 7 ") == (7, 7)
    assert _age(None) == (None, None)
    for bad in ("forty", "40-30", "151", "-3", "", "²", "3-²"):
        with pytest.raises(InvalidInput):
            _age(bad)
