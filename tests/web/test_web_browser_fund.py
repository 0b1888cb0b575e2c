"""The strike fund's pages in a real browser, on one `shora serve` node whose founder
was elected treasurer and auditor: in Persian at 360x740 and in English at desktop
width, every page passes axe-core's WCAG AA checks, fits a 360 px screen with 44 px tap
targets, raises no CSP violation, and is photographed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from conftest import FAST_KDF
from shora.domain.decisions import kinds as dk
from shora.kernel import kinds
from shora.node import Node
from web.browser import PHONE, Person, chromium, screenshot_dir
from web.servers import Served
from web.test_web_browser import PASSPHRASE
from web.test_web_browser_phone import SMALL, TARGETS

__all__ = ["chromium"]

pytestmark = pytest.mark.slow
DAY = 86_400
WORDS = {
    "fa": ("شورای کارگران کارخانه", "نسرین", "خانوادهٔ کریمی", "مریم، پرستار", "کرایهٔ خانه"),
    "en": ("Factory workers' council", "Nasrin", "The Karimi family", "Maryam, a nurse", "rent"),
}


def _fund_home(home: Path, lang: str) -> str:
    """A profile whose council has a fund: limits voted, the founder elected treasurer
    and auditor three days ago, a few contributions, a payment and an open request."""
    council_name, founder, family, giver, why = WORDS[lang]
    node = Node.create(home, PASSPHRASE, kdf_limits=FAST_KDF, allow_weak_kdf=True)
    start = time.time() - 3 * DAY
    node.now = lambda: start
    rules = kinds.Rules(treasurer_limits=[kinds.TreasurerLimit("toman", 5_000_000, 30)])
    council = node.councils.create(council_name, "", founder, rules)
    me = node.councils.members(council)[0].key
    for role in ("treasurer", "auditor"):
        pid = node.governance.elect(council, role, [me], hours=25)
        node.decisions.vote(council, pid, dk.RankedBallot([me.hex()]))
    node.now = lambda: start + 2 * DAY
    for proposal in node.decisions.proposals(council):
        node.decisions.close(council, proposal.id)
    node.now = time.time
    node.fund.receive(council, "toman", 12_500_000, name=giver)
    node.fund.receive(council, "usd", 25_000, name="Solidarity fund abroad")
    node.fund.pledge(council, "toman", 2_000_000, memo=why)
    node.fund.disburse(council, "toman", 3_000_000, name=family, note=why)
    request = node.fund.request(council, "toman", 8_000_000, name=family, note=why)
    node.fund.put_to_vote(council, request)
    node.close()
    return "/councils/" + council.hex()


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_fund_pages_in_a_browser(chromium: Browser, tmp_path: Path, lang: str) -> None:
    home = tmp_path / "nasrin"
    council = _fund_home(home, lang)
    served = Served(home, "--interval", "60", passphrase=PASSPHRASE)
    try:
        person = Person(chromium, served, lang, screenshot_dir(tmp_path / "shots"))
        page = person.page
        if "/unlock" in page.url:
            page.fill("#passphrase", PASSPHRASE)
            person.submit("form[action^='/unlock']")
        for path, name in (
            ("/fund", "fund"),
            ("/fund/requests", "fund-requests"),
            ("/fund/ledger", "fund-ledger"),
        ):
            person.goto(council + path)
            assert page.locator("main h2").count() >= 1, page.content()[:2000]
            assert person.axe() == [], path
            assert person.fits_a_phone(), path
            page.set_viewport_size(PHONE)
            assert page.evaluate(SMALL, TARGETS) == [], path
            person.screenshots(name)
        assert person.csp_errors == []
        person.close()
    finally:
        served.stop()
