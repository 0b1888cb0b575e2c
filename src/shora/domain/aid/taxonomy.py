"""The built-in kinds of aid, their units, the urgency triage levels and what may serve what.

Pure data and pure functions: no I/O, no clock. `docs/aid.md` explains every rule here.

A need or an offer names a `Category` and, for two categories, details:

- ``medicine``: a `Medicine` (name, dose, whether it needs cold storage, and for an offer
  whether the giver can keep it cold);
- ``blood``: a `BloodGroup` (the recipient's group for a need, the donor's for an offer).

Every other category carries no details (``None``). `compatible(need, offer)` says whether
an offer may serve a need; `match_key` and `kind_key` let the matching engine group
needs and offers into classes whose members only ever match each other.
"""

from __future__ import annotations

import unicodedata
from enum import IntEnum, StrEnum
from functools import lru_cache
from typing import Protocol

import msgspec

__all__ = [
    "CATEGORIES",
    "RED_CELL_DONORS",
    "BloodGroup",
    "Category",
    "CategoryInfo",
    "Details",
    "HasAid",
    "Medicine",
    "Urgency",
    "blood_compatible",
    "check_details",
    "compatible",
    "kind_key",
    "match_key",
    "normalise_dose",
    "normalise_name",
]


class Category(StrEnum):
    """What is needed or offered. The value is the stable identifier written in events."""

    WATER = "water"
    FOOD = "food"
    BABY_FOOD = "baby_food"
    MEDICINE = "medicine"
    BLOOD = "blood"
    SHELTER = "shelter"
    TRANSPORT = "transport"
    POWER_FUEL = "power_fuel"
    COMMUNICATIONS = "communications"
    MEDICAL_CARE = "medical_care"
    CHILDCARE = "childcare"
    LEGAL = "legal"
    PSYCHOLOGICAL = "psychological"
    OTHER = "other"


class Urgency(IntEnum):
    """Triage level of a need; a lower value is more urgent.

    These are triage levels, not a queue: a need's place is set by how bad it is, never
    by when it was posted. The matching engine meets as much ``IMMEDIATE`` need as can be
    met at all, then as much ``URGENT`` need as can be met without taking anything from
    ``IMMEDIATE``, and so on (see `shora.domain.aid.matching`).
    """

    IMMEDIATE = 0
    """Life or limb within hours: no water for a household, insulin running out today,
    blood for a bleeding casualty, evacuation from a building under fire."""
    URGENT = 1
    """Serious harm within a day or two if not met: food for a family with none left,
    a roof before nightfall, a prescription that ends tomorrow."""
    SOON = 2
    """Needed within days: restocking, a lift to a clinic appointment, childcare so a
    parent can work a shift."""
    ROUTINE = 3
    """Ordinary support with no deadline of harm: legal advice, a phone charger."""


class BloodGroup(StrEnum):
    """ABO group and RhD type, written as on a donor card."""

    O_NEG = "O-"
    O_POS = "O+"
    A_NEG = "A-"
    A_POS = "A+"
    B_NEG = "B-"
    B_POS = "B+"
    AB_NEG = "AB-"
    AB_POS = "AB+"


# Red-cell compatibility, donor group -> recipient groups it may be given to.
# Sources: American Red Cross, "Blood Types Explained"
# (https://www.redcrossblood.org/donate-blood/blood-types.html); MSD Manual, Consumer
# Version, "Compatible Blood Types"
# (https://www.msdmanuals.com/home/multimedia/image/compatible-blood-types). The rule behind
# the table: a donor's red cells may go to a recipient whose own red cells carry every
# antigen (A, B, RhD) the donor's carry, so O- is the universal red-cell donor and AB+ the
# universal recipient (tests/domain/test_matching.py checks the table against this rule). It is a
# first filter for volunteers, never a substitute for the type and cross-match a clinic
# must still do. Plasma runs the other way and is not matched here.
RED_CELL_DONORS: dict[BloodGroup, frozenset[BloodGroup]] = {
    BloodGroup.O_NEG: frozenset(BloodGroup),
    BloodGroup.O_POS: frozenset(
        {BloodGroup.O_POS, BloodGroup.A_POS, BloodGroup.B_POS, BloodGroup.AB_POS}
    ),
    BloodGroup.A_NEG: frozenset(
        {BloodGroup.A_NEG, BloodGroup.A_POS, BloodGroup.AB_NEG, BloodGroup.AB_POS}
    ),
    BloodGroup.A_POS: frozenset({BloodGroup.A_POS, BloodGroup.AB_POS}),
    BloodGroup.B_NEG: frozenset(
        {BloodGroup.B_NEG, BloodGroup.B_POS, BloodGroup.AB_NEG, BloodGroup.AB_POS}
    ),
    BloodGroup.B_POS: frozenset({BloodGroup.B_POS, BloodGroup.AB_POS}),
    BloodGroup.AB_NEG: frozenset({BloodGroup.AB_NEG, BloodGroup.AB_POS}),
    BloodGroup.AB_POS: frozenset({BloodGroup.AB_POS}),
}


def blood_compatible(recipient: BloodGroup, donor: BloodGroup) -> bool:
    """Whether the donor's red cells may be given to the recipient."""
    return recipient in RED_CELL_DONORS[donor]


