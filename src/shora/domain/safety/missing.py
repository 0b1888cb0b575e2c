"""Missing people, after the Person Finder Interchange Format (PFIF 1.4): a pure
function of the valid ``missing.*`` events. See docs/aid.md ("Missing people").

* A person record is a ``missing.person`` event; what is learnt later comes as
  ``missing.note`` events on it, never as edits.
* The person's status is that of their latest note carrying a status, by (clock, id);
  ``found`` is whether any note says its author has been in contact with the person
  (PFIF's author_made_contact); the last known area is that of the latest note naming
  one, else the record's last-seen area.
* A note with ``linked_person`` marks the two records as the same person: the link is
  shown on both. A note on an unknown record, or linking a record to itself or to an
  unknown one, is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from shora.domain.care import kinds as ck
from shora.domain.decisions.state import EventView


class NoteState(msgspec.Struct, frozen=True):
    id: bytes
    author: bytes
    time: int  # ms, claimed
    order: tuple[int, bytes]
    body: ck.MissingNote


class PersonState(msgspec.Struct):
    id: bytes
    author: bytes
    time: int  # ms, claimed
    body: ck.MissingPerson
    notes: list[NoteState] = msgspec.field(default_factory=list)  # in (clock, id) order
    links: set[bytes] = msgspec.field(default_factory=set)

    @property
    def status(self) -> str | None:
        return next((n.body.status for n in reversed(self.notes) if n.body.status), None)

    @property
    def found(self) -> bool:
        return any(n.body.found for n in self.notes)

    @property
    def last_known_area(self) -> str | None:
        for n in reversed(self.notes):
            if n.body.last_known_area is not None:
                return n.body.last_known_area
        return self.body.last_seen_area

    @property
    def age(self) -> str | None:
        low, high = self.body.age_min, self.body.age_max
        if low is None and high is None:
            return None
        if low is None or high is None or low == high:
            return str(low if low is not None else high)
        return f"{low}-{high}"


class MissingState(msgspec.Struct):
    persons: dict[bytes, PersonState] = msgspec.field(default_factory=dict)
    ignored: int = 0


def reduce_missing(events: Iterable[EventView]) -> MissingState:
    """Person records with their notes and links (any order, duplicates too)."""
    unique = sorted({e.id: e for e in events}.values(), key=lambda e: e.order)
    state = MissingState()
    for e in unique:
        if e.kind == "missing.person":
            state.persons[e.id] = PersonState(e.id, e.author, e.time, e.body)
    for e in unique:
        if e.kind != "missing.note":
            continue
        body: ck.MissingNote = e.body
        person = state.persons.get(body.person)
        linked = body.linked_person
        if person is None or (
            linked is not None and (linked == body.person or linked not in state.persons)
        ):
            state.ignored += 1
            continue
        person.notes.append(NoteState(e.id, e.author, e.time, e.order, body))
        if linked is not None:
            person.links.add(linked)
            state.persons[linked].links.add(person.id)
    return state
