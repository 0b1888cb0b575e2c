"""Decisions on a node: writing proposals, ballots, closes, minutes and tasks, and
reading them back through the pure reducers. See docs/decisions.md.

Every function takes an open :class:`shora.node.Node`. Writers check what they can
before writing (a member may still write anything the kinds allow; the reducers
decide what counts). Readers use only valid events (``valid=1``: accepted by the
kernel, the author's membership standing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from shora.domain.decisions import kinds as dk
from shora.domain.decisions import tally
from shora.domain.decisions.plain import plain as plain  # for the interfaces
from shora.domain.decisions.state import (
    CLOSE_KINDS,
    MS,
    EventView,
    ProposalState,
    TaskState,
    check_ballot,
    check_params,
    effective,
    min_vote_seconds,
    phase,
    reduce_proposal,
    reduce_task,
)
from shora.domain.governance import kinds as gk
from shora.domain.governance.limits import electorate
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _, format_time, ngettext, number
from shora.kernel import kinds
from shora.kernel.core import NodeCore
from shora.kernel.events import decode_body

if TYPE_CHECKING:
    from shora.node import Node

MIN_ID_PREFIX = 6
_COLUMNS = "id, author, clock, time, kind, body"


def _views(node: Node, where: str, params: tuple[Any, ...]) -> list[EventView]:
    """Valid events matching `where`. Order by `+clock`, not `clock`: a plain column
    lets SQLite walk the whole council in clock order instead of using the
    (council, kind, ref) index, a full scan on a large council."""
    rows = node.store.rows(
        f"SELECT {_COLUMNS} FROM events WHERE valid=1 AND {where}",  # noqa: S608
        params,
    )
    return [
        EventView(bytes(i), bytes(a), c, t, k, decode_body(k, body)) for i, a, c, t, k, body in rows
    ]


def _me(node: Node, council: bytes) -> bytes:
    me = node.store.one("SELECT sign_pk FROM identities WHERE council=?", (council,))
    if me is None:
        raise NotFound(_("this profile has no identity in that council"))
    return bytes(me)


def _require_member(node: Node, council: bytes) -> bytes:
    me = _me(node, council)
    if not node.ingestor.projection.final_state(council).is_active(me):
        raise NotAllowed(_("you are not a member of this council"))
    return me


# --- reading ------------------------------------------------------------------------


PROPOSE_KINDS = "kind IN ('decision.propose', 'gov.propose')"
_EVENT_KINDS = (*dk.PROPOSAL_KINDS, *gk.GOV_PROPOSAL_KINDS)


def _propose_view(node: Node, council: bytes, proposal: bytes) -> EventView:
    found = _views(node, f"council=? AND {PROPOSE_KINDS} AND id=?", (council, proposal))
    if not found:
        raise NotFound(_("no such proposal in this council"))
    return found[0]


def _proposal_body(propose: EventView) -> dk.Propose:
    body = propose.body
    return body.proposal if propose.kind == "gov.propose" else body  # type: ignore[no-any-return]


def _reduce(node: Node, council: bytes, propose: EventView) -> ProposalState:
    """A proposal's state, held to the rules of its causal state (docs/decisions.md §6)."""
    action = propose.body.action if propose.kind == "gov.propose" else None
    causal = node.ingestor.projection.causal_state(council, propose.id)
    purpose = gk.purpose(action) if action is not None else None
    body = effective(_proposal_body(propose), causal.rules, purpose, propose.time)
    marks = ",".join("?" * len(_EVENT_KINDS))
    events = _views(
        node,
        f"council=? AND kind IN ({marks}) AND ref=?",
        (council, *_EVENT_KINDS, propose.id),
    )
    amends = [e.id for e in events if e.kind == "decision.amend"]
    # A governance vote counts as the kernel does (governance_rules.on_close).
    eligible = (
        electorate(causal)
        if action is not None
        else node.ingestor.projection.causal_members(council, propose.id)
    )
    state = reduce_proposal(
        replace(propose, body=body),
        eligible,
        [*events, *_amendments_the_council_passed(node, council, propose, amends)],
        node.ingestor.projection.ancestors,
    )
    return replace(state, action=action)


