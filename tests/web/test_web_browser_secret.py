"""A secret ballot in a real browser, once in Persian and once in English: one
`shora serve` process; Nasrin puts a proposal to a secret ballot with herself as the
teller, makes the vote's key on the tellers' page, votes, closes the vote after its
one-minute deadline, and her running node publishes its decryption share by itself.
Every page passes axe-core, fits 360 px, and is photographed."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from web.browser import Person, chromium, screenshot_dir
from web.servers import Served
from web.test_web_browser import create_profile

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


def check(person: Person, name: str) -> None:
    assert person.axe() == []
    assert person.fits_a_phone()
    assert person.csp_errors == []
    person.screenshots(name)


@pytest.mark.slow  # a real server and browser, and a one-minute vote
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_a_secret_ballot_in_the_browser(chromium: Browser, tmp_path: Path, lang: str) -> None:
    words = WORDS[lang]
    served = Served(tmp_path / "nasrin", "--interval", "1")
    person = Person(chromium, served, lang, screenshot_dir(tmp_path / "shots"))
    try:
        create_profile(person)
        page = person.page
        page.fill("#name", words["council"])
        page.fill("#founder", words["founder"])
        page.locator("form[action='/councils'] summary").click()
        page.fill("#min-vote-hours", "0")
        person.submit("form[action='/councils']")
        home = page.url.removeprefix(served.base)
        person.goto(home + "/secret/new")
        page.fill("#s-title", words["title"])
        page.fill("#s-text", words["text"])
        page.fill("#s-deadline", "1")
        page.select_option("select[name='deadline_unit']", "minutes")
        page.locator("input[name='teller']").first.check()
        page.fill("#s-needed", "1")
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
