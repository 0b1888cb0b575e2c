"""The matching engine of the mutual-aid layer: which offers should serve which needs.

Pure: no I/O, no clock (``now`` is passed in), no database. `propose` finds, over all
open needs and offers, an allocation that

1. meets as much ``IMMEDIATE`` need as can be met at all, then as much ``URGENT`` need as
   can be met without meeting less ``IMMEDIATE`` need, then ``SOON``, then ``ROUTINE``
   (lexicographic by triage level, never first come, first served);
2. among those allocations, has the least total distance (sum of quantity × distance);

exactly, as a min-cost flow (see ``docs/aid.md`` for the formulation and the proof).
`greedy_fcfs` is the baseline a spreadsheet would give: needs in order of posting, each
taking from the nearest compatible offers.

Areas are ids a council defines (blocks, streets, neighbourhoods), never addresses or
coordinates; ``distance(a, b)`` is whatever the council's map says (hops, minutes' walk),
``None`` when b cannot be reached from a. `AreaMap` builds such a function from the
council's list of neighbouring areas.

This module holds the public API; the engine's parts live beside it:
`shora.domain.aid.items` (needs, offers and the map's distances),
`shora.domain.aid.classes` (grouping by compatibility class into nodes, and back into
assignments), `shora.domain.aid.solve` (one class's flow network and its two stages) and
`shora.domain.aid.flow` (max-flow and min-cost-flow on arc arrays).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TypeVar

import msgspec

from shora.domain.aid.classes import LEVELS, AidClass, Distances, Stock, disaggregate, grouped
from shora.domain.aid.items import AreaId, AreaMap, Distance, Need, Offer
from shora.domain.aid.solve import solve
from shora.domain.aid.taxonomy import Urgency

__all__ = [
    "AreaId",
    "AreaMap",
    "Assignment",
    "Distance",
    "Need",
    "Offer",
    "Proposal",
    "greedy_fcfs",
    "propose",
]

_Item = TypeVar("_Item", Need, Offer)


class Assignment(msgspec.Struct, frozen=True):
    """``quantity`` units of ``offer_id`` go to ``need_id``, ``distance`` apart."""

    need_id: bytes
    offer_id: bytes
    quantity: int
    distance: int


class Proposal(msgspec.Struct, frozen=True):
    """A proposed allocation.

    ``assignments`` is sorted by (need id, offer id) and has one entry per pair.
    ``met`` maps every open need's id to the quantity the proposal meets (0 if none);
    ``supplied`` maps each offer the proposal uses to the quantity it gives.
    ``requested`` / ``met_by_urgency``: open quantity and met quantity per triage level.
    ``total_distance``: sum of quantity × distance over the assignments.
    ``closed_needs`` / ``closed_offers``: ids left out because they were not open at
    ``now`` (expired, or not yet available), sorted.
    """

    assignments: tuple[Assignment, ...]
    met: Mapping[bytes, int]
    supplied: Mapping[bytes, int]
    requested: Mapping[Urgency, int]
    met_by_urgency: Mapping[Urgency, int]
    total_distance: int
    closed_needs: tuple[bytes, ...]
    closed_offers: tuple[bytes, ...]

    def met_share(self, levels: Iterable[Urgency] = (Urgency.IMMEDIATE, Urgency.URGENT)) -> float:
        """Share of the open quantity at ``levels`` that the proposal meets (1.0 if none)."""
        wanted = [*levels]
        asked = sum(self.requested[u] for u in wanted)
        return 1.0 if asked == 0 else sum(self.met_by_urgency[u] for u in wanted) / asked


# Choosing, per offer kind, between a layer of the map and direct arcs: the one with fewer
# arcs, a layer's weighted by this. Both are exact; tests set 0.0 (always a layer) or
# infinity (never) to check each against the references.
_LAYER_WEIGHT = 1.0


class _Ledger:
    """Collects assignments and met quantities, pair by pair."""

    def __init__(self, needs: Sequence[Need]) -> None:
        self.pairs: dict[tuple[bytes, bytes], list[int]] = {}
        self.met: dict[bytes, int] = {need.id: 0 for need in needs}
        self.supplied: dict[bytes, int] = {}

    def add(self, need: Need, offer: Offer, quantity: int, distance: int) -> None:
        entry = self.pairs.setdefault((need.id, offer.id), [0, distance])
        entry[0] += quantity
        self.met[need.id] += quantity
        self.supplied[offer.id] = self.supplied.get(offer.id, 0) + quantity

    def proposal(
        self,
        needs: Sequence[Need],
        closed_needs: Sequence[Need],
        closed_offers: Sequence[Offer],
    ) -> Proposal:
        requested = dict.fromkeys(LEVELS, 0)
        met_by = dict.fromkeys(LEVELS, 0)
        for need in needs:
            requested[need.urgency] += need.quantity
            met_by[need.urgency] += self.met[need.id]
        assignments = tuple(
            Assignment(nid, oid, q, d) for (nid, oid), (q, d) in sorted(self.pairs.items())
        )
        return Proposal(
            assignments=assignments,
            met=MappingProxyType(self.met),
            requested=MappingProxyType(requested),
            met_by_urgency=MappingProxyType(met_by),
            total_distance=sum(a.quantity * a.distance for a in assignments),
            closed_needs=tuple(sorted(x.id for x in closed_needs)),
            closed_offers=tuple(sorted(x.id for x in closed_offers)),
            supplied=MappingProxyType(dict(sorted(self.supplied.items()))),
        )


def _split_open(items: Iterable[_Item], now: int) -> tuple[list[_Item], list[_Item]]:
    live: list[_Item] = []
    closed: list[_Item] = []
    seen: set[bytes] = set()
    for item in items:
        if item.id in seen:
            raise ValueError(f"duplicate id {item.id.hex()}")
        seen.add(item.id)
        (live if item.is_open(now) else closed).append(item)
    live.sort(key=_by_id)
    return live, closed


def _by_id(item: Need | Offer) -> bytes:
    return item.id


def _allocate(
    needs: Iterable[Need],
    offers: Iterable[Offer],
    distance: Distance,
    now: int,
    serve: Callable[[AidClass, list[Need], Distances, _Ledger], None],
) -> Proposal:
    """What `propose` and `greedy_fcfs` share: set closed needs and offers aside, then let
    ``serve`` allocate within each compatibility class, in order, into one ledger."""
    live_needs, closed_needs = _split_open(needs, now)
    live_offers, closed_offers = _split_open(offers, now)
    dist = Distances(distance)
    ledger = _Ledger(live_needs)
    for class_needs, class_offers in grouped(live_needs, live_offers):
        serve(AidClass(class_needs, class_offers), class_needs, dist, ledger)
    return ledger.proposal(live_needs, closed_needs, closed_offers)


def propose(
    needs: Iterable[Need], offers: Iterable[Offer], distance: Distance, now: int
) -> Proposal:
    """The allocation that meets the most need, most urgent level first, then travels least.

    Exact and deterministic: the same needs and offers, in any order, give the same
    proposal. See the module docstring and ``docs/aid.md``.
    """
    amap = distance if isinstance(distance, AreaMap) else None

    def serve(c: AidClass, _: list[Need], dist: Distances, ledger: _Ledger) -> None:
        flows, met = solve(c, dist, amap, _LAYER_WEIGHT)
        disaggregate(c, flows, met, ledger.add)

    return _allocate(needs, offers, distance, now, serve)


def greedy_fcfs(
    needs: Iterable[Need], offers: Iterable[Offer], distance: Distance, now: int
) -> Proposal:
    """The baseline: needs in order of posting (``created_at``, then id), whatever their
    urgency, each taking what it can from the nearest compatible open offers (nearest area
    first, ties by the smallest offer id there; within an area, soonest expiry first).
    Used to measure what triage-aware matching gains; never used to allocate."""
    return _allocate(needs, offers, distance, now, _greedy_class)


def _greedy_class(c: AidClass, class_needs: list[Need], dist: Distances, ledger: _Ledger) -> None:
    """`greedy_fcfs` within one class: each need, in order of posting, takes from the
    offer nodes it can reach, nearest first, until it is met or they are used up."""
    stock = Stock(c, ledger.add)
    node_of = {need.id: j for j, items in enumerate(c.need_items) for need in items}
    nearest: dict[int, list[tuple[int, bytes, int]]] = {}
    for need in sorted(class_needs, key=_posted):
        j = node_of[need.id]
        candidates = nearest.get(j)
        if candidates is None:
            kn, narea = c.need_keys[j]
            candidates = []
            for i, (ko, oarea) in enumerate(c.offer_keys):
                if c.compatible[ko][kn]:
                    d = dist(oarea, narea)
                    if d is not None:
                        candidates.append((d, min(o.id for o in c.offer_items[i]), i))
            candidates.sort()
            nearest[j] = candidates
        want = need.quantity
        for d, _, i in candidates:
            while want and not stock.exhausted(i):
                want -= stock.give(i, need, want, d)
            if not want:
                break
        while candidates and stock.exhausted(candidates[0][2]):
            candidates.pop(0)


def _posted(need: Need) -> tuple[int, bytes]:
    return (need.created_at, need.id)
