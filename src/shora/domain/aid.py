"""Mutual aid and safety on a node: writing areas, needs, offers, commitments,
fulfilments, check-ins, roll calls and alerts, and reading them back through the pure
reducers of `shora.domain.aid_reduce`. See docs/aid.md.

Writers check what they can before writing (in the person's language); the reducers
decide what counts. Readers use only valid events (``valid=1``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from shora.domain import aid_kinds as ak
from shora.domain import matching
from shora.domain.aid_reduce import (
    AidState,
    AlertState,
    AreasState,
    ItemState,
    RollcallState,
    propose,
    reduce_aid,
    reduce_alert,
    reduce_areas,
    reduce_rollcall,
    well_formed,
)
from shora.domain.decisions import MIN_ID_PREFIX, _require_member, _views
from shora.domain.decisions_reduce import EventView
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _

if TYPE_CHECKING:
    from shora.node import Node

_AID = tuple(ak.AID_KINDS)
AREA_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def _aid_events(node: Node, council: bytes) -> list[Any]:
    marks = ",".join("?" * len(_AID))
    return _views(node, f"council=? AND kind IN ({marks})", (council, *_AID))


def state(node: Node, council: bytes, now: int) -> AidState:
    """The council's whole aid state at `now` (unix seconds)."""
    return reduce_aid(_aid_events(node, council), now)


def areas(node: Node, council: bytes) -> AreasState | None:
    return reduce_areas(_views(node, "council=? AND kind='aid.areas'", (council,)))


def _filter(
    items: list[ItemState], category: str | None, urgency: str | None, area: str | None
) -> list[ItemState]:
    return [
        i
        for i in items
        if (category is None or i.body.category == category)
        and (urgency is None or getattr(i.body, "urgency", None) == urgency)
        and (area is None or i.body.area == area)
    ]


def _urgency_rank(item: ItemState) -> tuple[int, int, bytes]:
    level = ak.URGENCIES.index(item.body.urgency) if isinstance(item.body, ak.Need) else 0
    return (level, item.clock, item.id)


def open_needs(
    node: Node,
    council: bytes,
    now: int,
    *,
    category: str | None = None,
    urgency: str | None = None,
    area: str | None = None,
) -> list[ItemState]:
    """Needs still open at `now` (remaining > 0, not expired), most urgent first."""
    items = [n for n in state(node, council, now).needs.values() if n.open]
    return sorted(_filter(items, category, urgency, area), key=_urgency_rank)


def open_offers(
    node: Node,
    council: bytes,
    now: int,
    *,
    category: str | None = None,
    area: str | None = None,
) -> list[ItemState]:
    """Offers still open at `now` (available, something left, not expired)."""
    items = [o for o in state(node, council, now).offers.values() if o.open]
    return sorted(_filter(items, category, None, area), key=lambda o: (o.clock, o.id))


def match(node: Node, council: bytes, now: int) -> matching.Proposal:
    """The engine's proposal for the open needs and offers; nothing is committed."""
    return propose(state(node, council, now), now)


def find_item(node: Node, council: bytes, ref: str, now: int, kind: str | None = None) -> bytes:
    """A need, offer or commitment by its id or a prefix of it (at least 6 hex digits)."""
    ref = ref.strip().lower()
    if len(ref) < MIN_ID_PREFIX:
        raise InvalidInput(_("give at least 6 digits of the id"))
    st = state(node, council, now)
    pools: dict[str, Any] = {"need": st.needs, "offer": st.offers, "commitment": st.commitments}
    found = [
        i
        for name, pool in pools.items()
        if kind in (None, name)
        for i in pool
        if i.hex().startswith(ref)
    ]
    if len(found) != 1:
        raise NotFound(_("nothing here has an id starting {id}").format(id=ref))
    return bytes(found[0])


# --- writing ----------------------------------------------------------------------------


def set_areas(node: Node, council: bytes, body: ak.Areas) -> bytes:
    """Replace the council's map of areas."""
    _require_member(node, council)
    ids = [a.id for a in body.areas]
    for area in ids:
        if not AREA_ID.fullmatch(area):
            raise InvalidInput(
                _(
                    "an area id is lowercase letters, digits, - and _, such as block-4: {area}"
                ).format(area=area)
            )
    if len(set(ids)) != len(ids):
        raise InvalidInput(_("an area is listed twice"))
    for edge in body.edges:
        for end in (edge.a, edge.b):
            if end not in ids:
                raise InvalidInput(_("unknown area: {area}").format(area=end))
    return node._append(council, "aid.areas", body)


