"""A council with a strike fund for the fund's tests: Azadeh the treasurer, Bahram the
auditor, Cyrus a member, elected as the rules say, on one clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import Clock, admit, everyone, make_node, send
from shora.domain.decisions import kinds as dk
from shora.kernel import kinds
from shora.node import Node

TOMAN_LIMIT = 5_000_000


def key_of(node: Node, council: bytes, name: str) -> bytes:
    return next(m.key for m in node.councils.members(council) if m.name == name)


def elect(nodes: list[Node], council: bytes, clock: Clock, role: str, *names: str) -> None:
    """Elect `names` to `role` (its holders from then on): everyone votes for them, then
    the vote is closed."""
    keys = [key_of(nodes[0], council, name) for name in names]
    pid = nodes[0].governance.elect(council, role, keys, seats=len(keys))
    everyone(nodes)
    for node in nodes:
        node.decisions.vote(council, pid, dk.RankedBallot([k.hex() for k in keys]))
    everyone(nodes)
    clock.t = max(clock.t, nodes[0].decisions.proposal(council, pid).closes_at)
    nodes[0].decisions.close(council, pid)
    everyone(nodes)


def pass_vote(nodes: list[Node], council: bytes, clock: Clock, pid: bytes) -> None:
    everyone(nodes)
    for node in nodes:
        node.decisions.vote(council, pid, dk.YesNoBallot("yes"))
    everyone(nodes)
    clock.t = max(clock.t, nodes[0].decisions.proposal(council, pid).closes_at)
    nodes[0].decisions.close(council, pid)
    everyone(nodes)


def fund_rules() -> kinds.Rules:
    return kinds.Rules(
        treasurer_limits=[kinds.TreasurerLimit("toman", TOMAN_LIMIT, 30)],
    )


@contextmanager
def fund_council(root: Path) -> Iterator[tuple[list[Node], bytes, Clock]]:
    clock = Clock()
    a, b, c = (make_node(root, n) for n in ("a", "b", "c"))
    for node in (a, b, c):
        node.now = clock
    council = a.councils.create("Factory council", "", "Azadeh", fund_rules())
    admit(a, b, council, "Bahram")
    admit(a, c, council, "Cyrus")
    for node in (b, c):
        send(a, node)
    nodes = [a, b, c]
    try:
        elect(nodes, council, clock, "treasurer", "Azadeh")
        elect(nodes, council, clock, "auditor", "Bahram")
        yield nodes, council, clock
    finally:
        for node in nodes:
            node.close()
