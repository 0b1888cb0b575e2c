"""What the anonymous moves share (a secret ballot, a pledge): the ring a move signs
over (the electorate less the members it leaves out) and the rule on members removed
after the vote or the campaign started (docs/ballot-secrecy.md §5, docs/pledges.md).

The ring is fixed by the electorate when the vote or campaign starts, so a member
removed afterwards still holds a key in it, and nobody can tell whose move is whose to
void it as strong removal voids a removed member's signed events. Instead: for every
member of the electorate removed (or whose place passed to a new key) by an ending
claimed by the deadline, a move that is not in that ending's causal past (the remover
had not seen it) counts only if its ring leaves the member out. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence, Set
from dataclasses import dataclass

# How a membership ends that voids a ring still holding the member: removed, or the
# place passed to a new key (the old key may be in a seizer's hands). Not a member's
# own leaving: an informer could leave at the last moment, with old parents, to void
# every move made since, and the one move they may still make was theirs.
VOIDING_ENDS = ("removed", "recovered")


@dataclass(frozen=True, slots=True)
class Ending:
    """A membership ended in some state: whose, by which event, claimed when (ms), how
    ("removed", "left", "recovered")."""

    member: bytes
    event: bytes
    time: int
    how: str


# The members a rule must see left out, each with its ending's causal past.
Known = list[tuple[bytes, Set[bytes]]]


def ring_less(electorate: Set[bytes], without: Sequence[bytes]) -> list[bytes] | None:
    """The ring a move signs over: the electorate less the members it leaves out,
    sorted; None if it leaves out someone outside the electorate, someone twice, or
    everyone."""
    left_out = set(without)
    if len(left_out) != len(without) or not left_out <= electorate:
        return None
    keys = sorted(electorate - left_out)
    return keys or None


def voiding(endings: Iterable[Ending], electorate: Set[bytes], deadline_ms: int) -> list[Ending]:
    """The endings that void older rings: of members of the electorate, removed or
    replaced by a new key, claimed by the deadline (one removed after it was a member
    for the whole vote or campaign, and no move can be made again then)."""
    return sorted(
        (
            e
            for e in endings
            if e.member in electorate and e.how in VOIDING_ENDS and e.time <= deadline_ms
        ),
        key=lambda e: (e.member, e.event),
    )


def known(ended: Iterable[Ending], ancestors: Callable[[bytes], Set[bytes]]) -> Known:
    """Each voiding ending's member with the causal past of the ending (what its author
    had seen)."""
    return [(end.member, ancestors(end.event)) for end in ended]


def voided(event: bytes, without: Sequence[bytes], knew: Known) -> bool:
    """Whether a move could be a removed member's, made after the removal: its ring
    still holds a member whose ending it is not in the causal past of."""
    return any(m not in without and event not in seen for m, seen in knew)
