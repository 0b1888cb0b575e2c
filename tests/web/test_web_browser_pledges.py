"""Threshold pledges in a real browser, in Persian and English: a campaign started
from the form, a pledge, the campaign's page and the "threshold met" banner on the
home page; no accessibility violation, nothing wider than a phone; screenshots (the
Persian pages at 360 px, the English ones at desktop width, under $SHORA_SCREENSHOTS)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from web.browser import Person, chromium, screenshot_dir
from web.servers import Served
from web.test_web_browser import create_profile

__all__ = ["chromium"]  # the fixture, imported for the tests below

STORY = {
    "fa": ("شورای کارگری کارخانهٔ ۴", "نسرین", "دوشنبه دست از کار می‌کشم"),
    "en": ("Factory 4 workers' council", "Nasrin", "I will stop work on Monday"),
}
KEEP = {"fa": "phone", "en": "desktop"}


@pytest.mark.slow  # a node in its own process and a browser
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_a_campaign_in_the_browser(chromium: Browser, tmp_path: Path, lang: str) -> None:
    council, founder, action = STORY[lang]
    shots = screenshot_dir(tmp_path / "screenshots")
    node = Served(tmp_path / "n", "--interval", "1")
    person = Person(chromium, node, lang, shots)
    try:
        create_profile(person)
        page = person.page
        page.fill("#name", council)
        page.fill("#founder", founder)
        person.submit("form[action='/councils']")
        home = page.url.removeprefix(node.base)
        person.goto(home + "/pledges")
        page.locator("details summary").first.click()
        page.fill("#pl-action", action)
        page.select_option("#pl-share", "1/1")
        person.submit(f"form[action='{home}/pledges']")
        assert action in page.content()
        assert person.axe() == []
        person.submit("form[action$='/take']")  # with the random delay: waiting
        assert page.locator("form[action$='/take']").count() == 0
        assert person.axe() == []
        campaign = page.url.split("?")[0].removeprefix(node.base)
        person.goto(home + "/pledges")
        person.goto(campaign)
        shot(person, "pledge", lang)
        person.goto(home + "/pledges")
        page.locator("details summary").first.click()
        page.fill("#pl-action", action + " (2)")
        page.fill("#pl-people", "1")
        person.submit(f"form[action='{home}/pledges']")
        page.locator("form[action$='/take'] input[name='now']").check()
        person.submit("form[action$='/take']")
        assert page.locator(".notice strong").count() == 1  # met
        person.goto(home)
        assert page.locator(".pledges-met").count() == 1
        assert person.axe() == [] and person.fits_a_phone()
        person.goto(home + "/pledges")
        assert person.axe() == [] and person.fits_a_phone()
        shot(person, "pledges", lang)
        assert not person.csp_errors
    finally:
        person.close()
        node.stop()


def shot(person: Person, name: str, lang: str) -> None:
    """Keep the Persian page at 360 px and the English one at desktop width."""
    person.screenshots(name)
    for label in ("phone", "desktop"):
        if label != KEEP[lang]:
            (person.shots / f"{name}-{lang}-{label}.png").unlink(missing_ok=True)
