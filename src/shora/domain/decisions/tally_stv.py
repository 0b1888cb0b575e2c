"""Single transferable vote by the Scottish rules, for several seats.

Part of :mod:`shora.domain.decisions.tally`; import from there. See docs/voting.md.

The count follows rules 45–52 of Schedule 1 to the Scottish Local Government
Elections Order 2007 (SSI 2007/42), the rules of Scottish council elections:

* rule 46: quota = floor(valid ballots / (seats + 1)) + 1 (the Droop quota);
* rule 47: an option whose votes reach the quota is deemed elected;
* rules 48, 49: while seats remain, the largest surplus is transferred first. *All*
  the papers the elected option holds pass to their next continuing preference (the
  weighted inclusive Gregory method), each at transfer value
  surplus × (value of the paper when received) / (the option's total), truncated to
  five decimal places; papers with no next preference are non-transferable. Equal
  surpluses: the option with more votes at the most recent stage where they
  differed goes first, then the earlier-listed ("lot" in the Order);
* rules 50, 51: when no surplus is left, the option with fewest votes is excluded and
  each of its papers passes on at the value it arrived with. Equal lowest: the one
  with fewer votes at the most recent stage where they differed, then the
  later-listed ("lot" in the Order);
* rule 52: when the continuing options are as many as the seats left, they are all
  elected and the count stops.

Values are kept as integers in units of 0.00001, so the arithmetic is exact and the
result does not depend on the order of the ballots.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from operator import itemgetter

from shora.domain.decisions.tally_common import (
    Ranking,
    TallyError,
    TieBreak,
    aggregate_rankings,
    break_tie,
    check_options,
    frozen_map,
    next_holders,
)

__all__ = ["StageAction", "StvResult", "StvStage", "scottish_stv"]

SCALE = 100_000
"""One vote, in the units the count works in (five decimal places)."""


def _votes(units: int) -> Decimal:
    return Decimal(units).scaleb(-5)


class StageAction(StrEnum):
    FIRST_PREFERENCES = "first_preferences"
    SURPLUS = "surplus"
    EXCLUSION = "exclusion"


@dataclass(frozen=True, slots=True)
class StvStage:
    """One stage of the count, as a results sheet shows it."""

    number: int
    action: StageAction
    option: str | None
    """Whose surplus was transferred or who was excluded (None at the first stage)."""
    transfer_value: Decimal | None
    """For a surplus: the value of its first-preference papers (surplus / total, 5
    decimals); papers it had received by transfer go at that times their value."""
    votes: Mapping[str, Decimal]
    """Every option's votes at the end of the stage, in listing order (an elected
    option keeps the quota once its surplus has gone; an excluded one has 0)."""
    transfers: Mapping[str, Decimal]
    """The value each option received at this stage."""
    non_transferable: Decimal
    """So far: the value on papers with no next available preference."""
    lost_to_fractions: Decimal
    """So far: the value dropped by truncating transfer values to 5 decimals."""
    elected: tuple[str, ...]
    """Deemed elected at the end of this stage, in order of election."""
    tie_break: TieBreak | None
    """How the surplus or exclusion of this stage was chosen among equals, if it was."""


@dataclass(frozen=True, slots=True)
class StvResult:
    options: tuple[str, ...]
    seats: int
    elected: tuple[str, ...]
    """In order of election; fewer than ``seats`` only when there were no valid ballots."""
    quota: int
    valid: int
    """Ballots with at least one preference."""
    blank: int
    stages: tuple[StvStage, ...]

    @property
    def tie_broken(self) -> bool:
        """Whether some surplus order or exclusion was decided by the tie-break rule."""
        return any(s.tie_break is not None for s in self.stages)


def _by_votes_desc(
    group: Sequence[str],
    totals: Mapping[str, int],
    history: Sequence[Mapping[str, int]],
    position: Mapping[str, int],
) -> list[str]:
    """Order options elected together: more votes first, equal ones by the tie-break rule."""
    remaining = list(group)
    ordered: list[str] = []
    while remaining:
        top = max(totals[c] for c in remaining)
        tied = [c for c in remaining if totals[c] == top]
        chosen = tied[0] if len(tied) == 1 else break_tie(tied, history, position, lowest=False)[0]
        ordered.append(chosen)
        remaining.remove(chosen)
    return ordered


class _Count:
    """The mutable state of one count: totals in units of 0.00001 vote, and the piles."""

    def __init__(self, options: tuple[str, ...], distinct: Sequence[tuple[Ranking, int]]) -> None:
        self.options = options
        # piles[c]: (ranking, ballots, value of each) held by c; piles[None]: non-transferable
        self.piles: dict[str | None, list[tuple[Ranking, int, int]]] = {c: [] for c in options}
        self.piles[None] = []
        for ranking, n in distinct:
            self.piles[ranking[0]].append((ranking, n, SCALE))
        self.totals = {c: SCALE * sum(map(itemgetter(1), self.piles[c])) for c in options}
        self.continuing = dict.fromkeys(options, True)
        self.non_transferable = 0
        self.lost = 0

    def active(self) -> list[str]:
        """The continuing options, in listing order."""
        return [c for c in self.options if self.continuing[c]]

    def move(self, holder: str, surplus: int | None) -> dict[str, int]:
        """Pass every paper of ``holder`` to its next continuing preference.

        With ``surplus`` (an elected holder), each paper goes at its transfer value and
        the holder keeps the quota; without it (an exclusion), at its current value.
        Returns the value each option received.
        """
        piles, totals = self.piles, self.totals
        pile, piles[holder] = piles[holder], []
        total = totals[holder]
        moved: dict[str | None, int] = dict.fromkeys(self.active(), 0)
        moved[None] = 0
        holders = next_holders(pile, self.continuing)
        if surplus is None:
            for entry, to in zip(pile, holders, strict=True):
                piles[to].append(entry)
                moved[to] += entry[1] * entry[2]
        else:
            for (ranking, n, value), to in zip(pile, holders, strict=True):
                value = surplus * value // total
                if value:
                    piles[to].append((ranking, n, value))
                    moved[to] += n * value
        stuck = moved.pop(None)
        piles[None] = []
        received = {c: v for c, v in moved.items() if c is not None and v}
        for c, v in received.items():
            totals[c] += v
        self.non_transferable += stuck
        if surplus is None:
            totals[holder] = 0
        else:
            totals[holder] -= surplus
            self.lost += surplus - sum(received.values()) - stuck
        return received


def scottish_stv(options: Iterable[str], ballots: Iterable[Sequence[str]], seats: int) -> StvResult:
    """Elect ``seats`` options by single transferable vote under the Scottish rules.

    The result lists every stage (first preferences, each surplus transfer, each
    exclusion) with every option's votes, so a UI can show the count stage by stage.
    Empty ballots are not valid votes and do not count toward the quota. With no valid
    ballots nobody is elected.
    """
    opts = check_options(options)
    if not isinstance(seats, int) or isinstance(seats, bool) or seats < 1:
        raise TallyError("bad_seats", f"seats must be a positive whole number, not {seats!r}")
    position = {option: i for i, option in enumerate(opts)}
    distinct, blank = aggregate_rankings(opts, ballots)
    valid = sum(n for _, n in distinct)
    quota = valid // (seats + 1) + 1
    full = quota * SCALE
    count = _Count(opts, distinct)
    totals = count.totals
    elected: list[str] = []
    pending: list[str] = []  # elected with a surplus not yet transferred
    history: list[dict[str, int]] = []
    stages: list[StvStage] = []
    action = StageAction.FIRST_PREFERENCES
    holder: str | None = None
    value: int | None = None
    moved: dict[str, int] = {}
    how: TieBreak | None = None
    while True:
        newly: list[str] = []
        if valid:
            reached = [c for c in count.active() if totals[c] >= full]  # rule 47
            newly = _by_votes_desc(reached, totals, history, position)
            pending.extend(c for c in newly if totals[c] > full)
            left = [c for c in count.active() if c not in newly]
            vacancies = seats - len(elected) - len(newly)
            if 0 < vacancies and len(left) <= vacancies:  # rule 52
                newly += _by_votes_desc(left, totals, history, position)
            for c in newly:
                count.continuing[c] = False
            elected += newly
        stages.append(
            StvStage(
                number=len(stages) + 1,
                action=action,
                option=holder,
                transfer_value=None if value is None else _votes(value),
                votes=frozen_map((c, _votes(totals[c])) for c in opts),
                transfers=frozen_map((c, _votes(moved[c])) for c in opts if c in moved),
                non_transferable=_votes(count.non_transferable),
                lost_to_fractions=_votes(count.lost),
                elected=tuple(newly),
                tie_break=how,
            )
        )
        history.append(totals.copy())
        if not valid or len(elected) >= seats or not any(count.continuing.values()):
            break
        earlier = history[:-1]
        how = None
        if pending:  # rules 48, 49: the largest surplus first
            top = max(totals[c] for c in pending)
            tied = [c for c in pending if totals[c] == top]
            if len(tied) > 1:
                holder, how = break_tie(tied, earlier, position, lowest=False)
            else:
                holder = tied[0]
            pending.remove(holder)
            surplus = totals[holder] - full
            value = surplus * SCALE // totals[holder]
            action = StageAction.SURPLUS
            moved = count.move(holder, surplus)
        else:  # rules 50, 51: exclude the lowest
            active = count.active()
            low = min(totals[c] for c in active)
            tied = [c for c in active if totals[c] == low]
            if len(tied) > 1:
                holder, how = break_tie(tied, earlier, position, lowest=True)
            else:
                holder = tied[0]
            count.continuing[holder] = False
            value = None
            action = StageAction.EXCLUSION
            moved = count.move(holder, None)
    return StvResult(
        options=opts,
        seats=seats,
        elected=tuple(elected),
        quota=quota,
        valid=valid,
        blank=blank,
        stages=tuple(stages),
    )
