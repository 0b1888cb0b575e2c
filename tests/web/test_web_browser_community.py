"""Three phones, one community node over HTTPS on the loopback, a real Chromium.

The node prints its address and its certificate's fingerprint; the test checks that
the certificate it serves has that fingerprint, then lets the phones' browsers accept
it (as a person would, having compared the fingerprint). Each person creates their
own profile from their phone; Nasrin founds a council and invites the others, who
join; each checks in, and Bahram's call for help reaches the two others after sync
(each profile is a node of its own, syncing through the relay). No phone reaches
another's pages or API by URL, cookie or CSRF token; the service worker keeps the
static files only. With the CPU slowed 6x (a cheap phone), every main page's load is
timed and printed, with the static payload (no timing is asserted).
"""

from __future__ import annotations

import base64
import hashlib
import re
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright
from test_network import free_port, start_relay

from cli_run import base_env
from web.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, axe_source

pytestmark = pytest.mark.slow

URL = re.compile(r"(https://[^\s]+/)")
FINGERPRINT = re.compile(r"\(SHA-256\): ([0-9A-F:]{95})")
PASSPHRASE = {
    "Nasrin": "nasrin's long passphrase",
    "Bahram": "bahram's passphrase here",
    "Sara": "sara's own passphrase",
}
COUNCIL_PATH = re.compile(r"/councils/[0-9a-f]{64}")


class CommunityNode:
    """One `shora community serve` process: its address and printed fingerprint."""

    def __init__(self, root: Path, home: Path, *args: str) -> None:
        env = {**base_env(), "SHORA_HOME": str(home)}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shora.cli.main",
                "community",
                "serve",
                "--dir",
                str(root),
                "--port",
                "0",
                *args,
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.lines: list[str] = []
        self.fingerprint = ""
        assert self.proc.stdout is not None
        while not self.fingerprint:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"shora community serve ended: {self.lines} {self.stop()}")
            self.lines.append(line.strip())
            if (found := URL.search(line)) is not None:
                self.base = found.group(1).rstrip("/")
            if (found := FINGERPRINT.search(line)) is not None:
                self.fingerprint = found.group(1)
        self.port = int(self.base.rsplit(":", 1)[1])

    def served_fingerprint(self) -> str:
        der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", self.port)))
        return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())

    def served_key_pin(self) -> str:
        """The served certificate's public key as Chromium pins it (base64 SHA-256 of
        the SubjectPublicKeyInfo)."""
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        pem = ssl.get_server_certificate(("127.0.0.1", self.port))
        key = x509.load_pem_x509_certificate(pem.encode()).public_key()
        spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(hashlib.sha256(spki).digest()).decode()

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        assert self.proc.stderr is not None and self.proc.stdout is not None
        self.lines += self.proc.stdout.read().splitlines()
        err = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return err


