"""Self-government on a node: the rules, roles and their terms, elections, recall
petitions and votes, and ratifying emergency actions. See docs/decisions.md §6.

The proposals these open are voted on and closed like any other (`decisions.vote`,
`decisions.close`); the kernel enacts them when a close counts them as passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from shora.domain.decisions import kinds as dk
from shora.domain.decisions.state import min_vote_seconds
from shora.domain.governance import kinds as gk
from shora.domain.governance.limits import emergency_problem
from shora.domain.governance.rules import (
    RON,
    action_problem,
    elected_terms,
    petition_needed,
    rules_problem,
)
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _, join_names, ngettext, number
from shora.kernel import kinds
from shora.kernel.core import NodeCore
from shora.kernel.membership import FOREVER, CouncilState
from shora.services.decisions import _require_member, require_min_period
from shora.ui.labels import ROLE_NAMES

if TYPE_CHECKING:
    from shora.node import Node

HOUR = 3600


@dataclass(frozen=True, slots=True)
class RoleTerm:
    role: str
    member: bytes
    name: str
    start: int  # ms
    end: int | None  # ms; None = no end
    current: bool
    source: bytes


@dataclass(frozen=True, slots=True)
class EmergencyView:
    action: bytes
    member: bytes
    name: str
    actor: bytes
    deadline: int  # ms
    status: str  # pending, ratified, lapsed, rejected


def _state(node: Node, council: bytes) -> CouncilState:
    return node.ingestor.projection.final_state(council)


def _now_ms(node: Node) -> int:
    return int(node.now() * 1000)


def rules(node: Node, council: bytes) -> kinds.Rules:
    return _state(node, council).rules


def roles(node: Node, council: bytes, *, include_past: bool = False) -> list[RoleTerm]:
    """Who holds which role now (and, asked, who held it before), by role then start."""
    state, now = _state(node, council), _now_ms(node)
    found = []
    for role, terms in sorted(state.terms.items()):
        for t in sorted(terms, key=lambda t: (t.start, t.member)):
            current = t.holds_at(now) and state.is_active(t.member)
            if current or include_past:
                member = state.members.get(t.member)
                found.append(
                    RoleTerm(
                        role,
                        t.member,
                        member.name if member else "?",
                        t.start,
                        None if t.end >= FOREVER else t.end,
                        current,
                        t.source,
                    )
                )
    return found


def emergencies(node: Node, council: bytes) -> list[EmergencyView]:
    state = _state(node, council)
    return [
        EmergencyView(a, e.member, state.members[e.member].name, e.actor, e.deadline, e.status)
        for a, e in sorted(state.emergencies.items(), key=lambda item: item[1].deadline)
    ]


def _deadline(node: Node, hours: int, deadline: int | None) -> int:
    return deadline if deadline is not None else int(node.now()) + hours * HOUR


def _open(node: Node, council: bytes, action: gk.Action, body: dk.Propose) -> bytes:
    state = _state(node, council)
    problem = action_problem(action, body, state, _now_ms(node))
    if problem is not None:
        raise InvalidInput(_("this proposal cannot be put: {problem}").format(problem=problem))
    if body.deadline <= node.now():
        raise InvalidInput(_("the deadline must be in the future"))
    require_min_period(body, state.rules, gk.purpose(action), node.now())
    return node.append(council, "gov.propose", gk.GovPropose(body, action))


def _yes_no(title: str, text: str, deadline: int, grace_hours: int) -> dk.Propose:
    return dk.Propose(
        title=title, text=text, method="yes_no", deadline=deadline, grace=grace_hours * HOUR
    )


def change_rules(
    node: Node,
    council: bytes,
    changes: dict[str, Any],
    *,
    text: str = "",
    hours: int = 72,
    deadline: int | None = None,
) -> bytes:
    """Propose new rules: the current ones with `changes`; they apply if the vote passes
    under the threshold the current rules set for rule changes."""
    _require_member(node, council)
    current = rules(node, council)
    unknown = sorted(set(changes) - set(kinds.Rules.__struct_fields__))
    if unknown:
        raise InvalidInput(
            _("{names} is not a rule; the rules are: {rules}").format(
                names=", ".join(unknown), rules=", ".join(kinds.Rules.__struct_fields__)
            )
        )
    merged = {**msgspec.structs.asdict(current), **changes}
    try:
        new = msgspec.convert(merged, kinds.Rules)
    except msgspec.ValidationError as exc:
        raise InvalidInput(_("these rules are not valid: {problem}").format(problem=exc)) from exc
    if new == current:
        raise InvalidInput(_("these are the rules already"))
    if rules_problem(new, current) is not None:
        raise InvalidInput(
            _(
                "emergency_ratify_hours must be at least min_governance_vote_hours "
                "({hours}): a ratification vote stays open that long"
            ).format(hours=new.min_governance_vote_hours)
        )
    described = ", ".join(f"{k} = {v}" for k, v in sorted(changes.items()))
    title = _("Change the rules: {changes}").format(changes=described)[:200]
    body = _yes_no(title, text or title, _deadline(node, hours, deadline), current.grace_hours)
    return _open(node, council, gk.RuleChange(new), body)


def elect(
    node: Node,
    council: bytes,
    role: str,
    candidates: list[bytes],
    *,
    seats: int = 1,
    method: str | None = None,
    term_days: int | None = None,
    hours: int = 72,
    deadline: int | None = None,
    text: str = "",
) -> bytes:
    """Open an election to a role: IRV for one seat, Scottish STV for several, or
    Schulze; the winners' terms start when the vote is closed."""
    _require_member(node, council)
    state = _state(node, council)
    if not candidates:
        raise InvalidInput(_("an election needs at least one candidate"))
    if len(set(candidates)) != len(candidates):
        raise InvalidInput(_("a candidate is named twice"))
    for key in candidates:
        if not state.is_active(key):
            raise NotFound(_("a candidate is not an active member"))
        limit = state.rules.term_limit
        if limit and elected_terms(state, role, key) >= limit:
            raise NotAllowed(
                _("{name} has served {n} terms as {role}, the most the rules allow").format(
                    name=state.members[key].name, n=limit, role=role
                )
            )
    method = method or ("stv" if seats > 1 else "irv")
    if method not in ("irv", "stv", "schulze"):
        raise InvalidInput(_("an election is counted by irv, stv or schulze"))
    if seats > len(candidates) or (seats > 1 and method != "stv"):
        raise InvalidInput(_("several seats need stv and at least as many candidates"))
    names = join_names(state.members[k].name for k in candidates)
    # Written in the proposer's language: the role in words, the seats counted by Babel.
    title = ngettext(
        "Election: {role} ({seats} seat)", "Election: {role} ({seats} seats)", seats
    ).format(role=_(ROLE_NAMES.get(role, role)), seats=number(seats))
    body = dk.Propose(
        title=title[:200],
        text=text or _("Candidates: {names}").format(names=names),
        method=method,  # type: ignore[arg-type]
        # One candidate stands against "re-open nominations", so that they can lose.
        options=[k.hex() for k in candidates] + ([RON] if len(candidates) == 1 else []),
        seats=seats,
        deadline=_deadline(node, hours, deadline),
        grace=state.rules.grace_hours * HOUR,
    )
    term = term_days if term_days is not None else state.rules.term_days
    return _open(node, council, gk.Election(role, term), body)


