"""Dead-man timers and missing people on a node: writers that check their input in the
person's language, readers over the valid events through the pure reducers of
`shora.domain.safety.deadman` and `shora.domain.safety.missing`. See docs/aid.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from shora.domain.care import kinds as ck
from shora.domain.decisions.state import MS
from shora.domain.safety.deadman import DeadmanState, Timer, reduce_deadman
from shora.domain.safety.missing import MissingState, PersonState, reduce_missing
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _, normalize_persian, number
from shora.kernel.core import NodeCore
from shora.services.care import check_area
from shora.services.decisions import MIN_ID_PREFIX, _me, _require_member, _views

if TYPE_CHECKING:
    from shora.node import Node

_DEADMAN = ("safety.deadman_set", "safety.deadman_clear", "safety.deadman_alert", "safety.checkin")


def _active(node: Node, council: bytes) -> frozenset[bytes]:
    return frozenset(node.ingestor.projection.final_state(council).active_members())


def find_active_member(node: Node, council: bytes, ref: str) -> bytes:
    """An active member by name, or by a prefix of their key (at least 6 hex digits)."""
    active = _active(node, council)
    wanted = normalize_persian(ref).casefold()
    rows = [
        (bytes(k), n)
        for k, n in node.store.rows("SELECT key, name FROM members WHERE council=?", (council,))
        if bytes(k) in active
    ]
    by_name = [k for k, n in rows if normalize_persian(n).casefold() == wanted]
    by_key = [k for k, _n in rows if len(wanted) >= MIN_ID_PREFIX and k.hex().startswith(wanted)]
    found = by_name or by_key
    if len(found) != 1:
        raise NotFound(_("no single active member here is named or numbered {ref}").format(ref=ref))
    return found[0]


# --- dead-man timers --------------------------------------------------------------------


def deadman_state(node: Node, council: bytes) -> DeadmanState:
    marks = ",".join("?" * len(_DEADMAN))
    events = _views(node, f"council=? AND kind IN ({marks})", (council, *_DEADMAN))
    return reduce_deadman(events, _active(node, council))


def set_deadman(node: Node, council: bytes, hours: int, contacts: list[bytes]) -> bytes:
    """If I have not checked in within `hours`, alert `contacts` (active members)."""
    me = _require_member(node, council)
    if not 1 <= hours <= ck.MAX_DEADMAN_HOURS:
        raise InvalidInput(
            _("the timer runs from 1 to {high} hours, not {value}").format(
                high=number(ck.MAX_DEADMAN_HOURS), value=number(hours)
            )
        )
    named = sorted(set(contacts))
    if not 1 <= len(named) <= ck.MAX_CONTACTS:
        raise InvalidInput(
            _("name from 1 to {high} members to alert").format(high=number(ck.MAX_CONTACTS))
        )
    active = _active(node, council)
    for contact in named:
        if contact == me:
            raise InvalidInput(_("name someone other than yourself to alert"))
        if contact not in active:
            raise NotFound(
                _("not an active member of this council: {key}").format(key=contact.hex()[:12])
            )
    return node.append(council, "safety.deadman_set", ck.DeadmanSet(hours, named))


def clear_deadman(node: Node, council: bytes) -> bytes:
    me = _require_member(node, council)
    if me not in deadman_state(node, council).timers:
        raise NotFound(_("you have no dead-man timer running"))
    return node.append(council, "safety.deadman_clear", ck.DeadmanClear())


def overdue(node: Node, council: bytes, now: int) -> list[Timer]:
    """The timers that have run out at `now` (unix seconds), with the people named."""
    return sorted(deadman_state(node, council).overdue(now), key=lambda t: (t.deadline, t.member))


def raise_alerts(node: Node, council: bytes) -> list[bytes]:
    """Write one ``safety.deadman_alert`` for each other member's timer that has run out
    and has no alert yet; return the new alerts' ids. Calling it again writes nothing."""
    me = _require_member(node, council)
    written = []
    for timer in overdue(node, council, int(node.now())):
        if timer.alert is None and timer.member != me:  # my own node: I am here to check in
            body = ck.DeadmanAlert(timer.member, timer.timer, timer.since_time // MS)
            written.append(node.append(council, "safety.deadman_alert", body))
    return written


def raise_all_alerts(node: Node) -> list[bytes]:
    """`raise_alerts` in every council where this profile is an active member (for a
    node that keeps running, such as ``shora serve``)."""
    written = []
    for info in node.councils.all():
        if info.status == "member" and info.my_key is not None:
            try:
                written += raise_alerts(node, info.id)
            except NotAllowed:  # no key of the council yet, or just removed: next round
                continue
    return written


def naming_me(node: Node, council: bytes) -> list[Timer]:
    """The timers that name this profile's member as someone to alert."""
    me = _me(node, council)
    return [t for t in deadman_state(node, council).timers.values() if me in t.contacts]


# --- missing people ---------------------------------------------------------------------


def missing_state(node: Node, council: bytes) -> MissingState:
    return reduce_missing(
        _views(node, "council=? AND kind IN ('missing.person', 'missing.note')", (council,))
    )


def persons(node: Node, council: bytes) -> list[PersonState]:
    """The council's person records, newest first."""
    return sorted(missing_state(node, council).persons.values(), key=lambda p: (-p.time, p.id))


def find_person(node: Node, council: bytes, ref: str) -> bytes:
    """A person record by a prefix of its id, or by a name if only one record has it."""
    wanted = normalize_persian(ref).casefold()
    records = missing_state(node, council).persons.values()
    by_name = [
        p.id
        for p in records
        if wanted
        in {normalize_persian(n).casefold() for n in [p.body.full_name, *p.body.alternate_names]}
    ]
    by_id = [
        p.id for p in records if len(wanted) >= MIN_ID_PREFIX and p.id.hex().startswith(wanted)
    ]
    found = by_name if len(by_name) == 1 else by_id
    if len(found) != 1:
        raise NotFound(_("no single person record here is named or numbered {ref}").format(ref=ref))
    return found[0]


def add_person(node: Node, council: bytes, body: ck.MissingPerson) -> bytes:
    """Open a person record (private to the council, like everything it holds)."""
    _require_member(node, council)
    if body.age_min is not None and body.age_max is not None and body.age_min > body.age_max:
        raise InvalidInput(_("an age range goes from the lower age to the higher"))
    if body.last_seen_area is not None:
        check_area(node, council, body.last_seen_area)
    if body.last_seen is not None and body.last_seen > int(node.now()):
        raise InvalidInput(_("the time last seen cannot be in the future"))
    return node.append(council, "missing.person", body)


def add_note(node: Node, council: bytes, body: ck.MissingNote) -> bytes:
    """A note on a person record: a status, what is known, a link to a duplicate."""
    _require_member(node, council)
    records = missing_state(node, council).persons
    if body.person not in records:
        raise NotFound(_("no such person record in this council"))
    if body.linked_person is not None:
        if body.linked_person == body.person:
            raise InvalidInput(_("a record cannot be linked to itself"))
        if body.linked_person not in records:
            raise NotFound(_("no such person record in this council"))
    if body.last_known_area is not None:
        check_area(node, council, body.last_known_area)
    if body.status is None and not body.text and body.linked_person is None and not body.found:
        raise InvalidInput(
            _("a note says something: a status, a text, a link, or that the person was found")
        )
    if body.status == "is_note_author":  # the person wrote it: in contact with themselves
        body = msgspec.structs.replace(body, found=True)
    return node.append(council, "missing.note", body)


class DeadmanMissing:
    """Dead-man timers and missing people."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core
