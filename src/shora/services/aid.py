"""Mutual aid on a node: writing areas, needs, offers, commitments, fulfilments,
cancellations and private notes, and reading them back through the pure reducers of
`shora.domain.aid.state`. Safety (check-ins, roll calls, alerts) is in
`shora.services.safety`, re-exported here. See docs/aid.md.

Writers check what they can before writing (in the person's language); the reducers
decide what counts. Readers use only valid events (``valid=1``); sealed needs and notes
are opened for this node's member where it is a recipient, and stay opaque otherwise.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import msgspec

from shora.domain.aid import kinds as ak
from shora.domain.aid import matching
from shora.domain.aid.state import (
    AidState,
    AreasState,
    ItemState,
    NoteState,
    OpenedNeed,
    OpenedNote,
    propose,
    reduce_aid,
    reduce_areas,
    well_formed,
)
from shora.domain.decisions.state import EventView
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _
from shora.kernel.core import NodeCore
from shora.services import restricted
from shora.services.decisions import MIN_ID_PREFIX, _require_member, _views
from shora.services.safety import (  # the safety API, re-exported
    alert as alert,
)
from shora.services.safety import (
    alerts as alerts,
)
from shora.services.safety import (
    checkin as checkin,
)
from shora.services.safety import (
    confirm_alert as confirm_alert,
)
from shora.services.safety import (
    find_alert as find_alert,
)
from shora.services.safety import (
    retract_alert as retract_alert,
)
from shora.services.safety import (
    rollcall as rollcall,
)
from shora.services.safety import (
    rollcall_state as rollcall_state,
)

if TYPE_CHECKING:
    from shora.node import Node

_AID = tuple(ak.AID_KINDS)
AREA_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
NEED_PURPOSE = b"aid.need"
NOTE_PURPOSE = b"aid.note"
_need_decoder = msgspec.msgpack.Decoder(ak.Need)
_note_decoder = msgspec.msgpack.Decoder(ak.NoteText)


def _opened(opener: restricted.Opener, e: EventView) -> EventView:
    """A sealed need or note opened for this member (or left as it is)."""
    if e.kind == "aid.need_sealed":
        plain = opener.open(e.body.sealed, NEED_PURPOSE, e.author)
        need = None if plain is None else _decode(_need_decoder, plain)
        return EventView(e.id, e.author, e.clock, e.time, e.kind, OpenedNeed(e.body, need))
    if e.kind == "aid.note":
        plain = opener.open(e.body.sealed, NOTE_PURPOSE, e.author)
        note = None if plain is None else _decode(_note_decoder, plain)
        text = None if note is None else note.text
        return EventView(e.id, e.author, e.clock, e.time, e.kind, OpenedNote(e.body, text))
    return e


def _decode(decoder: msgspec.msgpack.Decoder[Any], plain: bytes) -> Any:
    try:
        return decoder.decode(plain)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None  # sealed by a member, but not a valid body: it does not count


def _aid_events(node: Node, council: bytes) -> list[EventView]:
    marks = ",".join("?" * len(_AID))
    views = _views(node, f"council=? AND kind IN ({marks})", (council, *_AID))
    if not any(v.kind in ("aid.need_sealed", "aid.note") for v in views):
        return views
    opener = restricted.Opener(node, council)
    return [_opened(opener, v) for v in views]


def state(node: Node, council: bytes, now: int) -> AidState:
    """The council's whole aid state at `now` (unix seconds), as this member may see it."""
    return reduce_aid(_aid_events(node, council), now)


def areas(node: Node, council: bytes) -> AreasState | None:
    """The council's map: the latest `aid.areas` that counts (see `areas_may_count`)."""
    made = _views(node, "council=? AND kind='aid.areas'", (council,))
    return reduce_areas(areas_that_count(node, council, made))


def areas_that_count(node: Node, council: bytes, made: list[EventView]) -> list[EventView]:
    """The rule for who may set the areas, decided on each event's causal state: the
    first `aid.areas` of the council (by clock, id) counts whoever wrote it; after that,
    only one whose author held the coordinator role, as the author saw the council, at
    the time they claim."""
    ordered = sorted(made, key=lambda e: e.order)
    projection = node.ingestor.projection
    return [
        e
        for i, e in enumerate(ordered)
        if i == 0
        or e.author
        in projection.causal_state(council, e.id).role_holders(restricted.COORDINATOR, e.time)
    ]


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


def notes(node: Node, council: bytes, need: bytes) -> list[NoteState]:
    """The private notes on a need, oldest first (text None where not for us)."""
    return notes_on(node, council, [need])[need]


def notes_on(node: Node, council: bytes, needs: list[bytes]) -> dict[bytes, list[NoteState]]:
    """The private notes on each of several needs (one fold of the council's aid)."""
    found = state(node, council, int(node.now())).notes
    return {n: sorted(found.get(n, []), key=lambda x: (x.time, x.id)) for n in needs}


def find_item(node: Node, council: bytes, ref: str, now: int, kind: str | None = None) -> bytes:
    """A need, offer or commitment by its id or a prefix of it (at least 6 hex digits)."""
    ref = ref.strip().lower()
    if len(ref) < MIN_ID_PREFIX:
        raise InvalidInput(_("give at least 6 digits of the id"))
    st = state(node, council, now)
    pools: dict[str, Any] = {
        "need": {**st.needs, **st.hidden},
        "offer": st.offers,
        "commitment": st.commitments,
    }
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
    """Replace the council's map of areas (a coordinator's job once there is one)."""
    me = _require_member(node, council)
    if areas(node, council) is not None:
        final = node.ingestor.projection.final_state(council)
        if me not in final.role_holders(restricted.COORDINATOR, int(node.now() * 1000)):
            raise NotAllowed(_("only a coordinator can change the council's areas"))
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
    return node.append(council, "aid.areas", body)


