"""Translation machinery, digits, Jalali dates, and the guard on the catalogues."""

from __future__ import annotations

import itertools
import marshal
import string
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.catalog import Message as BabelMessage
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

import shora
from shora import i18n
from shora.errors import InvalidInput
from shora.i18n import SUPPORTED, _, current_language, set_language, to_jalali, using_language
from shora.i18n_extract import ExtractError, Message, extract_python, extract_tree

PACKAGE = Path(shora.__file__).parent


def source_messages() -> list[Message]:
    """Every translatable string Shora ships; new kinds of source join via EXTRACTORS."""
    return extract_tree(PACKAGE)


def catalogue(lang: str) -> Catalog:
    with (PACKAGE / "locale" / lang / "LC_MESSAGES" / "shora.po").open("rb") as po_file:
        return read_po(po_file, locale=lang, abort_invalid=True)


def forms_of(entry: BabelMessage) -> tuple[str, ...]:
    strings = entry.string if isinstance(entry.string, tuple | list) else (entry.string,)
    return tuple(s or "" for s in strings)


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


# --- the catalogues -----------------------------------------------------------


def test_every_source_string_is_in_both_catalogues_and_translated_into_persian() -> None:
    fa, en = catalogue("fa"), catalogue("en")
    messages = source_messages()
    assert "Unsupported language {lang}; choose one of: {choices}" in {m.msgid for m in messages}
    for message in messages:
        entry = fa.get(message.msgid)
        where = f"{message.filename}:{message.lineno} {message.msgid!r}"
        assert entry is not None, f"missing from fa: {where}; run scripts/update_catalogues.py"
        assert not entry.fuzzy, f"fuzzy in fa: {where}"
        assert all(forms_of(entry)), f"untranslated in fa: {where}"
        assert entry.pluralizable == (message.plural is not None), where
        assert en.get(message.msgid) is not None, f"missing from en: {where}"


@pytest.mark.parametrize("lang", SUPPORTED)
def test_catalogue_entries_are_well_formed(lang: str) -> None:
    cat = catalogue(lang)
    assert cat.num_plurals == len({i18n.PLURAL_RULES[lang](n) for n in range(200)})
    for entry in cat:
        ids = entry.id if isinstance(entry.id, tuple | list) else (entry.id,)
        for index, form in enumerate(forms_of(entry)):
            # Persian's one plural form serves every count, so it matches the plural msgid.
            source = ids[0] if index == 0 and cat.num_plurals > 1 else ids[-1]
            if entry.id and form:
                assert placeholders(form) == placeholders(source), (lang, entry.id, form)
            if lang == "fa":
                assert not set(form) & set("يىك"), f"Arabic letter in {entry.id!r}: {form!r}"


# --- the scanner ---------------------------------------------------------------

SOURCE = """
from shora import i18n
a = _("Council")
b = N_("Need")
c = i18n.ngettext("{n} member", "{n} members", 3)
d = i18n._("Offer" " of help")
e = _(b)
f = t.ngettext(x, y, 2)
_ = 5
"""


def test_extract_python_finds_literals_and_skips_variables() -> None:
    found = extract_python(SOURCE, "x.py")
    assert [m.msgid for m in found] == ["Council", "Need", "{n} member", "Offer of help"]
    assert [(m.plural, m.lineno) for m in found][1:3] == [(None, 4), ("{n} members", 5)]


@pytest.mark.parametrize(
    "call", ['_(f"Hi {name}")', '_("Hi %s" % name)', '_("Hi {n}".format(n=1))', 'N_(f"{x}")']
)
def test_extract_python_refuses_strings_formatted_before_translation(call: str) -> None:
    with pytest.raises(ExtractError, match=r"x\.py:1"):
        extract_python(call, "x.py")


def test_extract_tree_walks_files_and_takes_more_extractors(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "sub" / "m.py").write_text('_("A")\n', encoding="utf-8")
    (tmp_path / "pkg" / "page.html").write_text("{{ _('B') }}", encoding="utf-8")
    (tmp_path / "pkg" / "notes.txt").write_text("_('C')", encoding="utf-8")
    found = extract_tree(tmp_path / "pkg")  # Python and Jinja2 templates by default
    assert sorted((m.msgid, m.filename) for m in found) == [
        ("A", "pkg/sub/m.py"),
        ("B", "pkg/page.html"),
    ]

    def text(source: str, filename: str) -> list[Message]:
        return [Message(source.split("'")[1], None, filename, 1)]

    found = extract_tree(tmp_path / "pkg", extractors={".py": extract_python, ".txt": text})
    assert sorted(m.msgid for m in found) == ["A", "C"]


