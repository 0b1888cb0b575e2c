"""Safety state: roll calls and alerts, pure functions of the valid events. See
docs/aid.md, "Safety". No I/O, no clock (``now`` is passed in)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Set

import msgspec

from shora.domain.aid import kinds as ak
from shora.domain.decisions.state import MS, EventView


class RollcallState(msgspec.Struct, frozen=True):
    id: bytes
    author: bytes
    time: int  # ms, claimed
    area: str | None
    answered: tuple[tuple[bytes, str], ...]  # (member, latest status since the call)
    not_answered: tuple[bytes, ...]


def latest_checkins(checkins: Iterable[EventView]) -> dict[bytes, EventView]:
    """Each member's latest check-in, by claimed time then (clock, id)."""
    latest: dict[bytes, EventView] = {}
    for e in sorted({c.id: c for c in checkins}.values(), key=lambda e: (e.time, e.order)):
        latest[e.author] = e
    return latest


def reduce_rollcall(
    call: EventView, members: Set[bytes], checkins: Iterable[EventView]
) -> RollcallState:
    """Who answered (checked in at or after the call) and who did not.

    The eligible members are `members` (the active ones), for an area roll call only
    those whose latest check-in naming an area named this one, or who answered it.
    """
    ordered = sorted({c.id: c for c in checkins}.values(), key=lambda e: (e.time, e.order))
    area: str | None = call.body.area
    after = latest_checkins(c for c in ordered if c.time >= call.time)
    eligible = set(members)
    if area is not None:
        last_area: dict[bytes, str] = {}
        for c in ordered:
            if c.body.area is not None:
                last_area[c.author] = c.body.area
        eligible = {m for m in members if last_area.get(m) == area}
    answered = tuple((m, after[m].body.status) for m in sorted(after) if m in eligible)
    done = {m for m, _ in answered}
    return RollcallState(
        call.id,
        call.author,
        call.time,
        area,
        answered,
        tuple(sorted(eligible - done)),
    )


class AlertState(msgspec.Struct, frozen=True):
    id: bytes
    author: bytes
    time: int  # ms, claimed
    kind: str
    area: str
    note: str
    expires: int  # unix seconds
    retracted: bool
    confirmers: tuple[bytes, ...]

    @property
    def confidence(self) -> int:
        return len(self.confirmers)

    def active(self, now: int) -> bool:
        return not self.retracted and now < self.expires


def reduce_alert(
    alert: EventView,
    events: Iterable[EventView],
    coordinator: Callable[[bytes, int], bool] = lambda member, at_ms: False,
    owner: Callable[[bytes], bytes] = lambda key: key,
) -> AlertState:
    """An alert with its confirmations (distinct members other than its author) and
    whether it was retracted: by its author, or by a member for whom
    `coordinator(member, at_ms)` holds at the retraction's claimed time. `owner(key)` is
    the key that holds a member's place now (`CouncilState.current_key`): a member who
    recovered their place under a new key is the author of what the old key wrote, and
    one confirmer under both keys."""
    body: ak.Alert = alert.body
    author = owner(alert.author)
    related = [e for e in events if getattr(e.body, "alert", None) == alert.id]
    confirmers = sorted(
        {
            owner(e.author)
            for e in related
            if e.kind == "safety.alert_confirm" and owner(e.author) != author
        }
    )
    retracted = any(
        e.kind == "safety.alert_retract"
        and (owner(e.author) == author or coordinator(e.author, e.time))
        for e in related
    )
    expires = (
        body.expires if body.expires is not None else alert.time // MS + ak.ALERT_DEFAULT_SECONDS
    )
    return AlertState(
        alert.id,
        author,
        alert.time,
        body.kind,
        body.area,
        body.note,
        expires,
        retracted,
        tuple(confirmers),
    )


class HelpCall(msgspec.Struct, frozen=True):
    """A member asking for help: their latest check-in says "need help" or "injured"."""

    member: bytes
    checkin: bytes  # that check-in (what an answer names)
    status: str
    time: int  # ms, claimed
    area: str | None  # the area it names, else the last one the member named
    responders: tuple[bytes, ...]  # who answered "on my way", in the order they did

    @property
    def answered(self) -> bool:
        return bool(self.responders)


def reduce_help(
    members: Set[bytes], checkins: Iterable[EventView], responses: Iterable[EventView]
) -> list[HelpCall]:
    """The open calls for help of active members, newest first.

    A call is resolved when its member checks in "safe". Answers count for the check-in
    they name, once per responder, from any active member but the caller: so checking
    in "need help" again (nobody came) puts the call back before everyone, whatever a
    false "on my way" said.
    """
    ordered = sorted({c.id: c for c in checkins}.values(), key=lambda e: (e.time, e.order))
    latest: dict[bytes, EventView] = {}
    last_area: dict[bytes, str] = {}
    for c in ordered:
        latest[c.author] = c
        if c.body.area is not None:
            last_area[c.author] = c.body.area
    answers = sorted({r.id: r for r in responses}.values(), key=lambda e: (e.time, e.order))
    calls = []
    for member, call in latest.items():
        if member not in members or call.body.status not in ak.HELP_STATUSES:
            continue
        responders: list[bytes] = []
        for r in answers:
            ok = r.body.checkin == call.id and r.author != member and r.author in members
            if ok and r.author not in responders:
                responders.append(r.author)
        area = call.body.area if call.body.area is not None else last_area.get(member)
        calls.append(
            HelpCall(member, call.id, call.body.status, call.time, area, tuple(responders))
        )
    calls.sort(key=lambda c: (-c.time, c.member))
    return calls
