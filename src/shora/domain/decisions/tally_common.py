"""What every count shares: the errors, option lists, the tie-break rule, ranked ballots.

Part of :mod:`shora.domain.decisions.tally`; import from there.

The tie-break rule, the same for every method
-----------------------------------------------
Counting never uses randomness. When a count must choose between options that are
equal (the one to exclude, whose surplus goes first, who wins a tied poll):

1. in a count with rounds or stages (instant-runoff, STV), look back at the most
   recent earlier round at which the tied options had unequal totals, and decide by
   those totals (the lower is excluded, the higher goes first); among options still
   equal there, look further back. This is rule 51 (and 49) of the Scottish Local
   Government Elections Order 2007;
2. if they were equal at every round, or the method has no rounds, the option listed
   earlier in ``options`` is favoured: it ranks higher, is elected first, and is
   excluded last. The order of ``options`` is the order on the ballot paper, fixed
   when the proposal is made, so everyone can re-check it by hand.

Results say when and how a tie was broken (:class:`TieBreak`), so a council can see
that a result hung on a tie.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from enum import StrEnum
from itertools import repeat
from operator import eq, itemgetter
from types import MappingProxyType
from typing import TypeVar

from shora.errors import InvalidInput

__all__ = [
    "BallotError",
    "Ranking",
    "TallyError",
    "TieBreak",
    "aggregate_rankings",
    "break_tie",
    "check_options",
    "frozen_map",
    "is_int",
    "next_holders",
    "order_by_totals",
]

K = TypeVar("K")
V = TypeVar("V")

Ranking = tuple[str, ...]
"""A ranked ballot: options, most preferred first."""


class TallyError(InvalidInput, ValueError):
    """The parameters of a count are invalid: no options, seats < 1, min above max ...

    ``code`` is a stable machine-readable name for the problem (for translated
    messages); the message itself is English.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class BallotError(TallyError):
    """A ballot is invalid; ``index`` is its position in the ballots given, if known.

    Codes: ``duplicate_option`` (an option ranked or chosen twice), ``unknown_option``,
    ``too_few_choices``, ``too_many_choices``, ``not_an_integer``,
    ``score_out_of_range``, ``negative_points``, ``budget_exceeded``,
    ``invalid_response``, ``block_without_reason``, ``not_a_ballot``.
    """

    def __init__(self, code: str, message: str, *, index: int | None = None) -> None:
        where = f"ballot {index}: " if index is not None else ""
        super().__init__(code, where + message)
        self.index = index


class TieBreak(StrEnum):
    """How a choice between equal options was made."""

    EARLIER_ROUND = "earlier_round"
    """By their totals at the most recent earlier round at which they differed."""
    LISTING_ORDER = "listing_order"
    """Equal at every round (or no rounds): the option listed earlier is favoured."""


def is_int(value: object) -> bool:
    """A whole number, and not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def frozen_map(items: Iterable[tuple[K, V]]) -> Mapping[K, V]:
    """A read-only mapping, keeping the order given (results list options in listing order)."""
    return MappingProxyType(dict(items))


def check_options(options: Iterable[str]) -> tuple[str, ...]:
    """The options as a tuple; at least one, all strings, none listed twice."""
    if isinstance(options, str):
        raise TallyError("bad_options", "options must be a sequence of strings, not one string")
    opts = tuple(options)
    if not opts:
        raise TallyError("no_options", "there are no options to count")
    seen: set[str] = set()
    for option in opts:
        if not isinstance(option, str):
            raise TallyError("bad_options", f"option {option!r} is not a string")
        if option in seen:
            raise TallyError("duplicate_options", f"option {option!r} is listed twice")
        seen.add(option)
    return opts


def break_tie(
    tied: Sequence[str],
    history: Sequence[Mapping[str, int]],
    position: Mapping[str, int],
    *,
    lowest: bool,
) -> tuple[str, TieBreak]:
    """Choose one of ``tied`` (options with equal totals now).

    ``history`` holds the totals of every earlier round, oldest first, not the current
    one; ``position`` is each option's place in the listing. ``lowest`` asks for the
    option to exclude (lowest earlier total, else the later-listed); otherwise for the
    option to favour (highest, else the earlier-listed).
    """
    group = list(tied)
    for totals in reversed(history):
        values = [totals[c] for c in group]
        target = min(values) if lowest else max(values)
        narrowed = [c for c in group if totals[c] == target]
        if len(narrowed) < len(group):
            group = narrowed
            if len(group) == 1:
                return group[0], TieBreak.EARLIER_ROUND
    pick = max if lowest else min
    return pick(group, key=position.__getitem__), TieBreak.LISTING_ORDER


def order_by_totals(totals: Sequence[int]) -> tuple[list[int], bool]:
    """Option indices by total, highest first, equal totals in listing order.

    Also says whether the first place was decided by listing order (a tie at the top).
    """
    order = sorted(range(len(totals)), key=lambda i: (-totals[i], i))
    tied_top = len(order) > 1 and totals[order[0]] == totals[order[1]]
    return order, tied_top


def _position(ballots: Sequence[Sequence[str]], key: tuple[str, ...]) -> int | None:
    for i, ballot in enumerate(ballots):
        if tuple(ballot) == key:
            return i
    return None  # pragma: no cover - the key came from these ballots


def aggregate_rankings(
    options: tuple[str, ...], ballots: Iterable[Sequence[str]]
) -> tuple[list[tuple[Ranking, int]], int]:
    """Validate ranked ballots and count identical ones.

    Returns the distinct non-empty rankings with how many ballots gave each, and the
    number of empty ballots. Raises :class:`BallotError` for an option ranked twice,
    an unknown option, or something that is not a sequence of options. The checks run
    as C-level set operations and maps over the distinct rankings: no Python-level
    step per ballot.
    """
    seq: Sequence[Sequence[str]] = ballots if isinstance(ballots, list | tuple) else list(ballots)
    try:
        counted: Counter[Ranking] = Counter(map(tuple, seq))
        keys = list(counted)
        named = set().union(*keys)
    except TypeError:
        for i, ballot in enumerate(seq):
            try:
                hash(tuple(ballot))
            except TypeError:
                raise BallotError(
                    "not_a_ballot", "a ranked ballot must be a sequence of options", index=i
                ) from None
        raise  # pragma: no cover - some ballot failed above
    if not named.issubset(options):
        known = set(options)
        for key in keys:
            unknown = [o for o in key if o not in known]
            if unknown:
                raise BallotError(
                    "unknown_option", f"{unknown[0]!r} is not an option", index=_position(seq, key)
                )
    if not all(map(eq, map(len, map(set, keys)), map(len, keys))):
        for key in keys:
            if len(set(key)) != len(key):
                again = next(o for i, o in enumerate(key) if o in key[:i])
                raise BallotError(
                    "duplicate_option", f"{again!r} is ranked twice", index=_position(seq, key)
                )
    blank = counted.pop((), 0)
    return list(counted.items()), blank


def next_holders(
    entries: Sequence[tuple[Ranking, int]] | Sequence[tuple[Ranking, int, int]],
    continuing: Mapping[str, bool],
) -> Iterator[str | None]:
    """For each pile entry (its ranking first): its highest-ranked continuing option.

    A ballot always sits with its highest-ranked continuing option, and an option that
    stops continuing never continues again, so when its holder is elected or excluded
    the ballot's next holder is simply its first continuing option: no position needs
    keeping. None means none is left. Runs as C-level maps.
    """
    rankings = map(itemgetter(0), entries)
    return map(next, map(filter, repeat(continuing.__getitem__), rankings), repeat(None))
