"""Majority decisions: yes/no/abstain against a threshold, quorum, and consent.

Part of :mod:`shora.domain.decisions.tally`; import from there. See docs/voting.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from shora.domain.decisions.tally_common import BallotError, TallyError, is_int

__all__ = [
    "SIMPLE_MAJORITY",
    "TWO_THIRDS",
    "UNANIMITY",
    "Consent",
    "ConsentBallot",
    "ConsentResult",
    "QuorumResult",
    "Threshold",
    "Vote",
    "YesNoResult",
    "check_quorum",
    "count_consent",
    "count_yes_no",
    "quorum_required",
]


def _fraction(value: object, what: str) -> Fraction:
    if isinstance(value, Fraction):
        result = value
    elif is_int(value):
        assert isinstance(value, int)
        result = Fraction(value)
    else:
        raise TallyError("bad_fraction", f"{what} must be a Fraction, not {value!r}")
    if not 0 <= result <= 1:
        raise TallyError("bad_fraction", f"{what} must be between 0 and 1, not {result}")
    return result


# --- quorum -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuorumResult:
    """Whether enough of the electorate took part. Abstentions count as taking part."""

    participants: int
    electorate: int
    fraction: Fraction
    required: int
    met: bool


def quorum_required(electorate: int, fraction: Fraction) -> int:
    """How many must take part: ``fraction`` of ``electorate``, rounded up."""
    share = _fraction(fraction, "quorum")
    if not is_int(electorate) or electorate < 0:
        raise TallyError("bad_electorate", f"electorate must be a count, not {electorate!r}")
    return -((-electorate * share.numerator) // share.denominator)


def check_quorum(participants: int, electorate: int, fraction: Fraction) -> QuorumResult:
    """Is ``participants`` at least ``fraction`` of ``electorate`` (rounded up)?

    Everyone who handed in a ballot takes part, abstainers included: abstaining is
    taking part in the decision, so it counts toward the quorum (it does not count
    toward a yes/no threshold).
    """
    required = quorum_required(electorate, fraction)
    if not is_int(participants) or not 0 <= participants:
        raise TallyError("bad_participants", f"participants must be a count, not {participants!r}")
    return QuorumResult(
        participants, electorate, Fraction(fraction), required, participants >= required
    )


def _optional_quorum(
    participants: int, electorate: int | None, quorum: Fraction | None
) -> QuorumResult | None:
    if (electorate is None) != (quorum is None):
        raise TallyError("bad_quorum", "give both electorate and quorum, or neither")
    if electorate is None or quorum is None:
        return None
    return check_quorum(participants, electorate, quorum)


# --- yes / no / abstain -------------------------------------------------------------------


class Vote(StrEnum):
    """A yes/no/abstain ballot."""

    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


@dataclass(frozen=True, slots=True)
class Threshold:
    """The share of yes among yes+no needed: at least ``fraction``, or more than it.

    Abstentions are left out of the share. With no yes or no votes at all, no
    threshold is met.
    """

    fraction: Fraction
    inclusive: bool = True
    """True: yes/(yes+no) >= fraction. False: yes/(yes+no) > fraction."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "fraction", _fraction(self.fraction, "threshold"))
        if self.fraction == 1 and not self.inclusive:
            raise TallyError("bad_fraction", "no share can be more than all of the votes")

    def met(self, yes: int, no: int) -> bool:
        cast = yes + no
        if cast == 0:
            return False
        left, right = yes * self.fraction.denominator, self.fraction.numerator * cast
        return left >= right if self.inclusive else left > right


SIMPLE_MAJORITY = Threshold(Fraction(1, 2), inclusive=False)
"""More than half of yes+no."""
TWO_THIRDS = Threshold(Fraction(2, 3))
"""At least two thirds of yes+no."""
UNANIMITY = Threshold(Fraction(1))
"""Every yes-or-no vote is yes (abstentions allowed)."""


@dataclass(frozen=True, slots=True)
class YesNoResult:
    yes: int
    no: int
    abstain: int
    threshold: Threshold
    yes_share: Fraction | None
    """yes / (yes + no); None when nobody voted yes or no."""
    threshold_met: bool
    quorum: QuorumResult | None
    passed: bool
    """The threshold is met, and so is the quorum if one was asked for."""

    @property
    def participants(self) -> int:
        return self.yes + self.no + self.abstain


