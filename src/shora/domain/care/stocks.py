"""Shared stocks: what the council holds together, as a pure function of the valid
``stock.*`` events. See docs/aid.md ("Shared stocks").

No I/O, no clock: `now` (unix seconds) is passed to the queries that need it. Events are
folded in (clock, id) order whatever order they arrived in, duplicates ignored:

* a ``stock.add`` without ``stock`` starts an item (it needs an item name, a category
  and an area, and names no other item); with ``stock`` it adds a lot to that item
  (and must name nothing else). Anything else is ignored;
* a ``stock.draw`` takes from the item's lots at its place in that order: from its
  ``lot`` if it names one, else from the lots not expired at the draw's claimed time,
  soonest expiry first (lots without expiry last, then by lot order). It counts for at
  most what those lots hold: quantities never go below zero, and a draw that asked for
  more than there was is reported as a shortfall (asked, counted).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from shora.domain.care import kinds as ck
from shora.domain.decisions.state import MS, EventView


class Lot(msgspec.Struct):
    id: bytes  # the stock.add event
    author: bytes
    time: int  # ms, claimed
    order: tuple[int, bytes]
    quantity: int
    expires: int | None  # unix seconds
    note: str
    remaining: int = 0

    def expired(self, now: int) -> bool:
        return self.expires is not None and self.expires <= now


class Draw(msgspec.Struct, frozen=True):
    id: bytes
    author: bytes
    time: int  # ms, claimed
    asked: int
    counted: int
    need: bytes | None
    note: str
    taken: tuple[tuple[bytes, int], ...]  # (lot, quantity)

    @property
    def shortfall(self) -> int:
        return self.asked - self.counted


class StockItem(msgspec.Struct):
    id: bytes  # the stock.add event that started it
    author: bytes
    item: str
    category: str
    unit: str
    area: str
    lots: list[Lot] = msgspec.field(default_factory=list)
    draws: list[Draw] = msgspec.field(default_factory=list)

    def available(self, now: int) -> int:
        """What can be drawn at `now` from the lots that have not expired."""
        return sum(lot.remaining for lot in self.lots if not lot.expired(now))

    def expired_quantity(self, now: int) -> int:
        return sum(lot.remaining for lot in self.lots if lot.expired(now))

    def drawable(self, at: int) -> list[Lot]:
        """The lots a draw at `at` (unix seconds) takes from, in the order it takes."""
        live = [lot for lot in self.lots if lot.remaining > 0 and not lot.expired(at)]
        return sorted(
            live,
            key=lambda lot: (lot.expires is None, lot.expires or 0, lot.order),
        )


class StocksState(msgspec.Struct):
    items: dict[bytes, StockItem] = msgspec.field(default_factory=dict)
    lots: dict[bytes, Lot] = msgspec.field(default_factory=dict)
    ignored: int = 0  # malformed additions, draws on unknown items or lots

    def shortfalls(self) -> list[Draw]:
        """Draws that asked for more than there was (concurrent draws, most often)."""
        return [d for i in self.items.values() for d in i.draws if d.shortfall > 0]

    def served(self, need: bytes) -> list[Draw]:
        """The draws tied to `need`."""
        return [d for i in self.items.values() for d in i.draws if d.need == need]


def _lot(e: EventView, body: ck.StockAdd) -> Lot:
    return Lot(
        e.id, e.author, e.time, e.order, body.quantity, body.expires, body.note, body.quantity
    )


def _add(state: StocksState, e: EventView) -> None:
    body: ck.StockAdd = e.body
    if body.stock is None:
        if not body.item.strip() or body.category is None or body.area is None:
            state.ignored += 1
            return
        item = StockItem(e.id, e.author, body.item, body.category, body.unit, body.area)
        state.items[e.id] = item
    else:
        found = state.items.get(body.stock)
        named = body.item or body.category is not None or body.unit or body.area is not None
        if found is None or named:
            state.ignored += 1
            return
        item = found
    lot = _lot(e, body)
    item.lots.append(lot)
    state.lots[lot.id] = lot


def _draw(state: StocksState, e: EventView) -> None:
    body: ck.StockDraw = e.body
    item = state.items.get(body.stock)
    if item is None:
        state.ignored += 1
        return
    if body.lot is not None:
        chosen = [lot for lot in item.lots if lot.id == body.lot]
        if not chosen:
            state.ignored += 1
            return
    else:
        chosen = item.drawable(e.time // MS)
    left = body.quantity
    taken: list[tuple[bytes, int]] = []
    for lot in chosen:
        if left == 0:
            break
        take = min(left, lot.remaining)
        if take > 0:
            lot.remaining -= take
            left -= take
            taken.append((lot.id, take))
    item.draws.append(
        Draw(
            e.id,
            e.author,
            e.time,
            body.quantity,
            body.quantity - left,
            body.need,
            body.note,
            tuple(taken),
        )
    )


def reduce_stocks(events: Iterable[EventView]) -> StocksState:
    """The council's stocks from its valid stock.* events (any order, duplicates too)."""
    state = StocksState()
    for e in sorted({e.id: e for e in events}.values(), key=lambda e: e.order):
        if e.kind == "stock.add":
            _add(state, e)
        elif e.kind == "stock.draw":
            _draw(state, e)
    return state
