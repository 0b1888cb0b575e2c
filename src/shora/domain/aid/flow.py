"""Flow networks in arc arrays: maximum flow (Dinic) and min-cost maximum flow
(primal-dual successive shortest paths with blocking flows).

Part of :mod:`shora.domain.aid.matching`; import from there. Knows nothing of needs and
offers: `shora.domain.aid.solve` builds the networks, this module pushes the flow.
"""

from __future__ import annotations

import heapq

__all__ = ["ENOUGH", "FlowNetwork"]

ENOUGH = 1 << 62  # stands for "unbounded" in capacities and remaining quantities


class FlowNetwork:
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
