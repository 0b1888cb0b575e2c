"""The state of mutual aid and safety: pure functions of the valid events. See docs/aid.md.

No I/O, no clock (``now``, unix seconds, is passed in). Every rule that could depend on
the order events arrived in is decided by (clock, claimed time, id) order instead (aid
events are leaves, so many share a clock: the time the author claims orders them then),
so every replica
holding the same events computes the same state:

* areas: the latest ``aid.areas`` event wins;
* a commitment counts if its need and offer exist, are compatible (category, medicine
  name and dose, cold chain, red-cell groups) and neither was cancelled before it; it
  counts for at most what is left of the need and of the offer at its place in
  (clock, id) order (an inexhaustible or recurring offer is never used up);
* a commitment to a need of restricted visibility counts only if its author is one of
  the need's recipients (its author or the audience it was sealed to): only they can
  see the need. A member who cannot open the need counts such a commitment against
  the offer alone;
* a fulfilment counts up to what is left of its commitment (or of its need);
* a cancellation counts only from the need's or offer's author; the first one wins;
* a private note counts if its need is known (readable or not).

Sealed needs and notes reach the reducer opened (`OpenedNeed`, `OpenedNote`) for the
member this node holds, or as they were written when the member is not a recipient.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import msgspec
from msgspec.structs import replace

from shora.domain.aid import kinds as ak
from shora.domain.aid import matching
from shora.domain.aid.taxonomy import BloodGroup, Category, Details, Medicine, Urgency, compatible
from shora.domain.decisions.state import MS, EventView

URGENCY = {name: Urgency[name.upper()] for name in ak.URGENCIES}


def details_of(body: ak.Need | ak.Offer) -> Details:
    """The taxonomy's details of a need or offer body (None if they do not fit)."""
    if body.category == "medicine" and body.medicine is not None:
        m = body.medicine
        return Medicine(m.name, m.dose, m.cold_storage, m.kept_cold)
    if body.category == "blood" and body.blood is not None:
        return BloodGroup(body.blood)
    return None


def well_formed(body: ak.Need | ak.Offer) -> bool:
    """Whether the details fit the category (medicine and blood need theirs; others none)."""
    if body.category == "medicine":
        return body.medicine is not None and body.blood is None
    if body.category == "blood":
        return body.blood is not None and body.medicine is None
    return body.medicine is None and body.blood is None


class AreasState(msgspec.Struct, frozen=True):
    id: bytes
    areas: tuple[tuple[str, str], ...]  # (id, name), in the order the council listed them
    edges: tuple[tuple[str, str, int], ...]

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(a for a, _ in self.areas)

    def map(self) -> matching.AreaMap:
        known = self.ids
        edges = [(a, b, n) for a, b, n in self.edges if a in known and b in known]
        return matching.AreaMap(known, edges)


def reduce_areas(events: Iterable[EventView]) -> AreasState | None:
    latest = max((e for e in events if e.kind == "aid.areas"), key=lambda e: e.order, default=None)
    if latest is None:
        return None
    body: ak.Areas = latest.body
    areas = tuple({a.id: a.name for a in body.areas}.items())
    edges = tuple((e.a, e.b, e.length) for e in body.edges)
    return AreasState(latest.id, areas, edges)


