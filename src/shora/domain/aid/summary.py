"""De-identified summaries of a council's open needs and offers, for a federation and,
as CSV with HXL hashtags, for humanitarian organisations. See docs/aid.md, "Summaries".

A summary holds counts and quantities by kind (need or offer), category, triage level
and area, and nothing else: no member, no name, no free text, no id, no time but the
summary's own. A group of fewer than `SUPPRESS_BELOW` items is shown as "fewer than
three" (count and quantity None): a count of one in a small area points at a household.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections import Counter
from typing import Annotated, Literal

import msgspec

from shora.domain.aid import kinds as ak
from shora.domain.aid.state import AidState
from shora.errors import InvalidInput
from shora.i18n import _, current_time_zone, zone_of

SUPPRESS_BELOW = 3
MAX_ROWS = 20_000
MAX_SUMMARY_BYTES = 4 * 1024 * 1024
SUMMARY_VERSION = 1
Count = Annotated[int, msgspec.Meta(ge=SUPPRESS_BELOW, le=10**9)]
Amount = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
SummaryTime = Annotated[int, msgspec.Meta(ge=0, lt=253_402_300_800)]  # before the year 10000

# The humanitarian cluster (IASC) each category belongs to, for #sector.
SECTORS: dict[str, str] = {
    "water": "WASH",
    "food": "Food Security",
    "baby_food": "Nutrition",
    "medicine": "Health",
    "blood": "Health",
    "shelter": "Shelter",
    "transport": "Logistics",
    "power_fuel": "Logistics",
    "communications": "Emergency Telecommunications",
    "medical_care": "Health",
    "childcare": "Protection",
    "legal": "Protection",
    "psychological": "Protection",
    "other": "",
}
HEADERS = (
    "Date",
    "Area",
    "Area name",
    "Sector",
    "Category",
    "Triage level",
    "Kind",
    "Count",
    "Quantity",
)
# HXL 1.1 core hashtags and attributes (hxlstandard.org/standard/1-1final/dictionary).
HASHTAGS = (
    "#date +reported",
    "#loc +code",
    "#loc +name",
    "#sector",
    "#item +type",
    "#severity",
    "#meta +type",
    "#meta +count",
    "#indicator +num +quantity",
)


class SummaryRow(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kind: Literal["need", "offer"]
    category: ak.CategoryName
    urgency: ak.UrgencyName | None  # needs only
    area: ak.AreaId
    count: Count | None  # None: fewer than SUPPRESS_BELOW
    quantity: Amount | None  # still needed or on offer; None when the count is hidden


class AidSummary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a council may share upward: open needs and offers, counted."""

    version: Annotated[int, msgspec.Meta(ge=1, le=SUMMARY_VERSION)]
    at: SummaryTime
    suppress_below: Annotated[int, msgspec.Meta(ge=SUPPRESS_BELOW, le=1000)]
    rows: Annotated[list[SummaryRow], msgspec.Meta(max_length=MAX_ROWS)]
    areas: Annotated[dict[ak.AreaId, ak.AreaName], msgspec.Meta(max_length=ak.MAX_AREAS)]
    restricted: Count | None = None  # needs this device may not read, if there are enough


def summarise(state: AidState, now: int, suppress_below: int = SUPPRESS_BELOW) -> AidSummary:
    """The de-identified summary of the open needs and offers in `state` at `now`."""
    Key = tuple[str, ak.CategoryName, ak.UrgencyName | None, str]
    counts: Counter[Key] = Counter()
    amounts: Counter[Key] = Counter()
    for item in (*state.needs.values(), *state.offers.values()):
        if not item.open:
            continue
        urgency = item.body.urgency if isinstance(item.body, ak.Need) else None
        key: Key = (item.kind, item.body.category, urgency, item.body.area)
        counts[key] += 1
        amounts[key] += item.remaining
    rows = []
    for key in sorted(counts, key=lambda k: (k[0], k[1], k[2] or "", k[3])):
        kind, category, urgency, area = key
        shown = counts[key] >= suppress_below
        rows.append(
            SummaryRow(
                kind,  # type: ignore[arg-type]
                category,
                urgency,
                area,
                counts[key] if shown else None,
                amounts[key] if shown else None,
            )
        )
    hidden = sum(1 for h in state.hidden.values() if not h.expired(now))
    names = dict(state.areas.areas) if state.areas is not None else {}
    used = {r.area for r in rows}
    return AidSummary(
        SUMMARY_VERSION,
        now,
        suppress_below,
        rows,
        {a: n for a, n in names.items() if a in used},
        hidden if hidden >= suppress_below else None,
    )


def encode(summary: AidSummary) -> bytes:
    return msgspec.json.encode(summary)


def decode(data: bytes) -> AidSummary:
    """A summary received from elsewhere (a member council): bounded, typed, or refused
    with a clear error."""
    if len(data) > MAX_SUMMARY_BYTES:
        raise InvalidInput(_("this summary is larger than any summary can be"))
    try:
        summary = msgspec.json.decode(data, type=AidSummary)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            _("this is not a summary of needs and offers: {error}").format(error=exc)
        ) from exc
    for row in summary.rows:
        if (row.count is None) != (row.quantity is None):
            raise InvalidInput(_("this summary hides a count but not its quantity"))
        if (row.kind == "need") != (row.urgency is not None):
            raise InvalidInput(_("in this summary, an offer has a triage level or a need none"))
    return summary


def _date(at: int) -> str:
    """The summary's day in the zone times are shown in (the council's, where it is set)."""
    return datetime.datetime.fromtimestamp(at, zone_of(current_time_zone())).strftime("%Y-%m-%d")


def _cell(text: str) -> str:
    """A spreadsheet must not read a council's text as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(summary: AidSummary) -> str:
    """CSV with a header row and an HXL hashtag row, then one row per group. Hidden
    counts read "<3" (with the threshold in force) and their quantity is empty. The
    date is the summary's day in the current zone (the council's)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerow(HASHTAGS)
    hidden = f"<{summary.suppress_below}"
    for r in summary.rows:
        writer.writerow(
            [
                _date(summary.at),
                r.area,
                _cell(summary.areas.get(r.area, "")),
                SECTORS[r.category],
                r.category,
                r.urgency or "",
                r.kind,
                hidden if r.count is None else r.count,
                "" if r.quantity is None else r.quantity,
            ]
        )
    return out.getvalue()
