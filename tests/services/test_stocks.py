"""Shared stocks on real profiles: items and lots added on one node, draws on others,
expiry, draws tied to needs, concurrent draws that ask for more than there is; then a
property test that the reducer does not depend on the order or duplication of events."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import T0, Clock, council_of_three, everyone
from shora.domain.aid import kinds as ak
from shora.domain.care import kinds as ck
from shora.domain.care.stocks import reduce_stocks
from shora.domain.decisions.state import EventView
from shora.errors import InvalidInput, NotFound
from shora.node import Node

DAY = 24 * 3600
AREAS = ak.Areas(
    [ak.Area("block-4", "Block 4"), ak.Area("block-9", "Block 9")],
    [ak.Edge("block-4", "block-9", 3)],
)


@pytest.fixture
def council3(tmp_path: Path) -> Iterator[tuple[list[Node], bytes, Clock]]:
    with council_of_three(tmp_path, AREAS) as made:
        yield made


def test_add_restock_draw_and_expiry(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, b, c), council, clock = council3
    insulin = a.care.add_stock(
        council,
        item="insulin glargine 100 IU/ml",
        category="medicine",
        quantity=4,
        area="block-4",
        unit="pen",
        expires=T0 + 10 * DAY,
    )
    everyone([a, b, c])
    later = b.care.restock(council, insulin, 6, expires=T0 + 30 * DAY)
    everyone([a, b, c])
    item = c.care.stocks_state(council).items[insulin]
    assert (item.item, item.category, item.unit, item.area) == (
        "insulin glargine 100 IU/ml",
        "medicine",
        "pen",
        "block-4",
    )
    assert item.available(int(clock())) == 10
    # The soonest expiry is drawn first.
    need = c.aid.post_need(
        council,
        ak.Need(
            category="medicine",
            medicine=ak.MedicineDetails("insulin glargine", "100 IU/ml", True),
            quantity=3,
            urgency="immediate",
            area="block-9",
        ),
    )
    c.care.draw_stock(council, insulin, 3, need=need)
    everyone([a, b, c])
    state = a.care.stocks_state(council)
    lots = {lot.id: lot.remaining for lot in state.items[insulin].lots}
    assert lots == {insulin: 1, later: 6}
    [served] = state.served(need)
    assert (served.counted, served.taken) == (3, ((insulin, 3),))
    # After the first lot's date, its last pen shows as expired and cannot be drawn.
    clock.t = T0 + 10 * DAY
    item = a.care.stocks_state(council).items[insulin]
    assert (item.available(int(clock())), item.expired_quantity(int(clock()))) == (6, 1)
    with pytest.raises(InvalidInput, match="only 6"):
        a.care.draw_stock(council, insulin, 7)
    # ... unless someone names that lot on purpose.
    a.care.draw_stock(council, insulin, 1, lot=insulin)
    item = a.care.stocks_state(council).items[insulin]
    assert item.expired_quantity(int(clock())) == 0 and item.available(int(clock())) == 6


def test_bad_input_is_refused(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, _b, _c), council, clock = council3
    water = a.care.add_stock(council, item="water", category="water", quantity=20, area="block-9")
    with pytest.raises(InvalidInput, match="unknown category"):
        a.care.add_stock(council, item="bread", category="bread", quantity=1, area="block-4")
    with pytest.raises(InvalidInput, match="unknown area"):
        a.care.add_stock(council, item="rice", category="food", quantity=1, area="mars")
    with pytest.raises(InvalidInput, match="quantity"):
        a.care.add_stock(council, item="rice", category="food", quantity=-2, area="block-4")
    with pytest.raises(InvalidInput, match="quantity"):
        a.care.draw_stock(council, water, 0)
    with pytest.raises(InvalidInput, match="expiry"):
        a.care.restock(council, water, 5, expires=int(clock()) - 1)
    with pytest.raises(InvalidInput, match="only 20"):
        a.care.draw_stock(council, water, 21)
    with pytest.raises(NotFound):
        a.care.draw_stock(council, water, 1, need=b"\x07" * 32)
    with pytest.raises(NotFound):
        a.care.restock(council, b"\x07" * 32, 1)
    assert a.care.find_stock(council, "WATER") == water
    assert a.care.find_stock(council, water.hex()[:8]) == water
    with pytest.raises(NotFound):
        a.care.find_stock(council, "fuel")


def test_concurrent_draws_never_go_below_zero(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, b, c), council, _clock = council3
    pens = a.care.add_stock(council, item="pens", category="medicine", quantity=6, area="block-4")
    everyone([a, b, c])
    # b and c are offline from each other: each sees 6 and draws 5.
    first = b.care.draw_stock(council, pens, 5)
    second = c.care.draw_stock(council, pens, 5)
    everyone([a, b, c])
    states = [n.care.stocks_state(council) for n in (a, b, c)]
    for state in states:
        item = state.items[pens]
        assert item.available(T0) == 0
        assert all(lot.remaining >= 0 for lot in item.lots)
        [short] = state.shortfalls()
        assert (short.asked, short.counted) == (5, 1)
        assert short.id in (first, second)
    assert states[0].shortfalls() == states[1].shortfalls() == states[2].shortfalls()


# --- order independence -------------------------------------------------------------------


def _events() -> list[EventView]:
    ids = iter(bytes([i]) * 32 for i in range(1, 200))
    alice, bob = b"\x01" * 32, b"\x02" * 32
    out: list[EventView] = []

    def add(author: bytes, kind: str, body: object, time: int = T0) -> bytes:
        i = next(ids)
        out.append(EventView(i, author, len(out) + 1, time * 1000, kind, body))
        return i

    s1 = add(
        alice,
        "stock.add",
        ck.StockAdd(item="rice", category="food", area="block-4", quantity=5, expires=T0 + DAY),
    )
    add(bob, "stock.add", ck.StockAdd(stock=s1, quantity=3, expires=T0 + 2 * DAY))
    add(bob, "stock.add", ck.StockAdd(stock=s1, quantity=4))
    add(bob, "stock.add", ck.StockAdd(stock=s1, quantity=4, item="beans"))  # ignored
    add(bob, "stock.add", ck.StockAdd(quantity=4, item="beans"))  # no category: ignored
    add(alice, "stock.draw", ck.StockDraw(stock=s1, quantity=6))  # 5 + 1
    add(bob, "stock.draw", ck.StockDraw(stock=s1, quantity=2), T0 + DAY + 1)  # 2 of the 3-lot
    add(
        alice, "stock.draw", ck.StockDraw(stock=s1, quantity=9), T0 + 3 * DAY
    )  # only the 4 without expiry
    add(alice, "stock.draw", ck.StockDraw(stock=b"\x09" * 32, quantity=1))  # unknown: ignored
    return out


def _summary(events: list[EventView]) -> object:
    s = reduce_stocks(events)
    return (
        {k: [(lot.id, lot.remaining) for lot in v.lots] for k, v in s.items.items()},
        [(d.id, d.asked, d.counted, d.taken) for d in s.shortfalls()],
        s.ignored,
    )


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 4))
def test_stock_reducer_is_order_independent(rnd: random.Random, copies: int) -> None:
    events = _events()
    expected = _summary(events)
    shuffled = events + events[:copies]
    rnd.shuffle(shuffled)
    assert _summary(shuffled) == expected
    s = reduce_stocks(shuffled)
    [item] = s.items.values()
    assert [lot.remaining for lot in item.lots] == [0, 0, 0]
    assert [(d.asked, d.counted) for d in item.draws] == [(6, 6), (2, 2), (9, 4)]
    assert s.ignored == 3


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(1, 20), st.one_of(st.none(), st.integers(0, 5))),
        max_size=25,
    ),
    st.randoms(use_true_random=False),
)
def test_quantities_never_negative_and_conserved(
    steps: list[tuple[bool, int, int | None]], rnd: random.Random
) -> None:
    """Any mix of additions and draws: nothing below zero, nothing drawn that was not
    added, and every delivery order gives the same state."""
    root = EventView(
        b"\x00" * 32,
        b"\x01" * 32,
        1,
        T0 * 1000,
        "stock.add",
        ck.StockAdd(item="water", category="water", area="a", quantity=1),
    )
    events = [root]
    for n, (is_add, quantity, days) in enumerate(steps, start=2):
        expires = None if days is None else T0 + days * DAY
        body: object = (
            ck.StockAdd(stock=root.id, quantity=quantity, expires=expires)
            if is_add
            else ck.StockDraw(stock=root.id, quantity=quantity)
        )
        kind = "stock.add" if is_add else "stock.draw"
        events.append(
            EventView(n.to_bytes(32, "big"), b"\x02" * 32, n, (T0 + n * 3600) * 1000, kind, body)
        )
    expected = _summary(events)
    rnd.shuffle(events)
    assert _summary(events) == expected
    [item] = reduce_stocks(events).items.values()
    assert all(lot.remaining >= 0 for lot in item.lots)
    added = sum(lot.quantity for lot in item.lots)
    drawn = sum(d.counted for d in item.draws)
    assert sum(lot.remaining for lot in item.lots) == added - drawn
    assert all(d.counted <= d.asked for d in item.draws)
