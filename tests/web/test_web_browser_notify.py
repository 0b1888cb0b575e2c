"""The optional browser notification in a real browser: nothing is asked before the
person clicks "notify me"; after the click (permission granted) the page polls the
notifications count from its own node only, and no request leaves for anywhere else."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser

from web.browser import Person, chromium, screenshot_dir
from web.servers import Served
from web.test_web_browser import create_profile

__all__ = ["chromium"]


def test_notify_me_asks_only_on_click_and_polls_its_own_node(
    chromium: Browser, tmp_path: Path
) -> None:
    served = Served(tmp_path / "nasrin")
    person = None
    try:
        person = Person(chromium, served, "en", screenshot_dir(tmp_path / "shots"))
        create_profile(person)
        page = person.page
        page.fill("#name", "Depot")
        page.fill("#founder", "Nasrin")
        person.submit("form[action='/councils']")
        home = page.url.removeprefix(served.base)
        asked: list[str] = []
        page.expose_function("recordAsk", lambda: asked.append("ask"))
        page.add_init_script(
            "const ask = Notification.requestPermission.bind(Notification);"
            "Notification.requestPermission = () => { window.recordAsk(); return ask(); };"
        )
        elsewhere: list[str] = []
        page.on(
            "request",
            lambda r: None if r.url.startswith(served.base) else elsewhere.append(r.url),
        )
        person.context.grant_permissions(["notifications"], origin=served.base)
        person.goto(home + "/notifications")
        button = page.locator("#notify-me")
        assert button.is_visible() and asked == []
        with page.expect_request(lambda r: r.url.endswith(home + "/notifications/count")):
            button.click()
        assert asked == ["ask"] and button.is_disabled()
        assert elsewhere == [] and person.csp_errors == []
    finally:
        if person is not None:
            person.close()
        served.stop()
