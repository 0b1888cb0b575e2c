"""The council's areas as people write them: names in any script, one per line, and
pairs of neighbours named by those names. Pure: the ids are made here
(`shora.kernel.names`), so a person never types one.

* A line is a name; a name the map already has keeps its id, so editing the list
  keeps what is filed under the areas that stay. ``id = name`` is still read (the old
  form, and the way to rename an area while keeping its id).
* A pair of neighbours is ``name, name`` or ``name, name, length`` (a Persian comma
  too); the old ``id id [length]`` is still read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from shora.domain.aid import kinds as ak
from shora.errors import InvalidInput
from shora.i18n import _, normalize_digits
from shora.kernel.names import MAX_NAME, clean_name, make_id, name_key, name_ok
from shora.numbers import digits_only

AREA_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_SEPARATORS = re.compile(r"\s*[,،;|\t]\s*")
MAX_LENGTH = 100_000


def check_name(name: str) -> str:
    """A cleaned area name, or InvalidInput in the person's language."""
    cleaned = clean_name(name)
    if not cleaned:
        raise InvalidInput(_("An area needs a name."))
    if len(cleaned) > MAX_NAME:
        raise InvalidInput(
            _("An area's name is at most {n} characters: {name}").format(n=MAX_NAME, name=cleaned)
        )
    if not name_ok(cleaned):
        raise InvalidInput(
            _("An area's name may not hold control or direction-override characters.")
        )
    return cleaned


def _line(text: str) -> tuple[str | None, str]:
    """(id, name) of a line: an id only in the old ``id = name`` form."""
    key, sep, name = text.partition("=")
    key = key.strip().lower()
    if sep and name.strip() and AREA_ID.fullmatch(key):
        return key, name
    return None, text


def name_areas(lines: Iterable[str], known: Sequence[tuple[str, str]] = ()) -> list[ak.Area]:
    """The areas for these lines (blank ones skipped), in the order written; `known` is
    the council's map as it stands ((id, name) pairs), whose names keep their ids."""
    wanted = [(_line(t)) for t in lines if t.strip()]
    if not wanted:
        raise InvalidInput(_("Name at least one area."))
    if len(wanted) > ak.MAX_AREAS:
        raise InvalidInput(_("A council has at most {n} areas.").format(n=ak.MAX_AREAS))
    by_name = {name_key(n): a for a, n in known}
    taken = {a: name_key(n) for a, n in known}
    chosen: list[tuple[str | None, str]] = []
    seen: set[str] = set()
    for given, raw in wanted:
        name = check_name(raw)
        key = name_key(name)
        if key in seen:
            raise InvalidInput(_("An area is listed twice: {name}").format(name=name))
        seen.add(key)
        chosen.append((given, name))
        if given is not None:
            taken[given] = key  # an id written out is the person's choice: kept as given
    made: list[ak.Area] = []
    ids: set[str] = set()
    for given, name in chosen:
        key = name_key(name)
        area = given or by_name.get(key)
        if area is None or (given is None and taken.get(area, key) != key):
            area = make_id(name, taken, prefix="a-", pattern=AREA_ID, limit=64)
        if area in ids:
            raise InvalidInput(_("An area is listed twice: {name}").format(name=area))
        ids.add(area)
        taken[area] = key
        made.append(ak.Area(area, name))
    return made


def find_area(text: str, areas: Sequence[tuple[str, str]] | Sequence[ak.Area]) -> str | None:
    """The id of the area `text` names (by its id, or by its name), or None."""
    pairs = [(a.id, a.name) if isinstance(a, ak.Area) else a for a in areas]
    lowered = text.strip().lower()
    if any(area == lowered for area, _name in pairs):
        return lowered
    key = name_key(text)
    return next((area for area, name in pairs if name_key(name) == key), None)


def _length(text: str) -> int:
    digits = normalize_digits(text.strip())
    if not digits_only(digits) or not 1 <= int(digits) <= MAX_LENGTH:
        raise InvalidInput(
            _("A length between neighbours is a whole number from 1 to {n}.").format(n=MAX_LENGTH)
        )
    return int(digits)


def name_edge(line: str, areas: Sequence[ak.Area]) -> ak.Edge:
    """A pair of neighbours from ``name, name[, length]`` (or the old ``id id [length]``)."""
    parts = [p for p in _SEPARATORS.split(line.strip()) if p]
    if len(parts) < 2:
        words = line.split()
        if len(words) in (2, 3) and all(find_area(w, areas) for w in words[:2]):
            parts = words
    if len(parts) not in (2, 3):
        raise InvalidInput(
            _("Write each pair of neighbours as: area, area (and a length if you like).")
        )
    ends = []
    for part in parts[:2]:
        found = find_area(part, areas)
        if found is None:
            raise InvalidInput(_("unknown area: {area}").format(area=part.strip()))
        ends.append(found)
    return ak.Edge(ends[0], ends[1], _length(parts[2]) if len(parts) == 3 else 1)
