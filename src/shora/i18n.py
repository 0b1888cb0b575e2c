"""Translation, digits and dates: Persian first, English as the fallback.

The catalogues are the gettext .po files shipped in ``shora/locale``. They are
read on first use and cached per language, so there are no compiled
.mo files to keep in sync. What was read is also kept as Python keeps byte code
(in ``__pycache__`` beside the .po file, or under PYTHONPYCACHEPREFIX), so the next
process loads it in a fraction of the time. The current language lives in a
ContextVar, so the nodes, requests and tasks sharing one process can each speak their
own.

Usage::

    from shora.i18n import _, ngettext, number

    _("Council created")
    ngettext("{n} member", "{n} members", n).format(n=number(n))

Add strings, then run ``python scripts/update_catalogues.py`` and fill in Persian.
"""

from __future__ import annotations

import contextlib
import functools
import marshal
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo
from typing import IO

from shora.errors import InvalidInput

SUPPORTED = ("fa", "en")
DEFAULT = "en"
# The first of these that is set and non-empty decides, as in POSIX (LC_ALL beats LANG).
ENV_VARIABLES = ("SHORA_LANG", "LC_ALL", "LC_MESSAGES", "LANG")

# gettext plural rules. Persian counts with a singular noun («۳ عضو»), so one form.
PLURAL_RULES: Mapping[str, Callable[[int], int]] = {
    "fa": lambda n: 0,
    "en": lambda n: 0 if n == 1 else 1,
}

_language: ContextVar[str] = ContextVar("shora_language", default=DEFAULT)
# The IANA name of the zone times are shown in (a council's `time_zone` rule); "" is UTC.
_time_zone: ContextVar[str] = ContextVar("shora_time_zone", default="")