class Phone:
    """One person's phone: a phone-sized browser context of its own."""

    def __init__(self, chromium: Browser, node: CommunityNode, name: str) -> None:
        self.node = node
        self.name = name
        self.context: BrowserContext = chromium.new_context(
            viewport=PHONE,
            is_mobile=True,
            has_touch=True,
            ignore_https_errors=False,
            locale="en-GB",
            extra_http_headers={"Accept-Language": "en-GB"},
        )
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.csp_errors: list[str] = []
        self.page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_errors.append(message.text)

    def goto(self, path: str) -> Page:
        self.page.goto(self.node.base + path)
        return self.page

    def submit(self, form: str) -> None:
        with self.page.expect_navigation():
            self.page.locator(form).locator("button").first.click()

    def path(self) -> str:
        return self.page.url.removeprefix(self.node.base)

    def create_profile(self) -> None:
        self.goto("/")
        assert self.path().startswith("/unlock")
        self.page.locator("a[href='/welcome']").click()
        self.page.fill("#name", self.name)
        self.page.fill("#passphrase", PASSPHRASE[self.name])
        self.page.fill("#again", PASSPHRASE[self.name])
        self.submit("form[action='/welcome']")
        assert self.path() == "/councils", self.page.content()[:2000]

    def wait_for(self, path: str, selector: str, text: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.goto(path)
            if text in " ".join(self.page.locator(selector).all_inner_texts()):
                return
            time.sleep(1)
        raise AssertionError(f"{text!r} never appeared in {selector} at {path} for {self.name}")

    def fetch(self, method: str, path: str, **headers: str) -> dict[str, Any]:
        """A fetch from this phone's page (its cookie, its origin)."""
        result: dict[str, Any] = self.page.evaluate(
            """async ([method, path, headers]) => {
                const r = await fetch(path, {method, headers, redirect: "manual",
                                             body: method === "POST" ? "text=forged" : undefined});
                const opaque = r.type === "opaqueredirect";
                return {status: r.status, type: r.type, text: opaque ? "" : await r.text()};
            }""",
            [method, path, {"content-type": "application/x-www-form-urlencoded", **headers}],
        )
        return result

    def axe(self) -> list[dict[str, Any]]:
        """WCAG 2 A and AA violations on the current page (axe-core)."""
        self.page.evaluate(axe_source())
        result = self.page.evaluate(
            "() => axe.run(document, {runOnly: {type: 'tag', "
            "values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        )
        return [{"id": v["id"], "nodes": len(v["nodes"])} for v in result["violations"]]

    def fits(self) -> bool:
        """Nothing wider than the phone's 360 px: no sideways scrolling."""
        return int(self.page.evaluate("() => document.documentElement.scrollWidth")) <= 360

    def csrf(self) -> str:
        return str(self.page.locator("input[name='csrf']").first.get_attribute("value"))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def relay_url() -> Iterator[str]:
    port = free_port()
    relay = start_relay(port)
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        relay.stop()


def timed_loads(phone: Phone, paths: dict[str, str]) -> dict[str, float]:
    """Each page's load (navigation start to load event), in ms, CPU slowed 6x, and
    the part of it the node took to answer (request sent to first byte)."""
    cdp = phone.context.new_cdp_session(phone.page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 6})
    timings: dict[str, float] = {}
    try:
        for name, path in paths.items():
            phone.goto(path)
            phone.page.wait_for_load_state("load")
            load, server = phone.page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0];"
                " return [n.loadEventEnd - n.startTime, n.responseStart - n.requestStart]; }"
            )
            timings[name] = round(float(load), 1)
            timings[name + " (server)"] = round(float(server), 1)
    finally:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
        cdp.detach()
    return timings


def static_bytes(phone: Phone) -> dict[str, int]:
    """What the current page fetched from /static/ (sizes of the bodies)."""
    entries = phone.page.evaluate(
        "() => performance.getEntriesByType('resource').map("
        " e => [new URL(e.name).pathname, e.decodedBodySize])"
    )
    return {str(p): int(s) for p, s in entries if str(p).startswith("/static/")}