def _amendments_the_council_passed(
    node: Node, council: bytes, propose: EventView, amends: list[bytes]
) -> list[EventView]:
    """An amendment the council passed in a vote of its own counts as accepted by the
    author, at that vote's close (so it counts only if the close is in the past of the
    proposal's own close, as an acceptance would)."""
    if not amends:
        return []
    marks = ",".join("?" * len(amends))
    votes = _views(
        node,
        f"council=? AND kind='decision.propose' AND ref IN ({marks})",
        (council, *amends),
    )
    accepted = []
    for vote in votes:
        state = _reduce(node, council, vote)
        if state.final and state.passed and state.closed_by is not None:
            close = _views(node, "id=?", (state.closed_by,))[0]
            accept = dk.AmendmentAccept(propose.id, vote.body.amendment)
            accepted.append(
                EventView(
                    close.id,
                    propose.author,
                    close.clock,
                    close.time,
                    "decision.amendment_accept",
                    accept,
                )
            )
    return accepted


def put_amendment_to_vote(node: Node, council: bytes, amendment: bytes, hours: int = 72) -> bytes:
    """Let the council decide an amendment (yes/no) instead of the proposal's author."""
    _require_member(node, council)
    found = _views(node, "council=? AND kind='decision.amend' AND id=?", (council, amendment))
    if not found:
        raise NotFound(_("no such amendment in this council"))
    target = _open_proposal(node, council, found[0].body.proposal)
    title = _("Amendment to: {title}").format(title=target.body.title)[:200]
    body = dk.Propose(
        title=title,
        text=found[0].body.text,
        method="yes_no",
        deadline=int(node.now()) + hours * 3600,
        amendment=amendment,
    )
    return propose(node, council, body)


def proposal(node: Node, council: bytes, proposal_id: bytes) -> ProposalState:
    """One proposal's state: current text, ballots that count, result (provisional
    until a valid close exists)."""
    return _reduce(node, council, _propose_view(node, council, proposal_id))


def find_proposal(node: Node, council: bytes, ref: str) -> bytes:
    """A proposal by its id or a prefix of it (at least 6 hex digits)."""
    ref = ref.strip().lower()
    if len(ref) < MIN_ID_PREFIX:
        raise InvalidInput(_("give at least 6 digits of the proposal's id"))
    rows = node.store.rows(
        f"SELECT id FROM events WHERE council=? AND {PROPOSE_KINDS} AND valid=1",  # noqa: S608
        (council,),
    )
    found = [bytes(r[0]) for r in rows if bytes(r[0]).hex().startswith(ref)]
    if len(found) != 1:
        raise NotFound(_("no single proposal here has an id starting {id}").format(id=ref))
    return found[0]


def proposals(node: Node, council: bytes, limit: int = 50, offset: int = 0) -> list[ProposalState]:
    """The council's proposals: open ones first, then closed ones; newest first in each."""
    proposes = _views(node, f"council=? AND {PROPOSE_KINDS}", (council,))
    closes = _views(node, "council=? AND kind IN (?, ?)", (council, *CLOSE_KINDS))
    closed_at: dict[bytes, int] = {}
    for close in closes:
        closed_at.setdefault(close.body.proposal, 0)
        closed_at[close.body.proposal] = max(closed_at[close.body.proposal], close.time)

    def is_closed(p: EventView) -> bool:
        body = _proposal_body(p)
        return closed_at.get(p.id, -1) >= (body.deadline + body.grace) * MS

    ordered = sorted(proposes, key=lambda p: (is_closed(p), -p.clock, p.id))
    return [_reduce(node, council, p) for p in ordered[offset : offset + limit]]


def tasks(node: Node, council: bytes, status: str | None = None) -> list[TaskState]:
    """The council's tasks, oldest first, optionally only those with one status."""
    creates = _views(node, "council=? AND kind='task.create' ORDER BY +clock, id", (council,))
    updates = _views(node, "council=? AND kind='task.update'", (council,))
    by_task: dict[bytes, list[EventView]] = {}
    for update in updates:
        by_task.setdefault(update.body.task, []).append(update)
    states = [reduce_task(c, by_task.get(c.id, [])) for c in creates]
    return [t for t in states if status is None or t.status == status]


def find_task(node: Node, council: bytes, ref: str) -> bytes:
    ref = ref.strip().lower()
    if len(ref) < MIN_ID_PREFIX:
        raise InvalidInput(_("give at least 6 digits of the task's id"))
    found = [t.id for t in tasks(node, council) if t.id.hex().startswith(ref)]
    if len(found) != 1:
        raise NotFound(_("no single task here has an id starting {id}").format(id=ref))
    return found[0]


