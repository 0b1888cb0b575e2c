"""What flows between a base council and its federations, counted and shaped: the
totals of the member councils' summaries, the flags on delegates' ballots and the
double majority of a ratification. Pure: the node reads the events, these functions
fold them. See docs/federation.md §3."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from shora.domain.decisions import kinds as dk
from shora.domain.decisions.state import EventView, ProposalState
from shora.domain.federation import kinds as fk
from shora.domain.federation import rules as fr
from shora.kernel.membership import CouncilState


class SummaryRow(Protocol):
    """A row of a member council's aid summary (`shora.domain.aid.summary`)."""

    @property
    def kind(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def urgency(self) -> str | None: ...
    @property
    def area(self) -> str: ...
    @property
    def count(self) -> int | None: ...


class Summary(Protocol):
    """A member council's aid summary, as far as totals read it."""

    @property
    def rows(self) -> Sequence[SummaryRow]: ...
    @property
    def areas(self) -> Mapping[str, str]: ...


def summary_speakers(state: CouncilState, views: Iterable[EventView]) -> list[EventView]:
    """The `federation.summary` events of seated delegates for their own council: only
    a delegate of that council speaks for it."""
    seats = fr.seats(state)
    found = []
    for v in views:
        seat = seats.get(v.author)
        if seat is not None and seat.base == v.body.base:
            found.append(v)
    return found


@dataclass(frozen=True, slots=True)
class TotalRow:
    kind: str
    category: str
    urgency: str | None
    area: str  # the area's name, as its council calls it
    councils: int
    count: int  # of the counts shown; councils that hid a small count add nothing
    hidden: int  # councils whose count here was below their threshold


def totals(latest: Mapping[bytes, Summary]) -> tuple[int, list[TotalRow]]:
    """Totals across the latest summary of each member council: (councils, rows)."""
    councils: Counter[tuple[str, str, str | None, str]] = Counter()
    counts: Counter[tuple[str, str, str | None, str]] = Counter()
    hidden: Counter[tuple[str, str, str | None, str]] = Counter()
    for summary in latest.values():
        for row in summary.rows:
            key = (row.kind, row.category, row.urgency, summary.areas.get(row.area, row.area))
            councils[key] += 1
            if row.count is None:
                hidden[key] += 1
            else:
                counts[key] += row.count
    rows = [
        TotalRow(k[0], k[1], k[2], k[3], councils[k], counts[k], hidden[k])
        for k in sorted(councils, key=lambda k: (k[0], k[1], k[2] or "", k[3]))
    ]
    return len(latest), rows


def ballot_matches(state: ProposalState, member: bytes, vote: str) -> bool | None:
    """Whether the member's counted ballot is the instructed vote (None: no ballot,
    or a kind of ballot an instruction cannot speak to)."""
    counted = state.ballot_of(member)
    if counted is None:
        return None
    b = counted.ballot
    want = vote.strip().lower()
    if isinstance(b, dk.YesNoBallot):
        return b.vote == want
    if isinstance(b, dk.ConsentBallot):
        return b.response == want
    if isinstance(b, dk.RankedBallot):
        return bool(b.ranking) and b.ranking[0].strip().lower() == want
    if isinstance(b, dk.ApprovalBallot):
        return want in {c.strip().lower() for c in b.choices}
    return None


@dataclass(frozen=True, slots=True)
class Flag:
    member: bytes
    name: str
    base: bytes
    proposal: bytes
    title: str
    instructed: str


def flags(state: CouncilState, proposals: list[ProposalState]) -> list[Flag]:
    """Ballots of delegates that differ from their mandate's instructions."""
    found = []
    for member, seat in sorted(fr.seats(state).items()):
        for item in seat.instructions.items:
            for p in proposals:
                if p.body.title.strip().lower() != item.item.strip().lower():
                    continue
                if ballot_matches(p, member, item.vote) is False:
                    name = state.members[member].name
                    found.append(Flag(member, name, seat.base, p.id, p.body.title, item.vote))
    return found


@dataclass(frozen=True, slots=True)
class RatificationResult:
    councils: int  # councils that reported
    councils_yes: int
    members: int  # members those councils represent
    members_yes: int  # members of the councils that said yes
    passed: bool  # a double majority: of councils and of the members they represent


def count_ratification(state: CouncilState, views: Iterable[EventView]) -> RatificationResult:
    """The double majority over the latest `federation.ratification` of each member
    council (in clock order), as its seated delegate reported it."""
    seats = fr.seats(state)
    latest: dict[bytes, fk.Ratification] = {}
    for v in views:
        seat = seats.get(v.author)
        if seat is not None and seat.base == v.body.base:
            latest[v.body.base] = v.body
    said_yes = [r for r in latest.values() if r.yes > r.no]
    members = sum(r.members for r in latest.values())
    members_yes = sum(r.members for r in said_yes)
    passed = bool(latest) and 2 * len(said_yes) > len(latest) and 2 * members_yes > members
    return RatificationResult(len(latest), len(said_yes), members, members_yes, passed)
