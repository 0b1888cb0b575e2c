"""Ranked ballots, one winner or a full order: instant-runoff (IRV) and Schulze.

Part of :mod:`shora.domain.decisions.tally`; import from there. See docs/voting.md.

A ranked ballot lists options, most preferred first; it may stop early (the options
left out are ranked below every listed one, equal to each other). An empty ballot is
counted as blank. Identical ballots are counted together first, so a count costs
about as much as its distinct ballots.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, repeat
from operator import itemgetter, or_

from shora.domain.decisions.tally_common import (
    Ranking,
    TieBreak,
    aggregate_rankings,
    break_tie,
    check_options,
    frozen_map,
    next_holders,
)

__all__ = [
    "IrvResult",
    "IrvRound",
    "SchulzeResult",
    "instant_runoff",
    "pairwise_counts",
    "schulze",
    "strongest_paths",
]


# --- instant-runoff -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IrvRound:
    """One round of an instant-runoff count."""

    votes: Mapping[str, int]
    """Ballots for each continuing option at this round, in listing order."""
    exhausted: int
    """Non-empty ballots with no continuing option left, so far."""
    excluded: str | None
    """The option excluded at the end of this round; None in the last round."""
    transfers: Mapping[str, int]
    """Where the excluded option's ballots went (options that received some)."""
    to_exhausted: int
    """How many of the excluded option's ballots had no continuing option left."""
    tie_break: TieBreak | None
    """How the excluded option was chosen among equals, if it was."""


@dataclass(frozen=True, slots=True)
class IrvResult:
    options: tuple[str, ...]
    winner: str | None
    """None when every ballot was empty."""
    rounds: tuple[IrvRound, ...]
    ballots: int
    blank: int

    @property
    def tie_broken(self) -> bool:
        """Whether some exclusion was decided by the tie-break rule."""
        return any(r.tie_break is not None for r in self.rounds)


def instant_runoff(options: Iterable[str], ballots: Iterable[Sequence[str]]) -> IrvResult:
    """Instant-runoff voting for one winner.

    Each round, every ballot counts for its highest-ranked continuing option. An option
    with more than half of the ballots still counting (not exhausted) wins. Otherwise
    the option with the fewest is excluded and its ballots pass to their next
    continuing option. Ties for fewest: the tie-break rule (earlier rounds, then
    listing order: the later-listed is excluded).
    """
    opts = check_options(options)
    position = {option: i for i, option in enumerate(opts)}
    distinct, blank = aggregate_rankings(opts, ballots)
    # piles[c]: the (ranking, count) entries counting for c; piles[None]: exhausted ones
    piles: dict[str | None, list[tuple[Ranking, int]]] = {c: [] for c in opts}
    piles[None] = []
    for entry in distinct:
        piles[entry[0][0]].append(entry)
    totals = {c: sum(map(itemgetter(1), piles[c])) for c in opts}
    valid = sum(totals.values())
    continuing = dict.fromkeys(opts, True)
    active = list(opts)  # in listing order
    exhausted = 0
    history: list[dict[str, int]] = []
    rounds: list[IrvRound] = []
    winner: str | None = None
    while True:
        votes = frozen_map((c, totals[c]) for c in active)
        best = max(active, key=totals.__getitem__)
        if valid == 0 or 2 * totals[best] > valid - exhausted:
            winner = best if valid else None
            rounds.append(IrvRound(votes, exhausted, None, frozen_map(()), 0, None))
            break
        low = min(totals[c] for c in active)
        tied = [c for c in active if totals[c] == low]
        how: TieBreak | None = None
        if len(tied) > 1:
            loser, how = break_tie(tied, history, position, lowest=True)
        else:
            loser = tied[0]
        history.append(totals.copy())
        continuing[loser] = False
        active.remove(loser)
        pile, piles[loser] = piles[loser], []
        moved: dict[str | None, int] = dict.fromkeys(active, 0)
        moved[None] = 0
        for entry, to in zip(pile, next_holders(pile, continuing), strict=True):
            piles[to].append(entry)
            moved[to] += entry[1]
        gone = moved.pop(None)
        piles[None] = []
        transfers: dict[str, int] = {}
        for c, n in moved.items():
            if c is not None and n:
                totals[c] += n
                transfers[c] = n
        totals[loser] = 0
        rounds.append(IrvRound(votes, exhausted, loser, frozen_map(transfers.items()), gone, how))
        exhausted += gone
    return IrvResult(
        options=opts,
        winner=winner,
        rounds=tuple(rounds),
        ballots=valid + blank,
        blank=blank,
    )