# --- translating -----------------------------------------------------------------

PO = """
msgid "Council"
msgstr "شورا"

#, python-brace-format
msgid "{n} member"
msgid_plural "{n} members"
msgstr[0] "{n} عضو"

#, fuzzy
msgid "Vote"
msgstr "رأی"

msgid "Quorum"
msgstr ""
"""


def test_loaded_translations_choose_forms_and_fall_back_to_the_msgid() -> None:
    fa = i18n.load_translations(BytesIO(PO.encode()), "fa")
    assert fa.gettext("Council") == "شورا"
    assert fa.ngettext("{n} member", "{n} members", 1) == "{n} عضو"
    assert fa.ngettext("{n} member", "{n} members", 7) == "{n} عضو"
    assert fa.gettext("Vote") == "Vote"  # fuzzy
    assert fa.gettext("Quorum") == "Quorum"  # empty
    assert fa.ngettext("{n} task", "{n} tasks", 2) == "{n} tasks"  # unknown
    po = 'msgid "{n} member"\nmsgid_plural "{n} members"\nmsgstr[0] "one"\nmsgstr[1] "many"\n'
    en = i18n.load_translations(BytesIO(po.encode()), "en")
    counted = [en.ngettext("{n} member", "{n} members", n) for n in (0, 1, 2)]
    assert counted == ["many", "one", "many"]


def test_set_language_refuses_others_and_unknown_strings_pass_through() -> None:
    with pytest.raises(InvalidInput, match="Unsupported language de; choose one of: fa, en"):
        set_language("de")
    with using_language("fa"), pytest.raises(InvalidInput) as refused:
        set_language("de")
    assert str(refused.value) == "زبان de پشتیبانی نمی‌شود؛ یکی از این‌ها را انتخاب کنید: fa, en"
    assert current_language() == "en"
    for lang in SUPPORTED:
        with using_language(lang):
            assert _("Not in any catalogue") == "Not in any catalogue"
            assert i18n.ngettext("{n} cat", "{n} cats", 2) == "{n} cats"


def test_each_context_and_thread_has_its_own_language() -> None:
    def speak(lang: str) -> str:
        set_language(lang)
        return current_language()

    assert copy_context().run(speak, "fa") == "fa"
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(speak, "fa").result() == "fa"
    assert current_language() == "en"


