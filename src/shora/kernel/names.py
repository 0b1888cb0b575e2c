"""Names people give to things a council defines (its areas, its own roles), in any
script, and the short ASCII ids made for them. Pure.

A name is what people read and type; an id is what events carry and replicas check
against a strict pattern. An id is made from the name alone (a Latin name gives a
readable slug, any other a few letters of a hash of the name, never a transliteration),
so saving the same list again gives the same ids; a name already known keeps the id it
has. A name refuses control characters and the bidirectional overrides and isolates
(U+202A-202E, U+2066-2069) that could make it read as something else.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Mapping

from shora.kernel import crypto

MAX_NAME = 200
# What no displayed name may hold: C0 and C1 controls, bidirectional embeddings,
# overrides and isolates. Replicas check the same pattern in the event schemas.
_BAD = "\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069"
NAME_PATTERN = f"^[^\\s{_BAD}][^{_BAD}]*$"
_NAME = re.compile(NAME_PATTERN)
_PERSIAN = str.maketrans({"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9"})
_MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u061c"))  # direction marks: dropped


def clean_name(text: str) -> str:
    """A name as stored: NFC, Persian letters for their Arabic look-alikes, direction
    marks dropped, spaces collapsed and stripped."""
    text = unicodedata.normalize("NFC", text.translate(_PERSIAN).translate(_MARKS))
    return " ".join(text.split())


def name_ok(name: str) -> bool:
    """Whether a (cleaned) name may be written: 1 to MAX_NAME characters, none refused."""
    return 0 < len(name) <= MAX_NAME and _NAME.fullmatch(name) is not None


def name_key(name: str) -> str:
    """What two names are compared by: cleaned and case-folded."""
    return clean_name(name).casefold()


def _hashed(key: str, prefix: str, length: int) -> str:
    digest = crypto.blake2b(key.encode(), 20, person=b"shora/names")
    return prefix + base64.b32encode(digest).decode().lower()[:length]


def make_id(
    name: str,
    taken: Mapping[str, str],
    *,
    prefix: str,
    pattern: re.Pattern[str],
    slug: bool = True,
    limit: int = 32,
) -> str:
    """An id for `name` that `pattern` accepts and that no other name in `taken` (id ->
    name key) holds: the Latin slug of the name if `slug` and it has one, else `prefix`
    and letters of a hash of the name, more letters on a collision."""
    key = name_key(name)
    if slug and key.isascii():
        made = re.sub(r"[^a-z0-9]+", "-", key).strip("-")[:limit].strip("-")
        if made and pattern.fullmatch(made) and taken.get(made, key) == key:
            return made
    for length in (8, 12, 16, 24):
        made = _hashed(key, prefix, length)[:limit]
        if pattern.fullmatch(made) and taken.get(made, key) == key:
            return made
    n = 2
    while True:  # a collision of 120 bits: only a forged list could bring one
        made = f"{_hashed(key, prefix, 8)}-{n}"
        if taken.get(made, key) == key:
            return made
        n += 1
