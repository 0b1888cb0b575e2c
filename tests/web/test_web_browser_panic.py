"""Getting out fast in a real browser: Lock now, the duress settings page, and the
panic shortcut (Esc three times), on a `shora serve` process; the pages stay
accessible and fit a phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from shora.kernel import profile
from web.browser import Person, chromium, screenshot_dir
from web.servers import Served
from web.test_web_browser import PASSPHRASE, create_profile

__all__ = ["chromium"]


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_lock_now_and_the_panic_shortcut(chromium: Browser, tmp_path: Path, lang: str) -> None:
    home = tmp_path / "nasrin"
    served = Served(home)
    person = None
    try:
        person = Person(chromium, served, lang, screenshot_dir(tmp_path / "shots"))
        create_profile(person)
        page = person.page
        assert person.fits_a_phone()  # the header's Lock now and Panic included
        person.goto("/settings/duress")
        assert person.axe() == [] and person.fits_a_phone()
        person.goto("/panic")
        assert person.axe() == []
        # Lock now: a plain form in the header.
        person.goto("/councils")
        person.submit("form[action='/lock']")
        assert "/unlock" in page.url
        page.fill("#passphrase", PASSPHRASE)
        person.submit("form[action^='/unlock']")
        assert page.url.endswith("/councils")
        # Esc three times: destroyed without a question.
        with page.expect_navigation():
            for _ in range(3):
                page.keyboard.press("Escape")
        assert not (home / profile.KEYSTORE_FILE).exists()
        assert person.csp_errors == []
    finally:
        if person is not None:
            person.close()
        served.stop()
    assert not home.exists()