def check_area(node: Node, council: bytes, area: str) -> None:
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
    check_area(node, council, body.area)
    if body.expires is not None and body.expires <= int(node.now()):
        raise InvalidInput(_("the expiry must be in the future"))


def post_need(node: Node, council: bytes, body: ak.Need) -> bytes:
    """Post a need; one of restricted visibility is sealed to its audience and author."""
    _check_item(node, council, body)
    if body.visibility == "council":
        return node.append(council, "aid.need", body)
    sealed = restricted.seal_for(
        node, council, body.visibility, msgspec.msgpack.encode(body), NEED_PURPOSE
    )
    return node.append(
        council, "aid.need_sealed", ak.SealedNeed(body.visibility, sealed, body.expires)
    )


def post_offer(node: Node, council: bytes, body: ak.Offer) -> bytes:
    _check_item(node, council, body)
    return node.append(council, "aid.offer", body)


def commit(node: Node, council: bytes, need: bytes, offer: bytes, quantity: int) -> bytes:
    """Confirm (part of) a match: this offer serves this need."""
    me = _require_member(node, council)
    now = int(node.now())
    st = state(node, council, now)
    n, o = st.needs.get(need), st.offers.get(offer)
    if need in st.hidden:
        raise NotAllowed(_("only the people this need is shown to can commit to it"))
    if n is None or o is None:
        raise NotFound(_("no such need or offer in this council"))
    if not (n.open and o.open):
        raise NotAllowed(_("this need or offer is no longer open"))
    if n.audience != "council" and me not in n.recipients:
        raise NotAllowed(_("only the people this need is shown to can commit to it"))
    before = len(st.commitments)
    if quantity > min(n.remaining, o.remaining):
        raise InvalidInput(
            _("only {quantity} can be committed here").format(
                quantity=min(n.remaining, o.remaining)
            )
        )
    trial = EventView(  # the same commitment, after everything this node holds
        b"\xff" * 32, me, 2**53 - 1, 2**53 - 1, "aid.commit", ak.Commit(need, offer, quantity)
    )
    if len(reduce_aid([*_aid_events(node, council), trial], now).commitments) == before:
        raise InvalidInput(_("this offer cannot serve this need"))
    return node.append(council, "aid.commit", ak.Commit(need, offer, quantity))


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
    return node.append(council, "aid.fulfil", ak.Fulfil(commitment, need, quantity))


def dispatch(node: Node, council: bytes, commitment: bytes, quantity: int) -> bytes:
    """Record that (part of) a commitment is on its way: the need shows "in transit"."""
    me = _require_member(node, council)
    st = state(node, council, int(node.now()))
    c = st.commitments.get(commitment)
    if c is None:
        raise NotFound(_("no such commitment in this council"))
    offer = st.offers.get(c.offer)
    if me not in {c.author, offer.author if offer else c.author}:
        raise NotAllowed(_("only the giver or whoever made the commitment can send it"))
    left = c.quantity - c.dispatched
    if quantity > left:
        raise InvalidInput(_("only {quantity} is left to send").format(quantity=left))
    return node.append(council, "aid.dispatch", ak.Dispatch(commitment, quantity))


def cancel(
    node: Node, council: bytes, target: bytes, reason: str = "", duplicate_of: bytes | None = None
) -> bytes:
    """Withdraw your need or offer, or mark it a duplicate of another of the same kind."""
    me = _require_member(node, council)
    st = state(node, council, int(node.now()))
    item = st.needs.get(target) or st.offers.get(target)
    if item is None:
        raise NotFound(_("no such need or offer in this council"))
    if item.author != me:
        raise NotAllowed(_("only its author can withdraw a need or an offer"))
    if item.cancelled is not None:
        raise NotAllowed(_("this was already withdrawn"))
    if duplicate_of is not None:
        pool = st.needs if item.kind == "need" else st.offers
        if duplicate_of == target or duplicate_of not in pool:
            raise InvalidInput(
                _("a duplicate points to another {kind} of this council").format(
                    kind=_("need") if item.kind == "need" else _("offer")
                )
            )
    return node.append(council, "aid.cancel", ak.Cancel(target, reason, duplicate_of))


def add_note(node: Node, council: bytes, need: bytes, text: str) -> bytes:
    """A private note on a need (an address, a door code), sealed to the people handling
    it now: the need's author and audience, the coordinators, and whoever committed an
    offer to it (and those offers' authors). Someone who commits later needs a new note."""
    me = _require_member(node, council)
    text = text.strip()
    if not text:
        raise InvalidInput(_("a note needs some text"))
    if len(text) > ak.MAX_NOTE:
        raise InvalidInput(_("a note is at most {n} characters").format(n=ak.MAX_NOTE))
    st = state(node, council, int(node.now()))
    item = st.needs.get(need)
    if item is None:
        raise NotFound(_("no such need in this council"))
    handlers = {item.author, *item.recipients}
    for c in st.commitments.values():
        if c.need == need:
            handlers |= {c.author, st.offers[c.offer].author}
    final = node.ingestor.projection.final_state(council)
    coordinators = final.role_holders(restricted.COORDINATOR, int(node.now() * 1000))
    if me not in handlers | coordinators:
        raise NotAllowed(_("only the people handling this need can add a note to it"))
    plain = msgspec.msgpack.encode(ak.NoteText(text))
    sealed = restricted.seal_for(node, council, "coordinators", plain, NOTE_PURPOSE, handlers)
    return node.append(council, "aid.note", ak.Note(need, sealed))


class Aid:
    """Mutual aid: areas, needs, offers, commitments, matching."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core
