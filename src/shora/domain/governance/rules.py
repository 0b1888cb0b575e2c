"""The rules of self-government, as kernel state handlers. Pure: fed state events by
the kernel's resolver, never the store or the clock. See docs/decisions.md §6.

* `gov.propose` is valid if its action makes sense in its author's causal state (a
  recall needs enough petitions, a ratification a pending emergency action, an
  election candidates who are members within the term limit) and its proposal's
  parameters can be used. The council's rules then hold the vote to their floors
  (`decisions_reduce.effective`).
* `gov.vote` is valid if its proposal is in its causal past.
* `gov.close` is valid if it is the first close of an open proposal in the total
  order and claims a time at or after deadline + grace (the deadline held to at least
  the proposal's claimed time + the rules' least voting period). It counts, with the same
  reducer as every vote, the valid ballots in its causal past, and enacts the action
  if the proposal passed: new rules, new terms for the elected, a recall's end of
  term, a ratification (or, failed, the undoing of the emergency action). Members
  removed by pending emergency actions count in its electorate (`emergency_limits`).
* A rule change must leave rules a ratification can work under: an
  `emergency_ratify_hours` of at least `min_governance_vote_hours` (0, "never lapses",
  only if the rules already say 0).

Every time compared here is a claimed time of the events that act (the close, the
petition, the proposal): never the clock of the node folding them.
* `role.petition` is valid if its subject holds the role when it is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msgspec import structs

from shora.domain.decisions import kinds as dk
from shora.domain.governance import kinds as gk
from shora.domain.governance.limits import electorate
from shora.errors import InvalidInput
from shora.i18n import _
from shora.kernel import kinds, membership
from shora.kernel.membership import CouncilState, Resolver, StateEvent, Term

if TYPE_CHECKING:
    from shora.domain.decisions.state import EventView

DAY_MS = 86_400_000
ELECTION_METHODS = ("irv", "stv", "schulze")
RON = "ron"  # "re-open nominations": an option that, winning, elects nobody


def petition_needed(state: CouncilState, rules_count: int) -> int:
    """Supporters a recall petition needs: the rule's number, at most the others."""
    return max(1, min(rules_count, len(state.active_members()) - 1))


def elected_terms(state: CouncilState, role: str, member: bytes) -> int:
    """How many terms of a role a member has been elected to (founding does not count)."""
    return sum(
        1 for t in state.terms.get(role, ()) if t.member == member and t.source != state.genesis
    )


def candidates(body: dk.Propose) -> list[bytes] | None:
    """The candidates' keys, or None if an option is not a key in hex (or RON)."""
    keys = []
    for option in body.options:
        if option == RON:
            continue
        try:
            key = bytes.fromhex(option)
        except ValueError:
            return None
        if len(key) != 32 or key.hex() != option:
            return None
        keys.append(key)
    return keys


def action_problem(action: gk.Action, body: dk.Propose, c: CouncilState, at_ms: int) -> str | None:
    """Why this governance proposal cannot be put in its author's state (in the
    reader's language), or None."""
    if isinstance(action, gk.Election):
        if body.method not in ELECTION_METHODS:
            return _("an election is counted by irv, stv or schulze")
        keys = candidates(body)
        if keys is None:
            return _("the candidates must be members' keys")
        for key in keys:
            if not c.is_active(key):
                return _("a candidate is not a member")
            if c.rules.term_limit and elected_terms(c, action.role, key) >= c.rules.term_limit:
                return _("a candidate has served the most terms the rules allow")
        return None
    if body.method != "yes_no":
        return _("a rule change, recall or ratification is a yes/no vote")
    if isinstance(action, gk.RuleChange):
        return rules_problem(action.rules, c.rules)
    if isinstance(action, gk.Recall):
        if action.member not in c.role_holders(action.role, at_ms):
            return _("that member does not hold that role")
        supporters = c.petitions.get((action.role, action.member), frozenset())
        if len(supporters) < petition_needed(c, c.rules.recall_petition):
            return _("the recall petition has not reached the number the rules set")
    if isinstance(action, gk.Ratify):
        emergency = c.emergencies.get(action.action)
        if emergency is None or emergency.status != "pending":
            return _("there is no pending emergency action with that id")
    return None


def rules_problem(new: kinds.Rules, current: kinds.Rules) -> str | None:
    """Why a rule change may not set these rules, or None. A ratification vote stays
    open `min_governance_vote_hours`, so a shorter time to ratify would make every
    emergency action lapse or, at 0, never lapse: 0 stays only where it already is."""
    hours = new.emergency_ratify_hours
    if hours == 0 and current.emergency_ratify_hours == 0:
        return None
    if hours < new.min_governance_vote_hours:
        return _("emergency_ratify_hours must be at least min_governance_vote_hours")
    return None


Handled = set[bytes] | None  # None: not authorised; else the events made void (none here)


