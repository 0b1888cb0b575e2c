"""Languages in the web interface: every template string translatable and extracted,
Persian right to left with Persian digits and Solar Hijri dates, English Gregorian,
the choice from Accept-Language or the cookie."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shora.i18n import PERSIAN_MONTHS, SUPPORTED
from shora.i18n_extract import extract_jinja, extract_tree
from shora.web.security import choose_language
from web.client import Browser, browser

TEMPLATES = Path(str(resources.files("shora.web") / "templates"))
JINJA = re.compile(r"{#.*?#}|{%-?\s*trans\b.*?endtrans\s*-?%}|{{.*?}}|{%.*?%}", re.S)
VISIBLE_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "label"}


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_data(self, data: str) -> None:
        self.found.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [v for k, v in attrs if k in VISIBLE_ATTRIBUTES and v]


def untranslated(source: str) -> list[str]:
    """Text a person would see that is not inside a translation call or block."""
    parser = _Visible()
    parser.feed(JINJA.sub("\ue000", source))
    return [
        text.strip()
        for text in parser.found
        if any(unicodedata.category(ch).startswith("L") for ch in text)
    ]


def test_the_lint_finds_bare_text_in_data_and_attributes() -> None:
    assert untranslated("<p>Hello {{ name }}</p>") == ["Hello \ue000"]
    assert untranslated('<input placeholder="Your name">') == ["Your name"]
    assert untranslated('<p>{{ _("Hello") }}</p><a title="{{ _(\'x\') }}">·</a>') == []
    assert untranslated("{% trans %}Hello{% endtrans %}") == []


def test_every_template_string_is_inside_a_translation_call() -> None:
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) >= 20
    for path in templates:
        assert untranslated(path.read_text(encoding="utf-8")) == [], path.name


def test_template_strings_are_extracted_for_the_catalogues() -> None:
    found = extract_jinja('<p>{{ _("Members of %(c)s", c=x) }} {{ _(label) }}</p>', "t.html")
    assert [(m.msgid, m.lineno) for m in found] == [("Members of %(c)s", 1)]
    plural = extract_jinja('{{ ngettext("%(n)s vote", "%(n)s votes", n) }}', "t.html")
    assert [(m.msgid, m.plural) for m in plural] == [("%(n)s vote", "%(n)s votes")]
    every = {m.msgid for m in extract_tree(Path(str(resources.files("shora"))))}
    assert {"Found a council", "Vouch and admit", "Import a bundle"} <= every


@given(st.text(max_size=600), st.sampled_from([None, "fa", "en", "de", ""]))
def test_language_choice_never_fails_and_is_supported(accept: str, cookie: str | None) -> None:
    assert choose_language(cookie, accept) in SUPPORTED


@pytest.mark.parametrize(
    ("cookie", "accept", "lang"),
    [
        (None, "fa-IR,fa;q=0.9,en;q=0.8", "fa"),
        (None, "en-GB,en;q=0.9,fa;q=0.8", "en"),
        (None, "de-DE,fa;q=0.5", "fa"),
        (None, "fa;q=0.2,en;q=0.9", "en"),
        (None, "fa;q=0", "en"),
        (None, "", "en"),
        ("fa", "en", "fa"),
        ("xx", "fa", "fa"),
    ],
)
def test_language_choice(cookie: str | None, accept: str, lang: str) -> None:
    assert choose_language(cookie, accept) == lang


@pytest.fixture
def persian(tmp_path: Path) -> Iterator[Browser]:
    with browser(tmp_path / "home", **{"Accept-Language": "fa-IR,fa;q=0.9"}) as b:
        b.create_profile()
        yield b


def test_persian_pages_are_rtl_with_persian_digits_and_solar_hijri_dates(persian: Browser) -> None:
    home = persian.found_council("Block 4", "Nasrin")
    persian.post(home + "/posts", {"title": "Water", "text": "at 6"})
    page = persian.get("/councils").text
    assert '<html lang="fa" dir="rtl">' in page
    assert "<bdi>۱</bdi>" in page  # one member, in Persian digits, isolated
    posts = persian.get(home + "/posts").text
    assert any(month in posts for month in PERSIAN_MONTHS)
    assert "<bdi>Nasrin</bdi>" in posts  # a Latin name isolated inside Persian text
    assert re.search(r"[۰-۹]{4}", posts) and "UTC" not in posts


def test_english_pages_are_ltr_with_gregorian_dates(tmp_path: Path) -> None:
    with browser(tmp_path / "home", **{"Accept-Language": "en"}) as b:
        b.create_profile()
        home = b.found_council("Block 4", "Nasrin")
        b.post(home + "/posts", {"title": "Water", "text": "at 6"})
        posts = b.get(home + "/posts").text
        assert '<html lang="en" dir="ltr">' in posts
        assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", posts)


def test_the_language_switch_sets_a_cookie_and_returns_to_the_page(persian: Browser) -> None:
    persian.get("/councils")
    r = persian.post("/language", {"lang": "en", "next": "/sync"})
    assert r.status_code == 303 and r.headers["location"] == "/sync"
    assert "samesite=strict" in r.headers["set-cookie"].lower()
    assert '<html lang="en" dir="ltr">' in persian.get("/sync").text
    away = persian.post("/language", {"lang": "fa", "next": "https://evil.example/"})
    assert away.headers["location"] == "/"
    assert '<html lang="fa" dir="rtl">' in persian.get("/councils").text


def test_the_stylesheet_uses_logical_properties_only() -> None:
    css = (TEMPLATES.parent / "static" / "shora.css").read_text(encoding="utf-8")
    physical = re.findall(
        r"(?:margin|padding|border)-(?:left|right|top|bottom)\b|\b(?:left|right)\s*:|"
        r"text-align:\s*(?:left|right)",
        css,
    )
    assert physical == []
