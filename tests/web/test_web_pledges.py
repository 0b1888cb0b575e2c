"""Threshold pledges in the web pages, in English and Persian: starting a campaign with
a share in words or a percentage, the list with counts and progress, the campaign
page with pledge and withdraw (one's own pledge shown as counted), and the "threshold
met" banner on every member's home and notifications pages, and a member whose pledge
a removal voided told to pledge again. Real app, real profiles."""

from __future__ import annotations

import re
import time
from pathlib import Path

from conftest import Clock, admit_others, everyone, remove_by_two
from web.client import Browser
from web.fixtures import person  # noqa: F401 (fixtures)
from web.test_web_decisions import carry, words
from web.test_web_persian import EN, FA, latin_words, two_members


def start(a: Browser, home: str, **fields: str) -> str:
    data = {"action": "Stop work on Monday", "deadline": "2", "deadline_unit": "days"}
    made = a.post(home + "/pledges", data | fields)
    assert made.status_code == 303, made.text
    return str(made.headers["location"])


def test_a_campaign_in_english_from_start_to_banner(tmp_path: Path) -> None:
    with two_members(tmp_path, EN) as (a, b, home):
        assert f'href="{home}/pledges"' in a.get(home + "/decisions").text
        form = a.get(home + "/pledges").text
        assert '<option value="3/5" selected>60%</option>' in form
        assert '<option value="2/3">two thirds</option>' in form
        refused = a.post(home + "/pledges", {"action": "", "deadline": "2"})
        assert refused.status_code == 400
        refused = a.post(home + "/pledges", {"action": "Stop", "people": "5", "deadline": "2"})
        assert refused.status_code == 400 and "more people than the members" in words(refused.text)
        url = start(a, home, share="1/1")  # both of us
        page = words(a.get(url).text)
        assert "0 of 2" in page and "all of 2 members: 2 people" in page
        assert a.post(url + "/take", {"now": "1"}).status_code == 303
        page = words(a.get(url + "?done=pledged").text)
        assert "Your pledge is counted." in page and "1 of 2" in page
        assert "Withdraw my pledge" in page
        assert a.post(url + "/withdraw", {"now": "1"}).status_code == 303
        assert "No pledge of yours is counted." in words(a.get(url).text)
        assert a.post(url + "/take", {"now": "1"}).status_code == 303
        twice = a.post(url + "/take", {"now": "1"})
        assert twice.status_code == 400 and "already pledged" in words(twice.text)
        carry(a, b, home)
        listing = b.get(home + "/pledges").text
        assert "1 of 2 pledged" in words(listing) and '<progress max="2" value="1"' in listing
        assert b.post(url + "/take", {"now": "1"}).status_code == 303
        assert "Threshold met" in words(b.get(home).text)
        carry(b, a, home)
        for who in (a, b):
            home_page = words(who.get(home).text)
            assert "Threshold met" in home_page and "2 pledged of 2 needed" in home_page
            assert "Threshold met" in words(who.get(home + "/notifications").text)
        page = words(a.get(url).text)
        assert "Pledges are final now." in page and "Withdraw my pledge" not in page
        late = a.post(url + "/withdraw", {"now": "1"})
        assert late.status_code == 400 and "pledges are final" in words(late.text)


def test_pledge_pages_read_in_persian(tmp_path: Path) -> None:
    with two_members(tmp_path, FA) as (a, b, home):
        form = a.get(home + "/pledges").text
        assert '<option value="3/5" selected>۶۰٪</option>' in form
        assert '<option value="2/3">دوسوم</option>' in form
        url = start(a, home, action="دوشنبه کار را متوقف می‌کنم", people="۲")
        assert a.post(url + "/take").status_code == 303  # with the random delay
        carry(a, b, home)
        assert b.post(url + "/take", {"now": "1"}).status_code == 303
        pages = [home + "/pledges", url, home, home + "/notifications"]
        for page in pages:
            text = b.get(page).text
            assert not latin_words(text), (page, latin_words(text))
        shown = words(b.get(url).text)
        assert "۱ از ۲" in shown and "تعهد شما شمرده شده است" in shown
        mine = words(a.get(url).text)
        assert "تأخیر" in mine  # a's pledge is waiting to be published
        refusals = [
            a.post(home + "/pledges", {"action": "", "deadline": "2"}),
            a.post(home + "/pledges", {"action": "x", "people": "۹", "deadline": "2"}),
            b.post(url + "/take", {"now": "1"}),
        ]
        for r in refusals:
            assert r.status_code == 400
            assert not latin_words(r.text) - {"x"}, latin_words(r.text)


def test_pledge_text_is_inert(person: Browser) -> None:
    home = person.found_council()
    url = start(person, home, action="<script>alert(1)</script>", people="1")
    page = person.get(url).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert not re.search(r"<script>alert", person.get(home + "/pledges").text)


def test_a_federation_starts_a_campaign_across_its_councils(person: Browser) -> None:
    made = person.post("/federations/new", {"name": "District 2", "founder": "Xena"})
    assert made.status_code == 303, made.text
    home = str(made.headers["location"]).removesuffix("/federation")
    form = person.get(home + "/pledges").text
    assert 'name="across"' in form
    url = start(person, home, share="3/5", across="1")
    page = words(person.get(url).text)
    assert "Across the federation" in page and "double majority" in page
    assert "Councils that met it: 0 of 0" in page and "I pledge" not in page
    assert "across the federation" in words(person.get(home + "/pledges").text)
    normal = person.found_council()
    assert 'name="across"' not in person.get(normal + "/pledges").text


def test_a_pledge_made_before_a_removal_is_asked_again(person: Browser, tmp_path: Path) -> None:
    """The campaign page and the notifications tell a member whose pledge no longer
    counts, because a member was removed after they pledged, to pledge again; once
    made again it counts. The refusal's reason is on the page."""
    home = person.found_council()
    node = person.keeper.node
    assert node is not None
    council = bytes.fromhex(home.rsplit("/", 1)[-1])
    clock = Clock(time.time())
    nodes = admit_others(node, council, tmp_path, clock, 3)
    others = nodes[1:]
    url = start(person, home, people="3")
    assert person.post(url + "/take", {"now": "1"}).status_code == 303
    informer = others[2].me(council)
    assert informer is not None
    remove_by_two(others[0], others[1], council, informer)  # had not seen the pledge
    everyone(nodes)
    page = words(person.get(url).text)
    assert "Your pledge no longer counts" in page and "Pledge again below" in page
    assert "made before a member was removed" in page and "0 of 3" in page
    notes = words(person.get(home + "/notifications").text)
    assert "Pledge again" in notes and "Stop work on Monday" in notes
    assert person.post(url + "/take", {"now": "1"}).status_code == 303
    page = words(person.get(url).text)
    assert "Your pledge is counted." in page and "no longer counts" not in page
    assert "1 of 3" in page
    assert "Pledge again" not in words(person.get(home + "/notifications").text)
