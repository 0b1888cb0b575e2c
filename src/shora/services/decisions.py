"""Decisions on a node: writing proposals, ballots, closes, minutes and tasks, and
reading them back through the pure reducers. See docs/decisions.md.

Writers check what they can before writing (a member may still write anything the
kinds allow; the reducers decide what counts). Readers use only valid events
(accepted by the kernel, the author's membership standing), through `store.events`.

The interfaces read the domain's types and helpers from here (re-exported below).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from msgspec.structs import replace

from shora.domain.decisions import kinds as kinds
from shora.domain.decisions import plain as plain
from shora.domain.decisions.ballot_input import HOW_TO_VOTE as HOW_TO_VOTE
from shora.domain.decisions.ballot_input import ballot_from_inputs as ballot_from_inputs
from shora.domain.decisions.checks import MIN_ID_PREFIX as MIN_ID_PREFIX
from shora.domain.decisions.checks import PROPOSE_KINDS as PROPOSE_KINDS
from shora.domain.decisions.checks import MinutesView as MinutesView
from shora.domain.decisions.checks import (
    ballot_rule_problem,
    check_new_proposal,
    explain_ballot,
    minutes_view,
    proposal_body,
    require_min_period,
)
from shora.domain.decisions.checks import parse_share as parse_share
from shora.domain.decisions.plain import state_json as state_json
from shora.domain.decisions.plain import task_json as task_json
from shora.domain.decisions.state import (
    CLOSE_KINDS,
    MS,
    effective,
    reduce_proposal,
    reduce_task,
)
from shora.domain.decisions.state import EventView as EventView
from shora.domain.decisions.state import ProposalState as ProposalState
from shora.domain.decisions.state import TaskState as TaskState
from shora.domain.decisions.state import check_params as check_params
from shora.domain.decisions.state import phase as phase
from shora.domain.governance import kinds as gk
from shora.domain.governance.limits import electorate
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _, format_time
from shora.kernel.core import NodeCore
from shora.kernel.events import decode_body
from shora.kernel.storage.events import EventRow

if TYPE_CHECKING:
    from shora.domain.decisions import tally as tally


def __getattr__(name: str) -> Any:
    """`tally`, the counting, imported when a result is shown rather than at start-up."""
    if name == "tally":
        from shora.domain.decisions import tally

        return tally
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_EVENT_KINDS = (*kinds.PROPOSAL_KINDS, *gk.GOV_PROPOSAL_KINDS)


def view_of(row: EventRow) -> EventView:
    """A stored event (store.events row) as the reducers read it, its body decoded.
    The services of other capabilities (ballots, pledges) use it too."""
    i, a, c, t, k, body = row
    return EventView(i, a, c, t, k, decode_body(k, body))


def views_of(rows: Iterable[EventRow]) -> list[EventView]:
    """`view_of` each row."""
    return [view_of(row) for row in rows]


# --- shared by the services ---------------------------------------------------------


def _views(core: NodeCore, where: str, params: tuple[Any, ...]) -> list[EventView]:
    """Valid events matching a fixed condition, for the services that have no named
    query of their own yet (store.events.valid_where)."""
    return views_of(core.store.events.valid_where(where, params))


def _me(core: NodeCore, council: bytes) -> bytes:
    """This profile's member key in that council; NotFound if it has none there."""
    me = core.me(council)
    if me is None:
        raise NotFound(_("this profile has no identity in that council"))
    return me


def require_member(core: NodeCore, council: bytes) -> bytes:
    """This profile's member key, if it is an active member of that council."""
    me = _me(core, council)
    if not core.state(council).is_active(me):
        raise NotAllowed(_("you are not a member of this council"))
    return me


