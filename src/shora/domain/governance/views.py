"""Self-government as people read and write it: who holds which role, the emergency
actions, the words for the roles, and the checks on a proposed rule change or an
emergency removal. Pure: the council's state and `now` are passed in. See
docs/decisions.md §6."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from shora.domain.decisions import kinds as dk
from shora.domain.governance.limits import emergency_problem
from shora.domain.governance.rules import rules_problem
from shora.errors import InvalidInput, NotAllowed
from shora.i18n import N_, _
from shora.kernel import kinds
from shora.kernel.membership import FOREVER, CouncilState

HOUR = 3600

# The roles a council names in words; any other role is shown as it is written.
ROLE_NAMES = {
    "coordinator": N_("coordinator"),
    "treasurer": N_("treasurer"),
    "auditor": N_("auditor"),
    "safety": N_("safety contact"),
    "delegate": N_("delegate"),
}


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


def role_terms(state: CouncilState, now_ms: int, *, include_past: bool = False) -> list[RoleTerm]:
    """Who holds which role at now_ms (and, asked, who held it before), by role then
    start."""
    found = []
    for role, terms in sorted(state.terms.items()):
        for t in sorted(terms, key=lambda t: (t.start, t.member)):
            current = t.holds_at(now_ms) and state.is_active(t.member)
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


def emergency_views(state: CouncilState) -> list[EmergencyView]:
    """The council's emergency actions, the soonest deadline first."""
    return [
        EmergencyView(a, e.member, state.members[e.member].name, e.actor, e.deadline, e.status)
        for a, e in sorted(state.emergencies.items(), key=lambda item: item[1].deadline)
    ]


def petition_counts(state: CouncilState) -> dict[tuple[str, bytes], int]:
    """How many support each recall petition, by (role, member)."""
    return {key: len(supporters) for key, supporters in state.petitions.items()}


def yes_no(title: str, text: str, deadline: int, grace_hours: int) -> dk.Propose:
    """A yes/no proposal, as governance puts them."""
    return dk.Propose(
        title=title, text=text, method="yes_no", deadline=deadline, grace=grace_hours * HOUR
    )


def changed_rules(current: kinds.Rules, changes: dict[str, Any]) -> kinds.Rules:
    """The current rules with `changes`; InvalidInput, in the person's language, for an
    unknown rule, an invalid value, no change at all, or rules that contradict
    themselves."""
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
    return new


def check_emergency_removal(state: CouncilState) -> None:
    """Refuse an emergency removal the council's limits would not authorise."""
    if emergency_problem(state, state.rules) is not None:
        raise NotAllowed(
            _(
                "emergency powers are at their limit: at most {n} emergency removals may "
                "wait for ratification at once, and never half of the members; ask the "
                "council to ratify those waiting, or vouch for an ordinary removal"
            ).format(n=state.rules.max_pending_emergencies)
        )
