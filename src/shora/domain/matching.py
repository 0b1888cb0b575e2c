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
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

from shora.domain.aid_taxonomy import (
    Category,
    Details,
    Urgency,
    check_details,
    compatible,
    kind_key,
    match_key,
)

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

AreaId = str
Distance = Callable[[AreaId, AreaId], int | None]

_LEVELS: tuple[Urgency, ...] = tuple(sorted(Urgency))
_NEVER = float("inf")


def _check_common(item_id: bytes, quantity: int, area: AreaId) -> None:
    if not isinstance(item_id, bytes) or not item_id:
        raise ValueError("an id is non-empty bytes")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValueError("quantity must be a positive integer")
    if not isinstance(area, str) or not area:
        raise ValueError("an area id is a non-empty string")


@dataclass(frozen=True, slots=True)
class Need:
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


@dataclass(frozen=True, slots=True)
class Offer:
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


_Item = TypeVar("_Item", Need, Offer)


@dataclass(frozen=True, slots=True)
class Assignment:
    """``quantity`` units of ``offer_id`` go to ``need_id``, ``distance`` apart."""

    need_id: bytes
    offer_id: bytes
    quantity: int
    distance: int


@dataclass(frozen=True)
class Proposal:
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


# --------------------------------------------------------------------------- min-cost flow


class _Network:
    """A flow network in arc arrays: arc ``a`` goes ``u -> to[a]``, its residual twin is
    ``a ^ 1``. Costs are integers; capacities are residual."""

    __slots__ = ("adj", "cap", "cost", "to")

    def __init__(self, nodes: int) -> None:
        self.adj: list[list[int]] = [[] for _ in range(nodes)]
        self.to: list[int] = []
        self.cost: list[int] = []
        self.cap: list[int] = []

    def arc(self, u: int, v: int, cap: int, cost: int) -> int:
        a = len(self.to)
        self.to += (v, u)
        self.cost += (cost, -cost)
        self.cap += (cap, 0)
        self.adj[u].append(a)
        self.adj[v].append(a + 1)
        return a

    def flow(self, a: int) -> int:
        return self.cap[a ^ 1]

    def min_cost_max_flow(self, s: int, t: int, potential: list[int]) -> None:
        """Push a maximum flow from s to t at least cost (primal-dual successive shortest
        paths). ``potential`` must make every residual arc's reduced cost non-negative.
        Each round runs Dijkstra on reduced costs until t is reached, raises the potentials
        of the nodes it settled, then saturates the admissible (zero reduced cost) paths
        with blocking flows before the next round: every augmenting path is a shortest
        one, so the flow stays of least cost for its value at every step."""
        adj, to, cost, cap = self.adj, self.to, self.cost, self.cap
        pi = potential
        n = len(adj)
        unreached = 1 << 62
        heappush, heappop = heapq.heappush, heapq.heappop
        while True:
            # Dijkstra with a bucket per label (labels are small integers, often equal).
            dist = [unreached] * n
            dist[s] = 0
            buckets: dict[int, list[int]] = {0: [s]}
            labels = [0]
            settled: list[int] = []
            while labels:
                d = heappop(labels)
                if d >= dist[t]:
                    break
                bucket = buckets.pop(d)
                k = 0
                while k < len(bucket):
                    u = bucket[k]
                    k += 1
                    if dist[u] != d:
                        continue
                    if u == t:
                        break
                    settled.append(u)
                    base = d + pi[u]
                    for a in adj[u]:
                        if cap[a] > 0:
                            v = to[a]
                            nd = base + cost[a] - pi[v]
                            if nd < dist[v]:
                                dist[v] = nd
                                if nd == d:
                                    bucket.append(v)
                                elif nd in buckets:
                                    buckets[nd].append(v)
                                else:
                                    buckets[nd] = [v]
                                    heappush(labels, nd)
            dt = dist[t]
            if dt == unreached:
                return
            for u in settled:
                pi[u] += dist[u] - dt
            self._blocking_flows(s, t, cost, pi, dist, dt)

    def max_flow(self, s: int, t: int) -> None:
        """Push a maximum flow from s to t, whatever the costs (Dinic)."""
        zeros = [0] * len(self.adj)
        self._blocking_flows(s, t, [0] * len(self.cost), zeros, zeros, 0)

    def _blocking_flows(
        self, s: int, t: int, cost: list[int], pi: list[int], dist: list[int], dt: int
    ) -> None:
        """Saturate the admissible arcs (zero reduced cost) between s and t, Dinic-style:
        levels are hop counts to t found by a backward search, so the forward search only
        enters nodes that lead to t. Only nodes with ``dist`` at most ``dt`` are used."""
        adj, to, cap = self.adj, self.to, self.cap
        n = len(adj)
        while True:
            level = [-1] * n
            level[t] = 0
            frontier = [t]
            while frontier and level[s] < 0:
                nxt = []
                for v in frontier:
                    lv = level[v] + 1
                    pv = pi[v]
                    for a in adj[v]:
                        b = a ^ 1
                        if cap[b] > 0:
                            u = to[a]
                            if level[u] < 0 and dist[u] <= dt and cost[b] + pi[u] == pv:
                                level[u] = lv
                                nxt.append(u)
                frontier = nxt
            if level[s] < 0:
                return
            it = [0] * n
            path: list[int] = []
            u = s
            while True:
                if u == t:
                    push = min([cap[a] for a in path])
                    back = len(path)
                    for k, a in enumerate(path):
                        cap[a] -= push
                        cap[a ^ 1] += push
                        if cap[a] == 0 and k < back:
                            back = k
                    del path[back:]
                    u = to[path[-1]] if path else s
                    continue
                arcs = adj[u]
                k = it[u]
                want = level[u] - 1
                pu = pi[u]
                end = len(arcs)
                while k < end:
                    a = arcs[k]
                    if cap[a] > 0:
                        v = to[a]
                        if level[v] == want and cost[a] + pu == pi[v]:
                            break
                    k += 1
                it[u] = k
                if k < end:
                    a = arcs[k]
                    path.append(a)
                    u = to[a]
                    continue
                level[u] = -1
                if not path:
                    break
                a = path.pop()
                u = to[a ^ 1]
                it[u] += 1