class Decisions:
    """Proposals, ballots, closes, minutes and tasks."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core

    # --- reading --------------------------------------------------------------------

    def _propose_view(self, council: bytes, proposal: bytes) -> EventView:
        found = self.core.store.events.valid_event(council, PROPOSE_KINDS, proposal)
        if found is None:
            raise NotFound(_("no such proposal in this council"))
        return view_of(found)

    def _amend_view(self, council: bytes, amendment: bytes) -> EventView:
        found = self.core.store.events.valid_event(council, ("decision.amend",), amendment)
        if found is None:
            raise NotFound(_("no such amendment in this council"))
        return view_of(found)

    def _reduce(self, council: bytes, propose: EventView) -> ProposalState:
        """A proposal's state, held to the rules of its causal state (docs/decisions.md
        §6)."""
        action = propose.body.action if propose.kind == "gov.propose" else None
        causal = self.core.causal_state(council, propose.id)
        purpose = gk.purpose(action) if action is not None else None
        body = effective(proposal_body(propose), causal.rules, purpose, propose.time)
        events = views_of(self.core.store.events.valid_on(council, _EVENT_KINDS, propose.id))
        amends = [e.id for e in events if e.kind == "decision.amend"]
        # A governance vote counts as the kernel does (governance_rules.on_close).
        eligible = (
            electorate(causal)
            if action is not None
            else self.core.causal_members(council, propose.id)
        )
        events = [*events, *self._amendments_the_council_passed(council, propose, amends)]
        # A member whose place passed to a new key (docs/protocol.md §9.1) is one voter
        # and one author under both keys: their latest ballot counts (governance votes
        # too, as the kernel counts them at their close).
        now = self.core.state(council)
        if now.successors:  # else every key is its member's current one
            owner = now.current_key
            eligible = frozenset(owner(k) for k in eligible)
            events = [replace(e, author=owner(e.author)) for e in events]
            propose = replace(propose, author=owner(propose.author))
        else:
            eligible = frozenset(eligible)
        # An open ballot on a proposal made while the rules held every vote secret.
        refused = ballot_rule_problem(causal.rules, secret=False) if action is None else None
        state = reduce_proposal(
            replace(propose, body=body), eligible, events, self.core.ancestors, refused
        )
        return replace(state, action=action)

    def _amendments_the_council_passed(
        self, council: bytes, propose: EventView, amends: list[bytes]
    ) -> list[EventView]:
        """An amendment the council passed in a vote of its own counts as accepted by
        the author, at that vote's close (so it counts only if the close is in the past
        of the proposal's own close, as an acceptance would)."""
        if not amends:
            return []
        votes = views_of(self.core.store.events.valid_on_any(council, "decision.propose", amends))
        accepted = []
        for vote in votes:
            state = self._reduce(council, vote)
            if state.final and state.passed and state.closed_by is not None:
                close = self.core.store.events.valid_by_id(state.closed_by)
                assert close is not None  # a close that counts is a valid event
                close_id, _author, clock, time, _kind, _body = close
                accept = kinds.AmendmentAccept(propose.id, vote.body.amendment)
                accepted.append(
                    EventView(
                        close_id, propose.author, clock, time, "decision.amendment_accept", accept
                    )
                )
        return accepted

    def put_amendment_to_vote(self, council: bytes, amendment: bytes, hours: int = 72) -> bytes:
        """Let the council decide an amendment (yes/no) instead of the proposal's author."""
        require_member(self.core, council)
        found = self._amend_view(council, amendment)
        target = self._open_proposal(council, found.body.proposal)
        title = _("Amendment to: {title}").format(title=target.body.title)[:200]
        body = kinds.Propose(
            title=title,
            text=found.body.text,
            method="yes_no",
            deadline=int(self.core.now()) + hours * 3600,
            amendment=amendment,
        )
        return self.propose(council, body)

    def proposal(self, council: bytes, proposal_id: bytes) -> ProposalState:
        """One proposal's state: current text, ballots that count, result (provisional
        until a valid close exists)."""
        return self._reduce(council, self._propose_view(council, proposal_id))

    def find_proposal(self, council: bytes, ref: str) -> bytes:
        """A proposal by its id or a prefix of it (at least 6 hex digits)."""
        ref = ref.strip().lower()
        if len(ref) < MIN_ID_PREFIX:
            raise InvalidInput(_("give at least 6 digits of the proposal's id"))
        ids = self.core.store.events.valid_ids_any_order(council, PROPOSE_KINDS)
        found = [i for i in ids if i.hex().startswith(ref)]
        if len(found) != 1:
            raise NotFound(_("no single proposal here has an id starting {id}").format(id=ref))
        return found[0]

    def proposals(self, council: bytes, limit: int = 50, offset: int = 0) -> list[ProposalState]:
        """The council's proposals: open ones first, then closed ones; newest first in each."""
        events = self.core.store.events
        proposes = views_of(events.valid_of_kinds(council, PROPOSE_KINDS))
        closes = views_of(events.valid_of_kinds(council, CLOSE_KINDS))
        closed_at: dict[bytes, int] = {}
        for close in closes:
            closed_at.setdefault(close.body.proposal, 0)
            closed_at[close.body.proposal] = max(closed_at[close.body.proposal], close.time)

        def is_closed(p: EventView) -> bool:
            body = proposal_body(p)
            return closed_at.get(p.id, -1) >= (body.deadline + body.grace) * MS

        ordered = sorted(proposes, key=lambda p: (is_closed(p), -p.clock, p.id))
        return [self._reduce(council, p) for p in ordered[offset : offset + limit]]

    def tasks(self, council: bytes, status: str | None = None) -> list[TaskState]:
        """The council's tasks, oldest first, optionally only those with one status."""
        events = self.core.store.events
        creates = views_of(events.valid_of_kind(council, "task.create", order="clock"))
        updates = views_of(events.valid_of_kind(council, "task.update"))
        by_task: dict[bytes, list[EventView]] = {}
        for update in updates:
            by_task.setdefault(update.body.task, []).append(update)
        states = [reduce_task(c, by_task.get(c.id, [])) for c in creates]
        return [t for t in states if status is None or t.status == status]

    def find_task(self, council: bytes, ref: str) -> bytes:
        ref = ref.strip().lower()
        if len(ref) < MIN_ID_PREFIX:
            raise InvalidInput(_("give at least 6 digits of the task's id"))
        found = [t.id for t in self.tasks(council) if t.id.hex().startswith(ref)]
        if len(found) != 1:
            raise NotFound(_("no single task here has an id starting {id}").format(id=ref))
        return found[0]

    def minutes(self, council: bytes, limit: int = 50, offset: int = 0) -> list[MinutesView]:
        """The council's minutes, newest first, a page at a time."""
        rows = self.core.store.events.valid_of_kind(
            council, "decision.minutes", order="newest", limit=limit, offset=offset
        )
        return [minutes_view(v) for v in views_of(rows)]

    # --- writing --------------------------------------------------------------------

    def propose(self, council: bytes, body: kinds.Propose) -> bytes:
        """Put a proposal to the council; return its id."""
        require_member(self.core, council)
        check_new_proposal(body, self.core.now())
        rules = self.core.state(council).rules
        refused = ballot_rule_problem(rules, secret=False)
        if refused is not None:
            raise NotAllowed(refused)
        require_min_period(body, rules, None, self.core.now())
        return self.core.append(council, "decision.propose", body)

    def _open_proposal(self, council: bytes, proposal_id: bytes) -> ProposalState:
        state = self.proposal(council, proposal_id)
        if state.final:
            raise NotAllowed(_("this proposal is closed; nothing more can change it"))
        return state

    def amend(self, council: bytes, proposal_id: bytes, text: str, reason: str = "") -> bytes:
        require_member(self.core, council)
        if self._open_proposal(council, proposal_id).action is not None:
            raise NotAllowed(
                _("a proposal to change rules or roles cannot be amended; propose it anew instead")
            )
        if not text.strip():
            raise InvalidInput(_("an amendment needs a new text"))
        return self.core.append(council, "decision.amend", kinds.Amend(proposal_id, text, reason))

    def accept_amendment(self, council: bytes, amendment: bytes) -> bytes:
        me = require_member(self.core, council)
        found = self._amend_view(council, amendment)
        state = self._open_proposal(council, found.body.proposal)
        if state.author != me:
            raise NotAllowed(_("only the proposal's author can accept an amendment"))
        return self.core.append(
            council, "decision.amendment_accept", kinds.AmendmentAccept(state.id, amendment)
        )

    def find_amendment(self, council: bytes, ref: str) -> bytes:
        ref = ref.strip().lower()
        if len(ref) < MIN_ID_PREFIX:
            raise InvalidInput(_("give at least 6 digits of the amendment's id"))
        ids = self.core.store.events.valid_ids_any_order(council, ("decision.amend",))
        found = [i for i in ids if i.hex().startswith(ref)]
        if len(found) != 1:
            raise NotFound(_("no single amendment here has an id starting {id}").format(id=ref))
        return found[0]

    def vote(self, council: bytes, proposal_id: bytes, ballot: kinds.Ballot) -> bytes:
        """Cast (or change) one's ballot; the latest one cast by the deadline counts."""
        me = require_member(self.core, council)
        state = self.proposal(council, proposal_id)
        if state.final:
            raise NotAllowed(_("voting on this proposal is closed"))
        if me not in state.eligible:
            raise NotAllowed(
                _("you were not a member when this proposal was made, so you cannot vote on it")
            )
        if self.core.now() > state.body.deadline:
            raise NotAllowed(
                _("the deadline for voting passed on {time}").format(
                    time=format_time(state.body.deadline)
                )
            )
        if state.problem is not None:
            raise NotAllowed(
                _("this proposal cannot be voted on: {problem}").format(problem=state.problem)
            )
        explain_ballot(state, ballot)
        kind = "decision.vote" if state.action is None else "gov.vote"
        return self.core.append(council, kind, kinds.Vote(proposal_id, ballot))

    def close(self, council: bytes, proposal_id: bytes) -> bytes:
        """Close the vote, fixing the result: possible from deadline + grace on."""
        require_member(self.core, council)
        state = self.proposal(council, proposal_id)
        if state.final:
            raise NotAllowed(_("this proposal is already closed"))
        if phase(state, self.core.now()) != "closable":
            raise NotAllowed(
                _("this proposal can be closed from {time} (deadline plus grace period)").format(
                    time=format_time(state.closes_at)
                )
            )
        kind = "decision.close" if state.action is None else "gov.close"
        return self.core.append(council, kind, kinds.Close(proposal_id))

    def record_outcome(self, council: bytes, proposal_id: bytes, statement: str) -> bytes:
        require_member(self.core, council)
        self.proposal(council, proposal_id)
        if not statement.strip():
            raise InvalidInput(_("an outcome needs a statement"))
        return self.core.append(council, "decision.outcome", kinds.Outcome(proposal_id, statement))

    def write_minutes(
        self, council: bytes, title: str, text: str, decisions: list[bytes] | None = None
    ) -> bytes:
        require_member(self.core, council)
        if not title.strip():
            raise InvalidInput(_("minutes need a title"))
        for decision in decisions or []:
            self.proposal(council, decision)
        return self.core.append(
            council, "decision.minutes", kinds.Minutes(title, text, decisions or [])
        )

    def create_task(
        self,
        council: bytes,
        what: str,
        *,
        decision: bytes | None = None,
        who: str = "",
        who_member: bytes | None = None,
        due: int | None = None,
    ) -> bytes:
        require_member(self.core, council)
        if not what.strip():
            raise InvalidInput(_("a task needs a description"))
        if decision is not None:
            self.proposal(council, decision)
        return self.core.append(
            council, "task.create", kinds.TaskCreate(decision, what, who, who_member, due)
        )

    def update_task(self, council: bytes, task: bytes, status: str, note: str = "") -> bytes:
        require_member(self.core, council)
        if status not in kinds.TASK_STATUSES:
            raise InvalidInput(
                _("a task's status is one of: {statuses}").format(
                    statuses=", ".join(kinds.TASK_STATUSES)
                )
            )
        if not any(t.id == task for t in self.tasks(council)):
            raise NotFound(_("no such task in this council"))
        body = kinds.TaskUpdate(task, cast(kinds.TaskStatus, status), note)
        return self.core.append(council, "task.update", body)
