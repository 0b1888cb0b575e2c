"""The recovery pages in a real browser, in Persian and English: asking for one's
place back, a voucher's confirmation page, the key backup page and restoring from a
backup pass axe-core's WCAG AA checks, fit a
360 px screen with 44 px tap targets, and raise no CSP violation."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from conftest import make_node
from shora.services import recovery
from web.browser import PHONE, Person, chromium, screenshot_dir
from web.servers import Served
from web.test_web_browser import create_profile
from web.test_web_browser_phone import SMALL, TARGETS

__all__ = ["chromium"]  # the fixture, imported for the test below
pytestmark = pytest.mark.slow


def _check(person: Person, name: str) -> None:
    assert person.axe() == [], name
    assert person.fits_a_phone(), name
    person.page.set_viewport_size(PHONE)
    assert person.page.evaluate(SMALL, TARGETS) == [], name
    person.screenshots(name)


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_recovery_pages_in_a_browser(chromium: Browser, tmp_path: Path, lang: str) -> None:
    served = Served(tmp_path / "nasrin", "--interval", "60")
    try:
        person = Person(chromium, served, lang, screenshot_dir(tmp_path / "shots"))
        page = person.page
        create_profile(person)
        page.fill("#name", "Block 4")
        page.fill("#founder", "Nasrin")
        person.submit("form[action='/councils']")
        council = bytes.fromhex(page.url.rsplit("/", 1)[1])
        for path in ("/recover/ask", "/recover", "/recover/restore"):
            person.goto(path)
            _check(person, "recover" + path.replace("/", "-"))
        # A request for the founder's place, from another profile: the page shows who
        # asks to replace whom (here her own place, which she cannot vouch for).
        other = make_node(tmp_path, "other")
        signed = other.recovery.ask(council, "Nasrin")
        other.close()
        person.goto("/recover")
        page.fill("#request", recovery.recovery_request_link(signed))
        person.submit("form[action='/recover']")
        assert "Nasrin" in page.content()
        _check(person, "recover-confirm")
        person.goto(f"/councils/{council.hex()}/backup")
        _check(person, "backup")
        assert person.csp_errors == []
        person.close()
    finally:
        served.stop()
