"""Limits on emergency powers, so that one office-holder cannot capture the council.
Pure: judged by every replica in the fold. See docs/decisions.md §6.4.

* At most `max_pending_emergencies` emergency removals may be pending (not yet
  ratified, lapsed or rejected) at once; one beyond it is not authorised.
* Emergency removals never remove half of the members or more: one that would bring
  the members removed by pending emergency actions to half or more of the members
  (active ones and those pending-removed) is not authorised.
* The members removed by pending emergency actions still count in the electorate and
  quorum of governance votes (`electorate`): they cannot vote, having no key, but the
  coordinator who removed them cannot ratify that alone.

The counts are taken in the fold's state at the removal's place in the total order
(everything before it, whatever parents its author chose), under the stricter of
the rules there and the rules of the removal's causal state.
"""

from __future__ import annotations

from shora.kernel import kinds, membership
from shora.kernel.membership import CouncilState, StateEvent


def pending_removed(state: CouncilState) -> frozenset[bytes]:
    """Members out of the council by an emergency removal that is still pending."""
    return frozenset(
        e.member
        for action, e in state.emergencies.items()
        if e.status == "pending"
        and (member := state.members.get(e.member)) is not None
        and member.ended_by == action
    )


def electorate(state: CouncilState) -> frozenset[bytes]:
    """Who counts in a governance vote's electorate and quorum: the active members and
    those removed by emergency actions still pending."""
    return frozenset(state.active_members()) | pending_removed(state)


def emergency_problem(state: CouncilState, rules: kinds.Rules) -> str | None:
    """Why one more emergency removal is not authorised in `state`, or None."""
    pending = sum(1 for e in state.emergencies.values() if e.status == "pending")
    if pending >= rules.max_pending_emergencies:
        return "too many emergency removals are waiting for ratification"
    removed = len(pending_removed(state))
    if 2 * (removed + 1) >= len(electorate(state)):
        return "emergency removals cannot remove half of the members"
    return None


def _within_limits(s: CouncilState, ev: StateEvent, c: CouncilState, body: kinds.Remove) -> bool:
    """An emergency removal stays within the limits of the rules the fold has reached and
    of those its author saw, whichever is stricter."""
    return emergency_problem(s, s.rules) is None and emergency_problem(s, c.rules) is None


membership.EMERGENCY_HOOKS.append(_within_limits)