@dataclass(frozen=True, slots=True)
class MinutesView:
    id: bytes
    author: bytes
    time: int  # ms, claimed
    title: str
    text: str
    decisions: tuple[bytes, ...]


def minutes(node: Node, council: bytes, limit: int = 50, offset: int = 0) -> list[MinutesView]:
    """The council's minutes, newest first, a page at a time."""
    views = _views(
        node,
        "council=? AND kind='decision.minutes' ORDER BY +clock DESC, id LIMIT ? OFFSET ?",
        (council, limit, offset),
    )
    return [
        MinutesView(v.id, v.author, v.time, v.body.title, v.body.text, tuple(v.body.decisions))
        for v in views
    ]


# --- writing ------------------------------------------------------------------------


def propose(node: Node, council: bytes, body: dk.Propose) -> bytes:
    """Put a proposal to the council; return its id."""
    _require_member(node, council)
    if not body.title.strip():
        raise InvalidInput(_("a proposal needs a title"))
    try:
        check_params(body)
    except InvalidInput as exc:
        raise InvalidInput(
            _("this proposal cannot be voted on: {problem}").format(problem=str(exc))
        ) from exc
    if body.deadline <= node.now():
        raise InvalidInput(_("the deadline must be in the future"))
    rules = node.ingestor.projection.final_state(council).rules
    require_min_period(body, rules, None, node.now())
    return node.append(council, "decision.propose", body)


def require_min_period(
    body: dk.Propose, rules: kinds.Rules, purpose: str | None, now: float
) -> None:
    """Refuse a deadline before the least voting period the rules set: the council
    would hold the vote open that long anyway (docs/decisions.md §6.1)."""
    least = min_vote_seconds(rules, purpose)
    if body.deadline < int(now) + least:
        hours = least // 3600
        raise InvalidInput(
            ngettext(
                "the council's rules keep such a vote open at least {n} hour: "
                "give a deadline at least that far ahead",
                "the council's rules keep such a vote open at least {n} hours: "
                "give a deadline at least that far ahead",
                hours,
            ).format(n=number(hours))
        )


def _open_proposal(node: Node, council: bytes, proposal_id: bytes) -> ProposalState:
    state = proposal(node, council, proposal_id)
    if state.final:
        raise NotAllowed(_("this proposal is closed; nothing more can change it"))
    return state


def amend(node: Node, council: bytes, proposal_id: bytes, text: str, reason: str = "") -> bytes:
    _require_member(node, council)
    if _open_proposal(node, council, proposal_id).action is not None:
        raise NotAllowed(
            _("a proposal to change rules or roles cannot be amended; propose it anew instead")
        )
    if not text.strip():
        raise InvalidInput(_("an amendment needs a new text"))
    return node.append(council, "decision.amend", dk.Amend(proposal_id, text, reason))


def accept_amendment(node: Node, council: bytes, amendment: bytes) -> bytes:
    me = _require_member(node, council)
    found = _views(node, "council=? AND kind='decision.amend' AND id=?", (council, amendment))
    if not found:
        raise NotFound(_("no such amendment in this council"))
    state = _open_proposal(node, council, found[0].body.proposal)
    if state.author != me:
        raise NotAllowed(_("only the proposal's author can accept an amendment"))
    return node.append(
        council, "decision.amendment_accept", dk.AmendmentAccept(state.id, amendment)
    )


def find_amendment(node: Node, council: bytes, ref: str) -> bytes:
    ref = ref.strip().lower()
    if len(ref) < MIN_ID_PREFIX:
        raise InvalidInput(_("give at least 6 digits of the amendment's id"))
    rows = node.store.rows(
        "SELECT id FROM events WHERE council=? AND kind='decision.amend' AND valid=1", (council,)
    )
    found = [bytes(r[0]) for r in rows if bytes(r[0]).hex().startswith(ref)]
    if len(found) != 1:
        raise NotFound(_("no single amendment here has an id starting {id}").format(id=ref))
    return found[0]