_LATIN_DIGITS = "0123456789"
_PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"  # U+06F0..U+06F9
_ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"  # U+0660..U+0669
_TO_PERSIAN = str.maketrans(_LATIN_DIGITS, _PERSIAN_DIGITS)
_TO_LATIN = str.maketrans(_PERSIAN_DIGITS + _ARABIC_INDIC_DIGITS, _LATIN_DIGITS * 2)
_PERSIAN_LETTERS = str.maketrans(
    {"ي": "ی", "ى": "ی", "ك": "ک"}
    # Direction marks and isolates, which names pick up when copied from RTL text.
    | dict.fromkeys("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)
_PERSIAN_THOUSANDS = "٬"  # U+066C ARABIC THOUSANDS SEPARATOR
_PERSIAN_COMMA = "،"  # U+060C
_UTC_FA = "(به وقت جهانی)"  # "universal time"

PERSIAN_MONTHS = (
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
)


# --- the current language ---------------------------------------------------


def current_language() -> str:
    """The language of the current context ("fa" or "en")."""
    return _language.get()


def set_language(lang: str) -> None:
    """Speak `lang` in the current context from now on; InvalidInput if unsupported."""
    _language.set(_supported(lang))


@contextmanager
def using_language(lang: str) -> Iterator[None]:
    """Speak `lang` inside the block only, then restore the previous language."""
    token = _language.set(_supported(lang))
    try:
        yield
    finally:
        _language.reset(token)


def _supported(lang: str) -> str:
    if lang not in SUPPORTED:
        raise InvalidInput(
            _("Unsupported language {lang}; choose one of: {choices}").format(
                lang=lang, choices=", ".join(SUPPORTED)
            )
        )
    return lang


def language_from_env(environ: Mapping[str, str]) -> str:
    """The language asked for by SHORA_LANG, LC_ALL, LC_MESSAGES or LANG ("fa_IR.UTF-8" -> "fa").

    The first variable that is set decides; an unsupported language there (or "C") means "en".
    """
    for name in ENV_VARIABLES:
        value = environ.get(name, "").strip()
        if value:
            lang = value.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
            return lang if lang in SUPPORTED else DEFAULT
    return DEFAULT


# --- catalogues ---------------------------------------------------------------


class Translations:
    """One language's catalogue: msgid -> its translated forms (only complete ones).

    A plain class, not a dataclass: every command builds one, and a dataclass's methods
    are compiled from source when its module is imported (about a millisecond each)."""

    __slots__ = ("messages", "plural")

    def __init__(
        self, messages: Mapping[str, tuple[str, ...]], plural: Callable[[int], int]
    ) -> None:
        self.messages = messages
        self.plural = plural

    def gettext(self, message: str) -> str:
        forms = self.messages.get(message)
        return forms[0] if forms else message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        forms = self.messages.get(singular)
        index = self.plural(n)
        if forms and index < len(forms):
            return forms[index]
        return singular if n == 1 else plural


def load_translations(po_file: IO[bytes], lang: str) -> Translations:
    """Read a .po file; untranslated and fuzzy entries are left out, so they fall back."""
    messages: dict[str, tuple[str, ...]] = {}
    for msgid, forms in _po_entries(po_file.read().decode("utf-8")):
        if all(forms):
            messages[msgid] = forms
    return Translations(messages=messages, plural=PLURAL_RULES[lang])


# A .po file is read by this small reader, not by Babel: importing Babel and parsing the
# catalogue with it took a tenth of a second at every start of the command line. It reads
# what update_catalogues.py writes (a test checks it agrees with Babel on the shipped
# catalogues): obsolete entries (#~) and fuzzy ones are skipped, as is the header.
_PO_ESCAPES = re.compile(r'\\([\\trn"])')  # as Babel: any other backslash stays
_PO_ESCAPED = {"n": "\n", "t": "\t", "r": "\r"}
# What follows "\nmsgstr" in an entry not translated yet (up to six plural forms): the
# English catalogue is nearly all of those, and reading them line by line cost most of
# a start-up, so they are recognised whole and skipped.
_EMPTY_MSGSTRS = frozenset(
    [' ""'] + ['[0] ""' + "".join(f'\nmsgstr[{i}] ""' for i in range(1, n)) for n in range(1, 7)]
)


def _po_string(text: str, line_number: int) -> str:
    """The value of a quoted .po string (`"a\\"b"` -> `a"b`); ValueError if malformed."""
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"line {line_number}: not a quoted string: {text[:40]!r}")
    body = text[1:-1]
    if "\\" not in body:
        return body
    return _PO_ESCAPES.sub(lambda match: _PO_ESCAPED.get(match[1], match[1]), body)


def _translated_lines(text: str) -> Iterator[tuple[int, str]]:
    """The numbered lines of a .po file, less the entries whose msgstrs are all empty
    (an empty line ends each block of lines kept)."""
    number = 1
    for block in text.replace("\r\n", "\n").split("\n\n"):
        _head, found, strings = block.partition("\nmsgstr")
        if not found or strings.rstrip("\n") not in _EMPTY_MSGSTRS:
            for i, line in enumerate(block.split("\n")):
                yield number + i, line
            yield number, ""
        number += block.count("\n") + 2


def _po_entries(text: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Each translated-or-not entry of a .po file that is neither fuzzy nor the header:
    (msgid, its msgstr forms in index order); ValueError on a line it cannot read."""
    entries: list[tuple[bool, dict[str, list[str]]]] = []
    fields: dict[str, list[str]] = {}
    field = ""
    fuzzy = False
    for number, raw in _translated_lines(text):
        line = raw.strip()
        if line.startswith('"'):
            if not field:
                raise ValueError(f"line {number}: a string outside an entry")
            fields[field].append(_po_string(line, number))
            continue
        keyword, _space, rest = line.partition(" ")
        ends_entry = not line or line.startswith("#") or keyword == "msgid"
        if ends_entry and any(key.startswith("msgstr") for key in fields):
            entries.append((fuzzy, fields))
            fields, field, fuzzy = {}, "", False
        if not line or line.startswith("#"):
            flags = line[2:].split(",") if line.startswith("#,") else ()
            fuzzy = fuzzy or "fuzzy" in (flag.strip() for flag in flags)
            continue
        if keyword not in ("msgid", "msgid_plural", "msgstr") and not (
            keyword.startswith("msgstr[") and keyword[7:-1].isdigit() and keyword[-1] == "]"
        ):
            raise ValueError(f"line {number}: unknown keyword {keyword[:20]!r}")
        field = keyword
        fields[field] = [_po_string(rest, number)]
    if any(key.startswith("msgstr") for key in fields):
        entries.append((fuzzy, fields))
    for fuzzy, fields in entries:
        msgid = "".join(fields.get("msgid", ()))
        if fuzzy or not msgid:
            continue
        if "msgstr" in fields:
            yield msgid, ("".join(fields["msgstr"]),)
            continue
        count = 1 + max(int(key[7:-1]) for key in fields if key.startswith("msgstr["))
        yield msgid, tuple("".join(fields.get(f"msgstr[{i}]", ())) for i in range(count))


# The compiled form of a catalogue: marshal's, which changes with the Python version
# (hence the cache tag in its name), of (format, the .po's mtime_ns, its size, messages).
# Bump _COMPILED_FORMAT when the reader changes what it keeps of a .po file.
_COMPILED_FORMAT = 1


def catalogue_path(lang: str) -> str:
    """The shipped .po file of `lang`."""
    return os.path.join(os.path.dirname(__file__), "locale", lang, "LC_MESSAGES", "shora.po")


def compiled_path(po_path: str) -> str:
    """Where the compiled form of `po_path` is kept: as importlib keeps a module's byte
    code, in __pycache__ beside it, or under sys.pycache_prefix (PYTHONPYCACHEPREFIX)."""
    head, tail = os.path.split(os.path.abspath(po_path))
    name = f"{tail}.{sys.implementation.cache_tag}.marshal"
    if sys.pycache_prefix is not None:
        relative = os.path.splitdrive(head)[1].lstrip(os.sep + (os.altsep or ""))
        return os.path.join(sys.pycache_prefix, relative, name)
    return os.path.join(head, "__pycache__", name)


def _read_compiled(path: str, stamp: tuple[int, int]) -> dict[str, tuple[str, ...]] | None:
    """The messages kept at `path` for a .po file of this (mtime_ns, size), or None if
    there are none, they were kept for another version of it, or the file is damaged."""
    try:
        with open(path, "rb") as file:
            kept = marshal.loads(file.read())  # noqa: S302 (kept where byte code is)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if (
        isinstance(kept, tuple)
        and len(kept) == 4
        and kept[:3] == (_COMPILED_FORMAT, *stamp)
        and isinstance(kept[3], dict)
    ):
        return kept[3]
    return None


def _write_compiled(
    path: str, stamp: tuple[int, int], messages: dict[str, tuple[str, ...]]
) -> None:
    """Keep `messages` at `path` (replaced whole, so a reader never sees half of it);
    nothing if it cannot be written, or if Python is told to write no byte code."""
    if sys.dont_write_bytecode:
        return
    partial = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(partial, "wb") as file:
            file.write(marshal.dumps((_COMPILED_FORMAT, *stamp, messages)))
        os.replace(partial, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(partial)


def read_catalogue(po_path: str, lang: str) -> Translations:
    """The catalogue in `po_path`: its compiled form if one was kept for this very file,
    else the .po file read (and its compiled form kept for the next process)."""
    with open(po_path, "rb") as po_file:
        status = os.fstat(po_file.fileno())
        stamp = (status.st_mtime_ns, status.st_size)
        cache = compiled_path(po_path)
        messages = _read_compiled(cache, stamp)
        if messages is not None:
            return Translations(messages=messages, plural=PLURAL_RULES[lang])
        read = load_translations(po_file, lang)
    _write_compiled(cache, stamp, dict(read.messages))
    return read


@functools.cache
def translations(lang: str) -> Translations:
    """The shipped catalogue for `lang`, read once per process."""
    if lang not in SUPPORTED:
        raise InvalidInput(f"unsupported language {lang!r}")
    return read_catalogue(catalogue_path(lang), lang)


def _(message: str) -> str:
    """`message` in the current language."""
    return translations(current_language()).gettext(message)


def N_(message: str) -> str:
    """Mark `message` for the catalogue without translating it yet; pass it to _() later."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a counted message that fits `n`, in the current language."""
    return translations(current_language()).ngettext(singular, plural, n)


# --- digits, numbers and names -------------------------------------------------


def digits(text: str) -> str:
    """`text` with Latin digits written as Persian ones when the language is "fa"."""
    return text.translate(_TO_PERSIAN) if current_language() == "fa" else text


def number(n: int) -> str:
    """An integer with thousands grouped: "1,234" in en, "۱٬۲۳۴" in fa."""
    text = f"{n:,}"
    if current_language() == "fa":
        return text.replace(",", _PERSIAN_THOUSANDS).translate(_TO_PERSIAN)
    return text


def join_names(items: Iterable[str]) -> str:
    """Items of a list in the current language: "A, B" in en, "A، B" in fa."""
    return ("، " if current_language() == "fa" else ", ").join(items)


def normalize_digits(text: str) -> str:
    """Persian and Arabic-Indic digits to Latin ones; every numeric input goes through this."""
    return text.translate(_TO_LATIN)


def normalize_persian(text: str) -> str:
    """Arabic ي ى ك to Persian ی ک, direction marks dropped, outer spaces stripped, NFC:
    before comparing or storing."""
    return unicodedata.normalize("NFC", text.translate(_PERSIAN_LETTERS).strip())


# --- dates ---------------------------------------------------------------------


def to_jalali(year: int, month: int, day: int) -> tuple[int, int, int]:
    """The Solar Hijri (Jalali) date of a Gregorian date.

    The arithmetic 33-year-cycle algorithm (as in the widely used jdf.scr): count the days
    since a fixed epoch, then peel off 33-year cycles (12053 days), 4-year groups (1461 days)
    and years. It agrees with the official, equinox-based calendar over the present era.
    """
    days_before_month = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)
    leap_year = year + 1 if month > 2 else year  # counts this year's 29 Feb once it has passed
    days = (
        355666
        + 365 * year
        + (leap_year + 3) // 4
        - (leap_year + 99) // 100
        + (leap_year + 399) // 400
        + day
        + days_before_month[month - 1]
    )
    jy = -1595 + 33 * (days // 12053)
    days %= 12053
    jy += 4 * (days // 1461)
    days %= 1461
    if days > 365:
        jy += (days - 1) // 365
        days = (days - 1) % 365
    if days < 186:  # the first six months have 31 days
        return jy, 1 + days // 31, 1 + days % 31
    return jy, 7 + (days - 186) // 30, 1 + (days - 186) % 30


# --- time zones ----------------------------------------------------------------

MAX_ZONE_CHARS = 64
# The zones a council is offered when it is founded, Tehran first; the label is the
# place named after the time ("17:30 Tehran"). Any other IANA zone may still be chosen.
COMMON_TIME_ZONES: Mapping[str, str] = {
    "Asia/Tehran": N_("Tehran"),
    "UTC": N_("UTC"),
    "Asia/Kabul": N_("Kabul"),
    "Asia/Dubai": N_("Dubai"),
    "Asia/Baghdad": N_("Baghdad"),
    "Europe/Istanbul": N_("Istanbul"),
    "Europe/London": N_("London"),
    "Europe/Berlin": N_("Berlin"),
    "Europe/Stockholm": N_("Stockholm"),
    "America/Toronto": N_("Toronto"),
    "America/New_York": N_("New York"),
    "America/Los_Angeles": N_("Los Angeles"),
    "Australia/Sydney": N_("Sydney"),
}
PERSIAN_TIME_ZONE = "Asia/Tehran"  # a council founded in Persian lives here unless it says


def default_time_zone() -> str:
    """The zone a new council gets unless it says: Tehran in Persian, UTC otherwise."""
    return PERSIAN_TIME_ZONE if current_language() == "fa" else "UTC"


def check_time_zone(name: str) -> str:
    """`name` (stripped) if it is an IANA time zone this device knows, or "" (UTC);
    InvalidInput, in the person's language, otherwise."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only when times are shown or read

    name = name.strip()
    if not name:
        return ""
    if len(name) <= MAX_ZONE_CHARS and not name.startswith(("/", ".")) and ".." not in name:
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise InvalidInput(
        _("{zone} is not a time zone; give one such as Asia/Tehran or UTC").format(zone=name)
    )


def zone_of(name: str) -> tzinfo:
    """The zone named, or UTC for "" or a zone this device does not know (a council's rule
    is kept as written by its replicas; only the display falls back)."""
    if not name or name == "UTC":
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return UTC


def current_time_zone() -> str:
    """The zone times are shown and read in, in this context ("" is UTC)."""
    return _time_zone.get()


def set_time_zone(name: str) -> None:
    """Show and read times in zone `name` in the current context from now on."""
    _time_zone.set(name)


@contextmanager
def using_time_zone(name: str) -> Iterator[None]:
    """Show and read times in zone `name` inside the block only."""
    token = _time_zone.set(name)
    try:
        yield
    finally:
        _time_zone.reset(token)


def local_instant(moment: datetime) -> int:
    """Unix seconds of a date and time typed by a person: in its own zone if it says one,
    else in the current zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone_of(current_time_zone()))
    return int(moment.timestamp())


def _zone_label(name: str, moment: datetime) -> str:
    """The place of a common zone ("Tehran"), else the offset from UTC ("UTC+03:30")."""
    if name in COMMON_TIME_ZONES:
        return _(COMMON_TIME_ZONES[name])
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds()) // 60 if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02}:{minutes:02}"


def format_time(ts: int) -> str:
    """An instant (Unix seconds) for people, in the current zone and saying which:
    Gregorian in en ("2026-12-06 17:30 Tehran"), Solar Hijri with Persian digits in fa
    («۱۵ آذر ۱۴۰۵، ۱۷:۳۰ (به وقت تهران)»). UTC reads "UTC" and «(به وقت جهانی)»."""
    name = current_time_zone()
    zone = zone_of(name)
    moment = datetime.fromtimestamp(ts, tz=zone)
    utc = zone is UTC
    if current_language() == "fa":
        jy, jm, jd = to_jalali(moment.year, moment.month, moment.day)
        # Says the zone, as the English does: a reader would otherwise assume Tehran time.
        where = _UTC_FA if utc else f"(به وقت {_zone_label(name, moment)})"
        text = f"{jd} {PERSIAN_MONTHS[jm - 1]} {jy}{_PERSIAN_COMMA} {moment:%H:%M} {where}"
        return text.translate(_TO_PERSIAN)
    return f"{moment:%Y-%m-%d %H:%M} {'UTC' if utc else _zone_label(name, moment)}"