@lru_cache(maxsize=4096)
def _fold(text: str) -> str:
    """NFKC, case-folded, every Unicode decimal digit (Persian, Arabic-Indic…) as ASCII."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(
        str(unicodedata.decimal(ch)) if ch.isdecimal() else ("." if ch == "\u066b" else ch)
        for ch in folded
    )


@lru_cache(maxsize=4096)
def normalise_name(name: str) -> str:
    """A medicine name as compared: folded (see `_fold`), runs of whitespace as one space."""
    return " ".join(_fold(name).split())


@lru_cache(maxsize=4096)
def normalise_dose(dose: str) -> str:
    """A dose as compared: folded (see `_fold`), all whitespace removed: "500 mg" == "500mg".

    The Arabic decimal separator (U+066B) reads as ".". Nothing else is interpreted: "0.5 g"
    and "500 mg" are different doses, because a volunteer must not be asked to convert.
    """
    return "".join(_fold(dose).split())


class Medicine(msgspec.Struct, frozen=True):
    """A medicine as needed or offered.

    ``cold_storage``: the medicine must be kept cold (insulin, some vaccines). Either side
    may say so; if either does, the offer must say ``kept_cold``.
    ``kept_cold``: (offers) the giver holds it in a working fridge or cold box and can
    hand it over cold. Ignored on needs.
    """

    name: str
    dose: str
    cold_storage: bool = False
    kept_cold: bool = False

    def __post_init__(self) -> None:
        if not normalise_name(self.name):
            raise ValueError("a medicine needs a name")
        if not normalise_dose(self.dose):
            raise ValueError("a medicine needs a dose")


Details = Medicine | BloodGroup | None


class CategoryInfo(msgspec.Struct, frozen=True):
    """What the taxonomy knows about one category."""

    category: Category
    label: str
    unit: str
    details: type[Medicine] | type[BloodGroup] | None
    note: str


CATEGORIES: dict[Category, CategoryInfo] = {
    info.category: info
    for info in (
        CategoryInfo(Category.WATER, "Drinking water", "litre", None, ""),
        CategoryInfo(Category.FOOD, "Food", "day's ration for one person", None, ""),
        CategoryInfo(
            Category.BABY_FOOD, "Baby food and formula", "day's feed for one infant", None, ""
        ),
        CategoryInfo(
            Category.MEDICINE,
            "Medicine",
            "pack as dispensed",
            Medicine,
            "name and dose must match exactly; cold chain respected",
        ),
        CategoryInfo(
            Category.BLOOD,
            "Blood (red cells)",
            "donation (about 450 ml)",
            BloodGroup,
            "ABO/RhD red-cell compatibility",
        ),
        CategoryInfo(Category.SHELTER, "Shelter", "bed for one night", None, ""),
        CategoryInfo(
            Category.TRANSPORT,
            "Transport and evacuation",
            "seat for one trip",
            None,
            "includes evacuation; goods count as one seat per person-sized load",
        ),
        CategoryInfo(Category.POWER_FUEL, "Power and fuel", "litre or kWh as posted", None, ""),
        CategoryInfo(
            Category.COMMUNICATIONS,
            "Communications",
            "device or connection for a day",
            None,
            "phones, chargers, radios, mesh or satellite links",
        ),
        CategoryInfo(Category.MEDICAL_CARE, "Medical care", "visit", None, "first aid, nursing"),
        CategoryInfo(Category.CHILDCARE, "Childcare", "half-day for one child", None, ""),
        CategoryInfo(Category.LEGAL, "Legal help", "consultation", None, ""),
        CategoryInfo(
            Category.PSYCHOLOGICAL, "Psychological support", "session", None, "first aid, listening"
        ),
        CategoryInfo(Category.OTHER, "Other", "item", None, "matched by category only"),
    )
}


class HasAid(Protocol):
    """Anything that names a category and its details: a need or an offer."""

    @property
    def category(self) -> Category: ...

    @property
    def details(self) -> Details: ...


def check_details(category: Category, details: Details) -> None:
    """Raise ValueError unless ``details`` is the kind the category carries."""
    expected = CATEGORIES[category].details
    if expected is None:
        if details is not None:
            raise ValueError(f"{category.value} carries no details")
    elif not isinstance(details, expected):
        raise ValueError(f"{category.value} needs details of type {expected.__name__}")


def compatible(need: HasAid, offer: HasAid) -> bool:
    """Whether ``offer`` may serve ``need``: same category, and per category

    - blood: the donor's red cells are compatible with the recipient (`RED_CELL_DONORS`);
    - medicine: same name and same dose after normalisation (`normalise_name`,
      `normalise_dose`), and if either side says it needs cold storage, the offer says it
      is kept cold.
    """
    if need.category is not offer.category:
        return False
    nd, od = need.details, offer.details
    if need.category is Category.BLOOD:
        return (
            isinstance(nd, BloodGroup) and isinstance(od, BloodGroup) and blood_compatible(nd, od)
        )
    if need.category is Category.MEDICINE:
        if not isinstance(nd, Medicine) or not isinstance(od, Medicine):
            return False
        if normalise_name(nd.name) != normalise_name(od.name):
            return False
        if normalise_dose(nd.dose) != normalise_dose(od.dose):
            return False
        return od.kept_cold or not (nd.cold_storage or od.cold_storage)
    return True


def match_key(item: HasAid) -> tuple[str, ...]:
    """The class a need or offer belongs to: two items can only be compatible if their keys
    are equal (category, plus medicine name and dose). Blood groups and the cold chain are
    told apart inside a class by `kind_key`."""
    d = item.details
    if isinstance(d, Medicine):
        return (item.category.value, normalise_name(d.name), normalise_dose(d.dose))
    return (item.category.value,)


def kind_key(item: HasAid) -> tuple[str, ...]:
    """Items with equal kind keys (and the same side) are interchangeable for `compatible`."""
    d = item.details
    if isinstance(d, Medicine):
        return (
            *match_key(item),
            "cold" if d.cold_storage else "",
            "kept-cold" if d.kept_cold else "",
        )
    if isinstance(d, BloodGroup):
        return (item.category.value, d.value)
    return match_key(item)