def on_propose(s: CouncilState, ev: StateEvent, c: CouncilState, _r: Resolver) -> Handled:
    from shora.domain.decisions.state import check_params  # counting: on the first proposal

    body: gk.GovPropose = ev.body
    try:
        check_params(body.proposal)
    except InvalidInput:
        return None
    if action_problem(body.action, body.proposal, c, ev.time) is not None:
        return None
    s.decided[ev.id] = "open"
    return set()


def on_vote(s: CouncilState, ev: StateEvent, c: CouncilState, _r: Resolver) -> Handled:
    return set() if ev.body.proposal in c.decided else None


def on_petition(s: CouncilState, ev: StateEvent, c: CouncilState, _r: Resolver) -> Handled:
    body: gk.Petition = ev.body
    if body.member not in c.role_holders(body.role, ev.time):
        return None
    key = (body.role, body.member)
    s.petitions[key] = s.petitions.get(key, frozenset()) | {ev.author}
    return set()


def _view(ev: StateEvent, body: object) -> EventView:
    from shora.domain.decisions.state import EventView

    return EventView(ev.id, ev.author, ev.clock, ev.time, ev.kind, body)


def on_close(s: CouncilState, ev: StateEvent, c: CouncilState, r: Resolver) -> Handled:
    from shora.domain.decisions.state import effective, reduce_proposal

    proposal = ev.body.proposal
    if s.decided.get(proposal) != "open" or proposal not in c.decided:
        return None
    propose = r.events[proposal]
    gov: gk.GovPropose = propose.body
    opened = r.state_of(propose.heads)
    body = effective(gov.proposal, opened.rules, gk.purpose(gov.action), propose.time)
    if ev.time < (body.deadline + body.grace) * 1000:
        return None
    applied = {e for e, _ in s.applied}
    past = r.past(ev.id)  # the state events in the close's causal past
    # A member whose place passed to a new key (docs/protocol.md §9.1) is one voter under
    # both keys: their latest ballot counts. The old key's events after the recovery were
    # never applied, so only what it signed before can count.
    owner = c.current_key
    votes = [
        _view(r.events[e], r.events[e].body)
        for e in past
        if e in applied and r.events[e].kind == "gov.vote" and r.events[e].body.proposal == proposal
    ]
    votes = [structs.replace(v, author=owner(v.author)) for v in votes]
    state = reduce_proposal(
        _view(propose, body),
        frozenset(owner(k) for k in electorate(opened)),
        [*votes, _view(ev, ev.body)],
        lambda _close: past,
    )
    if isinstance(gov.action, gk.Election):
        passed = any(w != RON for w in state.winners)
    else:
        passed = bool(state.passed)
    s.decided[proposal] = "passed" if passed else "failed"
    _enact(s, ev, gov.action, passed, state.winners)
    return set()


def _enact(
    s: CouncilState, ev: StateEvent, action: gk.Action, passed: bool, winners: tuple[str, ...]
) -> None:
    now = ev.time
    if isinstance(action, gk.Ratify):
        emergency = s.emergencies[action.action]
        if emergency.status != "pending":
            return
        if not passed:
            membership.reinstate(s, action.action, "rejected")
        elif now <= emergency.deadline:
            s.emergencies[action.action] = structs.replace(emergency, status="ratified")
        return
    if not passed:
        return
    if isinstance(action, gk.RuleChange):
        s.rules = action.rules
    elif isinstance(action, gk.Recall):
        # Recalled under the key that holds the place now, if it passed to a new one.
        recalled = s.current_key(action.member)
        s.terms[action.role] = tuple(
            structs.replace(t, end=now) if t.member == recalled and t.end > now else t
            for t in s.terms.get(action.role, ())
        )
        s.petitions.pop((action.role, action.member), None)
        s.petitions.pop((action.role, recalled), None)
    elif isinstance(action, gk.Election):
        seat(s, ev, action, [bytes.fromhex(w) for w in winners if w != RON])


def seat(s: CouncilState, ev: StateEvent, action: gk.Election, elected: list[bytes]) -> None:
    """The elected take the role from ev's claimed time for the election's term; every
    earlier term of the role ends then (an open election's close, a secret one's seat)."""
    now = ev.time
    ended = tuple(
        structs.replace(t, end=now) if t.end > now else t for t in s.terms.get(action.role, ())
    )
    new = tuple(
        Term(s.current_key(key), now, now + action.term_days * DAY_MS, ev.id) for key in elected
    )
    s.terms[action.role] = ended + new


def register() -> None:
    """Register these kinds with the kernel: shora.node calls it once, from its
    KIND_MODULES; importing this module registers nothing."""
    membership.register_state_kind("gov.propose", gk.GovPropose, on_propose)
    membership.register_state_kind("gov.vote", dk.Vote, on_vote, ref=lambda body: body.proposal)
    membership.register_state_kind("gov.close", dk.Close, on_close, ref=lambda body: body.proposal)
    membership.register_state_kind(
        "role.petition", gk.Petition, on_petition, ref=lambda body: body.member
    )