def petition(node: Node, council: bytes, role: str, member: bytes, reason: str = "") -> int:
    """Support recalling `member` from `role`; returns how many more supporters the
    petition needs before a recall vote can open (0: it can open now)."""
    me = _require_member(node, council)
    state = _state(node, council)
    if member not in state.role_holders(role, _now_ms(node)):
        raise NotFound(_("that member does not hold that role"))
    supporters = state.petitions.get((role, member), frozenset())
    if me not in supporters:
        node.append(council, "role.petition", gk.Petition(role, member, reason))
        supporters = _state(node, council).petitions.get((role, member), frozenset())
    return max(0, petition_needed(state, state.rules.recall_petition) - len(supporters))


def recall(
    node: Node, council: bytes, role: str, member: bytes, *, hours: int = 72, text: str = ""
) -> bytes:
    """Open the recall vote a petition has earned; a passed recall ends the term at once."""
    _require_member(node, council)
    state = _state(node, council)
    if member not in state.role_holders(role, _now_ms(node)):
        raise NotFound(_("that member does not hold that role"))
    needed = petition_needed(state, state.rules.recall_petition)
    have = len(state.petitions.get((role, member), frozenset()))
    if have < needed:
        raise NotAllowed(
            _("the recall petition has {have} of the {needed} supporters the rules ask").format(
                have=have, needed=needed
            )
        )
    name = state.members[member].name
    title = _("Recall {name} as {role}").format(name=name, role=role)[:200]
    body = _yes_no(title, text or title, _deadline(node, hours, None), state.rules.grace_hours)
    return _open(node, council, gk.Recall(role, member), body)


def emergency_id(node: Node, council: bytes, ref: str) -> bytes:
    ref = ref.strip().lower()
    found = [a for a in _state(node, council).emergencies if a.hex().startswith(ref)]
    if len(ref) < 6 or len(found) != 1:
        raise NotFound(_("no single emergency action here has an id starting {id}").format(id=ref))
    return found[0]


def ratify(node: Node, council: bytes, action: bytes, *, hours: int | None = None) -> bytes:
    """Put an emergency action to the council: ratified, it stands; rejected or not
    ratified in time, it is undone."""
    _require_member(node, council)
    state = _state(node, council)
    emergency = state.emergencies.get(action)
    if emergency is None or emergency.status != "pending":
        raise NotFound(_("there is no pending emergency action with that id"))
    left_s = (emergency.deadline // 1000) - int(node.now()) - state.rules.grace_hours * HOUR
    if left_s < min_vote_seconds(state.rules, "ratify"):
        raise NotAllowed(_("too late to ratify: the time the rules give has run out"))
    deadline = int(node.now()) + (hours * HOUR if hours else left_s)
    name = state.members[emergency.member].name
    title = _("Ratify the emergency removal of {name}").format(name=name)[:200]
    return _open(node, council, gk.Ratify(action), _yes_no(title, title, deadline, 0))


def check_emergency_removal(node: Node, council: bytes) -> None:
    """Refuse an emergency removal the council's limits would not authorise."""
    state = _state(node, council)
    if emergency_problem(state, state.rules) is not None:
        raise NotAllowed(
            _(
                "emergency powers are at their limit: at most {n} emergency removals may "
                "wait for ratification at once, and never half of the members; ask the "
                "council to ratify those waiting, or vouch for an ordinary removal"
            ).format(n=state.rules.max_pending_emergencies)
        )


def record_lapses(node: Node, council: bytes) -> int:
    """Record every emergency action whose time to be ratified has run out; each undoes
    its removal. Any member's node does this; two at once are harmless."""
    state = _state(node, council)
    me = node.store.one("SELECT sign_pk FROM identities WHERE council=?", (council,))
    if me is None or not state.is_active(bytes(me)):
        return 0
    done = 0
    for action, emergency in sorted(state.emergencies.items()):
        if emergency.status == "pending" and _now_ms(node) >= emergency.deadline:
            node.append(council, "emergency.lapse", kinds.Lapse(action))
            done += 1
    return done


class Governance:
    """Rules, roles, elections, recalls and emergency actions."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core