# --- Schulze ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchulzeResult:
    options: tuple[str, ...]
    ranking: tuple[str, ...]
    """Every option, best first: each place goes to the earliest-listed of the options
    left that no option left beats (A beats B when p[A][B] > p[B][A]). So A is always
    before B when A beats B, and listing order decides only where Schulze does not."""
    winners: tuple[str, ...]
    """The Schulze winners: options no other beats (more than one only on a tie)."""
    winner: str | None
    """The first of the ranking; None when every ballot was empty."""
    pairwise: tuple[tuple[int, ...], ...]
    """pairwise[i][j]: ballots ranking option i above option j (listing order)."""
    strongest_paths: tuple[tuple[int, ...], ...]
    """strongest_paths[i][j]: the strength of the widest path from i to j."""
    ballots: int
    blank: int
    tie_break: TieBreak | None
    """LISTING_ORDER when listing order chose some place of the ranking (more than one
    option left was unbeaten), in particular when there are several winners."""


def pairwise_counts(
    options: Sequence[str], distinct: Sequence[tuple[Ranking, int]]
) -> list[list[int]]:
    """d[i][j]: how many ballots rank option i above option j (unranked options last).

    An option at some position beats exactly the options not ranked before it (other
    than itself), so each ballot position is counted once under the key (options ranked
    before, as bits above ``shift``; the option, below) and the pairs are expanded per
    distinct key at the end: at most k * 2**(k-1) keys, whatever the number of ballots.
    """
    k = len(options)
    shift = max(1, (k - 1).bit_length())
    low = (1 << shift) - 1
    index = {option: i for i, option in enumerate(options)}.__getitem__
    token = {option: 1 << (i + shift) for i, option in enumerate(options)}.__getitem__
    keys: Counter[int] = Counter()
    by_weight: dict[int, list[Ranking]] = {}
    for ranking, n in distinct:
        by_weight.setdefault(n, []).append(ranking)
    for weight, rankings in by_weight.items():
        # per ranking r: accumulate(0, token(r0), token(r1), ...) with or_ gives the
        # options before each position; or-ing in the index of r's option gives the keys.
        tokens = map(map, repeat(token), rankings)
        befores = map(accumulate, map(chain, repeat((0,)), tokens), repeat(or_))
        indices = map(map, repeat(index), rankings)
        positions = chain.from_iterable(map(map, repeat(or_), befores, indices))
        if weight == 1:
            keys.update(positions)  # counted in C
        else:
            for key, n in Counter(positions).items():
                keys[key] += n * weight
    d = [[0] * k for _ in range(k)]
    for key, n in keys.items():
        c, before = key & low, key >> shift
        row = d[c]
        for y in range(k):
            if y != c and not (before >> y) & 1:
                row[y] += n
    return d


def strongest_paths(d: Sequence[Sequence[int]]) -> list[list[int]]:
    """Widest paths (Floyd–Warshall), links weighted by winning votes."""
    k = len(d)
    p = [[d[i][j] if i != j and d[i][j] > d[j][i] else 0 for j in range(k)] for i in range(k)]
    for i in range(k):
        row_i = p[i]
        for j in range(k):
            if j == i:
                continue
            row_j = p[j]
            via = row_j[i]
            if via == 0:
                continue
            for m in range(k):
                if m != i and m != j:
                    width = via if via < row_i[m] else row_i[m]
                    if width > row_j[m]:
                        row_j[m] = width
    return p


def schulze(options: Iterable[str], ballots: Iterable[Sequence[str]]) -> SchulzeResult:
    """The Schulze method (beatpath), returning the full ranking.

    d[i][j] counts the ballots ranking i above j; a link i→j has strength d[i][j] when
    d[i][j] > d[j][i]; the strength of a path is its weakest link; p[i][j] is the
    strongest path from i to j. i beats j when p[i][j] > p[j][i]; this relation is
    transitive (Schulze 2011), so there is always an unbeaten option: the ranking takes,
    place by place, the earliest-listed option no remaining option beats.
    """
    opts = check_options(options)
    k = len(opts)
    distinct, blank = aggregate_rankings(opts, ballots)
    valid = sum(n for _, n in distinct)
    d = pairwise_counts(opts, distinct)
    p = strongest_paths(d)
    order: list[int] = []
    remaining = list(range(k))
    unordered = False
    while remaining:  # the earliest-listed option that no remaining option beats, each time
        unbeaten = [i for i in remaining if not any(p[j][i] > p[i][j] for j in remaining)]
        unordered = unordered or len(unbeaten) > 1
        order.append(unbeaten[0])
        remaining.remove(unbeaten[0])
    winners = [i for i in range(k) if all(p[i][j] >= p[j][i] for j in range(k))]
    return SchulzeResult(
        options=opts,
        ranking=tuple(opts[i] for i in order),
        winners=tuple(opts[i] for i in winners),
        winner=opts[order[0]] if valid else None,
        pairwise=tuple(map(tuple, d)),
        strongest_paths=tuple(map(tuple, p)),
        ballots=valid + blank,
        blank=blank,
        tie_break=TieBreak.LISTING_ORDER if unordered else None,
    )