# --------------------------------------------------------------------------- classes


_ENOUGH = 1 << 62  # stands for "unbounded" in capacities and remaining quantities


class _Class:
    """The needs and offers of one compatibility class, aggregated by (kind, area).

    Need node ``j``: ``need_keys[j]`` = (need kind, area), ``need_items[j]`` its needs in
    serving order, ``demand[j]`` its open quantity per level. Offer node ``i``:
    ``offer_keys[i]`` = (offer kind, area), ``offer_items[i]`` its offers in using order,
    ``supply[i]`` their total quantity (the class's whole demand if one is inexhaustible).
    ``compatible[offer kind][need kind]`` is `compatible` on representatives.
    """

    def __init__(self, needs: Sequence[Need], offers: Sequence[Offer]) -> None:
        need_kind: dict[tuple[str, ...], int] = {}
        offer_kind: dict[tuple[str, ...], int] = {}
        rep_needs: list[Need] = []
        rep_offers: list[Offer] = []
        need_node: dict[tuple[int, AreaId], int] = {}
        offer_node: dict[tuple[int, AreaId], int] = {}
        self.need_keys: list[tuple[int, AreaId]] = []
        self.need_items: list[list[Need]] = []
        self.offer_keys: list[tuple[int, AreaId]] = []
        self.offer_items: list[list[Offer]] = []
        for need in needs:
            k = need_kind.setdefault(kind_key(need), len(need_kind))
            if k == len(rep_needs):
                rep_needs.append(need)
            j = need_node.setdefault((k, need.area), len(need_node))
            if j == len(self.need_items):
                self.need_keys.append((k, need.area))
                self.need_items.append([])
            self.need_items[j].append(need)
        for offer in offers:
            k = offer_kind.setdefault(kind_key(offer), len(offer_kind))
            if k == len(rep_offers):
                rep_offers.append(offer)
            i = offer_node.setdefault((k, offer.area), len(offer_node))
            if i == len(self.offer_items):
                self.offer_keys.append((k, offer.area))
                self.offer_items.append([])
            self.offer_items[i].append(offer)
        self.compatible = [[compatible(n, o) for n in rep_needs] for o in rep_offers]
        self.demand = [[0] * len(_LEVELS) for _ in self.need_items]
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


