"""The state of a proposal: a pure function of its events. See docs/decisions.md.

No I/O, no clock: fed event views (already accepted by the kernel and still valid),
the members who may vote (the active members in the proposal's causal state), and a
function giving an event's ancestors. Every replica holding the same events computes
the same state, whatever order they arrived in.

The rules, in short:

* the text is the original, or the text of the latest (clock, id) amendment the
  proposal's author accepted;
* a ballot counts if its author is eligible, its claimed time is at or before the
  deadline, and it is valid for the method; each member's latest (clock, id) ballot
  that counts is theirs;
* a close counts if its claimed time is at or after deadline + grace (the deadline
  held to the rules' least voting period by `effective`); the first such
  close in (clock, id) order fixes the result, counting only the ballots (and
  accepted amendments) that are its ancestors. Before it, the result is provisional.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import msgspec

from shora.domain.decisions import kinds as dk
from shora.errors import InvalidInput
from shora.i18n import _
from shora.kernel import kinds

if TYPE_CHECKING:
    from shora.domain.decisions import tally

MS = 1000
VOTE_KINDS = ("decision.vote", "gov.vote")
CLOSE_KINDS = ("decision.close", "gov.close")


class EventView(msgspec.Struct, frozen=True):
    """What a reducer needs of an accepted event: the kernel's columns, body decoded."""

    id: bytes
    author: bytes
    clock: int
    time: int  # ms since 1970, as the author claims
    kind: str
    body: Any

    @property
    def order(self) -> tuple[int, bytes]:
        return (self.clock, self.id)


class Params(msgspec.Struct, frozen=True):
    """A proposal's method parameters, checked and parsed."""

    options: tuple[str, ...]
    threshold: tally.Threshold
    quorum: Fraction


class AmendmentInfo(msgspec.Struct, frozen=True):
    id: bytes
    author: bytes
    text: str
    reason: str
    accepted: bool


class CountedBallot(msgspec.Struct, frozen=True):
    member: bytes
    event: bytes
    time: int  # ms, claimed
    ballot: dk.Ballot


class ProposalState(msgspec.Struct, frozen=True):
    id: bytes
    author: bytes
    clock: int
    time: int  # ms, claimed
    body: dk.Propose
    text: str  # the current text
    amendments: tuple[AmendmentInfo, ...]
    eligible: frozenset[bytes]
    ballots: tuple[CountedBallot, ...]  # the ballot of each member that counts, by member
    late: int  # ballot events claimed after the deadline (ignored)
    ineligible: int  # ballot events by someone who may not vote (ignored)
    invalid: int  # ballot events that do not fit the method (ignored)
    closed_by: bytes | None  # the close that fixed the result; None = provisional
    outcomes: tuple[tuple[bytes, bytes, str], ...]  # (event, author, statement)
    problem: str | None  # the proposal's parameters are unusable (no result then)
    quorum: tally.QuorumResult | None
    result: Any  # the tally result object of the method, or None
    passed: bool | None  # yes_no and consent: did it pass; choice methods: None
    winners: tuple[str, ...]  # choice methods: the winner(s); empty if none
    action: Any = None  # a governance proposal's action (governance_kinds.Action), or None

    @property
    def final(self) -> bool:
        return self.closed_by is not None

    @property
    def closes_at(self) -> int:
        """Unix seconds from which a close is valid."""
        return self.body.deadline + self.body.grace

    def ballot_of(self, member: bytes) -> CountedBallot | None:
        for counted in self.ballots:
            if counted.member == member:
                return counted
        return None


def phase(state: ProposalState, now: float) -> str:
    """Where a proposal stands at `now` (unix seconds): open (ballots may be cast),
    grace (past the deadline, late deliveries still count, not closable yet),
    closable (from deadline + grace on; with no grace period, ballots may still be
    cast at the deadline's very second), or closed."""
    if state.final:
        return "closed"
    if now >= state.closes_at:
        return "closable"
    return "open" if now <= state.body.deadline else "grace"


