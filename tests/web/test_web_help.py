"""Help reaches people at once: a "need help" or "injured" check-in shows at the top of
every member's council home page (who, when, where) until someone answers "on my way"
or the caller is safe again; an open roll call shows there too. Two real profiles
carry the events between them in bundles, through the pages, in English and Persian."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from web.client import Browser, browser
from web.test_web_decisions import carry, words

AREAS = "block-4 = Block 4\nmosque = The mosque\n"
TEXT = {
    "en": {
        "calls": "Calls for help",
        "injured": "I'm injured",
        "on_my_way": "On my way",
        "near": "in your area",
        "coming": "On the way to you: Nasrin.",
        "waiting": "nobody has answered yet",
        "answered": "on the way: Nasrin",
        "rollcall": "Roll call open since",
        "check_below": "Check in below.",
        "done": "You have answered.",
        "alerts": "Active alerts",
        "count": "1 call for help",
    },
    "fa": {
        "calls": "درخواست‌های کمک",
        "injured": "مجروحم",
        "on_my_way": "در راهم",
        "near": "در محدودهٔ شما",
        "coming": "در راه به سوی شما: Nasrin.",
        "waiting": "هنوز کسی پاسخ نداده است",
        "answered": "در راه: Nasrin",
        "rollcall": "حضور و غیاب باز است از",
        "check_below": "پایین‌تر اعلام وضعیت کنید.",
        "done": "شما پاسخ داده‌اید.",
        "alerts": "هشدارهای فعال",
        "count": "۱ درخواست کمک",
    },
}
ACCEPT = {"en": "en", "fa": "fa-IR,fa;q=0.9"}


@contextmanager
def pair(tmp_path: Path, lang: str) -> Iterator[tuple[Browser, Browser, str]]:
    """Nasrin founds a council with two areas and admits Bahar, each on her own profile,
    both browsers speaking `lang`."""
    header = {"Accept-Language": ACCEPT[lang]}
    with browser(tmp_path / "a", **header) as a, browser(tmp_path / "b", **header) as b:
        a.create_profile()
        b.create_profile()
        home = a.found_council("Depot", "Nasrin")
        assert a.post(home + "/areas", {"areas": AREAS}).status_code == 303
        invitation = re.search(r'id="invitation-text"[^>]*>([^<]+)<', a.post(home + "/invite").text)
        assert invitation is not None
        joined = b.post(
            "/join", {"invitation": invitation.group(1), "name": "Bahar"}, follow_redirects=True
        )
        request = re.search(r'id="join-request"[^>]*>([^<]+)<', joined.text)
        assert request is not None
        assert a.post(home + "/admit", {"request": request.group(1)}).status_code == 200
        carry(a, b, home)
        yield a, b, home


def _top(page: str) -> str:
    """The home page's text from the council's name to the first regular section."""
    return words(page.split('class="home-alerts"')[0])


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_a_call_for_help_reaches_the_other_home_page_until_someone_is_on_the_way(
    tmp_path: Path, lang: str
) -> None:
    t = TEXT[lang]
    with pair(tmp_path, lang) as (a, b, home):
        # Nasrin says where she is; Bahar, in the same area, is hurt.
        assert a.post(home + "/checkin", {"status": "safe", "area": "mosque"}).status_code == 303
        assert t["calls"] not in a.get(home).text
        r = b.post(home + "/checkin", {"status": "injured", "area": "mosque"})
        assert r.status_code == 303
        own = b.get(home).text
        assert t["waiting"] in words(own) and t["on_my_way"] not in own  # not to oneself
        carry(b, a, home)
        assert t["count"] in words(a.get("/councils").text)
        page = a.get(home).text
        top = _top(page)
        assert t["calls"] in top and "Bahar" in top and t["injured"] in top
        assert "The mosque" in top and t["near"] in top
        assert page.index(t["calls"]) < page.index(t["alerts"])
        answer = re.search(rf'action="{home}/help/([0-9a-f]{{64}})"', page)
        assert answer is not None
        refused = b.post(home + f"/help/{answer.group(1)}")
        assert refused.status_code == 403
        assert a.post(home + f"/help/{answer.group(1)}").status_code == 303
        page = a.get(home).text
        assert t["calls"] not in _top(page) and t["answered"] in words(page)
        carry(a, b, home)
        assert t["coming"] in words(b.get(home).text)
        # Safe again: the call is over on both homes.
        assert b.post(home + "/checkin", {"status": "safe", "area": "mosque"}).status_code == 303
        carry(b, a, home)
        for person in (a, b):
            page = words(person.get(home).text)
            assert t["calls"] not in page and t["answered"] not in page


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_an_open_roll_call_shows_on_every_home_page(tmp_path: Path, lang: str) -> None:
    t = TEXT[lang]
    with pair(tmp_path, lang) as (a, b, home):
        assert t["rollcall"] not in words(b.get(home).text)
        assert a.post(home + "/rollcalls", {"area": ""}).status_code == 303
        carry(a, b, home)
        top = _top(b.get(home).text)
        assert t["rollcall"] in top and t["check_below"] in top
        assert b.post(home + "/checkin", {"status": "safe"}).status_code == 303
        assert t["done"] in _top(b.get(home).text)


def test_coordinators_and_the_same_area_see_a_call_first(tmp_path: Path) -> None:
    """Two calls: the one in the viewer's area comes first, whatever their times."""
    with pair(tmp_path, "en") as (a, b, home):
        assert (
            b.post(home + "/checkin", {"status": "need_help", "area": "block-4"}).status_code == 303
        )
        carry(b, a, home)
        assert a.post(home + "/checkin", {"status": "safe", "area": "block-4"}).status_code == 303
        page = _top(a.get(home).text)
        assert "in your area" in page and "Block 4" in page
        assert a.post(home + "/checkin", {"status": "safe", "area": "mosque"}).status_code == 303
        assert "in your area" not in _top(a.get(home).text)