class ItemState(msgspec.Struct):
    """A need or an offer with its quantities."""

    id: bytes
    kind: str  # "need" or "offer"
    author: bytes
    clock: int
    time: int  # ms, claimed
    body: ak.Need | ak.Offer
    committed: int = 0
    in_transit: int = 0  # need: dispatched against commitments, not yet delivered
    fulfilled: int = 0  # need: delivered (through commitments or directly)
    direct: int = 0  # need: delivered without a commitment
    cancelled: str | None = None  # reason
    duplicate_of: bytes | None = None
    cancel_order: tuple[int, int, bytes] | None = None
    expired: bool = False
    not_yet: bool = False  # offer: before available_from
    audience: str = "council"
    recipients: frozenset[bytes] = frozenset()  # restricted needs: who can read it
    closed_at: int | None = None  # ms, claimed: withdrawn, all delivered, or used up

    def close(self, e: EventView) -> None:
        """Note when it closed (the first event that withdrew, met or used it up)."""
        done = (
            self.cancelled is not None
            or (self.kind == "need" and self.fulfilled >= self.quantity)
            or (self.kind == "offer" and not self.endless and self.remaining == 0)
        )
        if done and self.closed_at is None:
            self.closed_at = e.time

    @property
    def quantity(self) -> int:
        return self.body.quantity

    @property
    def endless(self) -> bool:
        return isinstance(self.body, ak.Offer) and (self.body.inexhaustible or self.body.recurring)

    @property
    def remaining(self) -> int:
        """What is still needed or on offer, beyond what is committed."""
        if self.endless:
            return self.quantity
        return max(0, self.quantity - self.committed - self.direct)

    @property
    def status(self) -> str:
        if self.duplicate_of is not None:
            return "duplicate"
        if self.cancelled is not None:
            return "cancelled"
        if self.kind == "need" and self.fulfilled >= self.quantity:
            return "fulfilled"
        if (
            self.kind == "need"
            and self.in_transit
            and self.fulfilled + self.in_transit >= (self.quantity)
        ):
            return "in_transit"
        if self.remaining == 0:
            return "committed"
        if self.expired:
            return "expired"
        return "open"

    @property
    def open(self) -> bool:
        return self.status == "open" and not self.not_yet


class CommitmentState(msgspec.Struct, frozen=True):
    id: bytes
    author: bytes
    need: bytes
    offer: bytes
    quantity: int  # what counts (capped), > 0
    fulfilled: int
    dispatched: int = 0  # of which on its way (at least what is delivered)


class OpenedNeed(msgspec.Struct, frozen=True):
    """A sealed need as this node sees it: `need` is None if it is not for us."""

    outer: ak.SealedNeed
    need: ak.Need | None


class OpenedNote(msgspec.Struct, frozen=True):
    outer: ak.Note
    text: str | None  # None: not for us


class HiddenNeed(msgspec.Struct):
    """A need this member may not read: who wrote it, for whom, until when."""

    id: bytes
    author: bytes
    clock: int
    time: int
    audience: str
    recipients: frozenset[bytes]
    expires: int | None
    committed: int = 0
    closed_at: int | None = None  # ms, claimed: when its author withdrew it

    def expired(self, now: int) -> bool:
        return self.expires is not None and self.expires <= now


class NoteState(msgspec.Struct, frozen=True):
    id: bytes
    need: bytes
    author: bytes
    time: int  # ms, claimed
    recipients: frozenset[bytes]
    text: str | None  # None: not for us


class AidState(msgspec.Struct):
    areas: AreasState | None
    needs: dict[bytes, ItemState] = msgspec.field(default_factory=dict)
    offers: dict[bytes, ItemState] = msgspec.field(default_factory=dict)
    commitments: dict[bytes, CommitmentState] = msgspec.field(default_factory=dict)
    hidden: dict[bytes, HiddenNeed] = msgspec.field(default_factory=dict)
    notes: dict[bytes, list[NoteState]] = msgspec.field(default_factory=dict)  # need -> notes
    ignored: int = 0  # events that do not count (wrong author, incompatible, nothing left)


def _item(e: EventView, kind: str) -> ItemState:
    return ItemState(e.id, kind, e.author, e.clock, e.time, e.body)


def _sealed_need(state: AidState, e: EventView) -> None:
    body = e.body
    outer: ak.SealedNeed = body.outer if isinstance(body, OpenedNeed) else body
    need = body.need if isinstance(body, OpenedNeed) else None
    recipients = outer.sealed.recipients
    if outer.audience == "council" or e.author not in recipients:
        state.ignored += 1
    elif need is None:
        state.hidden[e.id] = HiddenNeed(
            e.id, e.author, e.clock, e.time, outer.audience, recipients, outer.expires
        )
    elif need.visibility != outer.audience or need.expires != outer.expires:
        state.ignored += 1  # the sealed need must say what its envelope says
    else:
        item = ItemState(e.id, "need", e.author, e.clock, e.time, need)
        item.audience, item.recipients = outer.audience, recipients
        state.needs[e.id] = item


