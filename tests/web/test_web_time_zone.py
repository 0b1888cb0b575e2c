"""A council's times in its own zone (the `time_zone` rule): Tehran for a council
founded in Persian, UTC in English unless chosen; a rule-change vote moves them; a zone
that is not one is refused in the page's language, never with a server error."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import httpx

from shora.i18n import PERSIAN_MONTHS, using_time_zone
from shora.services.aid import summary as aid_summary
from web.client import Browser, browser
from web.fixtures import person  # noqa: F401 (fixtures)

TEHRAN_FA = "(به وقت تهران)"
UTC_FA = "(به وقت جهانی)"
GREGORIAN_UTC = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\b")
GREGORIAN_TEHRAN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} Tehran\b")


def words(page: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", page))


def propose(b: Browser, home: str) -> str:
    data = {"title": "Water tank", "text": "Buy a tank", "deadline": "1", "deadline_unit": "hours"}
    r = b.post(home + "/decisions/new", data)
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def test_a_persian_council_shows_tehran_times_in_solar_hijri(tmp_path: Path) -> None:
    with browser(tmp_path / "home", **{"Accept-Language": "fa-IR,fa;q=0.9"}) as b:
        b.create_profile()
        form = b.get("/councils").text
        assert '<option value="Asia/Tehran" selected>تهران</option>' in form
        home = b.found_council("Block 4", "Nasrin")
        b.post(home + "/posts", {"title": "Water", "text": "at 6"})
        posts = words(b.get(home + "/posts").text)
        assert TEHRAN_FA in posts and UTC_FA not in posts and "UTC" not in posts
        months = "|".join(PERSIAN_MONTHS)
        assert re.search(rf"[۰-۹]{{1,2}} ({months}) [۰-۹]{{4}}", posts)
        proposal = words(b.get(propose(b, home)).text)
        assert TEHRAN_FA in proposal and UTC_FA not in proposal
        # In English the same council's times are still Tehran's.
        b.post("/language", {"lang": "en", "next": "/sync"})
        assert GREGORIAN_TEHRAN.search(words(b.get(home + "/posts").text))


def test_an_english_council_shows_utc_until_a_rule_change_moves_it(person: Browser) -> None:
    form = person.get("/councils").text
    assert '<option value="UTC" selected>UTC</option>' in form
    home = person.found_council()
    person.post(home + "/posts", {"title": "Water", "text": "at 6"})
    posts = words(person.get(home + "/posts").text)
    assert GREGORIAN_UTC.search(posts) and not GREGORIAN_TEHRAN.search(posts)
    assert 'name="time_zone"' in person.get(home + "/rules").text
    change = person.post(home + "/rules", {"time_zone": "Asia/Tehran", "hours": "24"})
    assert change.status_code == 303, change.text
    url = change.headers["location"]
    assert person.post(url + "/vote", {"vote": "yes"}).status_code == 303
    node = person.keeper.node
    assert node is not None
    node.now = lambda: time.time() + 25 * 3600  # past the deadline
    closed = person.post(url + "/close")
    assert closed.status_code == 303, closed.text
    posts = words(person.get(home + "/posts").text)
    assert GREGORIAN_TEHRAN.search(posts) and not GREGORIAN_UTC.search(posts)
    rules = person.get(home + "/rules").text
    assert '<option value="Asia/Tehran" selected>Tehran</option>' in rules


def test_a_zone_that_is_not_one_is_refused_in_the_pages_language(tmp_path: Path) -> None:
    with browser(tmp_path / "home", **{"Accept-Language": "fa"}) as b:
        b.create_profile()
        bad = b.post("/councils", {"name": "x", "founder": "y", "time_zone": "Mars/Olympus"})
        assert bad.status_code == 400 and "منطقهٔ زمانی نیست" in bad.text
        home = b.found_council("Block 4", "Nasrin")
        also = b.post(home + "/rules", {"time_zone": "../../etc/passwd", "hours": "24"})
        assert also.status_code == 400 and "منطقهٔ زمانی نیست" in also.text
        odd = b.post("/councils", {"name": "x", "founder": "y", "time_zone": "ساعت"})
        assert odd.status_code == 400


def test_a_council_founded_with_another_zone_shows_its_offset(person: Browser) -> None:
    made = person.post(
        "/councils", {"name": "Delhi", "founder": "Nasrin", "time_zone": "Asia/Kolkata"}
    )
    assert made.status_code == 303, made.text
    home = made.headers["location"]
    person.post(home + "/posts", {"title": "Water", "text": "at 6"})
    assert re.search(r"\d{2}:\d{2} UTC\+05:30", words(person.get(home + "/posts").text))
    rules = person.get(home + "/rules").text
    assert '<option value="Asia/Kolkata" selected>Asia/Kolkata</option>' in rules


def _api_found(b: Browser, body: dict[str, str]) -> httpx.Response:
    b.get("/councils")  # a CSRF token
    return b.client.post("/api/councils", json=body, headers={"X-CSRF-Token": b.csrf})


def _zone_of(b: Browser, council: str) -> str:
    node = b.keeper.node
    assert node is not None
    rules = node.councils.get(bytes.fromhex(council)).rules
    assert rules is not None
    return rules.time_zone


def test_the_api_founds_in_the_requests_zone_and_checks_a_given_one(tmp_path: Path) -> None:
    with browser(tmp_path / "home", **{"Accept-Language": "fa"}) as b:
        b.create_profile()
        made = _api_found(b, {"name": "Block 4", "founder": "Nasrin"})
        assert made.status_code == 201, made.text
        assert _zone_of(b, made.json()["id"]) == "Asia/Tehran"
        kabul = _api_found(b, {"name": "Kabul", "founder": "Nasrin", "time_zone": "Asia/Kabul"})
        assert _zone_of(b, kabul.json()["id"]) == "Asia/Kabul"
        bad = _api_found(b, {"name": "x", "founder": "y", "time_zone": "Mars/Olympus"})
        assert bad.status_code == 400 and "منطقهٔ زمانی نیست" in bad.text


def test_the_api_founds_utc_councils_in_english(person: Browser) -> None:
    made = _api_found(person, {"name": "Block 4", "founder": "Nasrin"})
    assert made.status_code == 201, made.text
    assert _zone_of(person, made.json()["id"]) in ("", "UTC")


def test_a_federation_is_founded_in_a_zone(tmp_path: Path) -> None:
    with browser(tmp_path / "home", **{"Accept-Language": "fa"}) as b:
        b.create_profile()
        form = b.get("/federations/new").text
        assert '<option value="Asia/Tehran" selected>تهران</option>' in form
        made = b.post("/federations/new", {"name": "Tehran", "founder": "Nasrin", "seats": "1"})
        assert made.status_code == 303, made.text
        council = made.headers["location"].split("/")[2]
        assert _zone_of(b, council) == "Asia/Tehran"
        data = {"name": "West", "founder": "Nasrin", "seats": "1", "time_zone": "Mars/Olympus"}
        bad = b.post("/federations/new", data)
        assert "منطقهٔ زمانی نیست" in bad.text and 'value="West"' in bad.text


def test_the_aid_summary_is_dated_in_the_councils_zone(tmp_path: Path) -> None:
    with browser(tmp_path / "home", **{"Accept-Language": "fa"}) as b:
        b.create_profile()
        home = b.found_council("Block 4", "Nasrin")
        summary = words(b.get(home + "/summary").text)
        assert TEHRAN_FA in summary and UTC_FA not in summary


def test_the_summarys_csv_date_is_the_councils_day() -> None:
    late = int(datetime(2026, 12, 6, 22, 0, tzinfo=UTC).timestamp())  # 01:30 on the 7th in Tehran
    row = aid_summary.SummaryRow("need", "water", "urgent", "north", 3, 30)
    made = aid_summary.AidSummary(1, late, 3, [row], {"north": "North"})
    assert "\r\n2026-12-06," in aid_summary.to_csv(made)
    with using_time_zone("Asia/Tehran"):
        assert "\r\n2026-12-07," in aid_summary.to_csv(made)
