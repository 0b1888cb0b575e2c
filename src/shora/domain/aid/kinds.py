"""The event kinds of mutual aid and safety: areas, needs, offers, commitments,
fulfilments, cancellations; check-ins, roll calls and alerts. See docs/aid.md.

Every body is a bounded msgspec Struct registered with the kernel. A place is only ever
an area id the council defined (``aid.areas``), never an address or coordinates. Kinds
that concern one need, offer, roll call or alert are indexed by it (``ref``).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec

from shora.domain.aid.restricted import Audience, Sealed
from shora.domain.aid.taxonomy import Category
from shora.kernel.events import Bytes32, register_kind
from shora.kernel.names import MAX_NAME, NAME_PATTERN

MAX_AREAS = 500
MAX_EDGES = 5000
MAX_QUANTITY = 1_000_000
ALERT_DEFAULT_SECONDS = 6 * 3600

AreaId = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
# A name in any script; no control characters or bidirectional overrides (shora.kernel.names).
AreaName = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME, pattern=NAME_PATTERN)]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=MAX_QUANTITY)]
UnixTime = Annotated[int, msgspec.Meta(ge=0, lt=2**40)]
Short = Annotated[str, msgspec.Meta(max_length=200)]
Reason = Annotated[str, msgspec.Meta(max_length=1000)]

CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)
CategoryName = Literal[
    "water",
    "food",
    "baby_food",
    "medicine",
    "blood",
    "shelter",
    "transport",
    "power_fuel",
    "communications",
    "medical_care",
    "childcare",
    "legal",
    "psychological",
    "other",
]
UrgencyName = Literal["immediate", "urgent", "soon", "routine"]
URGENCIES: tuple[str, ...] = get_args(UrgencyName)
BloodGroupName = Literal["O-", "O+", "A-", "A+", "B-", "B+", "AB-", "AB+"]
BLOOD_GROUPS: tuple[str, ...] = get_args(BloodGroupName)
MAX_NOTE = 2000
Visibility = Audience  # the older name, kept for the modules that import it

CheckinStatus = Literal["safe", "need_help", "injured"]
CHECKIN_STATUSES: tuple[str, ...] = get_args(CheckinStatus)
HELP_STATUSES = ("need_help", "injured")  # a check-in that calls for help
AlertKind = Literal[
    "air_raid",
    "strike_site",
    "collapsed_building",
    "fire",
    "gas_leak",
    "checkpoint",
    "unexploded_ordnance",
    "blocked_road",
    "contaminated_water",
    "other",
]
ALERT_KINDS: tuple[str, ...] = get_args(AlertKind)


class Area(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: AreaId
    name: AreaName


class Edge(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Two neighbouring areas and the length between them (1 for hops, or minutes)."""

    a: AreaId
    b: AreaId
    length: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1