def _need_order(need: Need) -> tuple[int, float, bytes]:
    return (need.urgency, _NEVER if need.needed_by is None else need.needed_by, need.id)


def _offer_order(offer: Offer) -> tuple[bool, float, bytes]:
    return (offer.inexhaustible, _NEVER if offer.expires is None else offer.expires, offer.id)


class _Distances:
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


_Flows = list[tuple[int, int, int, int]]

# Choosing, per offer kind, between a layer of the map and direct arcs: the one with fewer
# arcs, a layer's weighted by this. Both are exact; tests set 0.0 (always a layer) or
# infinity (never) to check each against the references.
_LAYER_WEIGHT = 1.0


def _solve(c: _Class, dist: _Distances, amap: AreaMap | None) -> tuple[_Flows, list[list[int]]]:
    """Solve one class; return the flows (offer node, need node, quantity, distance) and,
    per need node, the quantity met per level.

    Network: s -> offer node (capacity: its quantity) -> ... -> need node -> tier of the
    level (one arc per level with open quantity, capacity: that quantity) -> t. Between
    offers and needs, an offer kind either has an arc from each of its nodes to each
    compatible, reachable need node (cost: the distance), or, when ``amap`` is the distance
    and that is smaller, a copy of the council's map ("layer": one node per area, one arc
    per street and direction, cost: its length), entered at the offer's area and left at
    the need's area. Both give the same costs, because the map's distances are its
    shortest paths and streets have no capacity.

    Stage 1 (`_most_met`) finds F_l, the most need met at each level l when every level
    gets as much as it can without taking from those before it. Stage 2 gives each
    tier -> t arc capacity F_l and finds a maximum flow of least cost: it meets exactly
    F_l at every level, travelling least. ``docs/aid.md`` has the proof.
    """
    kinds: dict[int, list[int]] = {}
    for i, (ko, _) in enumerate(c.offer_keys):
        kinds.setdefault(ko, []).append(i)
    serves = {
        ko: [j for j, (kn, _) in enumerate(c.need_keys) if c.compatible[ko][kn]] for ko in kinds
    }
    layered: list[int] = []
    if amap is not None:
        layer_size = amap.arc_count + len(amap.areas)
        layered = [
            ko
            for ko in sorted(kinds)
            if _LAYER_WEIGHT * (layer_size + len(serves[ko])) < len(kinds[ko]) * len(serves[ko])
        ]
    # One offer kind on a layer that serves every need node: the needs leave at the layer.
    direct = len(layered) == len(kinds) == 1 and len(serves[layered[0]]) == len(c.need_keys)
    n_areas = len(amap.areas) if amap is not None else 0
    index = amap.index if amap is not None else {}
    layer_of = {ko: x * n_areas for x, ko in enumerate(layered)}
    node = len(layered) * n_areas
    layer_end = node
    offer_node: list[int] = []
    for ko, _ in c.offer_keys:
        if ko in layer_of:
            offer_node.append(-1)
        else:
            offer_node.append(node)
            node += 1
    need_node: list[int] = []
    for _, area in c.need_keys:
        if direct:
            need_node.append(layer_of[layered[0]] + index[area] if area in index else -1)
        else:
            need_node.append(node)
            node += 1
    s, t, tiers = node, node + 1, node + 2
    net = _Network(node + 2 + len(_LEVELS))
    source_arcs: list[tuple[int, int]] = []
    for i, (ko, area) in enumerate(c.offer_keys):
        if ko in layer_of:
            if area not in index:
                continue
            u = layer_of[ko] + index[area]
        else:
            u = offer_node[i]
        source_arcs.append((i, net.arc(s, u, c.supply[i], 0)))
    dense: list[tuple[int, int, int, int]] = []
    for ko in sorted(kinds):
        if ko in layer_of:
            base = layer_of[ko]
            for u, nbrs in enumerate(amap.adjacency if amap is not None else ()):
                for v, w in nbrs:
                    net.arc(base + u, base + v, _ENOUGH, w)
            if not direct:
                for j in serves[ko]:
                    area = c.need_keys[j][1]
                    if area in index:
                        net.arc(base + index[area], need_node[j], _ENOUGH, 0)
            continue
        for i in kinds[ko]:
            oarea = c.offer_keys[i][1]
            for j in serves[ko]:
                d = dist(oarea, c.need_keys[j][1])
                if d is not None:
                    dense.append((i, j, d, net.arc(offer_node[i], need_node[j], _ENOUGH, d)))
    sink_arcs: list[tuple[int, int, int]] = []
    for j, demand in enumerate(c.demand):
        if need_node[j] >= 0:
            for level, q in enumerate(demand):
                if q:
                    sink_arcs.append((j, level, net.arc(need_node[j], tiers + level, q, 0)))
    # Stage 1: the most need met, level by level.
    met_per_level = _most_met(c, kinds, serves, layered, amap, dist)
    # Stage 2: the least distance with exactly those amounts per level.
    for level, amount in enumerate(met_per_level):
        net.arc(tiers + level, t, amount, 0)
    net.min_cost_max_flow(s, t, [0] * len(net.adj))

    met = [[0] * len(_LEVELS) for _ in c.need_keys]
    for j, level, a in sink_arcs:
        met[j][level] = net.flow(a)
    pairs: dict[tuple[int, int], int] = {}
    for i, j, _, a in dense:
        f = net.flow(a)
        if f:
            pairs[i, j] = f
    if layered:
        _decompose(net, s, layer_end, source_arcs, need_node, sink_arcs, pairs)
    flows: _Flows = []
    for (i, j), f in pairs.items():
        d = dist(c.offer_keys[i][1], c.need_keys[j][1])
        assert d is not None
        flows.append((i, j, f, d))
    return flows, met


