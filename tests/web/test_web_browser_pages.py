"""Deciding, mutual aid and safety in a real browser: two people, two nodes (two
`shora serve` processes), one relay. Nasrin founds the council and admits Bahram;
she sets the areas and puts a proposal to the vote with a one-minute deadline; both
vote through the ballot form; she posts a need, he posts an offer, she confirms the
match; she calls the roll and he checks in; after the deadline she closes the vote
and both see the final result. Once in Persian, once in English: every page passes
axe-core's WCAG AA checks, fits a 360 px screen, raises no CSP violation, and is
photographed at phone and desktop width.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from web.browser import Person, chromium, screenshot_dir
from web.servers import Served
from web.test_web_browser import STORY, create_profile, relay_url

__all__ = ["chromium", "relay_url"]  # the fixtures, imported for the test below

WORDS = {
    "fa": {
        "areas": "block-4 = بلوک ۴\nmosque = مسجد",
        "proposal": "خرید مخزن آب",
        "text": "یک مخزن هزار لیتری برای بلوک ۴ بخریم.",
        "need": "برای پناهگاه",
        "offer": "آب چاه",
    },
    "en": {
        "areas": "block-4 = Block 4\nmosque = The mosque",
        "proposal": "Buy a water tank",
        "text": "Buy a 1000 litre tank for block 4.",
        "need": "For the shelter",
        "offer": "Well water",
    },
}


def join(nasrin: Person, bahram: Person, story: dict[str, str], relay: str) -> str:
    """The council, its relay, and Bahram admitted: the path of its home page."""
    page = nasrin.page
    page.fill("#name", story["council"])
    page.fill("#founder", story["nasrin"])
    page.locator("form[action='/councils'] summary").click()
    page.fill("#min-vote-hours", "0")  # this council's votes may close within minutes
    nasrin.submit("form[action='/councils']")
    home = page.url.removeprefix(nasrin.served.base)
    nasrin.goto("/sync")
    page.fill("#relay-url", relay)
    nasrin.submit("form[action='/sync/relays']")
    nasrin.goto(home + "/members")
    nasrin.submit(f"form[action='{home}/invite']")
    invitation = page.input_value("#invitation-text")
    bahram.goto("/join")
    bahram.page.fill("#invitation", invitation)
    bahram.page.fill("#join-name", story["bahram"])
    bahram.submit("form[action='/join']")
    request = bahram.page.input_value("#join-request")
    nasrin.goto(home + "/members")
    page.fill("#request", request)
    nasrin.submit(f"form[action='{home}/admit']")
    return home


def check(person: Person, name: str, path: str) -> None:
    """Accessible, fits a phone, photographed."""
    person.goto(path)
    assert person.axe() == [], name
    assert person.fits_a_phone(), name
    person.screenshots(name)


@pytest.mark.slow  # two nodes, two browsers, and a vote's minute to wait
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_deciding_and_helping_on_two_nodes(
    chromium: Browser, relay_url: str, tmp_path: Path, lang: str
) -> None:
    story, words = STORY[lang], WORDS[lang]
    shots = screenshot_dir(tmp_path / "screenshots")
    nodes = [Served(tmp_path / n, "--interval", "1") for n in ("nasrin", "bahram")]
    people: list[Person] = []
    try:
        nasrin, bahram = (Person(chromium, node, lang, shots) for node in nodes)
        people += [nasrin, bahram]
        create_profile(nasrin)
        create_profile(bahram)
        home = join(nasrin, bahram, story, relay_url)
        page = nasrin.page

        # The map of areas, then a proposal that closes in a minute.
        nasrin.goto(home + "/areas")
        page.fill("#a-areas", words["areas"])
        page.fill("#a-edges", "block-4 mosque 2")
        nasrin.submit(f"form[action='{home}/areas']")
        nasrin.goto(home)
        page.locator(f"a[href='{home}/decisions']").first.click()
        page.locator(f"main a[href='{home}/decisions/new']").first.click()
        page.fill("#p-title", words["proposal"])
        page.fill("#p-text", words["text"])
        page.fill("#p-deadline", "1")
        page.select_option("select[name='deadline_unit']", "minutes")
        proposed_at = time.monotonic()
        nasrin.submit(f"form[action='{home}/decisions/new']")
        proposal = page.url.removeprefix(nasrin.served.base)
        assert words["proposal"] in page.content()
        page.check("input[name='vote'][value='yes']")
        nasrin.submit(f"form[action='{proposal}/vote']")
        assert page.url.endswith("?voted=1")

        # Bahram's node syncs: he votes on the same proposal from his own pages.
        bahram.wait_for(home, words["proposal"])
        bahram.goto(proposal)
        bahram.page.check("input[name='vote'][value='yes']")
        bahram.submit(f"form[action='{proposal}/vote']")

        # A need, an offer, the match confirmed.
        nasrin.goto(home + "/needs/new")
        page.select_option("#i-category", "water")
        page.fill("#i-quantity", "20")
        page.fill("#i-what", words["need"])
        page.select_option("#i-urgency", "urgent")
        page.select_option("#i-area", "block-4")
        nasrin.submit(f"form[action='{home}/needs/new']")
        bahram.wait_for(home + "/needs", words["need"])
        bahram.goto(home + "/offers/new")
        bahram.page.select_option("#i-category", "water")
        bahram.page.fill("#i-quantity", "50")
        bahram.page.fill("#i-what", words["offer"])
        bahram.page.select_option("#i-area", "mosque")
        bahram.submit(f"form[action='{home}/offers/new']")
        assert bahram.page.url.endswith("/offers?posted=1")
        nasrin.wait_for(home + "/match", words["offer"])
        nasrin.submit(f"form[action='{home}/match/commit']")
        assert page.locator(f"form[action='{home}/match/fulfil']").count() == 1

        # The roll call, and Bahram's check-in with the big button on his home page.
        nasrin.goto(home + "/rollcalls")
        nasrin.submit(f"form[action='{home}/rollcalls']")
        bahram.wait_for(home + "/rollcalls", story["nasrin"])
        bahram.goto(home)
        bahram.page.locator(".checkin button[value='safe']").click()
        bahram.page.wait_for_url(lambda url: "checked_in=safe" in url)
        nasrin.wait_for(home + "/rollcalls", "checkin-safe")
        nasrin.wait_for(home + "/match", words["offer"])
        nasrin.wait_for(proposal, f"<bdi>{'۲' if lang == 'fa' else '2'}</bdi>")  # two ballots

        # While the vote's minute runs out: an open need, so its forms (note, delivery,
        # withdraw) are checked too, and the pages that closing the vote leaves as they are.
        nasrin.goto(home + "/needs/new")
        page.select_option("#i-category", "baby_food")
        page.fill("#i-quantity", "4")
        page.select_option("#i-urgency", "immediate")
        nasrin.submit(f"form[action='{home}/needs/new']")
        for name, path in (
            ("propose", home + "/decisions/new"),
            ("roles", home + "/roles"),
            ("rules", home + "/rules"),
            ("needs", home + "/needs"),
            ("post-need", home + "/needs/new"),
            ("offers", home + "/offers"),
            ("match", home + "/match"),
            ("stocks", home + "/stocks"),
            ("skills", home + "/skills"),
            ("summary", home + "/summary"),
            ("alerts", home + "/alerts"),
            ("rollcalls", home + "/rollcalls"),
            ("missing", home + "/missing"),
            ("deadman", home + "/deadman"),
        ):
            check(nasrin, name, path)

        # Past the deadline: Nasrin closes the vote; both see the final result.
        time.sleep(max(0.0, 62 - (time.monotonic() - proposed_at)))
        nasrin.goto(proposal)
        nasrin.submit(f"form[action='{proposal}/close']")
        assert page.locator(f"form[action='{proposal}/outcome']").count() == 1
        assert page.locator("p.ok").count() >= 1  # passed
        bahram.wait_for(proposal, f"{proposal}/outcome")
        assert bahram.page.locator("p.ok").count() >= 1
        for name, path in (
            ("council-home", home),
            ("proposals", home + "/decisions"),
            ("proposal", proposal),
            ("tasks", home + "/tasks"),
        ):
            check(nasrin, name, path)
        for person in people:
            assert person.csp_errors == []
    finally:
        for person in people:
            person.close()
        for node in nodes:
            node.stop()


def test_a_ranked_ballot_by_dragging(chromium: Browser, tmp_path: Path) -> None:
    """The drag-to-reorder script numbers the options in the order they are dropped."""
    served = Served(tmp_path / "one", "--interval", "30")
    person = Person(chromium, served, "en", screenshot_dir(tmp_path / "shots"))
    try:
        create_profile(person)
        page = person.page
        page.fill("#name", "Depot")
        page.fill("#founder", "Ava")
        person.submit("form[action='/councils']")
        home = page.url.removeprefix(served.base)
        person.goto(home + "/decisions/new")
        page.fill("#p-title", "Where to meet")
        page.select_option("#p-method", "irv")
        page.fill("#p-options", "Mosque\nSchool\nClinic")
        person.submit(f"form[action='{home}/decisions/new']")
        assert page.locator("[data-rank-hint]").is_visible()
        items = page.locator("[data-rank-item]")
        items.nth(2).drag_to(items.nth(0))
        assert page.input_value("#b-rank-2") == "1"
        person.submit("form.ballot")
        assert page.url.endswith("?voted=1")
        assert page.input_value("#b-rank-2") == "1"
        person.screenshots("ranked-ballot")
        assert person.axe() == []
        assert person.csp_errors == []
    finally:
        person.close()
        served.stop()