class Areas(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The council's whole map of areas; the latest valid one (by clock, id) wins."""

    areas: Annotated[list[Area], msgspec.Meta(min_length=1, max_length=MAX_AREAS)]
    edges: Annotated[list[Edge], msgspec.Meta(max_length=MAX_EDGES)] = msgspec.field(
        default_factory=list
    )


class MedicineDetails(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    dose: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    cold_storage: bool = False
    kept_cold: bool = False  # offers only


class Need(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A need. Its id is the inner id of this event. Where: an area id, never an address."""

    category: CategoryName
    medicine: MedicineDetails | None = None  # category medicine only
    blood: BloodGroupName | None = None  # category blood only: the recipient's group
    what: Short = ""  # a few words, for people (not matched on)
    quantity: Quantity
    unit: Short = ""  # "" = the category's unit
    urgency: UrgencyName
    area: AreaId
    needed_by: UnixTime | None = None
    expires: UnixTime | None = None
    visibility: Audience = "council"  # or "coordinators", "role:NAME": see SealedNeed


class Offer(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An offer of help. Its id is the inner id of this event."""

    category: CategoryName
    medicine: MedicineDetails | None = None
    blood: BloodGroupName | None = None  # the donor's group
    what: Short = ""
    quantity: Quantity
    unit: Short = ""
    area: AreaId
    available_from: UnixTime | None = None
    expires: UnixTime | None = None
    recurring: bool = False
    inexhaustible: bool = False


class Commit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A person confirms (part of) a proposed match: this offer serves this need."""

    need: Bytes32
    offer: Bytes32
    quantity: Quantity


class Fulfil(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Delivered: against a commitment, or straight against a need (help from outside)."""

    commitment: Bytes32 | None = None
    need: Bytes32 | None = None
    quantity: Quantity = 1


class Dispatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """On its way: part (or all) of a commitment has left the giver (in transit)."""

    commitment: Bytes32
    quantity: Quantity = 1


class Cancel(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Withdraw a need or an offer (by its author), or mark it a duplicate of another."""

    target: Bytes32
    reason: Reason = ""
    duplicate_of: Bytes32 | None = None


class SealedNeed(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A need only some members can read (kind ``aid.need_sealed``): `sealed` holds the
    msgpack of a `Need` whose visibility is `audience` and whose expiry is `expires`.
    Everyone sees the audience, the expiry (so every device forgets it on time) and who
    the recipients are; nothing else."""

    audience: Audience
    sealed: Sealed
    expires: UnixTime | None = None


class NoteText(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a private note says (sealed): the only place a street address may appear."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NOTE)]


class Note(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A private note on a need (kind ``aid.note``), sealed to the people handling it."""

    need: Bytes32
    sealed: Sealed


class Checkin(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    status: CheckinStatus
    area: AreaId | None = None


class Respond(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """ "On my way": a member answers a call for help (a ``need_help`` or ``injured``
    check-in by someone else)."""

    checkin: Bytes32


class Rollcall(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A roll call: everyone (area None) or the members last seen in one area."""

    area: AreaId | None = None


class Alert(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kind: AlertKind
    area: AreaId
    expires: UnixTime | None = None  # None = six hours after it was written
    note: Short = ""


class AlertConfirm(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    alert: Bytes32


class AlertRetract(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    alert: Bytes32


AID_KINDS: dict[str, type[msgspec.Struct]] = {
    "aid.areas": Areas,
    "aid.need": Need,
    "aid.offer": Offer,
    "aid.commit": Commit,
    "aid.dispatch": Dispatch,
    "aid.fulfil": Fulfil,
    "aid.cancel": Cancel,
    "aid.need_sealed": SealedNeed,
    "aid.note": Note,
}
SAFETY_KINDS: dict[str, type[msgspec.Struct]] = {
    "safety.checkin": Checkin,
    "safety.rollcall": Rollcall,
    "safety.respond": Respond,
    "safety.alert": Alert,
    "safety.alert_confirm": AlertConfirm,
    "safety.alert_retract": AlertRetract,
}


LEAVES = frozenset(k for k in (*AID_KINDS, *SAFETY_KINDS) if k != "aid.areas")
"""Everything but the map is a leaf: nothing names it as a parent, so a node can forget
an expired need, offer, alert or check-in completely (see shora.services.forgetting)."""


def register() -> None:
    """Register these kinds with the kernel: shora.node calls it once, from its
    KIND_MODULES; importing this module registers nothing."""
    register_kind("aid.areas", Areas)
    register_kind("aid.need", Need, leaf=True)
    register_kind("aid.need_sealed", SealedNeed, leaf=True)
    register_kind("aid.offer", Offer, leaf=True)
    register_kind("aid.commit", Commit, ref=lambda body: body.need, leaf=True)
    register_kind("aid.dispatch", Dispatch, ref=lambda body: body.commitment, leaf=True)
    register_kind("aid.fulfil", Fulfil, ref=lambda body: body.need or body.commitment, leaf=True)
    register_kind("aid.cancel", Cancel, ref=lambda body: body.target, leaf=True)
    register_kind("aid.note", Note, ref=lambda body: body.need, leaf=True)
    register_kind("safety.checkin", Checkin, leaf=True)
    register_kind("safety.rollcall", Rollcall, leaf=True)
    register_kind("safety.respond", Respond, ref=lambda body: body.checkin, leaf=True)
    register_kind("safety.alert", Alert, leaf=True)
    register_kind("safety.alert_confirm", AlertConfirm, ref=lambda body: body.alert, leaf=True)
    register_kind("safety.alert_retract", AlertRetract, ref=lambda body: body.alert, leaf=True)
