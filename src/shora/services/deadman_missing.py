"""Dead-man timers and missing people on a node: writers that check their input in the
person's language, readers over the valid events through the pure reducers of
`shora.domain.safety.deadman` and `shora.domain.safety.missing`. See docs/aid.md.
"""

from __future__ import annotations

import msgspec

from shora.domain.care import kinds as ck
from shora.domain.decisions.state import MS as MS  # re-exported, with the types below
from shora.domain.safety.deadman import DeadmanState, reduce_deadman
from shora.domain.safety.deadman import Timer as Timer
from shora.domain.safety.missing import MissingState, reduce_missing
from shora.domain.safety.missing import PersonState as PersonState
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _, normalize_persian, number
from shora.kernel.core import NodeCore
from shora.services.aid import MIN_ID_PREFIX, Aid, views
from shora.services.restricted import Restricted

_DEADMAN = ("safety.deadman_set", "safety.deadman_clear", "safety.deadman_alert", "safety.checkin")


class DeadmanMissing:
    """Dead-man timers and missing people."""

    def __init__(self, core: NodeCore, restricted: Restricted, aid: Aid) -> None:
        self.core = core
        self.restricted = restricted
        self.aid = aid

    def _active(self, council: bytes) -> frozenset[bytes]:
        return frozenset(self.core.state(council).active_members())

    def find_active_member(self, council: bytes, ref: str) -> bytes:
        """An active member by name, or by a prefix of their key (at least 6 hex digits)."""
        active = self._active(council)
        wanted = normalize_persian(ref).casefold()
        rows = [(k, n) for k, n in self.core.store.members.names(council).items() if k in active]
        by_name = [k for k, n in rows if normalize_persian(n).casefold() == wanted]
        by_key = [
            k for k, _n in rows if len(wanted) >= MIN_ID_PREFIX and k.hex().startswith(wanted)
        ]
        found = by_name or by_key
        if len(found) != 1:
            raise NotFound(
                _("no single active member here is named or numbered {ref}").format(ref=ref)
            )
        return found[0]

    # --- dead-man timers ----------------------------------------------------------------

    def deadman_state(self, council: bytes) -> DeadmanState:
        events = views(self.core, council, _DEADMAN)
        return reduce_deadman(events, self._active(council))

    def set_deadman(self, council: bytes, hours: int, contacts: list[bytes]) -> bytes:
        """If I have not checked in within `hours`, alert `contacts` (active members)."""
        me = self.restricted.require_member(council)
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
        active = self._active(council)
        for contact in named:
            if contact == me:
                raise InvalidInput(_("name someone other than yourself to alert"))
            if contact not in active:
                raise NotFound(
                    _("not an active member of this council: {key}").format(key=contact.hex()[:12])
                )
        return self.core.append(council, "safety.deadman_set", ck.DeadmanSet(hours, named))

    def clear_deadman(self, council: bytes) -> bytes:
        me = self.restricted.require_member(council)
        if me not in self.deadman_state(council).timers:
            raise NotFound(_("you have no dead-man timer running"))
        return self.core.append(council, "safety.deadman_clear", ck.DeadmanClear())

    def overdue(self, council: bytes, now: int) -> list[Timer]:
        """The timers that have run out at `now` (unix seconds), with the people named."""
        return sorted(
            self.deadman_state(council).overdue(now), key=lambda t: (t.deadline, t.member)
        )

    def raise_alerts(self, council: bytes) -> list[bytes]:
        """Write one ``safety.deadman_alert`` for each other member's timer that has run out
        and has no alert yet; return the new alerts' ids. Calling it again writes nothing."""
        me = self.restricted.require_member(council)
        written = []
        for timer in self.overdue(council, int(self.core.now())):
            if timer.alert is None and timer.member != me:  # my own node: I am here to check in
                body = ck.DeadmanAlert(timer.member, timer.timer, timer.since_time // MS)
                written.append(self.core.append(council, "safety.deadman_alert", body))
        return written

    def raise_all_alerts(self) -> list[bytes]:
        """`raise_alerts` in every council where this profile is an active member (for a
        node that keeps running, such as ``shora serve``)."""
        written = []
        for council in self.core.store.councils.ids("member"):
            if self.core.me(council) is not None:
                try:
                    written += self.raise_alerts(council)
                except NotAllowed:  # no key of the council yet, or just removed: next round
                    continue
        return written

    def naming_me(self, council: bytes) -> list[Timer]:
        """The timers that name this profile's member as someone to alert."""
        me = self.restricted.my_key(council)
        return [t for t in self.deadman_state(council).timers.values() if me in t.contacts]

    # --- missing people -----------------------------------------------------------------

    def missing_state(self, council: bytes) -> MissingState:
        return reduce_missing(views(self.core, council, ("missing.person", "missing.note")))

    def persons(self, council: bytes) -> list[PersonState]:
        """The council's person records, newest first."""
        return sorted(self.missing_state(council).persons.values(), key=lambda p: (-p.time, p.id))

    def find_person(self, council: bytes, ref: str) -> bytes:
        """A person record by a prefix of its id, or by a name if only one record has it."""
        wanted = normalize_persian(ref).casefold()
        records = self.missing_state(council).persons.values()
        by_name = [
            p.id
            for p in records
            if wanted
            in {
                normalize_persian(n).casefold() for n in [p.body.full_name, *p.body.alternate_names]
            }
        ]
        by_id = [
            p.id for p in records if len(wanted) >= MIN_ID_PREFIX and p.id.hex().startswith(wanted)
        ]
        found = by_name if len(by_name) == 1 else by_id
        if len(found) != 1:
            raise NotFound(
                _("no single person record here is named or numbered {ref}").format(ref=ref)
            )
        return found[0]

    def add_person(self, council: bytes, body: ck.MissingPerson) -> bytes:
        """Open a person record (private to the council, like everything it holds)."""
        self.restricted.require_member(council)
        if body.age_min is not None and body.age_max is not None and body.age_min > body.age_max:
            raise InvalidInput(_("an age range goes from the lower age to the higher"))
        if body.last_seen_area is not None:
            self.aid.check_area(council, body.last_seen_area)
        if body.last_seen is not None and body.last_seen > int(self.core.now()):
            raise InvalidInput(_("the time last seen cannot be in the future"))
        return self.core.append(council, "missing.person", body)

    def add_note(self, council: bytes, body: ck.MissingNote) -> bytes:
        """A note on a person record: a status, what is known, a link to a duplicate."""
        self.restricted.require_member(council)
        records = self.missing_state(council).persons
        if body.person not in records:
            raise NotFound(_("no such person record in this council"))
        if body.linked_person is not None:
            if body.linked_person == body.person:
                raise InvalidInput(_("a record cannot be linked to itself"))
            if body.linked_person not in records:
                raise NotFound(_("no such person record in this council"))
        if body.last_known_area is not None:
            self.aid.check_area(council, body.last_known_area)
        if body.status is None and not body.text and body.linked_person is None and not body.found:
            raise InvalidInput(
                _("a note says something: a status, a text, a link, or that the person was found")
            )
        if body.status == "is_note_author":  # the person wrote it: in contact with themselves
            body = msgspec.structs.replace(body, found=True)
        return self.core.append(council, "missing.note", body)
