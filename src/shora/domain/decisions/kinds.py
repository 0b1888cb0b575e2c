"""The event kinds of deliberation and decisions: proposals, amendments, ballots,
closes, outcomes, minutes and tasks. See docs/decisions.md.

Every body is a bounded msgspec Struct registered with the kernel; kinds that
concern one proposal are indexed by it (``ref`` = the proposal's inner id), so a
reader folds just that proposal's events. A ballot is a tagged union, one variant
per family of methods: a later secret-ballot kind (or new variants) can be added
beside it without changing these.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from shora.kernel.events import Bytes32, register_kind

MAX_OPTIONS = 50
MAX_SEATS = 50
MAX_GRACE = 30 * 24 * 3600  # a grace period of at most 30 days
MAX_MINUTES_DECISIONS = 200

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=20_000)]
Reason = Annotated[str, msgspec.Meta(max_length=1000)]
OptionName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Options = Annotated[list[OptionName], msgspec.Meta(max_length=MAX_OPTIONS)]
FractionText = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,6}/[1-9][0-9]{0,5}$")]
UnixTime = Annotated[int, msgspec.Meta(ge=0, lt=2**40)]
Small = Annotated[int, msgspec.Meta(ge=0, le=MAX_OPTIONS)]
ScoreValue = Annotated[int, msgspec.Meta(ge=-1000, le=1000)]
Points = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]

Method = Literal[
    "yes_no", "consent", "approval", "score", "dots", "irv", "stv", "schulze", "time_poll"
]
METHODS: tuple[str, ...] = (
    "yes_no",
    "consent",
    "approval",
    "score",
    "dots",
    "irv",
    "stv",
    "schulze",
    "time_poll",
)
RANKED_METHODS = ("irv", "stv", "schulze")
METHODS_WITHOUT_OPTIONS = ("yes_no", "consent")


class Propose(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A proposal put to a vote. Its id is the inner id of this event."""

    title: Title
    text: Text
    method: Method
    options: Options = msgspec.field(default_factory=list)  # ballot order: ties favour earlier
    seats: Annotated[int, msgspec.Meta(ge=1, le=MAX_SEATS)] = 1  # stv
    threshold: FractionText = "1/2"  # yes_no: share of yes among yes + no
    inclusive: bool = False  # "at least" (True) or "more than" (False) the threshold
    blocks_to_stop: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = 1  # consent
    min_choices: Small = 0  # approval
    max_choices: Small | None = None  # approval; None = every option
    min_score: ScoreValue = 0  # score
    max_score: ScoreValue = 5  # score
    budget: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 10  # dots per voter
    quorum: FractionText = "0/1"  # share of the eligible members who must take part
    deadline: UnixTime  # unix seconds: ballots must be cast (claimed) by then
    grace: Annotated[int, msgspec.Meta(ge=0, le=MAX_GRACE)] = 0  # seconds after the deadline
    amendment: Bytes32 | None = None  # a yes/no vote on this decision.amend: passed, it applies


class Amend(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A proposed new text; it applies once the proposal's author accepts it."""

    proposal: Bytes32
    text: Text
    reason: Reason = ""


class AmendmentAccept(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    proposal: Bytes32
    amendment: Bytes32  # the inner id of the decision.amend event


# --- ballots: a tagged union (the tag is the msgpack field "type") ---------------------


class YesNoBallot(msgspec.Struct, frozen=True, tag="yes_no", forbid_unknown_fields=True):
    vote: Literal["yes", "no", "abstain"]


class ConsentBallot(msgspec.Struct, frozen=True, tag="consent", forbid_unknown_fields=True):
    response: Literal["agree", "abstain", "object", "block"]
    reason: Reason = ""


class ApprovalBallot(msgspec.Struct, frozen=True, tag="approval", forbid_unknown_fields=True):
    choices: Options


class ScoreBallot(msgspec.Struct, frozen=True, tag="score", forbid_unknown_fields=True):
    scores: Annotated[dict[OptionName, ScoreValue], msgspec.Meta(max_length=MAX_OPTIONS)]


class DotsBallot(msgspec.Struct, frozen=True, tag="dots", forbid_unknown_fields=True):
    dots: Annotated[dict[OptionName, Points], msgspec.Meta(max_length=MAX_OPTIONS)]


class RankedBallot(msgspec.Struct, frozen=True, tag="ranked", forbid_unknown_fields=True):
    ranking: Options  # most preferred first; may stop early


class TimeBallot(msgspec.Struct, frozen=True, tag="time", forbid_unknown_fields=True):
    answers: Annotated[
        dict[OptionName, Literal["yes", "if_need_be", "no"]], msgspec.Meta(max_length=MAX_OPTIONS)
    ]


Ballot = (
    YesNoBallot
    | ConsentBallot
    | ApprovalBallot
    | ScoreBallot
    | DotsBallot
    | RankedBallot
    | TimeBallot
)

BALLOT_FOR_METHOD: dict[str, type[msgspec.Struct]] = {
    "yes_no": YesNoBallot,
    "consent": ConsentBallot,
    "approval": ApprovalBallot,
    "score": ScoreBallot,
    "dots": DotsBallot,
    "irv": RankedBallot,
    "stv": RankedBallot,
    "schulze": RankedBallot,
    "time_poll": TimeBallot,
}


class Vote(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    proposal: Bytes32
    ballot: Ballot


class Close(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    proposal: Bytes32


class Outcome(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    proposal: Bytes32
    statement: Text


class Minutes(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    title: Title
    text: Text
    decisions: Annotated[list[Bytes32], msgspec.Meta(max_length=MAX_MINUTES_DECISIONS)] = (
        msgspec.field(default_factory=list)
    )


TaskStatus = Literal["open", "doing", "done", "dropped"]
TASK_STATUSES: tuple[str, ...] = ("open", "doing", "done", "dropped")


class TaskCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    decision: Bytes32 | None  # the proposal it carries out, if any
    what: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    who: Annotated[str, msgspec.Meta(max_length=200)] = ""  # free text, if not a member
    who_member: Bytes32 | None = None  # a member's key
    due: UnixTime | None = None


class TaskUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    task: Bytes32  # the inner id of the task.create event
    status: TaskStatus
    note: Reason = ""


DECISION_KINDS: dict[str, type[msgspec.Struct]] = {
    "decision.propose": Propose,
    "decision.amend": Amend,
    "decision.amendment_accept": AmendmentAccept,
    "decision.vote": Vote,
    "decision.close": Close,
    "decision.outcome": Outcome,
    "decision.minutes": Minutes,
    "task.create": TaskCreate,
    "task.update": TaskUpdate,
}
# The kinds indexed by the proposal they concern (their `ref`).
PROPOSAL_KINDS = (
    "decision.amend",
    "decision.amendment_accept",
    "decision.vote",
    "decision.close",
    "decision.outcome",
)


def register() -> None:
    """Register these kinds with the kernel: shora.node calls it once, from its
    KIND_MODULES; importing this module registers nothing."""
    register_kind("decision.propose", Propose, ref=lambda body: body.amendment)
    for _kind in PROPOSAL_KINDS:
        register_kind(_kind, DECISION_KINDS[_kind], ref=lambda body: body.proposal)
    register_kind("decision.minutes", Minutes)
    register_kind("task.create", TaskCreate, ref=lambda body: body.decision)
    register_kind("task.update", TaskUpdate, ref=lambda body: body.task)