def _note(state: AidState, e: EventView) -> None:
    body = e.body
    outer: ak.Note = body.outer if isinstance(body, OpenedNote) else body
    text = body.text if isinstance(body, OpenedNote) else None
    if outer.need not in state.needs and outer.need not in state.hidden:
        state.ignored += 1
        return
    note = NoteState(e.id, outer.need, e.author, e.time, outer.sealed.recipients, text)
    state.notes.setdefault(outer.need, []).append(note)


class _Aid(msgspec.Struct, frozen=True):
    category: Category
    details: Details


def _fits(need: ItemState, offer: ItemState) -> bool:
    n, o = need.body, offer.body
    if not (well_formed(n) and well_formed(o)) or n.category != o.category:
        return False
    return compatible(
        _Aid(Category(n.category), details_of(n)), _Aid(Category(o.category), details_of(o))
    )


def order(e: EventView) -> tuple[int, int, bytes]:
    """The total order of aid events: (clock, claimed time, id)."""
    return (e.clock, e.time, e.id)


def _before_cancel(item: ItemState, e: EventView) -> bool:
    return item.cancel_order is None or order(e) < item.cancel_order


def _same(a: bytes) -> bytes:
    return a


def reduce_aid(
    events: Iterable[EventView], now: int, owner: Callable[[bytes], bytes] = _same
) -> AidState:
    """The whole aid state of a council from its valid aid.* events (any order).
    `owner` maps a key to its member's current key (a place recovered under a new key,
    docs/protocol.md §9.1), so a member still withdraws and sends what they wrote
    before."""
    unique = sorted({e.id: e for e in events}.values(), key=order)
    state = AidState(reduce_areas(unique))
    for e in unique:
        if e.kind == "aid.need":
            if e.body.visibility == "council":
                state.needs[e.id] = _item(e, "need")
            else:  # a restricted need is never written in the clear
                state.ignored += 1
        elif e.kind == "aid.need_sealed":
            _sealed_need(state, e)
        elif e.kind == "aid.offer":
            state.offers[e.id] = _item(e, "offer")
    for e in unique:  # cancellations: by the author, the first one counts
        if e.kind != "aid.cancel":
            continue
        hidden = state.hidden.get(e.body.target)
        if (
            hidden is not None
            and owner(hidden.author) == owner(e.author)
            and hidden.closed_at is None
        ):
            hidden.closed_at = e.time
            continue
        target = state.needs.get(e.body.target) or state.offers.get(e.body.target)
        mine = target is not None and owner(target.author) == owner(e.author)
        if target is None or not mine or target.cancel_order is not None:
            state.ignored += 1
            continue
        target.cancelled = e.body.reason
        target.duplicate_of = e.body.duplicate_of
        target.cancel_order = order(e)
        target.close(e)
    for e in unique:  # commitments, and deliveries straight against a need
        if e.kind == "aid.commit":
            _commit(state, e)
        elif e.kind == "aid.fulfil" and e.body.commitment is None:
            _fulfil(state, e)
        elif e.kind == "aid.note":
            _note(state, e)
    for e in unique:  # then dispatches and deliveries against commitments
        if e.kind == "aid.dispatch":
            _dispatch(state, e, owner)
        elif e.kind == "aid.fulfil" and e.body.commitment is not None:
            _fulfil(state, e)
    for c in state.commitments.values():  # what left and has not arrived yet
        if c.need in state.needs:
            state.needs[c.need].in_transit += max(0, c.dispatched - c.fulfilled)
    for item in (*state.needs.values(), *state.offers.values()):
        expires = item.body.expires
        item.expired = expires is not None and expires <= now
        if isinstance(item.body, ak.Offer) and item.body.available_from is not None:
            item.not_yet = now < item.body.available_from
    return state


def _commit(state: AidState, e: EventView) -> None:
    body: ak.Commit = e.body
    need, offer = state.needs.get(body.need), state.offers.get(body.offer)
    hidden = state.hidden.get(body.need)
    if hidden is not None:
        _commit_hidden(state, e, hidden, offer)
        return
    if need is not None and need.audience != "council" and e.author not in need.recipients:
        state.ignored += 1
        return
    if (
        need is None
        or offer is None
        or not _before_cancel(need, e)
        or not _before_cancel(offer, e)
        or not _fits(need, offer)
    ):
        state.ignored += 1
        return
    quantity = min(body.quantity, need.remaining, offer.remaining)
    if quantity > 0:
        need.committed += quantity
    _record_commitment(state, e, need.id, offer, quantity)


