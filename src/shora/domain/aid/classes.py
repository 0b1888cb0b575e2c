"""Compatibility classes: the needs and offers that can meet, aggregated into nodes.

Part of :mod:`shora.domain.aid.matching`; import from there. `grouped` splits open needs and
offers by `match_key`; `AidClass` aggregates one class by (kind, area) into the nodes the
flow network is built on; `disaggregate` turns the flows between nodes back into
assignments of offers to needs, and `Stock` hands out what is left of each offer node's
offers, in using order, for it and for `shora.domain.aid.matching.greedy_fcfs`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, TypeVar

from shora.domain.aid.flow import ENOUGH
from shora.domain.aid.taxonomy import Urgency, compatible, kind_key, match_key

if TYPE_CHECKING:
    from shora.domain.aid.items import AreaId, Distance, Need, Offer

__all__ = [
    "LEVELS",
    "AidClass",
    "Distances",
    "Flows",
    "Record",
    "Stock",
    "disaggregate",
    "grouped",
]

LEVELS: tuple[Urgency, ...] = tuple(sorted(Urgency))
_NEVER = float("inf")

_Item = TypeVar("_Item", "Need", "Offer")

Record = Callable[["Need", "Offer", int, int], None]
"""Records that an offer gives a need a quantity, at a distance (`_Ledger.add`)."""

Flows = list[tuple[int, int, int, int]]
"""Flows between nodes of a class: (offer node, need node, quantity, distance)."""


def grouped(needs: Sequence[Need], offers: Sequence[Offer]) -> list[tuple[list[Need], list[Offer]]]:
    """The needs and offers of each class that has both, classes in order of `match_key`."""
    groups: dict[tuple[str, ...], tuple[list[Need], list[Offer]]] = {}
    for need in needs:
        groups.setdefault(match_key(need), ([], []))[0].append(need)
    for offer in offers:
        group = groups.get(match_key(offer))
        if group is not None:
            group[1].append(offer)
    return [groups[k] for k in sorted(groups) if groups[k][1]]


class AidClass:
    """The needs and offers of one compatibility class, aggregated by (kind, area).

    Need node ``j``: ``need_keys[j]`` = (need kind, area), ``need_items[j]`` its needs in
    serving order, ``demand[j]`` its open quantity per level. Offer node ``i``:
    ``offer_keys[i]`` = (offer kind, area), ``offer_items[i]`` its offers in using order,
    ``supply[i]`` their total quantity (the class's whole demand if one is inexhaustible).
    ``compatible[offer kind][need kind]`` is `compatible` on representatives.
    """

    def __init__(self, needs: Sequence[Need], offers: Sequence[Offer]) -> None:
        self.need_keys, self.need_items, rep_needs = _nodes(needs)
        self.offer_keys, self.offer_items, rep_offers = _nodes(offers)
        self.compatible = [[compatible(n, o) for n in rep_needs] for o in rep_offers]
        self.demand = [[0] * len(LEVELS) for _ in self.need_items]
        for j, n_items in enumerate(self.need_items):
            n_items.sort(key=_need_order)
            for need in n_items:
                self.demand[j][need.urgency] += need.quantity
        total = sum(map(sum, self.demand))
        self.supply: list[int] = []
        for o_items in self.offer_items:
            o_items.sort(key=_offer_order)
            finite = sum(o.quantity for o in o_items if not o.inexhaustible)
            self.supply.append(total if o_items[-1].inexhaustible else min(total, finite))


def _nodes(
    items: Iterable[_Item],
) -> tuple[list[tuple[int, AreaId]], list[list[_Item]], list[_Item]]:
    """Aggregate items by (kind, area); kinds and nodes are numbered in order of first
    appearance. Returns each node's key and items, and the first item of each kind."""
    kind: dict[tuple[str, ...], int] = {}
    node: dict[tuple[int, AreaId], int] = {}
    reps: list[_Item] = []
    keys: list[tuple[int, AreaId]] = []
    groups: list[list[_Item]] = []
    for item in items:
        k = kind.setdefault(kind_key(item), len(kind))
        if k == len(reps):
            reps.append(item)
        j = node.setdefault((k, item.area), len(node))
        if j == len(groups):
            keys.append((k, item.area))
            groups.append([])
        groups[j].append(item)
    return keys, groups, reps


def _need_order(need: Need) -> tuple[int, float, bytes]:
    return (need.urgency, _NEVER if need.needed_by is None else need.needed_by, need.id)


def _offer_order(offer: Offer) -> tuple[bool, float, bytes]:
    return (offer.inexhaustible, _NEVER if offer.expires is None else offer.expires, offer.id)


class Distances:
    """``distance`` memoised per pair of areas, checked to be a non-negative int or None."""

    def __init__(self, distance: Distance) -> None:
        self._distance = distance
        self._memo: dict[tuple[AreaId, AreaId], int | None] = {}

    def __call__(self, a: AreaId, b: AreaId) -> int | None:
        key = (a, b)
        try:
            return self._memo[key]
        except KeyError:
            pass
        d = self._distance(a, b)
        if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 0):
            raise ValueError(f"distance({a!r}, {b!r}) must be a non-negative int or None")
        self._memo[key] = d
        return d


class Stock:
    """What is left of the offers of a class's offer nodes, each node's used in order."""

    def __init__(self, c: AidClass, record: Record) -> None:
        self.items = c.offer_items
        self.left = [[ENOUGH if o.inexhaustible else o.quantity for o in x] for x in self.items]
        self.cursor = [0] * len(self.items)
        self.record = record

    def give(self, i: int, need: Need, most: int, distance: int) -> int:
        """Give ``need`` up to ``most`` from the next offer of offer node ``i``, recording it
        at ``distance``; return the quantity given."""
        k = self.cursor[i]
        rest = self.left[i]
        q = min(most, rest[k])
        self.record(need, self.items[i][k], q, distance)
        rest[k] -= q
        if rest[k] == 0:
            self.cursor[i] = k + 1
        return q

    def exhausted(self, i: int) -> bool:
        """Whether every offer of offer node ``i`` has been used up."""
        return self.cursor[i] == len(self.items[i])


def disaggregate(c: AidClass, flows: Flows, met: list[list[int]], record: Record) -> None:
    """Turn node-level flows into need/offer assignments. Within a node every item is
    interchangeable for the objective, so the split only follows the serving orders:
    needs by (level, deadline, id), offers by (finite first, soonest expiry, id)."""
    incoming: list[list[tuple[int, int, int]]] = [[] for _ in c.need_keys]
    for i, j, f, d in flows:
        incoming[j].append((d, i, f))
    stock = Stock(c, record)
    for j, sources in enumerate(incoming):
        if not sources:
            continue
        sources.sort()
        quota = list(met[j])
        wants: list[tuple[Need, int]] = []
        for need in c.need_items[j]:
            take = min(need.quantity, quota[need.urgency])
            if take:
                quota[need.urgency] -= take
                wants.append((need, take))
        w = 0
        need, want = wants[0]
        for d, i, f in sources:
            while f:
                q = stock.give(i, need, min(f, want), d)
                f -= q
                want -= q
                if want == 0:
                    w += 1
                    if w < len(wants):
                        need, want = wants[w]