def count_yes_no(
    votes: Iterable[str],
    threshold: Threshold | Fraction = SIMPLE_MAJORITY,
    *,
    electorate: int | None = None,
    quorum: Fraction | None = None,
) -> YesNoResult:
    """Count yes/no/abstain votes against ``threshold``.

    ``threshold`` is a :class:`Threshold` (``SIMPLE_MAJORITY``: more than 1/2;
    ``TWO_THIRDS``: at least 2/3) or a bare Fraction meaning *at least* that share.
    Abstentions are reported and count toward the quorum (``quorum`` of
    ``electorate``, both or neither), never toward the threshold.
    """
    rule = threshold if isinstance(threshold, Threshold) else Threshold(threshold)
    counts = dict.fromkeys(Vote, 0)
    for i, vote in enumerate(votes):
        try:
            counts[Vote(vote)] += 1
        except ValueError:
            raise BallotError(
                "invalid_response", f"{vote!r} is not yes, no or abstain", index=i
            ) from None
    yes, no, abstain = counts[Vote.YES], counts[Vote.NO], counts[Vote.ABSTAIN]
    met = rule.met(yes, no)
    checked = _optional_quorum(yes + no + abstain, electorate, quorum)
    share = Fraction(yes, yes + no) if yes + no else None
    passed = met and (checked is None or checked.met)
    return YesNoResult(yes, no, abstain, rule, share, met, checked, passed)


# --- consent ------------------------------------------------------------------------------


class Consent(StrEnum):
    """A response in a consent decision."""

    AGREE = "agree"
    ABSTAIN = "abstain"
    OBJECT = "object"
    """A concern that is recorded and reported, but does not stop the proposal."""
    BLOCK = "block"
    """A principled objection that stops the proposal; it must give a reason."""


@dataclass(frozen=True, slots=True)
class ConsentBallot:
    response: Consent | str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ConsentResult:
    agree: int
    abstain: int
    object: int
    block: int
    objections: tuple[str, ...]
    """The reasons given with objections (non-empty ones), sorted."""
    blocks: tuple[str, ...]
    """The reasons given with blocks, sorted."""
    blocks_to_stop: int | None
    blocked: bool
    quorum: QuorumResult | None
    passed: bool
    """Not blocked, at least one agree, and the quorum met if one was asked for."""


def _consent_ballot(ballot: object, i: int) -> tuple[Consent, str]:
    if isinstance(ballot, ConsentBallot):
        response, reason = ballot.response, ballot.reason
    elif isinstance(ballot, str):
        response, reason = ballot, ""
    elif isinstance(ballot, tuple) and len(ballot) == 2:
        response, reason = ballot
    else:
        raise BallotError("not_a_ballot", f"{ballot!r} is not a consent ballot", index=i)
    try:
        consent = Consent(response)
    except ValueError:
        raise BallotError(
            "invalid_response", f"{response!r} is not agree, abstain, object or block", index=i
        ) from None
    if not isinstance(reason, str):
        raise BallotError("not_a_ballot", "a reason must be text", index=i)
    reason = reason.strip()
    if consent is Consent.BLOCK and not reason:
        raise BallotError("block_without_reason", "a block must give a reason", index=i)
    return consent, reason


def count_consent(
    ballots: Iterable[ConsentBallot | tuple[str, str] | str],
    *,
    blocks_to_stop: int | None = 1,
    electorate: int | None = None,
    quorum: Fraction | None = None,
) -> ConsentResult:
    """Count a consent decision: agree / abstain / object / block.

    ``blocks_to_stop`` blocks stop the proposal (1: a single block stops it; None:
    blocks are recorded but never stop it). Every block must carry a non-empty
    reason (:class:`BallotError` ``block_without_reason`` otherwise). Objections are
    reported with their reasons and do not stop the proposal. The proposal passes
    when it is not blocked, at least one member agrees, and the quorum (if asked for,
    abstentions counting toward it) is met.
    """
    if blocks_to_stop is not None and (not is_int(blocks_to_stop) or blocks_to_stop < 1):
        raise TallyError("bad_blocks_to_stop", "blocks_to_stop must be at least 1, or None")
    counts = dict.fromkeys(Consent, 0)
    objections: list[str] = []
    blocks: list[str] = []
    for i, ballot in enumerate(ballots):
        consent, reason = _consent_ballot(ballot, i)
        counts[consent] += 1
        if consent is Consent.BLOCK:
            blocks.append(reason)
        elif consent is Consent.OBJECT and reason:
            objections.append(reason)
    participants = sum(counts.values())
    checked = _optional_quorum(participants, electorate, quorum)
    blocked = blocks_to_stop is not None and counts[Consent.BLOCK] >= blocks_to_stop
    passed = not blocked and counts[Consent.AGREE] > 0 and (checked is None or checked.met)
    return ConsentResult(
        agree=counts[Consent.AGREE],
        abstain=counts[Consent.ABSTAIN],
        object=counts[Consent.OBJECT],
        block=counts[Consent.BLOCK],
        objections=tuple(sorted(objections)),
        blocks=tuple(sorted(blocks)),
        blocks_to_stop=blocks_to_stop,
        blocked=blocked,
        quorum=checked,
        passed=passed,
    )
