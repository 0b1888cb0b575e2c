"""A pledge campaign across a federation: each member council's members pledge in
their own council's ring (docs/pledges.md §6); the federation counts the councils'
reports by the double majority of ratification (shora.domain.federation.flows): the
threshold is met across the federation once more than half of the councils seated in
it have met it, and those councils hold more than half of the members of the
councils that reported (a council's members are known only from its report). Pure:
fed the federation's state and the report events.

A report counts only from the delegate seated for the council it names in the
report's causal past; the latest report of each council (in clock order) stands.
The moment the threshold is met across is the first report after which the double
majority holds, counted against the councils seated in that report's causal past, so
that nothing arriving later (a council seated since, a late report) can undo it: as
in each council, it is final.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from shora.domain.decisions.state import EventView
from shora.domain.federation import rules as fr
from shora.domain.pledges import kinds as pk
from shora.kernel.membership import CouncilState


@dataclass(frozen=True, slots=True)
class CouncilCount:
    base: bytes
    count: int
    needed: int
    members: int
    met: bool


@dataclass(frozen=True, slots=True)
class Across:
    rows: tuple[CouncilCount, ...]
    councils: int  # councils seated in the federation (a reporting one included)
    councils_met: int
    members: int  # members those councils hold
    members_met: int  # members of the councils that met the threshold
    met_by: bytes | None  # the report after which the double majority first held
    met_at: int | None  # its claimed time, ms

    @property
    def met(self) -> bool:
        return self.met_by is not None


def _double_majority(reports: Iterable[pk.Report], councils: int) -> bool:
    rows = list(reports)
    met = [r for r in rows if r.met]
    members = sum(r.members for r in rows)
    return bool(rows) and 2 * len(met) > councils and 2 * sum(r.members for r in met) > members


def _seated(state: CouncilState) -> set[bytes]:
    return {s.base for key, s in fr.seats(state).items() if state.is_active(key)}


def count_across(
    state: CouncilState,
    campaign: bytes,
    views: Iterable[EventView],
    state_at: Callable[[bytes], CouncilState],
) -> Across:
    """The federation-wide state of an ``across`` campaign from its reports; `state`
    is the federation's state now, `state_at` its state in an event's causal past."""
    seated = _seated(state)
    latest: dict[bytes, pk.Report] = {}
    met: EventView | None = None
    for v in sorted(views, key=lambda v: v.order):
        body = v.body
        if v.kind != "pledge.report" or body.campaign != campaign:
            continue
        then = state_at(v.id)
        seat = fr.seats(then).get(v.author)
        if seat is None or seat.base != body.base or not then.is_active(v.author):
            continue
        latest[body.base] = body
        if met is None:
            known = {b: r for b, r in latest.items() if b in _seated(then) | {body.base}}
            if _double_majority(known.values(), len(_seated(then) | set(known))):
                met = v
    rows = tuple(
        CouncilCount(r.base, r.count, r.needed, r.members, r.met)
        for r in sorted(latest.values(), key=lambda r: r.base)
    )
    done = [r for r in rows if r.met]
    return Across(
        rows=rows,
        councils=len(seated | set(latest)),
        councils_met=len(done),
        members=sum(r.members for r in rows),
        members_met=sum(r.members for r in done),
        met_by=met.id if met is not None else None,
        met_at=met.time if met is not None else None,
    )
