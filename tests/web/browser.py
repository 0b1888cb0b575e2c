"""Playwright driving Debian's Chromium, for the web interface's browser tests.

Fixtures and helpers (docs/web.md, "Testing a page area in the browser"):

- `chromium`: one headless Chromium per test module (never `playwright install`:
  the system's /usr/bin/chromium, with Playwright's bundled driver).
- `Person(chromium, served, lang)`: one person at one node's pages: a browser context
  speaking `lang` that has opened the node's login link.
- `person.axe()`: axe-core's WCAG 2 A/AA violations on the current page.
- `person.screenshots(name)`: the page at 360 px and at desktop width, saved under
  $SHORA_SCREENSHOTS (e.g. docs/screenshots) or the test's own directory.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from web.servers import Served

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_ENV = "SHORA_AXE_CORE"
SCREENSHOTS_ENV = "SHORA_SCREENSHOTS"
ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 860}
LOCALES = {"fa": "fa-IR", "en": "en-GB"}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    # Per module: each test module imports this fixture, so pytest keeps one per
    # module, and two Playwright instances must not be alive at once.
    if not Path(CHROMIUM).exists():  # a failure in CI (see conftest), which installs it
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (scripts/test.sh does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def axe_source() -> str:
    path = Path(
        os.environ.get(
            AXE_ENV, ROOT / ".cache" / "node" / "node_modules" / "axe-core" / "axe.min.js"
        )
    )
    if not path.exists():  # a failure in CI (see conftest), which installs it
        pytest.skip(f"no axe-core at {path} (${AXE_ENV}): scripts/test.sh installs it")
    return path.read_text(encoding="utf-8")


def screenshot_dir(fallback: Path) -> Path:
    where = Path(os.environ.get(SCREENSHOTS_ENV) or fallback)
    where.mkdir(parents=True, exist_ok=True)
    return where


class Person:
    """One person using one node's pages in their own browser context."""

    def __init__(self, chromium: Browser, served: Served, lang: str, shots: Path) -> None:
        self.served = served
        self.lang = lang
        self.shots = shots
        self.context = chromium.new_context(
            locale=LOCALES[lang],
            extra_http_headers={"Accept-Language": LOCALES[lang]},
            viewport=DESKTOP,
        )
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.csp_errors: list[str] = []
        self.page.on("console", self._console)
        self.page.goto(served.link)
        self.page.wait_for_url(lambda url: "/login" not in url)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp_errors.append(message.text)

    def goto(self, path: str) -> Page:
        self.page.goto(self.served.base + path)
        return self.page

    def submit(self, form: str) -> None:
        """Press the (first) button of the form matching `form` and wait for the page."""
        with self.page.expect_navigation():
            self.page.locator(form).locator("button").first.click()

    def wait_for(self, path: str, text: str, timeout: float = 90.0) -> None:
        """Reload `path` until `text` shows (the nodes sync every second)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.goto(path)
            if text in self.page.content():
                return
            time.sleep(1)
        raise AssertionError(f"{text!r} never appeared at {path} on {self.served.base}")

    def axe(self) -> list[dict[str, Any]]:
        """WCAG 2 A and AA violations (colour contrast included) on the current page."""
        self.page.evaluate(axe_source())
        result = self.page.evaluate(
            "() => axe.run(document, {runOnly: {type: 'tag', "
            "values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        )
        return [
            {"id": v["id"], "nodes": [n["html"][:120] for n in v["nodes"]][:3]}
            for v in result["violations"]
        ]

    def screenshots(self, name: str) -> None:
        for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
            self.page.set_viewport_size(size)
            path = self.shots / f"{name}-{self.lang}-{label}.png"
            self.page.screenshot(path=str(path), full_page=True)
        self.page.set_viewport_size(DESKTOP)

    def fits_a_phone(self) -> bool:
        """Nothing wider than a 360 px screen: no sideways scrolling."""
        self.page.set_viewport_size(PHONE)
        width = int(self.page.evaluate("() => document.documentElement.scrollWidth"))
        self.page.set_viewport_size(DESKTOP)
        return width <= PHONE["width"]

    def close(self) -> None:
        self.context.close()