def _check_area(node: Node, council: bytes, area: str) -> None:
    known = areas(node, council)
    if known is None:
        raise InvalidInput(_("this council has no areas yet: define them with 'shora areas'"))
    if area not in known.ids:
        raise InvalidInput(
            _("unknown area: {area}; the areas are: {areas}").format(
                area=area, areas=", ".join(sorted(known.ids))
            )
        )


def _check_item(node: Node, council: bytes, body: ak.Need | ak.Offer) -> None:
    _require_member(node, council)
    if not well_formed(body):
        if body.category == "medicine":
            raise InvalidInput(_("a medicine needs a name and a dose"))
        if body.category == "blood":
            raise InvalidInput(_("blood needs a blood group"))
        raise InvalidInput(_("only medicine and blood carry details"))
    _check_area(node, council, body.area)
    if body.expires is not None and body.expires <= int(node.now()):
        raise InvalidInput(_("the expiry must be in the future"))


def post_need(node: Node, council: bytes, body: ak.Need) -> bytes:
    _check_item(node, council, body)
    return node._append(council, "aid.need", body)


def post_offer(node: Node, council: bytes, body: ak.Offer) -> bytes:
    _check_item(node, council, body)
    return node._append(council, "aid.offer", body)


def commit(node: Node, council: bytes, need: bytes, offer: bytes, quantity: int) -> bytes:
    """Confirm (part of) a match: this offer serves this need."""
    _require_member(node, council)
    now = int(node.now())
    st = state(node, council, now)
    n, o = st.needs.get(need), st.offers.get(offer)
    if n is None or o is None:
        raise NotFound(_("no such need or offer in this council"))
    if not (n.open and o.open):
        raise NotAllowed(_("this need or offer is no longer open"))
    before = len(st.commitments)
    if quantity > min(n.remaining, o.remaining):
        raise InvalidInput(
            _("only {quantity} can be committed here").format(
                quantity=min(n.remaining, o.remaining)
            )
        )
    trial = reduce_aid(
        [*_aid_events(node, council), _trial_commit(need, offer, quantity, n.clock, o.clock)], now
    )
    if len(trial.commitments) == before:
        raise InvalidInput(_("this offer cannot serve this need"))
    return node._append(council, "aid.commit", ak.Commit(need, offer, quantity))


def _trial_commit(need: bytes, offer: bytes, quantity: int, *clocks: int) -> EventView:
    return EventView(
        b"\xff" * 32, b"", max(clocks) + 1, 0, "aid.commit", ak.Commit(need, offer, quantity)
    )


def fulfil(
    node: Node,
    council: bytes,
    quantity: int,
    *,
    commitment: bytes | None = None,
    need: bytes | None = None,
) -> bytes:
    """Record a delivery against a commitment, or straight against a need."""
    _require_member(node, council)
    st = state(node, council, int(node.now()))
    if commitment is not None:
        c = st.commitments.get(commitment)
        if c is None:
            raise NotFound(_("no such commitment in this council"))
        if quantity > c.quantity - c.fulfilled:
            raise InvalidInput(
                _("only {quantity} is left to deliver").format(quantity=c.quantity - c.fulfilled)
            )
    elif need is not None:
        if need not in st.needs:
            raise NotFound(_("no such need in this council"))
        if quantity > st.needs[need].remaining:
            raise InvalidInput(
                _("only {quantity} is left to deliver").format(quantity=st.needs[need].remaining)
            )
    return node._append(council, "aid.fulfil", ak.Fulfil(commitment, need, quantity))


def cancel(
    node: Node, council: bytes, target: bytes, reason: str = "", duplicate_of: bytes | None = None
) -> bytes:
    me = _require_member(node, council)
    st = state(node, council, int(node.now()))
    item = st.needs.get(target) or st.offers.get(target)
    if item is None:
        raise NotFound(_("no such need or offer in this council"))
    if item.author != me:
        raise NotAllowed(_("only its author can withdraw a need or an offer"))
    return node._append(council, "aid.cancel", ak.Cancel(target, reason, duplicate_of))