def _most_met(
    c: _Class,
    kinds: dict[int, list[int]],
    serves: dict[int, list[int]],
    layered: list[int],
    amap: AreaMap | None,
    dist: _Distances,
) -> list[int]:
    """Stage 1: the quantity met per level when each level in turn gets as much as it can
    without taking from the levels before it.

    Distances do not matter here, only who can reach whom, so each layer shrinks to one
    node per connected part of the map. The tiers' arcs into t are opened one level at a
    time, most urgent first, with a maximum flow pushed after each: an augmenting path
    enters t once and never leaves it, so what a more urgent level got is never taken back,
    and after level l the flow into levels 0..l is the most they can get together.
    """
    arcs: list[tuple[int, int, int]] = []
    # Nodes by key: (0,..) s, (1,..) t, (2, level) tiers, (3, kind, part) a layer's part of
    # the map, (4, j) need node j, (5, i) offer node i of a kind without a layer.
    node: dict[tuple[int, int, int], int] = {}

    def at(key: tuple[int, int, int]) -> int:
        return node.setdefault(key, len(node))

    s, t = at((0, 0, 0)), at((1, 0, 0))
    tiers = [at((2, level, 0)) for level in range(len(_LEVELS))]
    index = amap.index if amap is not None else {}
    component = amap.component if amap is not None else ()
    for ko in sorted(kinds):
        if ko in layered:
            supply: dict[int, int] = {}
            for i in kinds[ko]:
                area = c.offer_keys[i][1]
                if area in index:
                    part = component[index[area]]
                    supply[part] = supply.get(part, 0) + c.supply[i]
            for part, amount in supply.items():
                arcs.append((s, at((3, ko, part)), amount))
            for j in serves[ko]:
                area = c.need_keys[j][1]
                if area in index and component[index[area]] in supply:
                    arcs.append((at((3, ko, component[index[area]])), at((4, j, 0)), _ENOUGH))
            continue
        for i in kinds[ko]:
            arcs.append((s, at((5, i, 0)), c.supply[i]))
            oarea = c.offer_keys[i][1]
            for j in serves[ko]:
                if dist(oarea, c.need_keys[j][1]) is not None:
                    arcs.append((at((5, i, 0)), at((4, j, 0)), _ENOUGH))
    for j, demand in enumerate(c.demand):
        for level, q in enumerate(demand):
            if q:
                arcs.append((at((4, j, 0)), tiers[level], q))
    net = _Network(len(node))
    for u, v, cap in arcs:
        net.arc(u, v, cap, 0)
    into_t = [net.arc(tier, t, 0, 0) for tier in tiers]
    for a in into_t:
        net.cap[a] = _ENOUGH
        net.max_flow(s, t)
    return [net.flow(a) for a in into_t]


