"""Two people, two nodes (two `shora serve` processes), one relay, a real browser.

Nasrin creates her profile and a council in the browser, adds the relay, invites
Bahram; he creates his profile on his own node and joins with the invitation; she
admits him; they post and check in and see each other's words after sync. Once in
Persian, once in English, with axe-core finding no WCAG AA violation on the pages,
every page fitting a 360 px screen, no Content-Security-Policy violation, and
screenshots of the main pages at phone and desktop width.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from test_network import free_port, start_relay

from web.browser import Person, chromium, screenshot_dir
from web.servers import Served

__all__ = ["chromium"]  # the fixture, imported for the tests below

PASSPHRASE = "a long passphrase for tests"
STORY = {
    "fa": {
        "council": "کمیتهٔ محلهٔ ۴",
        "nasrin": "نسرین",
        "bahram": "بهرام",
        "title": "آب",
        "text": "آب در مسجد ساعت ۶",
        "reply": "ژنراتور خیابان ۴ آزاد است",
    },
    "en": {
        "council": "Block 4 committee",
        "nasrin": "Nasrin",
        "bahram": "Bahram",
        "title": "Water",
        "text": "Water at the mosque at 6",
        "reply": "Generator free on street 4",
    },
}


@pytest.fixture
def relay_url() -> Iterator[str]:
    port = free_port()
    relay = start_relay(port)
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        relay.stop()


def create_profile(person: Person) -> None:
    page = person.page
    assert page.url.endswith("/welcome")
    page.fill("#passphrase", PASSPHRASE)
    page.fill("#again", PASSPHRASE)
    person.submit("form[action='/welcome']")
    assert page.url.endswith("/councils"), page.content()[:3000]


@pytest.mark.slow  # two nodes and two browsers through the whole story
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_two_people_on_two_nodes(
    chromium: Browser, relay_url: str, tmp_path: Path, lang: str
) -> None:
    story = STORY[lang]
    shots = screenshot_dir(tmp_path / "screenshots")
    nodes = [Served(tmp_path / n, "--interval", "1") for n in ("nasrin", "bahram")]
    people: list[Person] = []
    try:
        nasrin, bahram = (Person(chromium, node, lang, shots) for node in nodes)
        people += [nasrin, bahram]
        assert nasrin.page.get_attribute("html", "dir") == ("rtl" if lang == "fa" else "ltr")
        assert nasrin.page.get_attribute("html", "lang") == lang
        nasrin.screenshots("welcome")
        assert nasrin.axe() == []
        create_profile(nasrin)
        create_profile(bahram)

        # Nasrin founds the council and says where it syncs.
        page = nasrin.page
        page.fill("#name", story["council"])
        page.fill("#founder", story["nasrin"])
        nasrin.submit("form[action='/councils']")
        home = page.url.removeprefix(nasrin.served.base)
        assert story["council"] in page.content()
        nasrin.goto("/sync")
        page.fill("#relay-url", relay_url)
        nasrin.submit("form[action='/sync/relays']")
        assert relay_url in page.content()

        # The invitation: QR code and text; Bahram joins with it on his node.
        nasrin.goto(home + "/members")
        nasrin.submit(f"form[action='{home}/invite']")
        assert page.locator(".qr svg").count() == 1
        invitation = page.input_value("#invitation-text")
        nasrin.screenshots("invitation")
        assert nasrin.axe() == []
        bahram.goto("/join")
        bahram.page.fill("#invitation", invitation)
        bahram.page.fill("#join-name", story["bahram"])
        bahram.submit("form[action='/join']")
        request = bahram.page.input_value("#join-request")

        nasrin.goto(home + "/members")
        page.fill("#request", request)
        nasrin.submit(f"form[action='{home}/admit']")
        assert story["bahram"] in page.inner_text("main")
        nasrin.goto(home + "/posts")
        page.fill("#title", story["title"])
        page.fill("#text", story["text"])
        nasrin.submit(f"form[action='{home}/posts']")

        # Bahram's node syncs through the relay: the council, then the announcement.
        bahram.wait_for("/councils", story["council"])
        bahram.wait_for(home, story["text"])
        bahram.page.locator(".checkin button[value='safe']").click()
        bahram.page.wait_for_url(lambda url: "checked_in=safe" in url)
        bahram.goto(home + "/posts")
        bahram.page.fill("#text", story["reply"])
        bahram.submit(f"form[action='{home}/posts']")
        nasrin.wait_for(home + "/posts", story["reply"])
        nasrin.wait_for(home + "/members", story["bahram"])

        # Every main page: accessible, fits a phone, and photographed.
        for name, path in (
            ("councils", "/councils"),
            ("home", home),
            ("members", home + "/members"),
            ("posts", home + "/posts"),
            ("sync", "/sync"),
        ):
            nasrin.goto(path)
            assert nasrin.axe() == [], name
            assert nasrin.fits_a_phone(), name
            nasrin.screenshots(name)
        nasrin.goto("/join")
        assert nasrin.axe() == []

        # The keyboard: the first Tab reaches the skip link, which leads to the content.
        nasrin.goto(home)
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.className") == "skip"
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == "main"

        # Locking from the page: the passphrase is asked again.
        nasrin.submit("form[action='/lock']")
        assert page.url.endswith("/unlock")
        assert nasrin.axe() == []
        page.fill("#passphrase", PASSPHRASE)
        nasrin.submit("form[action^='/unlock']")
        assert page.url.endswith("/") or page.url.endswith("/councils")
        for person in people:
            assert person.csp_errors == []
    finally:
        for person in people:
            person.close()
        for node in nodes:
            node.stop()
