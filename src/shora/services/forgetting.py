"""Forgetting on purpose: expired needs, offers, alerts and check-ins leave the device.
See docs/aid.md, "Forgetting on purpose", and docs/security.md.

What is forgotten, at `now` (unix seconds):

* a need or an offer that is over, together with everything about it (commitments,
  deliveries, cancellations, private notes), once every need and offer linked to it by
  a commitment is over too: a live offer keeps the commitments that used it up, and
  so the needs they served. Over means expired, or closed for a week (`CLOSED_KEEP_
  SECONDS`): withdrawn by its author, a need with everything delivered, an offer used
  up. A private note with an address then goes a week after the delivery;
* an alert whose expiry has passed (six hours after it was written by default), with
  its confirmations and retractions;
* a check-in, a roll call or an answer to a call for help ("on my way") a week after
  it was written.

Forgetting an event deletes its row from the events table (body included) and empties
its envelope (the ciphertext), keeping only the envelope's id, hour and write key: sync
then counts it as held and never fetches it again, and a copy that arrives anyway is a
duplicate. All of these kinds are leaves (`register_kind(leaf=True)`): no event names
them as parents, so nobody's history has a gap. Pages are overwritten (secure_delete)
and the write-ahead log is checkpointed and truncated, so no old copy stays in the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shora.domain.aid import kinds as ak
from shora.kernel.core import NodeCore
from shora.kernel.events import decode_body

if TYPE_CHECKING:
    from shora.node import Node

CHECKIN_KEEP_SECONDS = 7 * 24 * 3600
CLOSED_KEEP_SECONDS = 7 * 24 * 3600
FORGETTABLE = tuple(sorted(ak.LEAVES))


@dataclass(slots=True)
class Forgotten:
    """What one run forgot, by kind."""

    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.kinds.values())


@dataclass(frozen=True, slots=True)
class _Row:
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


def _expires(row: _Row) -> int | None:
    if row.kind == "safety.alert":
        expires: int | None = row.body.expires
        return expires if expires is not None else row.time // 1000 + ak.ALERT_DEFAULT_SECONDS
    if row.kind in ("safety.checkin", "safety.rollcall", "safety.respond"):
        return row.time // 1000 + CHECKIN_KEEP_SECONDS
    return getattr(row.body, "expires", None)


def due(rows: Iterable[_Row], now: int, closed: Mapping[bytes, int] | None = None) -> set[bytes]:
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


def _ref(r: _Row) -> bytes | None:
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


def _rows(node: Node, council: bytes) -> list[_Row]:
    marks = ",".join("?" * len(FORGETTABLE))
    rows = node.store.rows(
        "SELECT id, envelope, kind, time, clock, body FROM events "  # noqa: S608
        f"WHERE council=? AND body IS NOT NULL AND kind IN ({marks})",
        (council, *FORGETTABLE),
    )
    return [
        _Row(bytes(i), bytes(env), kind, time, clock, decode_body(kind, body))
        for i, env, kind, time, clock, body in rows
    ]


def _named_as_parents(node: Node, council: bytes, since_clock: int) -> set[bytes]:
    """Ids that an event of clock > since_clock names as a parent (a child always has a
    higher clock than its parents). Leaves never are; this guards older histories."""
    named: set[bytes] = set()
    for (parents,) in node.store.rows(
        "SELECT parents FROM events WHERE council=? AND clock > ?", (council, since_clock)
    ):
        named.update(parents[i : i + 32] for i in range(0, len(parents), 32))
    return named


def forget_expired(node: Node, now: int, council: bytes | None = None) -> Forgotten:
    """Forget, on this device, what has expired at `now` (every council, or one)."""
    done = Forgotten()
    councils = (
        [council]
        if council is not None
        else [bytes(c) for (c,) in node.store.rows("SELECT id FROM councils")]
    )
    for cid in councils:
        rows = _rows(node, cid)
        forget = due(rows, now, _closed(node, cid, now))
        if not forget:
            continue
        chosen = [r for r in rows if r.id in forget]
        named = _named_as_parents(node, cid, min(r.clock for r in chosen))
        chosen = [r for r in chosen if r.id not in named]
        _erase(node, chosen)
        for r in chosen:
            done.kinds[r.kind] = done.kinds.get(r.kind, 0) + 1
    if done.total:
        node.store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return done


def _closed(node: Node, council: bytes, now: int) -> dict[bytes, int]:
    """When each need and offer closed, from the state as this member sees it."""
    from shora.services.aid import state  # aid's writers import nothing of this module

    st = state(node, council, now)
    found = {i.id: i.closed_at for i in (*st.needs.values(), *st.offers.values())}
    found.update((h.id, h.closed_at) for h in st.hidden.values())
    return {i: t for i, t in found.items() if t is not None}


def _erase(node: Node, rows: list[_Row]) -> None:
    node.store.execute("PRAGMA secure_delete=ON")  # freed bytes are overwritten with zeros
    with node.store.transaction():
        node.store.executemany("DELETE FROM events WHERE id=?", [(r.id,) for r in rows])
        node.store.executemany(
            "UPDATE envelopes SET raw=x'' WHERE id=?", [(r.envelope,) for r in rows]
        )


class Forgetting:
    """Forgetting on purpose what has expired."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core