@pytest.fixture
def node(tmp_path: Path) -> Iterator[CommunityNode]:
    made = CommunityNode(tmp_path / "community", tmp_path / "home", "--interval", "1")
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture
def chromium(node: CommunityNode) -> Iterator[Browser]:
    """Chromium trusting the node's certificate by its key, once the test has checked
    that the certificate served is the one whose fingerprint the node printed (as a
    person compares the fingerprint on the node's screen with their browser's)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    assert node.base.startswith("https://127.0.0.1:")
    assert node.served_fingerprint() == node.fingerprint
    pin = f"--ignore-certificate-errors-spki-list={node.served_key_pin()}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, pin]
        )
        yield browser
        browser.close()


def test_three_phones_one_community_node(
    chromium: Browser, node: CommunityNode, relay_url: str
) -> None:
    phones: list[Phone] = []
    try:
        nasrin, bahram, sara = (Phone(chromium, node, n) for n in ("Nasrin", "Bahram", "Sara"))
        phones += [nasrin, bahram, sara]
        nasrin.goto("/node")
        assert node.fingerprint in nasrin.page.inner_text("main")
        for path in ("/node", "/unlock", "/welcome"):  # the community's own pages
            nasrin.goto(path)
            assert nasrin.axe() == [], path
            assert nasrin.fits(), path
        for phone in phones:
            phone.create_profile()
        assert nasrin.page.evaluate("() => window.isSecureContext") is True
        assert nasrin.page.evaluate("() => document.cookie") == ""  # HttpOnly

        # Nasrin's council, its relay, an invitation for each of the others.
        page = nasrin.page
        page.fill("#name", "Block 4 committee")
        page.fill("#founder", "Nasrin")
        nasrin.submit("form[action='/councils']")
        home = COUNCIL_PATH.search(nasrin.path())
        assert home is not None
        home_path = home.group(0)
        nasrin.goto("/sync")
        page.fill("#relay-url", relay_url)
        nasrin.submit("form[action='/sync/relays']")

        # Before joining, the others cannot reach her council by its address, nor act
        # there with her CSRF token; the API lists only their own councils.
        for other in (bahram, sara):
            other.goto(home_path)
            assert "Block 4 committee" not in other.page.content()
            assert other.fetch("GET", "/api" + home_path)["status"] == 404
            assert other.fetch("GET", "/api/councils")["text"].strip() == "[]"
            forged = other.fetch("POST", home_path + "/posts", **{"x-csrf-token": nasrin.csrf()})
            assert forged["status"] == 403

        for joiner in (bahram, sara):
            nasrin.goto(home_path + "/members")
            nasrin.submit(f"form[action='{home_path}/invite']")
            invitation = page.input_value("#invitation-text")
            joiner.goto("/join")
            joiner.page.fill("#invitation", invitation)
            joiner.page.fill("#join-name", joiner.name)
            joiner.submit("form[action='/join']")
            request = joiner.page.input_value("#join-request")
            nasrin.goto(home_path + "/members")
            page.fill("#request", request)
            nasrin.submit(f"form[action='{home_path}/admit']")
            assert joiner.name in page.inner_text("main")

        # Through the relay, each joiner's profile receives the council; all check in.
        for joiner in (bahram, sara):
            joiner.wait_for("/councils", "main", "Block 4 committee")
        for phone, status in ((nasrin, "safe"), (sara, "safe"), (bahram, "need_help")):
            phone.goto(home_path)
            phone.page.locator(f".checkin button[value='{status}']").click()
            phone.page.wait_for_url(lambda url: "checked_in=" in url)
        for other in (nasrin, sara):
            other.wait_for(home_path, ".help-call", "Bahram")

        # Cookies: a made-up one, or one changed by a letter, is nobody's session.
        cookie = next(c for c in sara.context.cookies() if c["name"].startswith("shora_session"))
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
        sara.context.clear_cookies()
        sara.context.add_cookies([{**cookie, "value": cookie["value"][:-1] + "x"}])  # type: ignore[list-item]
        sara.goto(home_path)
        assert sara.path().startswith("/unlock")
        assert sara.fetch("GET", "/api/councils")["status"] == 423
        assert sara.fetch("GET", "/sync")["type"] == "opaqueredirect"  # to /unlock

        # The service worker keeps static files only: after every page, no page in it.
        ready = nasrin.page.evaluate(
            "() => Promise.race([navigator.serviceWorker.ready.then(() => true),"
            " new Promise(r => setTimeout(() => r(false), 10000))])"
        )
        for path in ("/councils", home_path, home_path + "/members", "/sync"):
            nasrin.goto(path)
        cached = nasrin.page.evaluate(
            "async () => { const out = []; for (const k of await caches.keys()) {"
            " const c = await caches.open(k); for (const r of await c.keys()) out.push(r.url); }"
            " return out; }"
        )
        print(f"\nservice worker: {'active' if ready else 'not registered'}, cached {len(cached)}")
        assert all("/static/" in url for url in cached), cached
        assert ready
        assert any("shora.css" in url for url in cached), cached

        # A cheap phone: each main page with the CPU slowed 6x (timings printed only).
        main_pages = {
            "councils": "/councils",
            "council home": home_path,
            "members": home_path + "/members",
            "posts": home_path + "/posts",
            "decisions": home_path + "/decisions",
            "aid": home_path + "/aid",
            "sync": "/sync",
            "join": "/join",
        }
        timings = timed_loads(bahram, main_pages)
        fresh = Phone(chromium, node, "Sara")
        phones.append(fresh)
        fresh.goto("/unlock")
        first = static_bytes(fresh)
        print("page loads at 6x CPU slowdown (ms):", timings)
        print(f"static payload of a first visit: {sum(first.values())} bytes", first)
        for phone in phones:
            assert phone.csp_errors == [], phone.name
    finally:
        for phone in phones:
            phone.close()
