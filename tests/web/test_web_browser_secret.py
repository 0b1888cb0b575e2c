"""A secret ballot in a real browser, once in Persian and once in English: one
`shora serve` process; Nasrin, elected teller, puts a proposal to a secret ballot,
makes the vote's key on the tellers' page, votes, closes the vote after its
one-minute deadline, and her running node publishes its decryption share by itself.
Every page passes axe-core, fits 360 px, and is photographed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from conftest import FAST_KDF
from shora.domain.decisions import kinds as dk
from shora.kernel.kinds import Rules
from shora.node import Node
from web.browser import Person, chromium, screenshot_dir
from web.servers import Served
from web.test_web_browser import PASSPHRASE

__all__ = ["chromium"]

WORDS = {
    "fa": {
        "council": "شورای کارگران کارخانه",
        "founder": "نسرین",
        "title": "اعتصاب از دوشنبه؟",
        "text": "اگر به اندازهٔ کافی از ما همراه شویم.",
        "counted": "شمرده شد: نتیجه قطعی است",
    },
    "en": {
        "council": "Factory workers' council",
        "founder": "Nasrin",
        "title": "Strike from Monday?",
        "text": "If enough of us do.",
        "counted": "counted: the result is final",
    },
}


def _teller_home(home: Path, words: dict[str, str]) -> str:
    """A profile whose council elected its founder teller two hours ago."""
    node = Node.create(home, PASSPHRASE, kdf_limits=FAST_KDF, allow_weak_kdf=True)
    start = time.time() - 3 * 3600
    node.now = lambda: start
    council = node.councils.create(words["council"], "", words["founder"], Rules(min_vote_hours=0))
    me = node.councils.members(council)[0].key
    pid = node.governance.elect(council, "teller", [me], hours=1)
    node.decisions.vote(council, pid, dk.RankedBallot([me.hex()]))
    node.now = lambda: start + 2 * 3600
    node.decisions.close(council, pid)
    node.close()
    return "/councils/" + council.hex()


def check(person: Person, name: str) -> None:
    assert person.axe() == []
    assert person.fits_a_phone()
    assert person.csp_errors == []
    person.screenshots(name)


@pytest.mark.slow  # a real server and browser, and a one-minute vote
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_a_secret_ballot_in_the_browser(chromium: Browser, tmp_path: Path, lang: str) -> None:
    words = WORDS[lang]
    home = _teller_home(tmp_path / "nasrin", words)
    served = Served(tmp_path / "nasrin", "--interval", "1", passphrase=PASSPHRASE)
    person = Person(chromium, served, lang, screenshot_dir(tmp_path / "shots"))
    try:
        page = person.page
        if "/unlock" in page.url:
            page.fill("#passphrase", PASSPHRASE)
            person.submit("form[action^='/unlock']")
        person.goto(home + "/secret/new")
        page.fill("#s-title", words["title"])
        page.fill("#s-text", words["text"])
        page.fill("#s-deadline", "1")
        page.select_option("select[name='deadline_unit']", "minutes")
        check(person, "secret-new")
        person.submit(f"form[action='{home}/secret/new']")
        vote = page.url.removeprefix(served.base)
        person.goto(vote + "/tellers")
        if page.locator(f"form[action='{vote}/teller']").count():  # unless a round did it
            person.submit(f"form[action='{vote}/teller']")
        check(person, "secret-tellers")
        person.goto(vote)
        page.locator("input[name='vote'][value='yes']").check()
        person.submit("form.ballot")
        assert page.url.endswith("?voted=1")
        check(person, "secret-ballot")
        page.wait_for_timeout(62_000)  # the deadline
        person.goto(vote)
        person.submit(f"form[action='{vote}/close']")
        person.wait_for(vote, words["counted"])  # the running node published its share
        check(person, "secret-result")
        person.goto(home + "/secret")
        check(person, "secret-list")
    finally:
        person.close()
        served.stop()