def _fraction(text: str, what: str) -> Fraction:
    num, den = text.split("/")
    value = Fraction(int(num), int(den))
    if not 0 <= value <= 1:
        if what == "quorum":
            raise InvalidInput(
                _("the quorum must be between 0 and 1, not {share}").format(share=text)
            )
        raise InvalidInput(
            _("the threshold must be between 0 and 1, not {share}").format(share=text)
        )
    return value


def check_params(body: dk.Propose) -> Params:
    """The parameters, parsed; raises InvalidInput, in the reader's language, if they
    cannot be used."""
    from shora.domain.decisions import tally  # the counting, when a vote is counted

    options = tuple(body.options)
    if len(set(options)) != len(options):
        raise InvalidInput(_("an option is listed twice"))
    if body.method in dk.METHODS_WITHOUT_OPTIONS:
        if options:
            raise InvalidInput(_("a {method} vote has no options").format(method=body.method))
    elif len(options) < (1 if body.method == "time_poll" else 2):
        raise InvalidInput(
            _("a {method} vote needs at least two options").format(method=body.method)
        )
    threshold_value = _fraction(body.threshold, "threshold")
    if threshold_value == 1 and not body.inclusive:
        raise InvalidInput(_("no share can be more than all of the votes"))
    quorum = _fraction(body.quorum, "quorum")
    if body.method == "approval":
        top = len(options) if body.max_choices is None else body.max_choices
        if not body.min_choices <= top <= len(options):
            raise InvalidInput(_("the choices allowed must fit 0 <= min <= max <= options"))
    if body.method == "score" and body.min_score >= body.max_score:
        raise InvalidInput(_("the lowest score must be below the highest"))
    if body.method == "stv" and body.seats > len(options):
        raise InvalidInput(_("there are more seats than candidates"))
    return Params(options, tally.Threshold(threshold_value, body.inclusive), quorum)


def _share(text: str) -> Fraction:
    num, den = text.split("/")
    return min(Fraction(1), Fraction(int(num), int(den)))


def _strictness(share: Fraction, inclusive: bool) -> tuple[Fraction, bool]:
    return (share, not inclusive)  # "more than" a share is stricter than "at least" it


# Governance votes held open at least `min_governance_vote_hours`; every other vote
# (ordinary proposals, amendments put to a vote, elections) `min_vote_hours`.
LONG_VOTES = ("rule_change", "recall", "ratify")


def min_vote_seconds(rules: kinds.Rules, purpose: str | None) -> int:
    """The least time (seconds) a vote of this purpose stays open (docs/decisions.md §6)."""
    hours = rules.min_governance_vote_hours if purpose in LONG_VOTES else rules.min_vote_hours
    return hours * 3600


