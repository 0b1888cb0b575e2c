"""Counts over a list of options: approval, score (range) and dot voting, time polls.

Part of :mod:`shora.domain.decisions.tally`; import from there. See docs/voting.md.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from shora.domain.decisions.tally_common import (
    BallotError,
    TallyError,
    TieBreak,
    check_options,
    frozen_map,
    is_int,
    order_by_totals,
)

__all__ = [
    "Availability",
    "AvailabilityCount",
    "ChoiceResult",
    "TimePollResult",
    "count_approval",
    "count_dots",
    "count_scores",
    "count_time_poll",
]


# --- approval, score and dot voting -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChoiceResult:
    """Totals per option for approval, score or dot voting, and the ranking they give."""

    method: str
    totals: Mapping[str, int]
    """Approvals, summed scores or points, per option in listing order."""
    ranking: tuple[str, ...]
    """Highest total first; equal totals in listing order."""
    winner: str | None
    """The first of the ranking; None when there were no ballots."""
    ballots: int
    tie_break: TieBreak | None
    """LISTING_ORDER when the first place was tied and listing order decided it."""

    def mean(self, option: str) -> Fraction | None:
        """The average per ballot (an option left unscored counts as its minimum)."""
        return Fraction(self.totals[option], self.ballots) if self.ballots else None


def _choice_result(
    method: str, opts: tuple[str, ...], totals: list[int], ballots: int
) -> ChoiceResult:
    order, tied_top = order_by_totals(totals)
    return ChoiceResult(
        method=method,
        totals=frozen_map(zip(opts, totals, strict=True)),
        ranking=tuple(opts[i] for i in order),
        winner=opts[order[0]] if ballots else None,
        ballots=ballots,
        tie_break=TieBreak.LISTING_ORDER if ballots and tied_top else None,
    )


def _check_mapping_ballot(ballot: object, i: int) -> Mapping[object, object]:
    if not isinstance(ballot, Mapping):
        raise BallotError("not_a_ballot", "this ballot must map options to numbers", index=i)
    return ballot


def count_approval(
    options: Iterable[str],
    ballots: Iterable[Collection[str]],
    *,
    min_choices: int = 0,
    max_choices: int | None = None,
) -> ChoiceResult:
    """Approval voting: each ballot is the set of options the voter approves of.

    Each ballot must approve between ``min_choices`` and ``max_choices`` (default: all
    options) options, each a known option, none twice. Options are ranked by the
    number of approvals.
    """
    opts = check_options(options)
    top = len(opts) if max_choices is None else max_choices
    if not (is_int(min_choices) and is_int(top) and 0 <= min_choices <= top <= len(opts)):
        raise TallyError(
            "bad_choice_limits",
            f"need 0 <= min_choices <= max_choices <= {len(opts)} options,"
            f" not {min_choices} and {max_choices}",
        )
    index = {option: k for k, option in enumerate(opts)}
    totals = [0] * len(opts)
    count = 0
    for i, ballot in enumerate(ballots):
        if isinstance(ballot, str | bytes | Mapping) or not isinstance(ballot, Collection):
            raise BallotError("not_a_ballot", "an approval ballot is a set of options", index=i)
        chosen: set[int] = set()
        for option in ballot:
            if option not in index:
                raise BallotError("unknown_option", f"{option!r} is not an option", index=i)
            if index[option] in chosen:
                raise BallotError("duplicate_option", f"{option!r} is approved twice", index=i)
            chosen.add(index[option])
        if len(chosen) < min_choices:
            raise BallotError(
                "too_few_choices", f"approves {len(chosen)}, at least {min_choices} needed", index=i
            )
        if len(chosen) > top:
            raise BallotError(
                "too_many_choices", f"approves {len(chosen)}, at most {top} allowed", index=i
            )
        for k in chosen:
            totals[k] += 1
        count += 1
    return _choice_result("approval", opts, totals, count)


def count_scores(
    options: Iterable[str],
    ballots: Iterable[Mapping[str, int]],
    *,
    min_score: int,
    max_score: int,
) -> ChoiceResult:
    """Score (range) voting: each ballot gives options whole-number scores.

    Every score must be an integer from ``min_score`` to ``max_score``; an option a
    ballot leaves out gets ``min_score``. Options are ranked by their summed score
    (equivalently their mean).
    """
    opts = check_options(options)
    if not (is_int(min_score) and is_int(max_score) and min_score < max_score):
        raise TallyError(
            "bad_score_range", f"need min_score < max_score, not {min_score}, {max_score}"
        )
    index = {option: k for k, option in enumerate(opts)}
    totals = [0] * len(opts)
    count = 0
    for i, ballot in enumerate(ballots):
        scores = _check_mapping_ballot(ballot, i)
        row = [min_score] * len(opts)
        for option, score in scores.items():
            if not isinstance(option, str) or option not in index:
                raise BallotError("unknown_option", f"{option!r} is not an option", index=i)
            if not is_int(score):
                raise BallotError(
                    "not_an_integer", f"score {score!r} is not a whole number", index=i
                )
            assert isinstance(score, int)
            if not min_score <= score <= max_score:
                raise BallotError(
                    "score_out_of_range",
                    f"score {score} for {option!r} is outside {min_score}..{max_score}",
                    index=i,
                )
            row[index[option]] = score
        for k, score in enumerate(row):
            totals[k] += score
        count += 1
    return _choice_result("score", opts, totals, count)


def count_dots(
    options: Iterable[str], ballots: Iterable[Mapping[str, int]], *, budget: int
) -> ChoiceResult:
    """Dot voting: each voter spreads up to ``budget`` points over the options.

    Points are non-negative whole numbers whose sum is at most ``budget``. Options are
    ranked by points received.
    """
    opts = check_options(options)
    if not is_int(budget) or budget < 1:
        raise TallyError("bad_budget", f"budget must be a positive whole number, not {budget!r}")
    index = {option: k for k, option in enumerate(opts)}
    totals = [0] * len(opts)
    count = 0
    for i, ballot in enumerate(ballots):
        points = _check_mapping_ballot(ballot, i)
        spent = 0
        given_to: list[tuple[int, int]] = []
        for option, given in points.items():
            if not isinstance(option, str) or option not in index:
                raise BallotError("unknown_option", f"{option!r} is not an option", index=i)
            if not is_int(given):
                raise BallotError(
                    "not_an_integer", f"{given!r} points is not a whole number", index=i
                )
            assert isinstance(given, int)
            if given < 0:
                raise BallotError("negative_points", f"{given} points for {option!r}", index=i)
            spent += given
            given_to.append((index[option], given))
        if spent > budget:
            raise BallotError(
                "budget_exceeded", f"spends {spent} points, the budget is {budget}", index=i
            )
        for k, given in given_to:
            totals[k] += given
        count += 1
    return _choice_result("dot", opts, totals, count)


# --- time poll ------------------------------------------------------------------------------


class Availability(StrEnum):
    YES = "yes"
    IF_NEED_BE = "if_need_be"
    NO = "no"


@dataclass(frozen=True, slots=True)
class AvailabilityCount:
    yes: int
    if_need_be: int
    no: int

    @property
    def possible(self) -> int:
        """Everyone who can come: yes + if-need-be."""
        return self.yes + self.if_need_be


@dataclass(frozen=True, slots=True)
class TimePollResult:
    counts: Mapping[str, AvailabilityCount]
    """Per option, in listing order. An option a ballot leaves out is counted in none."""
    ranking: tuple[str, ...]
    """By yes + if-need-be, then by yes, then listing order."""
    best: str | None
    """The first of the ranking; None when there were no ballots."""
    ballots: int
    tie_break: TieBreak | None


def count_time_poll(options: Iterable[str], ballots: Iterable[Mapping[str, str]]) -> TimePollResult:
    """A time poll: for each option, each voter answers yes, if-need-be or no."""
    opts = check_options(options)
    index = {option: k for k, option in enumerate(opts)}
    tallies = [[0, 0, 0] for _ in opts]
    column = {Availability.YES: 0, Availability.IF_NEED_BE: 1, Availability.NO: 2}
    count = 0
    for i, ballot in enumerate(ballots):
        answers = _check_mapping_ballot(ballot, i)
        for option, answer in answers.items():
            if not isinstance(option, str) or option not in index:
                raise BallotError("unknown_option", f"{option!r} is not an option", index=i)
            try:
                if not isinstance(answer, str):
                    raise ValueError(answer)
                tallies[index[option]][column[Availability(answer)]] += 1
            except ValueError:
                raise BallotError(
                    "invalid_response", f"{answer!r} is not yes, if_need_be or no", index=i
                ) from None
        count += 1
    order = sorted(
        range(len(opts)), key=lambda k: (-(tallies[k][0] + tallies[k][1]), -tallies[k][0], k)
    )
    key = [(tallies[k][0] + tallies[k][1], tallies[k][0]) for k in order]
    tied = count > 0 and len(order) > 1 and key[0] == key[1]
    return TimePollResult(
        counts=frozen_map((opts[k], AvailabilityCount(*tallies[k])) for k in range(len(opts))),
        ranking=tuple(opts[k] for k in order),
        best=opts[order[0]] if count else None,
        ballots=count,
        tie_break=TieBreak.LISTING_ORDER if tied else None,
    )