def _explain_ballot(state: ProposalState, ballot: dk.Ballot) -> None:
    """The ballot problems people make most, in their language; then the tally's check."""
    options = state.body.options
    named: list[str] = []
    if isinstance(ballot, dk.RankedBallot | dk.ApprovalBallot):
        named = list(ballot.ranking if isinstance(ballot, dk.RankedBallot) else ballot.choices)
        for i, option in enumerate(named):
            if option in named[:i] and isinstance(ballot, dk.RankedBallot):
                raise InvalidInput(_("{option} is ranked twice").format(option=option))
            if option in named[:i]:
                raise InvalidInput(_("{option} is chosen twice").format(option=option))
    elif isinstance(ballot, dk.ScoreBallot | dk.DotsBallot | dk.TimeBallot):
        named = list(
            ballot.scores
            if isinstance(ballot, dk.ScoreBallot)
            else ballot.dots
            if isinstance(ballot, dk.DotsBallot)
            else ballot.answers
        )
    for option in named:
        if option not in options:
            raise InvalidInput(
                _("{option} is not an option; the options are: {options}").format(
                    option=option, options=", ".join(options)
                )
            )
    if isinstance(ballot, dk.ConsentBallot) and ballot.response == "block":
        if not ballot.reason.strip():
            raise InvalidInput(_("a block must give a reason (--reason)"))
    try:
        check_ballot(state.body, check_params(state.body), ballot)
    except tally.BallotError as exc:
        raise InvalidInput(
            _("this ballot does not fit the vote: {problem}").format(problem=str(exc))
        ) from exc


def vote(node: Node, council: bytes, proposal_id: bytes, ballot: dk.Ballot) -> bytes:
    """Cast (or change) one's ballot; the latest one cast by the deadline counts."""
    me = _require_member(node, council)
    state = proposal(node, council, proposal_id)
    if state.final:
        raise NotAllowed(_("voting on this proposal is closed"))
    if me not in state.eligible:
        raise NotAllowed(
            _("you were not a member when this proposal was made, so you cannot vote on it")
        )
    if node.now() > state.body.deadline:
        raise NotAllowed(
            _("the deadline for voting passed on {time}").format(
                time=format_time(state.body.deadline)
            )
        )
    if state.problem is not None:
        raise NotAllowed(
            _("this proposal cannot be voted on: {problem}").format(problem=state.problem)
        )
    _explain_ballot(state, ballot)
    kind = "decision.vote" if state.action is None else "gov.vote"
    return node.append(council, kind, dk.Vote(proposal_id, ballot))


def close(node: Node, council: bytes, proposal_id: bytes) -> bytes:
    """Close the vote, fixing the result: possible from deadline + grace on."""
    _require_member(node, council)
    state = proposal(node, council, proposal_id)
    if state.final:
        raise NotAllowed(_("this proposal is already closed"))
    if phase(state, node.now()) != "closable":
        raise NotAllowed(
            _("this proposal can be closed from {time} (deadline plus grace period)").format(
                time=format_time(state.closes_at)
            )
        )
    kind = "decision.close" if state.action is None else "gov.close"
    return node.append(council, kind, dk.Close(proposal_id))


def record_outcome(node: Node, council: bytes, proposal_id: bytes, statement: str) -> bytes:
    _require_member(node, council)
    proposal(node, council, proposal_id)
    if not statement.strip():
        raise InvalidInput(_("an outcome needs a statement"))
    return node.append(council, "decision.outcome", dk.Outcome(proposal_id, statement))


def write_minutes(
    node: Node, council: bytes, title: str, text: str, decisions: list[bytes] | None = None
) -> bytes:
    _require_member(node, council)
    if not title.strip():
        raise InvalidInput(_("minutes need a title"))
    for decision in decisions or []:
        proposal(node, council, decision)
    return node.append(council, "decision.minutes", dk.Minutes(title, text, decisions or []))


def create_task(
    node: Node,
    council: bytes,
    what: str,
    *,
    decision: bytes | None = None,
    who: str = "",
    who_member: bytes | None = None,
    due: int | None = None,
) -> bytes:
    _require_member(node, council)
    if not what.strip():
        raise InvalidInput(_("a task needs a description"))
    if decision is not None:
        proposal(node, council, decision)
    return node.append(council, "task.create", dk.TaskCreate(decision, what, who, who_member, due))


def update_task(node: Node, council: bytes, task: bytes, status: str, note: str = "") -> bytes:
    _require_member(node, council)
    if status not in dk.TASK_STATUSES:
        raise InvalidInput(
            _("a task's status is one of: {statuses}").format(statuses=", ".join(dk.TASK_STATUSES))
        )
    if not any(t.id == task for t in tasks(node, council)):
        raise NotFound(_("no such task in this council"))
    body = dk.TaskUpdate(task, cast(dk.TaskStatus, status), note)
    return node.append(council, "task.update", body)


class Decisions:
    """Proposals, ballots, closes, minutes and tasks."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core
