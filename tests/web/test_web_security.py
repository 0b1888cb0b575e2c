"""The web interface's security rules (docs/security.md, "The web interface"):
Host check, session, CSRF on every state-changing route, headers, escaping."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from starlette.routing import Route

from shora.services.decisions import kinds as dk
from shora.web.app import create_app
from shora.web.security import CSP
from shora.web.state import Keeper
from web.client import PORT, Browser, browser
from web.fixtures import person  # noqa: F401 (fixtures)

PAYLOADS = (
    "<script>alert(1)</script>",
    "\"'><img src=x onerror=alert(2)>",
    "<b onmouseover=alert(3)>bold</b>",
    "{{ 7*7 }} {% raw %}",
)


def unsafe_routes() -> list[str]:
    app = create_app(Keeper(Path("/nonexistent")), port=PORT)
    paths = []
    for route in app.routes:
        if isinstance(route, Route) and route.methods and "POST" in route.methods:
            paths.append(route.path.replace("{council}", "ab" * 32).replace("{member}", "cd" * 32))
    return paths


def test_every_post_route_refuses_a_missing_or_wrong_csrf_token(person: Browser) -> None:
    routes = unsafe_routes()
    assert len(routes) >= 12, routes
    for path in routes:
        none = person.client.post(path, data={"name": "x"})
        assert none.status_code == 403, path
        wrong = person.client.post(path, data={"csrf": "wrong", "name": "x"})
        assert wrong.status_code == 403, path
        header = person.client.post(path, headers={"X-CSRF-Token": "wrong"})
        assert header.status_code == 403, path
    assert person.keeper.node is not None  # /lock was refused too
    assert (
        person.client.post("/api/councils", json={"name": "a", "founder": "b"}).status_code == 403
    )


def test_the_csrf_header_is_enough_for_htmx_and_the_api(person: Browser) -> None:
    person.get("/councils")
    r = person.client.post(
        "/api/councils", json={"name": "A", "founder": "B"}, headers={"X-CSRF-Token": person.csrf}
    )
    assert r.status_code == 201


def test_a_request_from_another_origin_is_refused_even_with_the_token(person: Browser) -> None:
    person.get("/councils")
    r = person.client.post(
        "/councils",
        data={"csrf": person.csrf, "name": "x", "founder": "y"},
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code == 403
    same = person.client.post(
        "/councils",
        data={"csrf": person.csrf, "name": "x", "founder": "y"},
        headers={"Origin": f"http://127.0.0.1:{PORT}"},
    )
    assert same.status_code == 303


@pytest.mark.parametrize(
    "host", ["evil.example", f"evil.example:{PORT}", "127.0.0.1:9999", "", "localhost.evil:8150"]
)
def test_a_foreign_host_header_is_refused_against_dns_rebinding(person: Browser, host: str) -> None:
    r = person.client.get("/councils", headers={"Host": host})
    assert r.status_code == 421
    for good in (f"localhost:{PORT}", f"127.0.0.1:{PORT}", f"[::1]:{PORT}"):
        assert person.client.get("/councils", headers={"Host": good}).status_code == 200


def test_security_headers_on_pages_errors_and_static_files(person: Browser) -> None:
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    for path in ("/councils", "/no/such/page", "/static/shora.css", "/api/councils"):
        h = person.client.get(path).headers
        assert h["content-security-policy"] == CSP, path
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "no-referrer"
        assert h["x-content-type-options"] == "nosniff"
    assert person.client.get("/councils").headers["cache-control"] == "no-store"
    unauthenticated = person.client.get("/councils", headers={"Cookie": ""})
    assert unauthenticated.headers["x-frame-options"] == "DENY"


def test_pages_have_no_inline_script_or_style(person: Browser) -> None:
    home = person.found_council()
    pages = [person.get(p).text for p in ("/councils", home, "/sync", "/join", "/unlock")]
    pages += [person.get(home + "/members").text, person.get(home + "/posts").text]
    pages.append(person.post(home + "/invite").text)  # the QR code is inline SVG
    for path, html in enumerate(pages):
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " style=" not in html and "<style" not in html, path
        assert not re.search(r"\son[a-z]+=", html), path


def assert_inert(html: str, shown: bool = True) -> None:
    """No payload is live markup; if `shown`, it is there, escaped."""
    for payload in PAYLOADS[:3]:
        assert payload not in html
    assert "<img src=x" not in html and "<b onmouseover" not in html
    assert "onerror=alert" not in html.replace("onerror=alert(2)&gt;", "")
    if shown:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_markup_posted_everywhere_text_goes_is_inert(tmp_path: Path) -> None:
    with browser(tmp_path / "a") as a, browser(tmp_path / "b") as b:
        a.create_profile()
        b.create_profile()
        evil = " ".join(PAYLOADS)
        name = PAYLOADS[0] + PAYLOADS[1]  # names are short
        home = a.found_council(name, name)
        a.post(home + "/rename", {"name": name + "!"})
        a.post(home + "/posts", {"title": evil, "text": evil})
        a.post(home + "/posts", {"text": evil})
        a.post(home + "/checkin", {"status": "safe"})
        council = home.rsplit("/", 1)[1]
        relay = a.post("/sync/relays", {"council": council, "url": evil})
        assert relay.status_code == 400
        assert_inert(relay.text)
        invitation = a.post(home + "/invite").text
        text = re.search(r'id="invitation-text"[^>]*>([^<]+)<', invitation)
        assert text is not None
        joined = b.post("/join", {"invitation": text.group(1), "name": name}, follow_redirects=True)
        assert_inert(joined.text, shown=False)
        request = re.search(r'id="join-request"[^>]*>([^<]+)<', joined.text)
        assert request is not None
        admitted = a.post(home + "/admit", {"request": request.group(1)})
        assert_inert(admitted.text)
        members = a.get(home + "/members")
        key = re.search(r"/members/([0-9a-f]{64})/remove", members.text)
        assert key is not None
        removal = a.post(
            home + f"/members/{key.group(1)}/remove", {"reason": evil, "confirm": "yes"}
        )
        assert_inert(removal.text)
        for path in ("/councils", home, home + "/members", home + "/posts", "/sync"):
            assert_inert(a.get(path).text)
        assert "{{ 7*7 }} {% raw %}" in a.get(home + "/posts").text  # shown, not evaluated
        api = a.client.get("/api/councils").json()
        assert api[0]["name"].startswith("<script>")  # stored as written, escaped when shown


def test_markup_in_a_secret_ballot_is_inert(tmp_path: Path) -> None:
    """The secret-ballot pages: markup in the title, text and options, and a refused
    form echoing it back, stay text."""
    with browser(tmp_path / "a") as a:
        a.create_profile()
        home = a.found_council()
        evil = " ".join(PAYLOADS)
        refused = a.post(home + "/secret/new", {"title": evil, "text": evil})
        assert refused.status_code == 400
        assert_inert(refused.text)
        node = a.keeper.node
        assert node is not None
        council = bytes.fromhex(home.rsplit("/", 1)[1])
        me = node.me(council)
        assert me is not None
        # The only member elects herself teller (an hour's election, then the close).
        pid = node.governance.elect(council, "teller", [me], hours=1)
        node.decisions.vote(council, pid, dk.RankedBallot([me.hex()]))
        node.now = lambda: time.time() + 2 * 3600
        node.decisions.close(council, pid)
        made = a.post(
            home + "/secret/new",
            {"title": evil[:200], "text": evil, "method": "approval", "options": "A\n" + evil[:150],
             "deadline": "2"},
        )  # fmt: skip
        assert made.status_code == 303, made.text
        url = str(made.headers["location"])
        a.post(url + "/teller")  # the key is ready: the ballot form shows the options
        assert 'name="choice"' in a.get(url).text
        for path in (url, url + "/tellers", home + "/secret"):
            assert_inert(a.get(path).text)
