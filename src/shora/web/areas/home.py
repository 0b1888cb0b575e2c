"""The council home page's first sections: active alerts, then open decisions, then
urgent needs (each a few lines with a link to its page). councils.HOME_SECTIONS
lists them in that order."""

from __future__ import annotations

from typing import Any

from shora.domain import aid
from shora.domain import aid_safety as safe
from shora.domain import decisions as dec
from shora.domain.decisions_reduce import phase
from shora.node import CouncilInfo, Node
from shora.web.areas.kit import label, names, now

ON_HOME = 5
URGENT = ("immediate", "urgent")


def alerts(node: Node, info: CouncilInfo) -> dict[str, Any]:
    at = now(node)
    active = safe.alerts(node, info.id, at)[:ON_HOME]
    known = aid.areas(node, info.id)
    return {
        "alerts": [(a, True) for a in active],
        "areas": dict(known.areas) if known else {},
        "people": names(node, info.id),
        "label": label,
    }


def decisions(node: Node, info: CouncilInfo) -> dict[str, Any]:
    at = now(node)
    found = [p for p in dec.proposals(node, info.id, 20, 0) if not p.final]
    return {
        "proposals": [(p, phase(p, at)) for p in found[:ON_HOME]],
        "label": label,
    }


def needs(node: Node, info: CouncilInfo) -> dict[str, Any]:
    found = [
        n
        for n in aid.open_needs(node, info.id, now(node))
        if getattr(n.body, "urgency", None) in URGENT
    ]
    known = aid.areas(node, info.id)
    return {
        "needs": found[:ON_HOME],
        "more": len(found) > ON_HOME,
        "areas": dict(known.areas) if known else {},
        "label": label,
    }