def effective(
    body: dk.Propose, rules: kinds.Rules, purpose: str | None, opened_ms: int
) -> dk.Propose:
    """The proposal held to the council's floors (docs/decisions.md §6): the stricter
    of its own and the rules' quorum, threshold and consent blocks, the longer grace,
    and a deadline no earlier than the proposal's claimed time (`opened_ms`) plus the
    rules' least voting period, so that no close before then counts. `rules` are
    those of the proposal's causal state; `purpose` is a governance proposal's action
    (rule_change, election, recall, ratify), None for others."""
    quorum = max(_share(body.quorum), _share(rules.quorum))
    if purpose is not None:
        quorum = max(quorum, _share(rules.governance_quorum))
    floor = {
        None: rules.threshold,
        "rule_change": rules.rule_change_threshold,
        "recall": rules.recall_threshold,
        "ratify": rules.ratify_threshold,
    }.get(purpose, "0/1")
    floor_share = _share(floor)
    own = _strictness(_share(body.threshold), body.inclusive)
    threshold, inclusive = body.threshold, body.inclusive
    if _strictness(floor_share, floor_share != Fraction(1, 2)) > own:
        threshold, inclusive = floor, floor_share != Fraction(1, 2)
    blocks = body.blocks_to_stop
    if rules.blocks_to_stop is not None and (blocks is None or blocks > rules.blocks_to_stop):
        blocks = rules.blocks_to_stop
    return msgspec.structs.replace(
        body,
        quorum=f"{quorum.numerator}/{quorum.denominator}",
        threshold=threshold,
        inclusive=inclusive,
        blocks_to_stop=blocks,
        deadline=max(body.deadline, opened_ms // MS + min_vote_seconds(rules, purpose)),
        grace=max(body.grace, min(rules.grace_hours * 3600, dk.MAX_GRACE)),
    )


def ballot_input(ballot: dk.Ballot) -> Any:
    """A ballot in the form the tally functions take."""
    from shora.domain.decisions import tally  # the counting, when a vote is counted

    if isinstance(ballot, dk.YesNoBallot):
        return ballot.vote
    if isinstance(ballot, dk.ConsentBallot):
        return tally.ConsentBallot(ballot.response, ballot.reason)
    if isinstance(ballot, dk.ApprovalBallot):
        return list(ballot.choices)
    if isinstance(ballot, dk.RankedBallot):
        return list(ballot.ranking)
    if isinstance(ballot, dk.ScoreBallot):
        return dict(ballot.scores)
    if isinstance(ballot, dk.DotsBallot):
        return dict(ballot.dots)
    return dict(ballot.answers)


def count(
    body: dk.Propose, params: Params, ballots: list[Any], electorate: int
) -> tuple[Any, bool | None, tuple[str, ...]]:
    """Run the method's tally: (result object, passed or None, winners)."""
    from shora.domain.decisions import tally  # the counting, when a vote is counted

    opts, method = params.options, body.method
    if method == "yes_no":
        yn = tally.count_yes_no(
            ballots, params.threshold, electorate=electorate, quorum=params.quorum
        )
        return yn, yn.passed, ()
    if method == "consent":
        consent = tally.count_consent(
            ballots, blocks_to_stop=body.blocks_to_stop, electorate=electorate, quorum=params.quorum
        )
        return consent, consent.passed, ()
    result: Any
    if method == "approval":
        result = tally.count_approval(
            opts, ballots, min_choices=body.min_choices, max_choices=body.max_choices
        )
    elif method == "score":
        result = tally.count_scores(
            opts, ballots, min_score=body.min_score, max_score=body.max_score
        )
    elif method == "dots":
        result = tally.count_dots(opts, ballots, budget=body.budget)
    elif method == "time_poll":
        result = tally.count_time_poll(opts, ballots)
        return result, None, (result.best,) if result.best is not None else ()
    elif method == "irv":
        result = tally.instant_runoff(opts, ballots)
    elif method == "stv":
        result = tally.scottish_stv(opts, ballots, body.seats)
        return result, None, tuple(result.elected)
    else:
        result = tally.schulze(opts, ballots)
    return result, None, (result.winner,) if result.winner is not None else ()


def check_ballot(body: dk.Propose, params: Params, ballot: dk.Ballot) -> None:
    """Raise BallotError (or InvalidInput) if the ballot does not fit the proposal."""
    from shora.domain.decisions import tally  # the counting, when a vote is counted

    expected = dk.BALLOT_FOR_METHOD[body.method]
    if not isinstance(ballot, expected):
        raise tally.BallotError("not_a_ballot", f"a {body.method} vote needs another ballot")
    count(body, params, [ballot_input(ballot)], 1)


def reduce_proposal(
    propose: EventView,
    eligible: Set[bytes],
    events: Iterable[EventView],
    ancestors: Callable[[bytes], Set[bytes]],
    refused: str | None = None,
) -> ProposalState:
    """The state of one proposal from its valid events (any order, duplicates allowed).

    `events` are the proposal's amend, amendment_accept, vote, close and outcome
    events; `ancestors(e)` gives the ids of e's ancestors (called for the first valid
    close only); `refused` why the council's rules refuse the proposal itself (then no
    ballot counts and there is no result).
    """
    from shora.domain.decisions import tally  # the counting, when a vote is counted

    body: dk.Propose = propose.body
    unique: Mapping[bytes, EventView] = {
        e.id: e for e in events if getattr(e.body, "proposal", None) == propose.id
    }
    ordered = sorted(unique.values(), key=lambda e: e.order)
    closes_at_ms = (body.deadline + body.grace) * MS
    close = next((e for e in ordered if e.kind in CLOSE_KINDS and e.time >= closes_at_ms), None)
    scope: Set[bytes] | None = ancestors(close.id) if close is not None else None

    def counts(e: EventView) -> bool:
        return scope is None or e.id in scope

    amends = [e for e in ordered if e.kind == "decision.amend"]
    accepted = {
        e.body.amendment
        for e in ordered
        if e.kind == "decision.amendment_accept" and e.author == propose.author and counts(e)
    }
    amendments = tuple(
        AmendmentInfo(e.id, e.author, e.body.text, e.body.reason, e.id in accepted and counts(e))
        for e in amends
    )
    text = body.text
    for info in amendments:
        if info.accepted:
            text = info.text

    problem: str | None = refused
    try:
        params: Params | None = check_params(body) if refused is None else None
    except InvalidInput as exc:
        problem, params = str(exc), None

    late = ineligible = invalid = 0
    latest: dict[bytes, CountedBallot] = {}
    for e in ordered:
        if e.kind not in VOTE_KINDS or not counts(e):
            continue
        if e.author not in eligible:
            ineligible += 1
        elif e.time > body.deadline * MS:
            late += 1
        elif params is None:
            invalid += 1
        else:
            try:
                check_ballot(body, params, e.body.ballot)
            except InvalidInput:
                invalid += 1
                continue
            latest[e.author] = CountedBallot(e.author, e.id, e.time, e.body.ballot)
    ballots = tuple(latest[m] for m in sorted(latest))

    result: Any = None
    passed: bool | None = None
    winners: tuple[str, ...] = ()
    quorum: tally.QuorumResult | None = None
    if params is not None:
        quorum = tally.check_quorum(len(ballots), len(eligible), params.quorum)
        inputs = [ballot_input(b.ballot) for b in ballots]
        result, passed, winners = count(body, params, inputs, len(eligible))
        if not quorum.met:
            winners = ()
    outcomes = tuple(
        (e.id, e.author, e.body.statement) for e in ordered if e.kind == "decision.outcome"
    )
    return ProposalState(
        id=propose.id,
        author=propose.author,
        clock=propose.clock,
        time=propose.time,
        body=body,
        text=text,
        amendments=amendments,
        eligible=frozenset(eligible),
        ballots=ballots,
        late=late,
        ineligible=ineligible,
        invalid=invalid,
        closed_by=close.id if close is not None else None,
        outcomes=outcomes,
        problem=problem,
        quorum=quorum,
        result=result,
        passed=passed,
        winners=winners,
    )


# --- tasks -----------------------------------------------------------------------------


class TaskState(msgspec.Struct, frozen=True):
    id: bytes
    author: bytes
    time: int  # ms, claimed
    decision: bytes | None
    what: str
    who: str
    who_member: bytes | None
    due: int | None
    status: str
    notes: tuple[tuple[bytes, str, str], ...]  # (author, status, note), in (clock, id) order


def reduce_task(create: EventView, updates: Iterable[EventView]) -> TaskState:
    """A task's status is that of its latest (clock, id) update, "open" without one."""
    body: dk.TaskCreate = create.body
    ordered = sorted(
        {e.id: e for e in updates if e.body.task == create.id}.values(), key=lambda e: e.order
    )
    return TaskState(
        create.id,
        create.author,
        create.time,
        body.decision,
        body.what,
        body.who,
        body.who_member,
        body.due,
        ordered[-1].body.status if ordered else "open",
        tuple((e.author, e.body.status, e.body.note) for e in ordered),
    )
