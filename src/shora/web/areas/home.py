"""The council home page's first sections: calls for help and an open roll call at the
very top (help_box), then active alerts, open decisions and urgent needs (each a few
lines with a link to its page). councils.HOME_SECTIONS lists the sections in order."""

from __future__ import annotations

from typing import Any

from shora.node import CouncilInfo, Node
from shora.services.decisions import phase
from shora.services.safety import HelpCall
from shora.web.areas.kit import label, me, names, now

ON_HOME = 5
URGENT = ("immediate", "urgent")
# The "I need..." buttons: the taxonomy's categories people ask for most in the first
# hours; every other category is one more tap away, on the need's form.
QUICK_NEEDS = ("water", "food", "medicine", "shelter", "transport", "medical_care")


def helpers(call: HelpCall, people: dict[bytes, str]) -> str:
    return " · ".join(people.get(r, r.hex()[:12]) for r in call.responders)


def help_box(node: Node, info: CouncilInfo) -> dict[str, Any]:
    """What goes above everything: others' calls for help nobody has answered yet (the
    viewer's area first, or all of them first for a coordinator), the viewer's own call
    and who is on the way, and the open roll call."""
    at = now(node)
    mine = me(node, info.id)
    calls = node.safety.help_calls(info.id)
    coordinator = mine is not None and mine in node.care.coordinators(info.id, at)
    here = node.safety.last_area(info.id, mine) if mine is not None else None

    def near(call: HelpCall) -> bool:
        return coordinator or (here is not None and call.area == here)

    waiting = [c for c in calls if not c.answered and c.member != mine]
    waiting.sort(key=lambda c: (not near(c), c.status != "injured", -c.time))
    call = node.safety.open_rollcall(info.id, at)
    own = next((c for c in calls if c.member == mine), None)
    people = names(node, info.id)
    return {
        "calls": [(c, here is not None and c.area == here) for c in waiting],
        "own": own,
        "helpers": helpers(own, people) if own else "",
        "rollcall": call,
        "answered_rollcall": call is not None and mine in {m for m, _s in call.answered},
        "areas": dict(known.areas) if (known := node.aid.areas(info.id)) else {},
        "people": people,
        "label": label,
    }


def alerts(node: Node, info: CouncilInfo) -> dict[str, Any]:
    at = now(node)
    active = node.safety.alerts(info.id, at)[:ON_HOME]
    known = node.aid.areas(info.id)
    mine = me(node, info.id)
    people = names(node, info.id)
    answered = [c for c in node.safety.help_calls(info.id) if c.answered and c.member != mine]
    return {
        "on_the_way": [(c, helpers(c, people)) for c in answered],
        "alerts": [(a, True) for a in active],
        "areas": dict(known.areas) if known else {},
        "people": people,
        "label": label,
    }


def decisions(node: Node, info: CouncilInfo) -> dict[str, Any]:
    """The open proposals; a simple yes/no/abstain one the viewer may vote on has its
    three ballot buttons here (other methods, amendments and actions keep their page)."""
    at = now(node)
    mine = me(node, info.id)
    found = [p for p in node.decisions.proposals(info.id, 20, 0) if not p.final]
    shown = []
    for p in found[:ON_HOME]:
        ph = phase(p, at)
        counted = p.ballot_of(mine) if mine is not None else None
        simple = (
            p.body.method == "yes_no"
            and p.body.amendment is None
            and p.action is None
            and ph == "open"
            and at <= p.body.deadline
            and mine in p.eligible
        )
        vote = getattr(counted.ballot, "vote", None) if counted is not None else None
        shown.append((p, ph, simple, vote))
    return {"proposals": shown, "label": label}


def needs(node: Node, info: CouncilInfo) -> dict[str, Any]:
    found = [
        n
        for n in node.aid.open_needs(info.id, now(node))
        if getattr(n.body, "urgency", None) in URGENT
    ]
    known = node.aid.areas(info.id)
    return {
        "needs": found[:ON_HOME],
        "more": len(found) > ON_HOME,
        "areas": dict(known.areas) if known else {},
        "label": label,
    }


def ask(node: Node, info: CouncilInfo) -> dict[str, Any]:
    """The viewer's own needs with what answers each (who gives, how much is on its way),
    and the "I need..." buttons, one per common category."""
    at = now(node)
    known = node.aid.areas(info.id)
    people = names(node, info.id)
    mine = [
        (n, [(a, people.get(a.giver, a.giver.hex()[:12])) for a in answers])
        for n, answers in node.aid.my_needs(info.id, at)[:ON_HOME]
    ]
    return {
        "mine": mine,
        "quick": QUICK_NEEDS,
        "areas": dict(known.areas) if known else {},
        "label": label,
    }
