"""Dead-man timers: a pure function of the valid ``safety.deadman_*`` and
``safety.checkin`` events. See docs/aid.md ("Dead-man timers").

* A member's timer is their latest ``safety.deadman_set`` or ``safety.deadman_clear`` by
  (clock, id); a clear stops it. Only active members have timers, and only active
  members are alerted.
* Its last sign of life (``since``) is the member's latest check-in (by claimed time,
  then (clock, id)) claimed at or after the set, else the set itself. It runs out
  ``hours`` after that: ``deadline = since.time + hours``.
* An alert counts if it names a ``deadman_set`` of its member, a ``since`` that is that
  set or a check-in of the member claimed at or after it, and was itself claimed at or
  after the deadline they give. One alert counts per expiry (member, set, since): the first by
  (clock, id); later ones (two members' nodes noticing at once) are duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass, field

from shora.domain import care_kinds as ck
from shora.domain.decisions_reduce import MS, EventView

HOUR_MS = 3600 * MS


@dataclass(frozen=True, slots=True)
class Timer:
    member: bytes
    timer: bytes  # the deadman_set event
    hours: int
    contacts: tuple[bytes, ...]  # the named members still active, sorted
    since: bytes  # the last sign of life: the set or a check-in
    since_time: int  # ms, claimed
    alert: bytes | None  # the alert that counts for this expiry, if any

    @property
    def deadline(self) -> int:
        """When it runs out, in ms."""
        return self.since_time + self.hours * HOUR_MS

    def overdue(self, now: int) -> bool:
        """Whether it has run out at `now` (unix seconds)."""
        return now * MS >= self.deadline


@dataclass(frozen=True, slots=True)
class AlertRecord:
    id: bytes
    author: bytes
    time: int  # ms, claimed
    member: bytes
    timer: bytes
    since: bytes


@dataclass(slots=True)
class DeadmanState:
    timers: dict[bytes, Timer] = field(default_factory=dict)
    alerts: dict[tuple[bytes, bytes, bytes], AlertRecord] = field(default_factory=dict)
    ignored: int = 0  # alerts that do not hold, and duplicates

    def overdue(self, now: int) -> list[Timer]:
        return [t for t in self.timers.values() if t.overdue(now)]


def _since(set_event: EventView, checkins: list[EventView]) -> EventView:
    later = [c for c in checkins if c.time >= set_event.time]
    return max(later, key=lambda c: (c.time, c.order), default=set_event)


def reduce_deadman(events: Iterable[EventView], members: Set[bytes]) -> DeadmanState:
    """Timers and alerts from a council's events (any order, duplicates too)."""
    unique = sorted({e.id: e for e in events}.values(), key=lambda e: e.order)
    sets = {e.id: e for e in unique if e.kind == "safety.deadman_set"}
    checkins: dict[bytes, list[EventView]] = {}
    latest: dict[bytes, EventView] = {}
    for e in unique:
        if e.kind == "safety.checkin":
            checkins.setdefault(e.author, []).append(e)
        elif e.kind in ("safety.deadman_set", "safety.deadman_clear"):
            latest[e.author] = e  # in (clock, id) order: the last one wins
    state = DeadmanState()
    for e in unique:
        if e.kind == "safety.deadman_alert":
            _alert(state, e, sets, {c.id: c for cs in checkins.values() for c in cs})
    for member, e in sorted(latest.items()):
        if e.kind != "safety.deadman_set" or member not in members:
            continue
        body: ck.DeadmanSet = e.body
        since = _since(e, checkins.get(member, []))
        counted = state.alerts.get((member, e.id, since.id))
        state.timers[member] = Timer(
            member,
            e.id,
            body.hours,
            tuple(sorted({c for c in body.contacts if c in members and c != member})),
            since.id,
            since.time,
            counted.id if counted is not None else None,
        )
    return state


def _alert(
    state: DeadmanState,
    e: EventView,
    sets: dict[bytes, EventView],
    checkins: dict[bytes, EventView],
) -> None:
    body: ck.DeadmanAlert = e.body
    timer = sets.get(body.timer)
    since = timer if body.since == body.timer else checkins.get(body.since)
    if (
        timer is None
        or since is None
        or timer.author != body.member
        or since.author != body.member
        or since.time < timer.time
        or e.time < since.time + timer.body.hours * HOUR_MS
        or (body.member, body.timer, body.since) in state.alerts
    ):
        state.ignored += 1
        return
    state.alerts[(body.member, body.timer, body.since)] = AlertRecord(
        e.id, e.author, e.time, body.member, body.timer, body.since
    )
