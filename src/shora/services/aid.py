"""Mutual aid on a node: writing areas, needs, offers, commitments, fulfilments,
cancellations and private notes, and reading them back through the pure reducers of
`shora.domain.aid.state`. Safety (check-ins, roll calls, alerts) is in
`shora.services.safety`. See docs/aid.md.

Writers check what they can before writing (in the person's language); the reducers
decide what counts. Readers use only valid events (``valid=1``); sealed needs and notes
are opened for this node's member where it is a recipient, and stay opaque otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from shora.domain.aid import kinds as ak
from shora.domain.aid import kinds as kinds  # re-exported for the pages and commands
from shora.domain.aid import matching
from shora.domain.aid import summary as summary
from shora.domain.aid import taxonomy as taxonomy
from shora.domain.aid.area_names import AREA_ID as AREA_ID
from shora.domain.aid.area_names import find_area
from shora.domain.aid.area_names import name_areas as name_areas
from shora.domain.aid.area_names import name_edge as name_edge
from shora.domain.aid.checks import check_category as check_category
from shora.domain.aid.checks import check_quantity as check_quantity
from shora.domain.aid.restricted import COORDINATOR
from shora.domain.aid.state import (
    AidState,
    AreasState,
    NoteState,
    OpenedNeed,
    OpenedNote,
    propose,
    reduce_aid,
    reduce_areas,
    well_formed,
)
from shora.domain.aid.state import HiddenNeed as HiddenNeed
from shora.domain.aid.state import ItemState as ItemState
from shora.domain.decisions.state import EventView
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _, join_names
from shora.kernel.core import NodeCore
from shora.services.decisions import views_of
from shora.services.restricted import Opener, Restricted

MIN_ID_PREFIX = 6
UNDER_WAY = ("committed", "in_transit")  # a need that commitments cover, not yet delivered

_AID = tuple(ak.AID_KINDS)
NEED_PURPOSE = b"aid.need"
NOTE_PURPOSE = b"aid.note"
_need_decoder = msgspec.msgpack.Decoder(ak.Need)
_note_decoder = msgspec.msgpack.Decoder(ak.NoteText)


def _opened(opener: Opener, e: EventView) -> EventView:
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


class Answer(msgspec.Struct, frozen=True):
    """A commitment to a need as its author sees it: who gives, how much is promised,
    on its way (dispatched, not yet delivered) and delivered."""

    commitment: bytes
    giver: bytes
    committed: int
    on_its_way: int
    delivered: int


def _answers(state: AidState, need: bytes) -> list[Answer]:
    return [
        Answer(
            c.id,
            state.offers[c.offer].author if c.offer in state.offers else c.author,
            c.quantity,
            max(0, c.dispatched - c.fulfilled),
            c.fulfilled,
        )
        for c in sorted(state.commitments.values(), key=lambda c: c.id)
        if c.need == need
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


def views(
    core: NodeCore, council: bytes, kinds: Sequence[str], author: bytes | None = None
) -> list[EventView]:
    """The valid events of these kinds in a council (of one author, if given), decoded:
    what every reader of this package folds."""
    events = core.store.events
    rows = (
        events.valid_of_kinds(council, kinds)
        if author is None
        else events.valid_of_kinds_by(council, kinds, author)
    )
    return views_of(rows)


class Aid:
    """Mutual aid: areas, needs, offers, commitments, matching."""

    def __init__(self, core: NodeCore, restricted: Restricted) -> None:
        self.core = core
        self.restricted = restricted

    def _aid_events(self, council: bytes) -> list[EventView]:
        found = views(self.core, council, _AID)
        if not any(v.kind in ("aid.need_sealed", "aid.note") for v in found):
            return found
        opener = self.restricted.opener(council)
        return [_opened(opener, v) for v in found]

    def state(self, council: bytes, now: int) -> AidState:
        """The council's whole aid state at `now` (unix seconds), as this member may see it."""
        return reduce_aid(self._aid_events(council), now, self.core.state(council).current_key)

    def areas(self, council: bytes) -> AreasState | None:
        """The council's map: the latest `aid.areas` that counts (see `areas_may_count`)."""
        made = views(self.core, council, ("aid.areas",))
        return reduce_areas(self.areas_that_count(council, made))

    def areas_that_count(self, council: bytes, made: list[EventView]) -> list[EventView]:
        """The rule for who may set the areas, decided on each event's causal state: the
        first `aid.areas` of the council (by clock, id) counts whoever wrote it; after that,
        only one whose author held the coordinator role, as the author saw the council, at
        the time they claim."""
        ordered = sorted(made, key=lambda e: e.order)
        causal = self.core.causal_state
        return [
            e
            for i, e in enumerate(ordered)
            if i == 0 or e.author in causal(council, e.id).role_holders(COORDINATOR, e.time)
        ]

    def open_needs(
        self,
        council: bytes,
        now: int,
        *,
        category: str | None = None,
        urgency: str | None = None,
        area: str | None = None,
    ) -> list[ItemState]:
        """Needs still open at `now` (remaining > 0, not expired), most urgent first."""
        items = [n for n in self.state(council, now).needs.values() if n.open]
        return sorted(_filter(items, category, urgency, area), key=_urgency_rank)

    def open_offers(
        self,
        council: bytes,
        now: int,
        *,
        category: str | None = None,
        area: str | None = None,
    ) -> list[ItemState]:
        """Offers still open at `now` (available, something left, not expired)."""
        items = [o for o in self.state(council, now).offers.values() if o.open]
        return sorted(_filter(items, category, None, area), key=lambda o: (o.clock, o.id))

    def match(self, council: bytes, now: int) -> matching.Proposal:
        """The engine's proposal for the open needs and offers; nothing is committed."""
        return propose(self.state(council, now), now)

    def notes(self, council: bytes, need: bytes) -> list[NoteState]:
        """The private notes on a need, oldest first (text None where not for us)."""
        return self.notes_on(council, [need])[need]

    def notes_on(self, council: bytes, needs: list[bytes]) -> dict[bytes, list[NoteState]]:
        """The private notes on each of several needs (one fold of the council's aid)."""
        found = self.state(council, int(self.core.now())).notes
        return {n: sorted(found.get(n, []), key=lambda x: (x.time, x.id)) for n in needs}

    def find_item(self, council: bytes, ref: str, now: int, kind: str | None = None) -> bytes:
        """A need, offer or commitment by its id or a prefix of it (at least 6 hex digits)."""
        ref = ref.strip().lower()
        if len(ref) < MIN_ID_PREFIX:
            raise InvalidInput(_("give at least 6 digits of the id"))
        st = self.state(council, now)
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

    def set_areas(self, council: bytes, body: ak.Areas) -> bytes:
        """Replace the council's map of areas (a coordinator's job once there is one)."""
        me = self.restricted.require_member(council)
        if self.areas(council) is not None:
            final = self.core.state(council)
            if me not in final.role_holders(COORDINATOR, int(self.core.now() * 1000)):
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
        return self.core.append(council, "aid.areas", body)

    def area_map(self, council: bytes, lines: Sequence[str], edges: Sequence[str] = ()) -> ak.Areas:
        """A map from area names, one per line, and neighbours named by them (``name,
        name[, length]``); areas already on the map keep their ids."""
        known = self.areas(council)
        listed = name_areas(lines, known.areas if known is not None else ())
        pairs = [line for line in edges if line.strip()]
        if len(pairs) > ak.MAX_EDGES:
            raise InvalidInput(
                _("A council has at most {n} pairs of neighbours.").format(n=ak.MAX_EDGES)
            )
        return ak.Areas(listed, [name_edge(line, listed) for line in pairs])

    def name_areas(self, council: bytes, lines: Sequence[str], edges: Sequence[str] = ()) -> bytes:
        """Replace the council's areas with these names (ids are made for them)."""
        return self.set_areas(council, self.area_map(council, lines, edges))

    def check_area(self, council: bytes, area: str) -> str:
        """The id of the area `area` names (by its name or its id), if the map has it."""
        known = self.areas(council)
        if known is None:
            raise InvalidInput(_("this council has no areas yet: define them with 'shora areas'"))
        found = find_area(area, known.areas)
        if found is None:
            raise InvalidInput(
                _("unknown area: {area}; the areas are: {areas}").format(
                    area=area.strip(), areas=join_names(n for _a, n in known.areas)
                )
            )
        return found

    def _check_item(self, council: bytes, body: ak.Need | ak.Offer) -> None:
        self.restricted.require_member(council)
        if not well_formed(body):
            if body.category == "medicine":
                raise InvalidInput(_("a medicine needs a name and a dose"))
            if body.category == "blood":
                raise InvalidInput(_("blood needs a blood group"))
            raise InvalidInput(_("only medicine and blood carry details"))
        self.check_area(council, body.area)
        if body.expires is not None and body.expires <= int(self.core.now()):
            raise InvalidInput(_("the expiry must be in the future"))

    def post_need(self, council: bytes, body: ak.Need) -> bytes:
        """Post a need; one of restricted visibility is sealed to its audience and author."""
        self._check_item(council, body)
        if body.visibility == "council":
            return self.core.append(council, "aid.need", body)
        sealed = self.restricted.seal_for(
            council, body.visibility, msgspec.msgpack.encode(body), NEED_PURPOSE
        )
        return self.core.append(
            council, "aid.need_sealed", ak.SealedNeed(body.visibility, sealed, body.expires)
        )

    def post_offer(self, council: bytes, body: ak.Offer) -> bytes:
        self._check_item(council, body)
        return self.core.append(council, "aid.offer", body)

    def commit(self, council: bytes, need: bytes, offer: bytes, quantity: int) -> bytes:
        """Confirm (part of) a match: this offer serves this need."""
        me = self.restricted.require_member(council)
        now = int(self.core.now())
        st = self.state(council, now)
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
        owner = self.core.state(council).current_key
        if len(reduce_aid([*self._aid_events(council), trial], now, owner).commitments) == before:
            raise InvalidInput(_("this offer cannot serve this need"))
        return self.core.append(council, "aid.commit", ak.Commit(need, offer, quantity))

    def fulfil(
        self,
        council: bytes,
        quantity: int,
        *,
        commitment: bytes | None = None,
        need: bytes | None = None,
    ) -> bytes:
        """Record a delivery against a commitment, or straight against a need."""
        self.restricted.require_member(council)
        st = self.state(council, int(self.core.now()))
        if commitment is not None:
            c = st.commitments.get(commitment)
            if c is None:
                raise NotFound(_("no such commitment in this council"))
            if quantity > c.quantity - c.fulfilled:
                raise InvalidInput(
                    _("only {quantity} is left to deliver").format(
                        quantity=c.quantity - c.fulfilled
                    )
                )
        elif need is not None:
            if need not in st.needs:
                raise NotFound(_("no such need in this council"))
            if quantity > st.needs[need].remaining:
                raise InvalidInput(
                    _("only {quantity} is left to deliver").format(
                        quantity=st.needs[need].remaining
                    )
                )
        return self.core.append(council, "aid.fulfil", ak.Fulfil(commitment, need, quantity))

    def dispatch(self, council: bytes, commitment: bytes, quantity: int) -> bytes:
        """Record that (part of) a commitment is on its way: the need shows "in transit"."""
        me = self.restricted.require_member(council)
        st = self.state(council, int(self.core.now()))
        c = st.commitments.get(commitment)
        if c is None:
            raise NotFound(_("no such commitment in this council"))
        offer = st.offers.get(c.offer)
        owner = self.core.state(council).current_key
        if me not in {owner(c.author), owner((offer or c).author)}:
            raise NotAllowed(_("only the giver or whoever made the commitment can send it"))
        left = c.quantity - c.dispatched
        if quantity > left:
            raise InvalidInput(_("only {quantity} is left to send").format(quantity=left))
        return self.core.append(council, "aid.dispatch", ak.Dispatch(commitment, quantity))

    def cancel(
        self, council: bytes, target: bytes, reason: str = "", duplicate_of: bytes | None = None
    ) -> bytes:
        """Withdraw your need or offer, or mark it a duplicate of another of the same kind."""
        me = self.restricted.require_member(council)
        st = self.state(council, int(self.core.now()))
        item = st.needs.get(target) or st.offers.get(target)
        if item is None:
            raise NotFound(_("no such need or offer in this council"))
        if self.core.state(council).current_key(item.author) != me:
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
        return self.core.append(council, "aid.cancel", ak.Cancel(target, reason, duplicate_of))

    def add_note(self, council: bytes, need: bytes, text: str) -> bytes:
        """A private note on a need (an address, a door code), sealed to the people handling
        it now: the need's author and audience, the coordinators, and whoever committed an
        offer to it (and those offers' authors). Someone who commits later needs a new note."""
        me = self.restricted.require_member(council)
        text = text.strip()
        if not text:
            raise InvalidInput(_("a note needs some text"))
        if len(text) > ak.MAX_NOTE:
            raise InvalidInput(_("a note is at most {n} characters").format(n=ak.MAX_NOTE))
        st = self.state(council, int(self.core.now()))
        item = st.needs.get(need)
        if item is None:
            raise NotFound(_("no such need in this council"))
        handlers = {item.author, *item.recipients}
        for c in st.commitments.values():
            if c.need == need:
                handlers |= {c.author, st.offers[c.offer].author}
        final = self.core.state(council)
        coordinators = final.role_holders(COORDINATOR, int(self.core.now() * 1000))
        if me not in handlers | coordinators:
            raise NotAllowed(_("only the people handling this need can add a note to it"))
        plain = msgspec.msgpack.encode(ak.NoteText(text))
        sealed = self.restricted.seal_for(council, "coordinators", plain, NOTE_PURPOSE, handlers)
        return self.core.append(council, "aid.note", ak.Note(need, sealed))

    def roles(self, council: bytes) -> list[str]:
        """The roles the council has named (a need may be shown to a role's holders)."""
        return sorted(self.core.state(council).terms)

    def needs_under_way(
        self,
        council: bytes,
        now: int,
        *,
        category: str | None = None,
        urgency: str | None = None,
        area: str | None = None,
    ) -> list[ItemState]:
        """Needs no longer open because commitments cover them (matched, or on its way),
        not yet delivered in full: still someone's need, shown as matched, not gone."""
        state = self.state(council, now)
        items = [n for n in state.needs.values() if n.status in UNDER_WAY and not n.expired]
        return sorted(_filter(items, category, urgency, area), key=_urgency_rank)

    def answers(self, council: bytes, now: int, need: bytes) -> list[Answer]:
        """What answers a need: each commitment to it, with its giver (the offer's author)."""
        return _answers(self.state(council, now), need)

    def my_needs(self, council: bytes, now: int) -> list[tuple[ItemState, list[Answer]]]:
        """This member's needs not yet delivered in full nor withdrawn, with what answers
        each (the council's home page shows them, and their match, at once)."""
        mine = self.core.me(council)
        if mine is None:
            return []
        state = self.state(council, now)
        found = [
            n
            for n in state.needs.values()
            if n.author == mine and (n.open or (n.status in UNDER_WAY and not n.expired))
        ]
        found.sort(key=lambda n: (-n.clock, n.id))
        return [(n, _answers(state, n.id)) for n in found]
