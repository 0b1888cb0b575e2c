"""The web interface in process: login, profile, pages, languages, bundles.

Real app, real Keeper, real encrypted profile; httpx speaks to it over ASGI."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

from conftest import make_node
from shora.kernel import bundle
from shora.web.state import Keeper
from web.client import BASE, PASSPHRASE, Browser, browser, client_for
from web.fixtures import person  # noqa: F401 (fixtures)


def test_the_login_link_works_once_and_sets_a_strict_httponly_cookie(tmp_path: Path) -> None:
    with browser(tmp_path / "home") as b:
        cookie = b.client.cookies.get("shora_session_8150")
        assert cookie
        first = b.client.get("/")
        assert first.status_code == 303 and first.headers["location"] == "/welcome"
    with browser(tmp_path / "home2") as b:
        token = "wrong"
        b.client.cookies.clear()
        assert b.client.get(f"/login?token={token}").status_code == 401
    with browser(tmp_path / "home3") as b:
        # The token was spent by browser(); a second use fails, and sets nothing.
        b.client.cookies.clear()
        again = b.client.get("/login?token=" + "x" * 43)
        assert again.status_code == 401 and "set-cookie" not in again.headers


def test_login_response_cookie_flags(tmp_path: Path) -> None:
    keeper = Keeper(tmp_path / "home")
    with client_for(keeper) as client:
        token = keeper.login_token
        response = client.get(f"/login?token={token}")
        header = response.headers["set-cookie"].lower()
        assert "httponly" in header and "samesite=strict" in header and "path=/" in header
        assert '<meta http-equiv="refresh" content="0; url=/">' in response.text
        assert client.get(f"/login?token={token}").status_code == 401  # spent


def test_without_the_cookie_every_page_is_401_and_says_what_to_do(person: Browser) -> None:
    person.found_council()
    person.client.cookies.clear()
    for path in ("/", "/councils", "/sync", "/join", "/unlock", "/welcome"):
        r = person.client.get(path)
        assert r.status_code == 401, path
        assert "shora serve" in r.text
    api = person.client.get("/api/councils")
    assert api.status_code == 401 and api.json()["error"] == "unauthorised"
    assert person.client.get("/static/shora.css").status_code == 200


def test_a_fresh_home_leads_through_creating_the_profile(tmp_path: Path) -> None:
    with browser(tmp_path / "home") as b:
        page = b.get("/welcome")
        assert 'type="password"' in page.text and "Create the profile" in page.text
        differ = b.post("/welcome", {"passphrase": PASSPHRASE, "again": PASSPHRASE + "x"})
        assert differ.status_code == 400 and "differ" in differ.text
        short = b.post("/welcome", {"passphrase": "short", "again": "short"})
        assert short.status_code == 400 and "8 characters" in short.text
        assert not b.keeper.exists
        b.create_profile()
        assert b.keeper.exists and b.keeper.node is not None
        assert b.get("/welcome").headers["location"] == "/unlock"


def test_lock_forgets_the_node_and_unlock_needs_the_passphrase(person: Browser) -> None:
    home = person.found_council()
    assert person.post("/lock").headers["location"] == "/unlock"
    assert person.keeper.node is None
    assert person.get(home).headers["location"] == "/unlock?next=" + home
    assert person.client.get("/api/councils").status_code == 423
    wrong = person.post("/unlock?next=" + home, {"passphrase": "not the one"})
    assert wrong.status_code == 400 and "Wrong passphrase" in wrong.text
    right = person.post("/unlock?next=" + home, {"passphrase": PASSPHRASE})
    assert right.headers["location"] == home
    # Only a path on this server is a place to go next.
    person.post("/lock")
    away = person.post("/unlock?next=//evil.example/x", {"passphrase": PASSPHRASE})
    assert away.headers["location"] == "/"


def test_unlocking_returns_to_the_page_asked_for(person: Browser) -> None:
    home = person.found_council()
    person.post("/lock")
    asked = home + "/needs?category=water&page=1"
    sent = person.get(asked)
    assert sent.status_code == 303
    unlock = sent.headers["location"]
    assert unlock == "/unlock?next=" + home + "/needs%3Fcategory%3Dwater%26page%3D1"
    form = person.get(unlock).text
    action = re.search(r'action="(/unlock\?next=[^"]+)"', form)
    assert action is not None
    back = person.post(html.unescape(action.group(1)), {"passphrase": PASSPHRASE})
    assert back.status_code == 303 and back.headers["location"] == asked
    # From an htmx request (a poll, a partial), the page it was sent from.
    person.post("/lock")
    polled = person.client.get(
        home + "/rollcalls/latest",
        headers={"HX-Request": "true", "HX-Current-URL": f"{BASE}{home}/rollcalls"},
    )
    assert polled.headers["HX-Redirect"] == f"/unlock?next={home}/rollcalls"
    elsewhere = person.client.get(
        home + "/rollcalls/latest",
        headers={"HX-Request": "true", "HX-Current-URL": "http://evil.example/x"},
    )
    assert elsewhere.headers["HX-Redirect"] == "/unlock"


def test_the_profile_locks_itself_after_the_idle_time(tmp_path: Path) -> None:
    with browser(tmp_path / "home", lock_after=60) as b:
        b.create_profile()
        now = [1000.0]
        b.keeper.clock = lambda: now[0]
        b.keeper.touch()
        now[0] += 59
        assert not b.keeper.idle()
        # A polling request is not activity: it does not keep the profile open.
        b.client.get("/councils", headers={"X-Shora-Poll": "1"})
        now[0] += 2
        assert b.keeper.idle()
        b.client.portal.call(b.keeper.lock)  # what watch_idle does
        assert b.keeper.node is None
        assert b.get("/councils").headers["location"] == "/unlock?next=/councils"


def test_councils_home_rename_posts_and_pagination(person: Browser) -> None:
    home = person.found_council("Block 4 committee", "Nasrin")
    page = person.get(home)
    assert page.status_code == 200
    for section in ("Active alerts", "Open decisions", "Urgent needs", "Announcements"):
        assert section in page.text
    assert person.post(home + "/rename", {"name": "Block 4"}).status_code == 303
    assert "Block 4" in person.get("/councils").text
    assert '<h1 dir="auto">Block 4</h1>' in person.get(home).text  # not a stale name
    person.post(home + "/posts", {"title": "Water", "text": "At the mosque at 6"})
    for i in range(25):
        person.post(home + "/posts", {"text": f"message number {i}"})
    first = person.get(home + "/posts")
    assert "message number 24" in first.text and "message number 0" not in first.text
    assert 'rel="next"' in first.text
    second = person.get(home + "/posts?page=2")
    assert "message number 0" in second.text and "At the mosque" in second.text
    assert "At the mosque at 6" in person.get(home).text  # announcements on the home page
    assert person.get(home + "/posts?page=x").status_code == 400
    assert person.get("/councils/" + "ab" * 32).status_code == 404
    assert person.get("/councils/zz").status_code == 404


def test_check_in_from_the_home_page(person: Browser) -> None:
    home = person.found_council()
    r = person.post(home + "/checkin", {"status": "safe"})
    assert r.status_code == 303 and r.headers["location"].endswith("checked_in=safe")
    assert "check-in is recorded" in person.get(r.headers["location"]).text
    assert person.post(home + "/checkin", {"status": "dancing"}).status_code == 400


def test_invite_join_admit_and_remove_between_two_profiles(tmp_path: Path) -> None:
    with browser(tmp_path / "a") as a, browser(tmp_path / "b") as b:
        a.create_profile()
        b.create_profile()
        home = a.found_council("Depot", "Ava")
        invitation = a.post(home + "/invite")
        assert "<svg" in invitation.text and "shora:" in invitation.text
        assert '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ' in invitation.text
        text = re.search(r'id="invitation-text"[^>]*>([^<]+)<', invitation.text)
        assert text is not None
        joined = b.post(
            "/join", {"invitation": text.group(1), "name": "Bahar"}, follow_redirects=True
        )
        assert joined.status_code == 200, joined.text
        request = re.search(r'id="join-request"[^>]*>([^<]+)<', joined.text)
        assert request is not None
        admitted = a.post(home + "/admit", {"request": request.group(1)})
        assert "is admitted" in admitted.text
        members = a.get(home + "/members")
        assert "Bahar" in members.text and "Ava" in members.text
        bad = a.post(home + "/admit", {"request": "not a request"})
        assert bad.status_code == 400
        # Carry the council over in a bundle, through the pages.
        exported = a.get(home + "/bundle")
        assert exported.headers["content-type"] == "application/octet-stream"
        upload = {"bundle": ("x.bundle", exported.content, "application/octet-stream")}
        started = b.post("/sync/import", files=upload)
        assert started.status_code == 303
        job = started.headers["location"]
        for _ in range(100):
            progress = b.get(job + "/progress", headers={"X-Shora-Poll": "1"})
            if "Done:" in progress.text:
                break
        assert 'value="100"' in progress.text and "refused" in progress.text
        assert "Depot" in b.get("/councils").text
        key = re.search(r"/members/([0-9a-f]{64})/remove", a.get(home + "/members").text)
        assert key is not None
        removed = a.post(
            home + f"/members/{key.group(1)}/remove", {"reason": "informer", "confirm": "yes"}
        )
        assert "is removed" in removed.text or "is recorded" in removed.text


def test_a_damaged_bundle_is_reported_and_nothing_is_lost(person: Browser, tmp_path: Path) -> None:
    other = make_node(tmp_path, "other")
    other.councils.create("Elsewhere", "", "Omid")
    buf = io.BytesIO()
    other.bundles.export_bundle(buf)
    other.close()
    data = buf.getvalue()
    damaged = data[: len(data) // 2]
    started = person.post(
        "/sync/import", files={"bundle": ("d.bundle", damaged, "application/octet-stream")}
    )
    job = started.headers["location"]
    for _ in range(100):
        progress = person.get(job + "/progress")
        if "Done:" in progress.text:
            break
    assert 'role="alert"' in progress.text
    missing = person.post("/sync/import", data={})
    assert missing.status_code == 400
    assert bundle is not None


def test_relays_are_added_checked_and_removed(person: Browser) -> None:
    home = person.found_council()
    council = home.rsplit("/", 1)[1]
    bad = person.post("/sync/relays", {"council": council, "url": "http://nope"})
    assert bad.status_code == 400
    person.post("/sync/relays", {"council": council, "url": "ws://127.0.0.1:9"})
    page = person.get("/sync")
    assert "ws://127.0.0.1:9" in page.text
    outcome = person.post("/sync/now", headers={"HX-Request": "true"})
    assert outcome.status_code == 200 and "failed" in outcome.text
    assert "ws://127.0.0.1:9" in person.get("/sync").text  # now a peer seen, with its error
    person.post("/sync/relays/remove", {"council": council, "url": "ws://127.0.0.1:9"})
    assert person.get("/api/sync").json()["relays"] == []


def test_unknown_pages_and_methods(person: Browser) -> None:
    assert person.get("/no/such/page").status_code == 404
    assert person.get("/sync/jobs/nope").status_code == 404
    assert person.client.get("/lock").status_code == 405


def test_the_idle_watcher_locks_by_itself(tmp_path: Path) -> None:
    import time

    with browser(tmp_path / "home", lock_after=0.3) as b:
        b.create_profile()
        assert b.keeper.node is not None
        watcher = b.client.portal.start_task_soon(b.keeper.watch_idle, 0.05)
        deadline = time.monotonic() + 10
        while b.keeper.node is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert b.keeper.node is None
        watcher.cancel()
        assert b.get("/councils").headers["location"] == "/unlock?next=/councils"


def test_founding_a_council_can_set_how_long_votes_stay_open(person: Browser) -> None:
    """The founding form offers the least voting period (a council that decides in
    minutes sets 0); a value out of range is refused with the form's error."""

    page = person.get("/councils")
    assert 'name="min_vote_hours"' in page.text
    made = person.post(
        "/councils", {"name": "Quick polls", "founder": "Nasrin", "min_vote_hours": "۰"}
    )
    council = bytes.fromhex(made.headers["location"].rsplit("/", 1)[-1])
    node = person.keeper.node
    assert node is not None and node.governance.rules(council).min_vote_hours == 0
    refused = person.post("/councils", {"name": "Odd", "founder": "N", "min_vote_hours": "9999"})
    assert refused.status_code == 400 and "out of range" in refused.text
