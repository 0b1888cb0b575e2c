"""The event kinds of shared stocks, the skills register, dead-man timers and missing
people. See docs/aid.md ("Shared stocks", "Skills", "Dead-man timers", "Missing people").

Every body is a bounded msgspec Struct registered with the kernel. A place is only ever
an area id the council defined (``aid.areas``), never an address or coordinates. Kinds
that concern one stock item, member or missing person are indexed by it (``ref``).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec

from shora.domain.aid.kinds import AreaId, CategoryName, Quantity, Short, UnixTime
from shora.domain.aid.restricted import Sealed
from shora.kernel.events import Bytes32, register_kind

# Below the week after which check-ins are forgotten (shora.services.forgetting), so a
# running timer never loses the check-in that started it.
MAX_DEADMAN_HOURS = 24 * 6
MAX_CONTACTS = 20
MAX_ALTERNATE_NAMES = 10
MAX_AGE = 150

Note = Annotated[str, msgspec.Meta(max_length=500)]
Text = Annotated[str, msgspec.Meta(max_length=2000)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Age = Annotated[int, msgspec.Meta(ge=0, le=MAX_AGE)]

SkillName = Literal[
    "doctor",
    "nurse",
    "driver",
    "electrician",
    "translator",
    "first_aid",
    "mechanic",
    "builder",
    "teacher",
    "lawyer",
    "psychologist",
    "cook",
    "other",
]
SKILLS: tuple[str, ...] = get_args(SkillName)
SkillVisibility = Literal["council", "coordinators"]
Sex = Literal["female", "male", "other"]
SEXES: tuple[str, ...] = get_args(Sex)
# PFIF 1.4 note status values (the empty "unspecified" is None here).
NoteStatus = Literal[
    "information_sought", "is_note_author", "believed_alive", "believed_missing", "believed_dead"
]
NOTE_STATUSES: tuple[str, ...] = get_args(NoteStatus)


# --- shared stocks ----------------------------------------------------------------------


class StockAdd(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A lot added to the council's stock. With `stock` None it starts a new stock item
    (item, category, unit, area), whose id is this event's; otherwise it adds a lot to
    that item and names nothing else. Each addition is a lot with its own expiry."""

    stock: Bytes32 | None = None
    item: Short = ""
    category: CategoryName | None = None
    unit: Short = ""
    area: AreaId | None = None
    quantity: Quantity
    expires: UnixTime | None = None  # medicine and food: the date on the pack
    note: Short = ""


class StockDraw(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Taken from a stock item: from its lots soonest expiry first, or from one `lot`."""

    stock: Bytes32
    quantity: Quantity
    need: Bytes32 | None = None  # the need it served
    lot: Bytes32 | None = None
    note: Short = ""


# --- skills -----------------------------------------------------------------------------


class SkillSet(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A member's whole entry in the skills register; their latest one wins."""

    skills: Annotated[list[SkillName], msgspec.Meta(min_length=1, max_length=len(SKILLS))]
    note: Note = ""
    visibility: SkillVisibility = "council"


class SkillSealed(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An entry for coordinators only: the msgpack of a `SkillSet` (visibility
    "coordinators") sealed to the coordinators and the author (shora.services.restricted).
    Other members see that the author has such an entry, and nothing of it."""

    sealed: Sealed


class SkillWithdraw(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The member leaves the skills register."""


# --- dead-man timers --------------------------------------------------------------------


class DeadmanSet(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """If I have not checked in within `hours`, alert these members."""

    hours: Annotated[int, msgspec.Meta(ge=1, le=MAX_DEADMAN_HOURS)]
    contacts: Annotated[list[Bytes32], msgspec.Meta(min_length=1, max_length=MAX_CONTACTS)]


class DeadmanClear(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The member stops their timer."""


class DeadmanAlert(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`member`'s timer ran out: `timer` is their deadman_set, `since_time` their last
    sign of life the writer knew of (unix seconds). It names no check-in: check-ins are
    forgotten after a week, alerts must keep their meaning."""

    member: Bytes32
    timer: Bytes32
    since_time: UnixTime


# --- missing people (PFIF) --------------------------------------------------------------


class MissingPerson(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A person record, after PFIF 1.4's <person> (no photo, no home address)."""

    full_name: Name
    alternate_names: Annotated[list[Name], msgspec.Meta(max_length=MAX_ALTERNATE_NAMES)] = (
        msgspec.field(default_factory=list)
    )
    age_min: Age | None = None  # "30" is 30-30, "30-40" is 30-40
    age_max: Age | None = None
    sex: Sex | None = None
    description: Text = ""
    last_seen_area: AreaId | None = None
    last_seen: UnixTime | None = None


class MissingNote(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A note on a person record, after PFIF 1.4's <note>. `found` is PFIF's
    author_made_contact; `linked_person` marks the two records as the same person."""

    person: Bytes32
    status: NoteStatus | None = None
    text: Text = ""
    last_known_area: AreaId | None = None
    found: bool = False
    linked_person: Bytes32 | None = None


STOCK_KINDS: dict[str, type[msgspec.Struct]] = {"stock.add": StockAdd, "stock.draw": StockDraw}
SKILL_KINDS: dict[str, type[msgspec.Struct]] = {
    "skill.set": SkillSet,
    "skill.sealed": SkillSealed,
    "skill.withdraw": SkillWithdraw,
}
DEADMAN_KINDS: dict[str, type[msgspec.Struct]] = {
    "safety.deadman_set": DeadmanSet,
    "safety.deadman_clear": DeadmanClear,
    "safety.deadman_alert": DeadmanAlert,
}
MISSING_KINDS: dict[str, type[msgspec.Struct]] = {
    "missing.person": MissingPerson,
    "missing.note": MissingNote,
}


def register() -> None:
    """Register these kinds with the kernel: shora.node calls it once, from its
    KIND_MODULES; importing this module registers nothing."""
    register_kind("stock.add", StockAdd, ref=lambda body: body.stock)
    register_kind("stock.draw", StockDraw, ref=lambda body: body.stock)
    register_kind("skill.set", SkillSet)
    register_kind("skill.sealed", SkillSealed)
    register_kind("skill.withdraw", SkillWithdraw)
    register_kind("safety.deadman_set", DeadmanSet)
    register_kind("safety.deadman_clear", DeadmanClear)
    register_kind("safety.deadman_alert", DeadmanAlert, ref=lambda body: body.member)
    register_kind("missing.person", MissingPerson)
    register_kind("missing.note", MissingNote, ref=lambda body: body.person)