def _decompose(
    net: _Network,
    s: int,
    layer_end: int,
    source_arcs: list[tuple[int, int]],
    need_node: list[int],
    sink_arcs: list[tuple[int, int, int]],
    pairs: dict[tuple[int, int], int],
) -> None:
    """Split the flow through the layers into paths offer node -> need node. Every such
    path is a shortest one (else moving its flow to a shorter path would cost less), so
    its length is the distance between the two areas."""
    to, cap, adj = net.to, net.cap, net.adj
    out: list[list[int]] = [[] for _ in range(layer_end)]
    left: dict[int, int] = {}
    for u in range(layer_end):
        for a in adj[u]:
            if not a & 1 and to[a] < s and cap[a ^ 1] > 0:
                out[u].append(a)
                left[a] = cap[a ^ 1]
    absorb: dict[int, list[list[int]]] = {}
    for j, _, a in sink_arcs:
        if need_node[j] < layer_end:
            absorb.setdefault(need_node[j], []).append([j, net.flow(a)])
    need_at = {u: j for j, u in enumerate(need_node) if u >= layer_end}
    ptr = [0] * layer_end
    for i, a0 in source_arcs:
        u0 = to[a0]
        if u0 >= layer_end:
            continue
        x = net.flow(a0)
        while x:
            u = u0
            q = x
            path: list[int] = []
            while True:
                if u >= layer_end:
                    j = need_at[u]
                    break
                sinks = absorb.get(u)
                while sinks and sinks[0][1] == 0:
                    sinks.pop(0)
                if sinks:
                    j = sinks[0][0]
                    q = min(q, sinks[0][1])
                    sinks[0][1] -= q
                    if sinks[0][1] == 0:
                        sinks.pop(0)
                    break
                arcs = out[u]
                k = ptr[u]
                while left[arcs[k]] == 0:
                    k += 1
                ptr[u] = k
                a = arcs[k]
                path.append(a)
                q = min(q, left[a])
                u = to[a]
            for a in path:
                left[a] -= q
            x -= q
            pairs[i, j] = pairs.get((i, j), 0) + q


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
        requested = dict.fromkeys(_LEVELS, 0)
        met_by = dict.fromkeys(_LEVELS, 0)
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


