"""What forgetting on purpose forgets, at `now` (pure: the events in, the ids out).
The node's side, which reads the events and erases them, is
`shora.services.forgetting`; the rules are in its docstring and in docs/aid.md,
"Forgetting on purpose"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from shora.domain.aid import kinds as ak

CHECKIN_KEEP_SECONDS = 7 * 24 * 3600
CLOSED_KEEP_SECONDS = 7 * 24 * 3600
FORGETTABLE = tuple(sorted(ak.LEAVES))


class Forgotten(msgspec.Struct):
    """What one run forgot, by kind."""

    kinds: dict[str, int] = msgspec.field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.kinds.values())


class Row(msgspec.Struct, frozen=True):
    id: bytes
    envelope: bytes
    kind: str
    time: int  # ms, claimed
    clock: int
    body: Any


class _Links:
    """Union-find over needs and offers joined by commitments."""

    def __init__(self) -> None:
        self.parent: dict[bytes, bytes] = {}

    def find(self, x: bytes) -> bytes:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a: bytes, b: bytes) -> None:
        self.parent[self.find(a)] = self.find(b)


def _expires(row: Row) -> int | None:
    if row.kind == "safety.alert":
        expires: int | None = row.body.expires
        return expires if expires is not None else row.time // 1000 + ak.ALERT_DEFAULT_SECONDS
    if row.kind in ("safety.checkin", "safety.rollcall", "safety.respond"):
        return row.time // 1000 + CHECKIN_KEEP_SECONDS
    return getattr(row.body, "expires", None)


def due(rows: Iterable[Row], now: int, closed: Mapping[bytes, int] | None = None) -> set[bytes]:
    """The ids of the events to forget at `now` (pure: the rule above); `closed` gives
    when a need or offer closed (ms, claimed), as the aid state says."""
    rows = list(rows)
    closed = closed or {}
    items = {r.id: r for r in rows if r.kind in ("aid.need", "aid.need_sealed", "aid.offer")}
    links = _Links()
    commitments: dict[bytes, bytes] = {}  # commitment -> need
    for r in rows:
        if r.kind == "aid.commit":
            links.join(r.body.need, r.body.offer)
            commitments[r.id] = r.body.need
    live_groups = set()
    for item in items.values():
        expires = _expires(item)
        closed_at = closed.get(item.id)
        over = (expires is not None and expires <= now) or (
            closed_at is not None and closed_at // 1000 + CLOSED_KEEP_SECONDS <= now
        )
        if not over:
            live_groups.add(links.find(item.id))
    gone_items = {i for i in items if links.find(i) not in live_groups}
    gone_refs = gone_items | {c for c, n in commitments.items() if n in gone_items}
    gone_alerts = {
        r.id
        for r in rows
        if r.kind == "safety.alert" and (_expires(r) or 0) <= now  # never None for alerts
    }
    forget = set(gone_items) | gone_alerts
    for r in rows:
        if r.kind in ("aid.commit", "aid.dispatch", "aid.fulfil", "aid.cancel", "aid.note"):
            ref = _ref(r)
            if ref in gone_refs or r.id in gone_refs:
                forget.add(r.id)
        elif r.kind in ("safety.alert_confirm", "safety.alert_retract"):
            if r.body.alert in gone_alerts:
                forget.add(r.id)
        elif r.kind in ("safety.checkin", "safety.rollcall", "safety.respond"):
            if (_expires(r) or 0) <= now:
                forget.add(r.id)
    return forget


def _ref(r: Row) -> bytes | None:
    body = r.body
    if r.kind == "aid.cancel":
        target: bytes = body.target
        return target
    if r.kind == "aid.fulfil":
        return body.need if body.need is not None else body.commitment  # type: ignore[no-any-return]
    if r.kind == "aid.dispatch":
        commitment: bytes = body.commitment
        return commitment
    need: bytes = body.need
    return need
