"""Words people read for aid and safety values, by table (the tables: shora/ui/labels.py)."""

from __future__ import annotations

from shora.ui.labels import ALERT, CATEGORY, CHECKIN, STATUS, UNIT, URGENCY, VISIBILITY, lookup

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
    return lookup(TABLES, table, value)