def _disaggregate(
    c: _Class,
    flows: list[tuple[int, int, int, int]],
    met: list[list[int]],
    ledger: _Ledger,
) -> None:
    """Turn node-level flows into need/offer assignments. Within a node every item is
    interchangeable for the objective, so the split only follows the serving orders:
    needs by (level, deadline, id), offers by (finite first, soonest expiry, id)."""
    incoming: list[list[tuple[int, int, int]]] = [[] for _ in c.need_keys]
    for i, j, f, d in flows:
        incoming[j].append((d, i, f))
    left = [
        [o.quantity if not o.inexhaustible else _ENOUGH for o in items] for items in c.offer_items
    ]
    cursor = [0] * len(c.offer_items)
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
            items, rest = c.offer_items[i], left[i]
            while f:
                k = cursor[i]
                q = min(f, want, rest[k])
                ledger.add(need, items[k], q, d)
                f -= q
                want -= q
                rest[k] -= q
                if rest[k] == 0:
                    cursor[i] = k + 1
                if want == 0:
                    w += 1
                    if w < len(wants):
                        need, want = wants[w]


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


def _grouped(
    needs: Sequence[Need], offers: Sequence[Offer]
) -> list[tuple[list[Need], list[Offer]]]:
    groups: dict[tuple[str, ...], tuple[list[Need], list[Offer]]] = {}
    for need in needs:
        groups.setdefault(match_key(need), ([], []))[0].append(need)
    for offer in offers:
        group = groups.get(match_key(offer))
        if group is not None:
            group[1].append(offer)
    return [groups[k] for k in sorted(groups) if groups[k][1]]


def propose(
    needs: Iterable[Need], offers: Iterable[Offer], distance: Distance, now: int
) -> Proposal:
    """The allocation that meets the most need, most urgent level first, then travels least.

    Exact and deterministic: the same needs and offers, in any order, give the same
    proposal. See the module docstring and ``docs/aid.md``.
    """
    live_needs, closed_needs = _split_open(needs, now)
    live_offers, closed_offers = _split_open(offers, now)
    dist = _Distances(distance)
    ledger = _Ledger(live_needs)
    for class_needs, class_offers in _grouped(live_needs, live_offers):
        c = _Class(class_needs, class_offers)
        flows, met = _solve(c, dist, distance if isinstance(distance, AreaMap) else None)
        _disaggregate(c, flows, met, ledger)
    return ledger.proposal(live_needs, closed_needs, closed_offers)


def greedy_fcfs(
    needs: Iterable[Need], offers: Iterable[Offer], distance: Distance, now: int
) -> Proposal:
    """The baseline: needs in order of posting (``created_at``, then id), whatever their
    urgency, each taking what it can from the nearest compatible open offers (nearest area
    first, ties by the smallest offer id there; within an area, soonest expiry first).
    Used to measure what triage-aware matching gains; never used to allocate."""
    live_needs, closed_needs = _split_open(needs, now)
    live_offers, closed_offers = _split_open(offers, now)
    dist = _Distances(distance)
    ledger = _Ledger(live_needs)
    for class_needs, class_offers in _grouped(live_needs, live_offers):
        c = _Class(class_needs, class_offers)
        left = [[_ENOUGH if o.inexhaustible else o.quantity for o in x] for x in c.offer_items]
        cursor = [0] * len(c.offer_items)
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
                items, rest = c.offer_items[i], left[i]
                while want and cursor[i] < len(items):
                    k = cursor[i]
                    q = min(want, rest[k])
                    ledger.add(need, items[k], q, d)
                    want -= q
                    rest[k] -= q
                    if rest[k] == 0:
                        cursor[i] = k + 1
                if not want:
                    break
            while candidates and cursor[candidates[0][2]] == len(c.offer_items[candidates[0][2]]):
                candidates.pop(0)
    return ledger.proposal(live_needs, closed_needs, closed_offers)


def _posted(need: Need) -> tuple[int, bytes]:
    return (need.created_at, need.id)
