"""The flow network of one compatibility class, solved in two stages: the most need met,
most urgent level first (`_most_met`), then the least distance for it (`solve`).

Part of :mod:`shora.domain.aid.matching`; import from there. See ``docs/aid.md`` for the
formulation and the proof.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shora.domain.aid.classes import LEVELS, AidClass, Distances, Flows
from shora.domain.aid.flow import ENOUGH, FlowNetwork

if TYPE_CHECKING:
    from shora.domain.aid.items import AreaMap

__all__ = ["solve"]


def solve(
    c: AidClass, dist: Distances, amap: AreaMap | None, layer_weight: float
) -> tuple[Flows, list[list[int]]]:
    """Solve one class; return the flows (offer node, need node, quantity, distance) and,
    per need node, the quantity met per level.

    Network: s -> offer node (capacity: its quantity) -> ... -> need node -> tier of the
    level (one arc per level with open quantity, capacity: that quantity) -> t. Between
    offers and needs, an offer kind either has an arc from each of its nodes to each
    compatible, reachable need node (cost: the distance), or, when ``amap`` is the distance
    and that is smaller, a copy of the council's map ("layer": one node per area, one arc
    per street and direction, cost: its length), entered at the offer's area and left at
    the need's area. Both give the same costs, because the map's distances are its
    shortest paths and streets have no capacity. An offer kind gets a layer when it has
    fewer arcs, a layer's weighted by ``layer_weight`` (``matching._LAYER_WEIGHT``).

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
            if layer_weight * (layer_size + len(serves[ko])) < len(kinds[ko]) * len(serves[ko])
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
    net = FlowNetwork(node + 2 + len(LEVELS))
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
                    net.arc(base + u, base + v, ENOUGH, w)
            if not direct:
                for j in serves[ko]:
                    area = c.need_keys[j][1]
                    if area in index:
                        net.arc(base + index[area], need_node[j], ENOUGH, 0)
            continue
        for i in kinds[ko]:
            oarea = c.offer_keys[i][1]
            for j in serves[ko]:
                d = dist(oarea, c.need_keys[j][1])
                if d is not None:
                    dense.append((i, j, d, net.arc(offer_node[i], need_node[j], ENOUGH, d)))
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

    met = [[0] * len(LEVELS) for _ in c.need_keys]
    for j, level, a in sink_arcs:
        met[j][level] = net.flow(a)
    pairs: dict[tuple[int, int], int] = {}
    for i, j, _, a in dense:
        f = net.flow(a)
        if f:
            pairs[i, j] = f
    if layered:
        _decompose(net, s, layer_end, source_arcs, need_node, sink_arcs, pairs)
    flows: Flows = []
    for (i, j), f in pairs.items():
        d = dist(c.offer_keys[i][1], c.need_keys[j][1])
        assert d is not None
        flows.append((i, j, f, d))
    return flows, met


def _most_met(
    c: AidClass,
    kinds: dict[int, list[int]],
    serves: dict[int, list[int]],
    layered: list[int],
    amap: AreaMap | None,
    dist: Distances,
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
    tiers = [at((2, level, 0)) for level in range(len(LEVELS))]
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
                    arcs.append((at((3, ko, component[index[area]])), at((4, j, 0)), ENOUGH))
            continue
        for i in kinds[ko]:
            arcs.append((s, at((5, i, 0)), c.supply[i]))
            oarea = c.offer_keys[i][1]
            for j in serves[ko]:
                if dist(oarea, c.need_keys[j][1]) is not None:
                    arcs.append((at((5, i, 0)), at((4, j, 0)), ENOUGH))
    for j, demand in enumerate(c.demand):
        for level, q in enumerate(demand):
            if q:
                arcs.append((at((4, j, 0)), tiers[level], q))
    net = FlowNetwork(len(node))
    for u, v, cap in arcs:
        net.arc(u, v, cap, 0)
    into_t = [net.arc(tier, t, 0, 0) for tier in tiers]
    for a in into_t:
        net.cap[a] = ENOUGH
        net.max_flow(s, t)
    return [net.flow(a) for a in into_t]


def _decompose(
    net: FlowNetwork,
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
