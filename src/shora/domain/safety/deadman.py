"""Dead-man timers: a pure function of the valid ``safety.deadman_*`` and
``safety.checkin`` events. See docs/aid.md ("Dead-man timers").

* A member's timer is their latest ``safety.deadman_set`` or ``safety.deadman_clear`` by
  (clock, id); a clear stops it. Only active members have timers, and only active
  members are alerted.
* Its last sign of life (``since``) is the member's latest check-in (by claimed time,
  then (clock, id)) claimed at or after the set, else the set itself. It runs out
  ``hours`` after that: ``deadline = since.time + hours``.
* An alert is valid if it names a ``deadman_set`` of its member, a ``since_time`` not
  before that set, and was itself claimed at or after ``since_time + hours``. It
  **covers** the timer's current expiry if it names the current set and was claimed at
  or after the current deadline; the first covering alert by (clock, id) is the one
  that counts, any later one (two nodes noticing at once) is a duplicate. A check-in
  that moves the deadline past an alert leaves that alert covering nothing, so the
  next expiry gets its own. Alerts name no check-in, so forgetting old check-ins
  (docs/aid.md, "Forgetting on purpose") can move a deadline only earlier, and an
  alert that covered it still does.
"""

from __future__ import annotations

from collections.abc import Iterable, Set

import msgspec

from shora.domain.care import kinds as ck
from shora.domain.decisions.state import MS, EventView

HOUR_MS = 3600 * MS


class AlertRecord(msgspec.Struct, frozen=True):
    id: bytes
    author: bytes
    time: int  # ms, claimed
    order: tuple[int, bytes]
    member: bytes
    timer: bytes
    since_time: int  # unix seconds: the last sign of life its writer knew of


class Timer(msgspec.Struct, frozen=True):
    member: bytes
    timer: bytes  # the deadman_set event
    hours: int
    contacts: tuple[bytes, ...]  # the named members still active, sorted
    since: bytes  # the last sign of life: the set or a check-in
    since_time: int  # ms, claimed
    covering: tuple[AlertRecord, ...]  # the alerts covering this expiry, first one first

    @property
    def deadline(self) -> int:
        """When it runs out, in ms."""
        return self.since_time + self.hours * HOUR_MS

    @property
    def alert(self) -> bytes | None:
        """The alert that counts for this expiry, if any."""
        return self.covering[0].id if self.covering else None

    def overdue(self, now: int) -> bool:
        """Whether it has run out at `now` (unix seconds)."""
        return now * MS >= self.deadline


class DeadmanState(msgspec.Struct):
    timers: dict[bytes, Timer] = msgspec.field(default_factory=dict)
    alerts: list[AlertRecord] = msgspec.field(default_factory=list)  # valid ones, (clock, id) order
    ignored: int = 0  # alerts that are not valid

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
    state = DeadmanState()
    for e in unique:
        if e.kind == "safety.checkin":
            checkins.setdefault(e.author, []).append(e)
        elif e.kind in ("safety.deadman_set", "safety.deadman_clear"):
            latest[e.author] = e  # in (clock, id) order: the last one wins
        elif e.kind == "safety.deadman_alert":
            _alert(state, e, sets)
    for member, e in sorted(latest.items()):
        if e.kind != "safety.deadman_set" or member not in members:
            continue
        body: ck.DeadmanSet = e.body
        since = _since(e, checkins.get(member, []))
        deadline = since.time + body.hours * HOUR_MS
        covering = tuple(a for a in state.alerts if a.timer == e.id and a.time >= deadline)
        state.timers[member] = Timer(
            member,
            e.id,
            body.hours,
            tuple(sorted({c for c in body.contacts if c in members and c != member})),
            since.id,
            since.time,
            covering,
        )
    return state


def _alert(state: DeadmanState, e: EventView, sets: dict[bytes, EventView]) -> None:
    body: ck.DeadmanAlert = e.body
    timer = sets.get(body.timer)
    if (
        timer is None
        or timer.author != body.member
        or body.since_time < timer.time // MS
        or e.time < body.since_time * MS + timer.body.hours * HOUR_MS
    ):
        state.ignored += 1
        return
    state.alerts.append(
        AlertRecord(e.id, e.author, e.time, e.order, body.member, body.timer, body.since_time)
    )
