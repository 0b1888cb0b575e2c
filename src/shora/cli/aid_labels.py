"""Words people read for the machine values of mutual aid and safety: categories, units,
triage levels, statuses, check-ins, alert kinds and visibilities. `--json` prints the
machine values; everything else goes through `label`, in the person's language."""

from __future__ import annotations

from shora.i18n import N_, _

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
TABLES = {
    "category": CATEGORY,
    "unit": UNIT,
    "urgency": URGENCY,
    "status": STATUS,
    "checkin": CHECKIN,
    "alert": ALERT,
    "visibility": VISIBILITY,
}


def label(table: str, value: str | None) -> str:
    """The translated word for a machine value (the value itself if it has none)."""
    if value is None:
        return ""
    words = TABLES[table]
    if table == "visibility" and value.startswith("role:"):
        return _("holders of the role {role}").format(role=value.removeprefix("role:"))
    return _(words[value]) if value in words else value
