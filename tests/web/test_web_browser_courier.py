"""In the browser: a bundle carried from one node to another (download, upload, a
progress bar that htmx polls), "Sync now" answered in place through htmx (its CSRF
header included), and the pages working with JavaScript turned off."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser
from test_cli import COUNCIL, Profile, bring_in

from web.browser import DESKTOP, Person, chromium, screenshot_dir
from web.servers import Served

__all__ = ["chromium"]  # the fixture, imported for the tests below


def test_a_bundle_through_the_pages_with_a_progress_bar(chromium: Browser, tmp_path: Path) -> None:
    a, b = Profile(tmp_path, "nasrin"), Profile(tmp_path, "bahram")
    for p in (a, b):
        p.ok("init")
    a.ok("council", "create", COUNCIL, "--as", "Nasrin")
    bring_in(a, b, "Bahram")
    for i in range(30):
        a.ok("post", COUNCIL, f"news number {i} from the courier")
    nodes = [Served(p.home, passphrase=p.passphrase) for p in (a, b)]
    shots = screenshot_dir(tmp_path / "shots")
    people: list[Person] = []
    try:
        nasrin, bahram = (Person(chromium, node, "en", shots) for node in nodes)
        people += [nasrin, bahram]
        nasrin.goto("/sync")
        with nasrin.page.expect_download() as download:
            nasrin.page.locator("a[download]").first.click()
        bundle = tmp_path / "carried.bundle"
        download.value.save_as(bundle)
        assert bundle.stat().st_size > 1000

        bahram.goto("/sync")
        bahram.page.set_input_files("#bundle", str(bundle))
        bahram.submit("form[action='/sync/import']")
        assert "/sync/jobs/" in bahram.page.url
        # htmx polls the progress until the job is done, without reloading the page.
        bahram.page.wait_for_selector("#job p:has-text('Done')", timeout=30_000)
        assert bahram.page.get_attribute("#job-progress", "value") == "100"
        assert "/sync/jobs/" in bahram.page.url
        bahram.goto("/councils")
        bahram.page.locator(".cards a").first.click()
        bahram.page.wait_for_load_state()
        bahram.goto(bahram.page.url.removeprefix(bahram.served.base) + "/posts")
        assert "news number 29 from the courier" in bahram.page.content()

        # "Sync now" through htmx: the outcome appears in place, the page stays.
        council = bahram.page.url.split("/councils/")[1].split("/")[0]
        bahram.goto("/sync")
        bahram.page.fill("#relay-url", "ws://127.0.0.1:9")
        bahram.submit("form[action='/sync/relays']")
        bahram.page.locator("form[action='/sync/now'] button").click()
        bahram.page.wait_for_selector("#outcomes li", timeout=30_000)
        assert "ws://127.0.0.1:9" in bahram.page.inner_text("#outcomes")
        assert bahram.page.url.endswith("/sync") and council
        for person in people:
            assert person.csp_errors == []
    finally:
        for person in people:
            person.close()
        for node in nodes:
            node.stop()


def test_the_pages_work_without_javascript(chromium: Browser, tmp_path: Path) -> None:
    served = Served(tmp_path / "home")
    context = chromium.new_context(java_script_enabled=False, viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(served.link)
        page.locator("a[href='/']").click()  # no automatic refresh needed either
        page.wait_for_url(lambda url: url.endswith("/welcome"))
        page.fill("#passphrase", "a long passphrase for tests")
        page.fill("#again", "a long passphrase for tests")
        page.locator("form[action='/welcome'] button").click()
        page.wait_for_url(lambda url: url.endswith("/councils"))
        page.fill("#name", "Depot")
        page.fill("#founder", "Ava")
        page.locator("form[action='/councils'] button").click()
        page.wait_for_url(lambda url: "/councils/" in url)
        home = page.url
        page.goto(home + "/posts")
        page.fill("#text", "written with JavaScript off")
        page.locator("form[action$='/posts'] button").click()
        page.wait_for_url(lambda url: url.endswith("/posts"))
        assert "written with JavaScript off" in page.content()
        page.goto(served.base + "/sync")
        page.locator("form[action='/sync/now'] button").click()  # a plain POST then
        page.wait_for_load_state()
        assert "No relays to sync with yet." in page.content()
        page.locator("form[action='/lock'] button").click()
        page.wait_for_url(lambda url: url.endswith("/unlock"))
    finally:
        context.close()
        served.stop()