@pytest.mark.parametrize(
    ("environ", "lang"),
    [
        ({}, "en"),
        ({"LANG": "fa_IR.UTF-8"}, "fa"),
        ({"LANG": "fa"}, "fa"),
        ({"LANG": "fa_IR.UTF-8", "LC_ALL": "C.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "fa_IR"}, "fa"),
        ({"LC_ALL": "fa-IR", "SHORA_LANG": "en"}, "en"),
        ({"SHORA_LANG": "", "LANG": "fa_IR@calendar=persian"}, "fa"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
    ],
)
def test_language_from_env(environ: dict[str, str], lang: str) -> None:
    assert i18n.language_from_env(environ) == lang


# --- digits, numbers, names --------------------------------------------------------


def test_digits_and_numbers() -> None:
    assert i18n.digits("room 42") == "room 42"
    assert [i18n.number(n) for n in (0, 999, 1234, -1234567)] == ["0", "999", "1,234", "-1,234,567"]
    with using_language("fa"):
        assert i18n.digits("room 42") == "room ۴۲"
        assert i18n.number(1234567) == "۱٬۲۳۴٬۵۶۷"
        assert i18n.number(7) == "۷"


def test_normalize_digits_and_persian_letters() -> None:
    assert i18n.normalize_digits("۱۲۳۴۵۶۷۸۹۰ ٠١٢٣٤٥٦٧٨٩ 42") == "1234567890 0123456789 42"
    assert i18n.normalize_persian("  علي كريمى\n") == "علی کریمی"
    assert i18n.normalize_persian("می\u200cکنم") == "می\u200cکنم"  # the ZWNJ stays


@given(st.text())
def test_normalizing_round_trips_and_is_idempotent(text: str) -> None:
    with using_language("fa"):
        assert i18n.normalize_digits(i18n.digits(text)) == i18n.normalize_digits(text)
    once = i18n.normalize_persian(text)
    assert i18n.normalize_persian(once) == once
    assert not set(once) & set("يىك")


# --- Jalali dates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gregorian", "jalali"),
    [
        # Nowruz (1 Farvardin) is the day of the March equinox if it falls before noon in
        # Tehran (08:30 UTC), else the next day. Equinox times are public (e.g. USNO tables):
        ((2024, 3, 20), (1403, 1, 1)),  # equinox 2024-03-20 03:06 UTC, before noon
        ((2025, 3, 20), (1403, 12, 30)),  # so 1403 is a leap year, ending on 30 Esfand
        ((2025, 3, 21), (1404, 1, 1)),  # equinox 2025-03-20 09:01 UTC, after noon
        ((2026, 3, 21), (1405, 1, 1)),  # equinox 2026-03-20 14:46 UTC, after noon
        # 22 Bahman 1357, the victory of the 1979 revolution, a public holiday in Iran.
        ((1979, 2, 11), (1357, 11, 22)),
    ],
)
def test_to_jalali_known_dates(gregorian: tuple[int, int, int], jalali: tuple[int, ...]) -> None:
    assert to_jalali(*gregorian) == jalali


MONTH_DAYS = {m: 31 if m <= 6 else 30 for m in range(1, 13)}  # Esfand: 29, or 30 in leap years


def _follows(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    y, m, d = a
    if b == (y, m, d + 1):
        return d + 1 <= MONTH_DAYS[m]
    last = d == MONTH_DAYS[m] or (m == 12 and d == 29)
    return last and b == ((y, m + 1, 1) if m < 12 else (y + 1, 1, 1))


@given(st.dates(min_value=date(1600, 1, 1), max_value=date(2400, 1, 1)))
def test_consecutive_days_give_consecutive_valid_jalali_dates(start: date) -> None:
    days = [start + timedelta(days=i) for i in range(400)]
    jalali = [to_jalali(d.year, d.month, d.day) for d in days]
    for a, b in itertools.pairwise(jalali):
        assert 1 <= b[1] <= 12 and 1 <= b[2] <= MONTH_DAYS[b[1]], b
        assert _follows(a, b), (a, b)


def test_format_time() -> None:
    ts = int(datetime(2026, 11, 25, 22, 51, tzinfo=UTC).timestamp())
    assert i18n.format_time(ts) == "2026-11-25 22:51 UTC"
    with using_language("fa"):
        assert i18n.format_time(ts) == "۴ آذر ۱۴۰۵، ۲۲:۵۱ (به وقت جهانی)"
        assert i18n.format_time(int(datetime(2025, 3, 20, 9, 5, tzinfo=UTC).timestamp())) == (
            "۳۰ اسفند ۱۴۰۳، ۰۹:۰۵ (به وقت جهانی)"
        )


def test_format_time_in_a_council_zone() -> None:
    """A council's zone: Tehran by name, another zone by its offset, an unknown one as UTC."""
    ts = int(datetime(2026, 11, 25, 22, 51, tzinfo=UTC).timestamp())
    with i18n.using_time_zone("Asia/Tehran"):
        assert i18n.format_time(ts) == "2026-11-26 02:21 Tehran"
        with using_language("fa"):
            assert i18n.format_time(ts) == "۵ آذر ۱۴۰۵، ۰۲:۲۱ (به وقت تهران)"
    with i18n.using_time_zone("Asia/Kolkata"):
        assert i18n.format_time(ts) == "2026-11-26 04:21 UTC+05:30"
    with i18n.using_time_zone("America/Santiago"):  # summer time in the south in November
        assert i18n.format_time(ts) == "2026-11-25 19:51 UTC-03:00"
    for name in ("UTC", "", "Not/Known"):
        with i18n.using_time_zone(name):
            assert i18n.format_time(ts) == "2026-11-25 22:51 UTC"
    assert i18n.current_time_zone() == ""


def test_time_zones_typed_by_people() -> None:
    assert i18n.check_time_zone(" Asia/Tehran ") == "Asia/Tehran"
    assert i18n.check_time_zone("") == ""
    for bad in ("Mars/Olympus", "../../etc/passwd", "/etc/localtime", "x" * 65):
        with pytest.raises(InvalidInput, match="is not a time zone"):
            i18n.check_time_zone(bad)
    with using_language("fa"), pytest.raises(InvalidInput, match="منطقهٔ زمانی نیست"):
        i18n.check_time_zone("Mars/Olympus")
    assert i18n.default_time_zone() == "UTC"
    with using_language("fa"):
        assert i18n.default_time_zone() == "Asia/Tehran"
    # A date and time typed without a zone is read in the current one.
    wall = datetime(2026, 12, 6, 17, 30)
    assert i18n.local_instant(wall) == int(datetime(2026, 12, 6, 17, 30, tzinfo=UTC).timestamp())
    with i18n.using_time_zone("Asia/Tehran"):
        assert i18n.local_instant(wall) == int(datetime(2026, 12, 6, 14, 0, tzinfo=UTC).timestamp())


def test_the_catalogue_reader_agrees_with_babel_on_the_shipped_catalogues() -> None:
    """The command line reads catalogues without Babel; it must read what Babel reads."""
    for lang in SUPPORTED:
        path = Path(shora.__file__).parent / "locale" / lang / "LC_MESSAGES" / "shora.po"
        with path.open("rb") as po_file:
            catalog = read_po(po_file, locale=lang, ignore_obsolete=True, abort_invalid=True)
        expected: dict[str, tuple[str, ...]] = {}
        for message in catalog:
            if not message.id or message.fuzzy:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if all(strings):
                expected[ids[0]] = tuple(strings)
        assert expected or lang == "en", lang  # English reads as its msgids
        assert dict(i18n.translations(lang).messages) == expected, lang


def test_the_catalogue_reader_unescapes_joins_lines_and_skips_obsolete_entries() -> None:
    po = (
        '#, fuzzy\nmsgid ""\nmsgstr ""\n"Language: fa\\n"\n\n'
        'msgid ""\n"Say \\"hi\\"\\n"\n"\\tand go\\\\"\nmsgstr "A\\\\B \\"C\\"\\n"\n\n'
        '#~ msgid "Old"\n#~ msgstr "کهنه"\n\n'
        '#, python-brace-format, fuzzy\nmsgid "{n}"\nmsgstr "x"\n'
        'msgid "Next"\nmsgstr "بعدی"\n'
    )
    fa = i18n.load_translations(BytesIO(po.encode()), "fa")
    assert dict(fa.messages) == {'Say "hi"\n\tand go\\': ('A\\B "C"\n',), "Next": ("بعدی",)}
    with pytest.raises(ValueError, match="line 2"):
        i18n.load_translations(BytesIO(b'msgid "a"\nmsgstr b\n'), "fa")


def test_a_catalogue_read_once_is_loaded_from_its_compiled_form_until_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compiled form is kept as byte code is (here under a PYTHONPYCACHEPREFIX), used
    only for the very .po file it was made from, and a damaged one is read past."""
    monkeypatch.setattr("sys.dont_write_bytecode", False)
    monkeypatch.setattr("sys.pycache_prefix", str(tmp_path / "cache"))
    po = tmp_path / "fa" / "shora.po"
    po.parent.mkdir()
    po.write_text('msgid "Next"\nmsgstr "بعدی"\n', encoding="utf-8")
    compiled = Path(i18n.compiled_path(str(po)))
    assert compiled.is_relative_to(tmp_path / "cache")
    assert dict(i18n.read_catalogue(str(po), "fa").messages) == {"Next": ("بعدی",)}
    assert compiled.is_file()
    # Loaded from the compiled form: a copy that says otherwise, stamped for this file.
    status = po.stat()
    forged = {"Next": ("از نسخهٔ کامپایل‌شده",)}
    compiled.write_bytes(marshal.dumps((1, status.st_mtime_ns, status.st_size, forged)))
    assert dict(i18n.read_catalogue(str(po), "fa").messages) == forged
    # The .po changes: read again, and kept again.
    po.write_text('msgid "Next"\nmsgstr "پسین"\n\nmsgid "Back"\nmsgstr "پیشین"\n', encoding="utf-8")
    again = {"Next": ("پسین",), "Back": ("پیشین",)}
    assert dict(i18n.read_catalogue(str(po), "fa").messages) == again
    assert dict(i18n.read_catalogue(str(po), "fa").messages) == again
    for damaged in (b"", b"\x00garbage", marshal.dumps(["not", "a", "catalogue"])):
        compiled.write_bytes(damaged)
        assert dict(i18n.read_catalogue(str(po), "fa").messages) == again
    # Told to write no byte code (or unable to), it reads the .po file and keeps nothing.
    compiled.unlink()
    monkeypatch.setattr("sys.dont_write_bytecode", True)
    assert dict(i18n.read_catalogue(str(po), "fa").messages) == again
    assert not compiled.exists()
    monkeypatch.setattr("sys.pycache_prefix", None)
    assert Path(i18n.compiled_path(str(po))).parent == po.parent / "__pycache__"
