"""Words people read for machine values — categories, units, triage levels, statuses,
check-ins, alert kinds, visibilities, voting methods, phases, roles — shared by the
command line and the web pages. `--json` and the API keep the machine values;
everything a person reads goes through `lookup`, in their language."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

from shora.i18n import N_, _
from shora.services.governance import ROLE_NAMES as ROLE_NAMES  # the governance words

# The names of the open council's own roles (key -> name), for the rest of a request
# or command, like the language and the time zone (shora.i18n).
_council_roles: ContextVar[Mapping[str, str]] = ContextVar(
    "shora_council_roles", default=MappingProxyType({})
)


def set_council_roles(names: Mapping[str, str]) -> None:
    """The council whose pages or commands run now names its own roles so."""
    _council_roles.set(MappingProxyType(dict(names)))


@contextmanager
def using_council_roles(names: Mapping[str, str]) -> Iterator[None]:
    token = _council_roles.set(MappingProxyType(dict(names)))
    try:
        yield
    finally:
        _council_roles.reset(token)


def role_label(role: str) -> str:
    """A role in the person's words: a built-in role translated, the council's own by
    the name it was given (a key only if it never had one)."""
    if role in ROLE_NAMES:
        return _(ROLE_NAMES[role])
    return _council_roles.get().get(role, role)


CATEGORY = {
    "water": N_("drinking water"),
    "food": N_("food"),
    "baby_food": N_("baby food and formula"),
    "medicine": N_("medicine"),
    "blood": N_("blood (red cells)"),
    "shelter": N_("shelter"),
    "transport": N_("transport and evacuation"),
    "power_fuel": N_("power and fuel"),
    "communications": N_("communications"),
    "medical_care": N_("medical care"),
    "childcare": N_("childcare"),
    "legal": N_("legal help"),
    "psychological": N_("psychological support"),
    "other": N_("other"),
}
UNIT = {
    "water": N_("litre"),
    "food": N_("day's ration for one person"),
    "baby_food": N_("day's feed for one infant"),
    "medicine": N_("pack as dispensed"),
    "blood": N_("donation (about 450 ml)"),
    "shelter": N_("bed for one night"),
    "transport": N_("seat for one trip"),
    "power_fuel": N_("litre or kWh as posted"),
    "communications": N_("device or connection for a day"),
    "medical_care": N_("visit"),
    "childcare": N_("half-day for one child"),
    "legal": N_("consultation"),
    "psychological": N_("session"),
    "other": N_("item"),
}
URGENCY = {
    "immediate": N_("immediate"),
    "urgent": N_("urgent"),
    "soon": N_("soon"),
    "routine": N_("routine"),
}
STATUS = {
    "open": N_("open"),
    "matched": N_("matched (proposed; confirm with shora commit)"),
    "committed": N_("committed"),
    "in_transit": N_("in transit"),
    "fulfilled": N_("fulfilled"),
    "cancelled": N_("cancelled"),
    "duplicate": N_("duplicate"),
    "expired": N_("expired"),
}
CHECKIN = {"safe": N_("I'm safe"), "need_help": N_("I need help"), "injured": N_("I'm injured")}
ALERT = {
    "air_raid": N_("air raid"),
    "strike_site": N_("strike site"),
    "collapsed_building": N_("collapsed building"),
    "fire": N_("fire"),
    "gas_leak": N_("gas leak"),
    "checkpoint": N_("checkpoint"),
    "unexploded_ordnance": N_("unexploded ordnance"),
    "blocked_road": N_("blocked road"),
    "contaminated_water": N_("contaminated water"),
    "other": N_("other danger"),
}
VISIBILITY = {"council": N_("the whole council"), "coordinators": N_("coordinators")}
PHASES = {
    "open": N_("open for voting"),
    "grace": N_("deadline passed; late ballots may still arrive (grace period)"),
    "closable": N_("waiting to be closed"),
    "closed": N_("closed: the result is final"),
}
SECRET_PHASES = {
    "setup": N_("setting up: the tellers are making the vote's key"),
    "open": N_("open for secret ballots"),
    "grace": N_("deadline passed; late ballots may still arrive (grace period)"),
    "closable": N_("waiting to be closed"),
    "counting": N_("closed: waiting for the tellers' shares"),
    "counted": N_("counted: the result is final"),
}
TASK_STATUS = {
    "open": N_("open"),
    "doing": N_("in progress"),
    "done": N_("done"),
    "dropped": N_("dropped"),
}
EMERGENCY_STATUS = {
    "pending": N_("waiting for ratification"),
    "ratified": N_("ratified"),
    "lapsed": N_("lapsed: not ratified in time, undone"),
    "rejected": N_("rejected by the council, undone"),
}
NOTE_STATUS = {
    "information_sought": N_("information sought"),
    "is_note_author": N_("this is the person themselves"),
    "believed_alive": N_("believed alive"),
    "believed_missing": N_("believed missing"),
    "believed_dead": N_("believed dead"),
}
SKILL_LABELS = {
    "doctor": N_("doctor"),
    "nurse": N_("nurse"),
    "driver": N_("driver"),
    "electrician": N_("electrician"),
    "translator": N_("translator"),
    "first_aid": N_("first aid"),
    "mechanic": N_("mechanic"),
    "builder": N_("builder"),
    "teacher": N_("teacher"),
    "lawyer": N_("lawyer"),
    "psychologist": N_("psychologist"),
    "cook": N_("cook"),
    "other": N_("other"),
}
COUNCIL_STATUS = {
    "member": N_("member"),
    "joining": N_("waiting to be admitted"),
    "left": N_("left"),
    "removed": N_("removed"),
}
MEMBER_STATUS = {"active": N_("active"), "left": N_("left"), "removed": N_("removed")}
METHODS = {
    "yes_no": N_("yes / no"),
    "consent": N_("consent"),
    "approval": N_("approval (choose any)"),
    "score": N_("score each option"),
    "dots": N_("dots (share a budget)"),
    "irv": N_("ranked choice, one winner (IRV)"),
    "stv": N_("ranked choice, several seats (STV)"),
    "schulze": N_("ranked choice, full ranking (Schulze)"),
    "time_poll": N_("time poll"),
}
YES_NO = {"yes": N_("yes"), "no": N_("no"), "abstain": N_("abstain")}
CONSENT = {
    "agree": N_("agree"),
    "abstain": N_("stand aside"),
    "object": N_("object (recorded, does not stop it)"),
    "block": N_("block (stops it; give a reason)"),
}
AVAILABILITY = {"yes": N_("yes"), "if_need_be": N_("if need be"), "no": N_("no")}
VISIBILITY_CHOICE = {"council": N_("the whole council"), "coordinators": N_("coordinators only")}
TIME_UNITS = {"minutes": N_("minutes"), "hours": N_("hours"), "days": N_("days")}
SEXES = {"female": N_("female"), "male": N_("male"), "other": N_("other")}


def lookup(tables: dict[str, dict[str, str]], table: str, value: str | None) -> str:
    """The translated word for a machine value (the value itself if it has none)."""
    if value is None:
        return ""
    if table == "visibility" and value.startswith("role:"):
        return _("holders of the role {role}").format(role=role_label(value.removeprefix("role:")))
    if table == "role":
        return role_label(value)
    words = tables[table]
    return _(words[value]) if value in words else value
