"""What the matching engine works on: open needs and offers, and the distances between
a council's areas (`AreaMap`).

Part of :mod:`shora.domain.aid.matching`; import from there. Kept apart so that the
engine's parts (`shora.domain.aid.classes`, `shora.domain.aid.solve`) and its public
API (`shora.domain.aid.matching`) all build on it without importing each other.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable

import msgspec

from shora.domain.aid.taxonomy import Category, Details, Urgency, check_details

__all__ = ["AreaId", "AreaMap", "Distance", "Need", "Offer"]

AreaId = str
Distance = Callable[[AreaId, AreaId], int | None]


def _check_common(item_id: bytes, quantity: int, area: AreaId) -> None:
    if not isinstance(item_id, bytes) or not item_id:
        raise ValueError("an id is non-empty bytes")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValueError("quantity must be a positive integer")
    if not isinstance(area, str) or not area:
        raise ValueError("an area id is a non-empty string")


class Need(msgspec.Struct, frozen=True):
    """An open need, as the projection holds it.

    ``quantity``: what is still needed, in the category's unit (> 0).
    ``created_at``: when it was posted (used only by `greedy_fcfs` and never by `propose`).
    ``needed_by``: the deadline the person gave; among needs of one triage level in one
    area, earlier deadlines are served first.
    ``expires``: from this time on the need is closed and never matched.
    """

    id: bytes
    category: Category
    quantity: int
    urgency: Urgency
    area: AreaId
    created_at: int
    details: Details = None
    needed_by: int | None = None
    expires: int | None = None

    def __post_init__(self) -> None:
        _check_common(self.id, self.quantity, self.area)
        check_details(self.category, self.details)
        if not isinstance(self.urgency, Urgency):
            raise ValueError("urgency must be an Urgency")

    def is_open(self, now: int) -> bool:
        """Whether the need may be matched at ``now``."""
        return self.expires is None or now < self.expires


class Offer(msgspec.Struct, frozen=True):
    """An open offer.

    ``quantity``: what is still on offer (> 0); ignored when ``inexhaustible`` (a well, a
    volunteer lawyer's open door), which can serve any amount.
    ``available_from`` / ``expires``: the offer may be matched from the first (inclusive)
    until the second (exclusive).
    ``recurring``: the offer comes back each period (a weekly bread run); a proposal
    uses the current period's ``quantity``, and the caller keeps the offer open after it.
    """

    id: bytes
    category: Category
    quantity: int
    area: AreaId
    created_at: int
    details: Details = None
    available_from: int | None = None
    expires: int | None = None
    recurring: bool = False
    inexhaustible: bool = False

    def __post_init__(self) -> None:
        _check_common(self.id, self.quantity, self.area)
        check_details(self.category, self.details)

    def is_open(self, now: int) -> bool:
        """Whether the offer may be matched at ``now``."""
        if self.available_from is not None and now < self.available_from:
            return False
        return self.expires is None or now < self.expires


class AreaMap:
    """Distances between a council's areas, from its list of neighbouring areas.

    ``edges``: (area, area, length) with length a positive integer (1 for hop counts,
    minutes' walk, …); edges are two-way. ``AreaMap(...)(a, b)`` is the length of a
    shortest path, 0 from an area to itself, ``None`` if there is none (or an area is
    unknown). All pairs are computed once, on construction.
    """

    def __init__(self, areas: Iterable[AreaId], edges: Iterable[tuple[AreaId, AreaId, int]]):
        names = sorted(set(areas))
        index = {a: i for i, a in enumerate(names)}
        adjacency: list[dict[int, int]] = [{} for _ in names]
        for a, b, length in edges:
            if isinstance(length, bool) or not isinstance(length, int) or length <= 0:
                raise ValueError("an edge length is a positive integer")
            if a not in index or b not in index:
                raise ValueError("an edge names an unknown area")
            i, j = index[a], index[b]
            if i != j:
                best = min(length, adjacency[i].get(j, length))
                adjacency[i][j] = adjacency[j][i] = best
        self.areas: tuple[AreaId, ...] = tuple(names)
        """The areas, sorted."""
        self.index: dict[AreaId, int] = index
        """Position of each area in ``areas``."""
        self.adjacency: tuple[tuple[tuple[int, int], ...], ...] = tuple(
            tuple(sorted(adj.items())) for adj in adjacency
        )
        """For each area (by position), its neighbours as (position, length)."""
        self.arc_count = sum(map(len, adjacency))
        """Number of (area, neighbour) pairs: twice the number of streets."""
        self._rows: list[dict[AreaId, int]] = []
        component: list[int] = []
        for source in range(len(names)):
            dist = {source: 0}
            heap = [(0, source)]
            while heap:
                d, u = heapq.heappop(heap)
                if d > dist[u]:
                    continue
                for v, w in adjacency[u].items():
                    if d + w < dist.get(v, d + w + 1):
                        dist[v] = d + w
                        heapq.heappush(heap, (d + w, v))
            self._rows.append({names[v]: d for v, d in dist.items()})
            component.append(min(dist))
        self.component: tuple[int, ...] = tuple(component)
        """For each area (by position), the first area (by position) it is connected to."""

    def __call__(self, a: AreaId, b: AreaId) -> int | None:
        i = self.index.get(a)
        return None if i is None else self._rows[i].get(b)