def _commit_hidden(
    state: AidState, e: EventView, hidden: HiddenNeed, offer: ItemState | None
) -> None:
    """A commitment to a need we cannot read: counted against the offer alone."""
    body: ak.Commit = e.body
    if offer is None or not _before_cancel(offer, e) or e.author not in hidden.recipients:
        state.ignored += 1
        return
    quantity = min(body.quantity, offer.remaining)
    if quantity > 0:
        hidden.committed += quantity
    _record_commitment(state, e, hidden.id, offer, quantity)


def _record_commitment(
    state: AidState, e: EventView, need: bytes, offer: ItemState, quantity: int
) -> None:
    """What every commitment does to its offer and the state (nothing if it is empty)."""
    if quantity <= 0:
        state.ignored += 1
        return
    if not offer.endless:
        offer.committed += quantity
        offer.close(e)
    state.commitments[e.id] = CommitmentState(e.id, e.author, need, offer.id, quantity, 0)


def _dispatch(state: AidState, e: EventView, owner: Callable[[bytes], bytes]) -> None:
    """Part of a commitment is on its way: by the giver (the offer's author) or the
    person who made the commitment; never more than was committed."""
    body: ak.Dispatch = e.body
    c = state.commitments.get(body.commitment)
    offer = state.offers.get(c.offer) if c is not None else None
    if c is None or owner(e.author) not in {owner(c.author), owner((offer or c).author)}:
        state.ignored += 1
        return
    dispatched = min(c.quantity, c.dispatched + body.quantity)
    if dispatched == c.dispatched:
        state.ignored += 1
        return
    state.commitments[c.id] = replace(c, dispatched=dispatched)


def _fulfil(state: AidState, e: EventView) -> None:
    body: ak.Fulfil = e.body
    if body.commitment is not None:
        c = state.commitments.get(body.commitment)
        if c is None:
            state.ignored += 1
            return
        quantity = min(body.quantity, c.quantity - c.fulfilled)
        if quantity <= 0:
            state.ignored += 1
            return
        delivered = c.fulfilled + quantity
        state.commitments[c.id] = replace(
            c, fulfilled=delivered, dispatched=max(c.dispatched, delivered)
        )
        if c.need in state.needs:
            state.needs[c.need].fulfilled += quantity
            state.needs[c.need].close(e)
    elif body.need is not None and body.need in state.needs:
        need = state.needs[body.need]
        quantity = min(body.quantity, need.remaining)
        if quantity <= 0:
            state.ignored += 1
            return
        need.direct += quantity
        need.fulfilled += quantity
        need.close(e)
    else:
        state.ignored += 1


def engine_need(item: ItemState) -> matching.Need:
    body = item.body
    assert isinstance(body, ak.Need)
    return matching.Need(
        id=item.id,
        category=Category(body.category),
        quantity=item.remaining,
        urgency=URGENCY[body.urgency],
        area=body.area,
        created_at=item.time // MS,
        details=details_of(body),
        needed_by=body.needed_by,
        expires=body.expires,
    )


def engine_offer(item: ItemState) -> matching.Offer:
    body = item.body
    assert isinstance(body, ak.Offer)
    return matching.Offer(
        id=item.id,
        category=Category(body.category),
        quantity=item.remaining,
        area=body.area,
        created_at=item.time // MS,
        details=details_of(body),
        available_from=body.available_from,
        expires=body.expires,
        recurring=body.recurring,
        inexhaustible=body.inexhaustible,
    )


def propose(state: AidState, now: int) -> matching.Proposal:
    """The engine's proposal over the open needs and offers on the council's map."""
    needs = [engine_need(n) for n in state.needs.values() if n.open and well_formed(n.body)]
    offers = [engine_offer(o) for o in state.offers.values() if o.open and well_formed(o.body)]
    distance: matching.Distance = (
        state.areas.map() if state.areas is not None else (lambda a, b: 0 if a == b else None)
    )
    return matching.propose(needs, offers, distance, now)