# --- safety -----------------------------------------------------------------------------


def checkin(node: Node, council: bytes, status: str, area: str | None = None) -> bytes:
    _require_member(node, council)
    if status not in ak.CHECKIN_STATUSES:
        raise InvalidInput(
            _("a check-in is one of: {statuses}").format(statuses=", ".join(ak.CHECKIN_STATUSES))
        )
    if area is not None:
        _check_area(node, council, area)
    return node._append(council, "safety.checkin", ak.Checkin(status, area))  # type: ignore[arg-type]


def rollcall(node: Node, council: bytes, area: str | None = None) -> bytes:
    _require_member(node, council)
    if area is not None:
        _check_area(node, council, area)
    return node._append(council, "safety.rollcall", ak.Rollcall(area))


def _members(node: Node, council: bytes) -> frozenset[bytes]:
    return frozenset(node.ingestor.projection.final_state(council).active_members())


def rollcall_state(node: Node, council: bytes, call: bytes | None = None) -> RollcallState:
    """A roll call (the latest one if None): who answered and who did not."""
    calls = _views(node, "council=? AND kind='safety.rollcall'", (council,))
    if call is not None:
        calls = [c for c in calls if c.id == call]
    if not calls:
        raise NotFound(_("there is no roll call in this council"))
    latest = max(calls, key=lambda c: (c.time, c.order))
    checkins = _views(node, "council=? AND kind='safety.checkin'", (council,))
    return reduce_rollcall(latest, _members(node, council), checkins)


def alert(
    node: Node, council: bytes, kind: str, area: str, expires: int | None = None, note: str = ""
) -> bytes:
    _require_member(node, council)
    if kind not in ak.ALERT_KINDS:
        raise InvalidInput(_("an alert is one of: {kinds}").format(kinds=", ".join(ak.ALERT_KINDS)))
    _check_area(node, council, area)
    if expires is not None and expires <= int(node.now()):
        raise InvalidInput(_("the expiry must be in the future"))
    return node._append(council, "safety.alert", ak.Alert(kind, area, expires, note))  # type: ignore[arg-type]


def alerts(node: Node, council: bytes, now: int, *, active_only: bool = True) -> list[AlertState]:
    """The council's alerts, newest first; only active ones (not expired, not
    retracted) unless `active_only` is False."""
    made = _views(node, "council=? AND kind='safety.alert'", (council,))
    related = _views(
        node,
        "council=? AND kind IN ('safety.alert_confirm', 'safety.alert_retract')",
        (council,),
    )
    states = [reduce_alert(a, related) for a in made]
    states.sort(key=lambda a: (-a.time, a.id))
    return [a for a in states if a.active(now) or not active_only]


def find_alert(node: Node, council: bytes, ref: str) -> AlertState:
    ref = ref.strip().lower()
    if len(ref) < MIN_ID_PREFIX:
        raise InvalidInput(_("give at least 6 digits of the id"))
    found = [a for a in alerts(node, council, 0, active_only=False) if a.id.hex().startswith(ref)]
    if len(found) != 1:
        raise NotFound(_("no single alert here has an id starting {id}").format(id=ref))
    return found[0]


def confirm_alert(node: Node, council: bytes, alert_id: bytes) -> bytes:
    me = _require_member(node, council)
    found = [a for a in alerts(node, council, 0, active_only=False) if a.id == alert_id]
    if not found:
        raise NotFound(_("no such alert in this council"))
    if found[0].author == me:
        raise NotAllowed(_("you wrote this alert; someone else must confirm it"))
    return node._append(council, "safety.alert_confirm", ak.AlertConfirm(alert_id))


def retract_alert(node: Node, council: bytes, alert_id: bytes) -> bytes:
    me = _require_member(node, council)
    found = [a for a in alerts(node, council, 0, active_only=False) if a.id == alert_id]
    if not found:
        raise NotFound(_("no such alert in this council"))
    if found[0].author != me:
        raise NotAllowed(_("only the alert's author can retract it"))
    return node._append(council, "safety.alert_retract", ak.AlertRetract(alert_id))
