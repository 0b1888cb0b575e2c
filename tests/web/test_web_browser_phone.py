"""Phones are first-class, measured in Chromium at 360x740: every control and every
stand-alone link is at least 44 px both ways (header links included), the needs list
shows at least five needs per screen, and unlocking returns to the page asked for.
In Persian (the longer words) on one `shora serve` node."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from web.browser import PHONE, Person, chromium, screenshot_dir
from web.servers import Served
from web.test_web_browser import PASSPHRASE, create_profile

__all__ = ["chromium"]

pytestmark = pytest.mark.slow
TAP = 44
# What a finger aims at: controls, and links that stand alone (not words in a sentence).
TARGETS = (
    "button, select, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), "
    "summary, label.choice, .top a, .tabs a, .subnav a, .pager a, a.button, .post.compact h3 a"
)
SMALL = """(selector) => [...document.querySelectorAll(selector)]
  .filter((e) => e.offsetParent !== null)
  .map((e) => [e.outerHTML.slice(0, 90), e.getBoundingClientRect()])
  .filter(([, r]) => r.height < 44 || r.width < 44)
  .map(([html, r]) => `${Math.round(r.width)}x${Math.round(r.height)} ${html}`)"""
ON_SCREEN = """() => {
  const items = [...document.querySelectorAll('li.item')];
  items[0].scrollIntoView();
  return items.filter((e) => {
    const r = e.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight;
  }).length;
}"""


def _form(person: Person, path: str, fields: dict[str, str]) -> None:
    """Post a form as the page would (same session, its CSRF token)."""
    token = person.page.locator("input[name=csrf]").first.input_value()
    response = person.page.request.post(
        person.served.base + path, form={"csrf": token, **fields}, max_redirects=0
    )
    assert response.status == 303, response.text()[:2000]


def test_tap_targets_a_screen_of_needs_and_unlocking_where_one_was(
    chromium: Browser, tmp_path: Path
) -> None:
    served = Served(tmp_path / "nasrin", "--interval", "60")
    try:
        person = Person(chromium, served, "fa", screenshot_dir(tmp_path / "shots"))
        page = person.page
        create_profile(person)
        page.fill("#name", "شورای محله")
        page.fill("#founder", "نسرین")
        person.submit("form[action='/councils']")
        home = page.url.removeprefix(served.base)
        areas = "\n".join(f"street-{i} = خیابان {i} محلهٔ قدیم" for i in range(4))
        _form(person, home + "/areas", {"areas": areas})
        for i in range(12):
            need = {
                "category": ("water", "food", "medicine")[i % 3],
                "quantity": str(1 + i),
                "urgency": ("immediate", "urgent", "soon")[i % 3],
                "area": f"street-{i % 4}",
                "what": f"برای خانوادهٔ طبقهٔ سوم، شمارهٔ {i}",
            }
            if need["category"] == "medicine":
                need.update(medicine="انسولین", dose="۱۰۰ واحد")
            _form(person, home + "/needs/new", need)
        # A yes/no proposal: its ballot buttons are on the home page.
        proposal = {"title": "آب", "text": "مخزن", "deadline": "1", "deadline_unit": "hours"}
        _form(person, home + "/decisions/new", proposal)
        page.set_viewport_size(PHONE)
        person.goto(home + "/needs")
        assert page.evaluate(ON_SCREEN) >= 5
        item = page.locator(".post.compact h3 a").first.get_attribute("href")
        assert item is not None
        quick = home + "/needs/new?category=medicine&from=home"
        for path in (
            home,
            home + "/needs",
            item,
            home + "/members",
            home + "/alerts",
            "/join",
            quick,
        ):
            person.goto(path)
            assert page.evaluate(SMALL, TARGETS) == [], path
        person.goto(home)
        assert page.locator(".quick-ballot button").count() == 3
        assert page.locator(".quick-needs a.button").count() == 7
        # Locked, then asked for a page: the passphrase, and back to that page.
        asked = home + "/needs?category=water"
        person.goto(home)
        person.submit("form[action='/lock']")
        person.goto(asked)
        assert "/unlock?next=" in page.url
        page.fill("#passphrase", PASSPHRASE)
        person.submit("form[action^='/unlock']")
        assert page.url == served.base + asked
        person.close()
    finally:
        served.stop()
