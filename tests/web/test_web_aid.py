"""Mutual aid and safety in the web pages: areas, needs and offers with filters and
pages, matches confirmed, deliveries, withdrawing, stocks, skills, the de-identified
summary and its CSV; alerts, roll calls, missing people and the dead-man timer.
Real app, real encrypted profiles; two members carry events over in bundles."""

from __future__ import annotations

import re
from pathlib import Path

from web.client import Browser, browser
from web.fixtures import person  # noqa: F401 (fixtures)
from web.test_web_decisions import XSS, carry, two_members, words

AREAS = "block-4 = Block 4\nmosque = The mosque\n"


def council_with_areas(b: Browser, name: str = "Nasrin") -> str:
    home = b.found_council(founder=name)
    r = b.post(home + "/areas", {"areas": AREAS, "edges": "block-4 mosque 2"})
    assert r.status_code == 303, r.text
    return home


NEED = {"category": "water", "quantity": "20", "urgency": "urgent", "area": "block-4"}
OFFER = {"category": "water", "quantity": "50", "area": "mosque"}


def test_areas_first_then_needs_and_offers(person: Browser) -> None:
    home = person.found_council()
    page = person.get(home + "/needs/new").text
    assert "no areas yet" in page and f'href="{home}/areas"' in page
    override = person.post(home + "/areas", {"areas": "Block\u202e 4"})
    assert override.status_code == 400 and "direction-override" in override.text
    assert "Block\u202e 4</textarea>" in override.text  # what was typed stays
    edge = person.post(home + "/areas", {"areas": AREAS, "edges": "block-4, nowhere"})
    assert edge.status_code == 400 and "unknown area: nowhere" in edge.text
    assert "block-4, nowhere</textarea>" in edge.text
    assert person.post(home + "/areas", {"areas": AREAS}).status_code == 303
    areas = person.get(home + "/areas").text
    assert "The mosque" in areas and "Block 4\nThe mosque</textarea>" in areas
    form = person.get(home + "/needs/new").text
    assert 'value="baby_food"' in form and "baby food and formula" in form
    assert '<option value="mosque">The mosque</option>' in form
    assert 'value="coordinators"' in form


def test_post_filter_and_page_through_needs(person: Browser) -> None:
    home = council_with_areas(person)
    r = person.post(home + "/needs/new", {**NEED, "what": "For the shelter", "needed_by": "۱۲"})
    assert r.status_code == 303 and r.headers["location"].endswith("/needs?posted=1")
    person.post(home + "/needs/new", {**NEED, "category": "food", "urgency": "routine"})
    page = words(person.get(home + "/needs?posted=1").text)
    assert "For the shelter" in page and "Posted;" in page
    assert page.index("urgent") < page.index("routine")  # most urgent first
    food = words(person.get(home + "/needs?category=food").text)
    assert "food" in food and "For the shelter" not in food
    urgent = words(person.get(home + "/needs?urgency=urgent&area=block-4").text)
    assert "For the shelter" in urgent
    elsewhere = words(person.get(home + "/needs?area=mosque").text)
    assert "Nothing open here." in elsewhere
    home_page = words(person.get(home).text)
    assert "Urgent needs" in home_page and "For the shelter" in home_page
    junk = person.get(home + "/needs?category=<b>&urgency=x&area=y&page=1")
    assert junk.status_code == 200
    assert person.get(home + "/needs?page=abc").status_code == 400
    for i in range(21):
        person.post(home + "/needs/new", {**NEED, "what": f"bulk {i}"})
    first = person.get(home + "/needs").text
    assert "page=2" in first
    second = person.get(home + "/needs?page=2").text
    assert 'rel="prev"' in second and words(second).count("still open") == 3


def test_bad_needs_and_offers_get_clear_errors_and_keep_what_was_typed(person: Browser) -> None:
    home = council_with_areas(person)
    cases = [
        ({"category": "unicorns"}, "choose a category"),
        ({"quantity": "lots"}, "not a whole number"),
        ({"quantity": "0"}, "out of range"),
        ({"area": "nowhere"}, "unknown area"),
        ({"urgency": "yesterday"}, "how urgent"),
        ({"category": "medicine"}, "name and dose"),
        ({"category": "blood"}, "blood group"),
        ({"visibility": "everyone!"}, "not valid"),
        ({"expires": "5", "expires_unit": "weeks"}, "minutes, hours or days"),
        ({"what": "x" * 201}, "too long"),
    ]
    for fields, message in cases:
        r = person.post(home + "/needs/new", {**NEED, "what": "kept words", **fields})
        assert r.status_code == 400, fields
        assert message in r.text, (fields, r.text[-2500:])
        if "what" not in fields:
            assert 'value="kept words"' in r.text
    offer = person.post(
        home + "/offers/new", {**OFFER, "category": "medicine", "medicine": "Insulin"}
    )
    assert offer.status_code == 400 and "name and dose" in offer.text
    assert "Nothing open here." in person.get(home + "/needs").text


def test_medicine_blood_and_a_need_for_coordinators_only(person: Browser) -> None:
    home = council_with_areas(person)
    medicine = {**NEED, "category": "medicine", "medicine": "Insulin", "dose": "100 IU/ml"}
    assert person.post(home + "/needs/new", {**medicine, "cold": "1"}).status_code == 303
    blood = {**NEED, "category": "blood", "blood": "O-", "visibility": "coordinators"}
    assert person.post(home + "/needs/new", blood).status_code == 303
    page = words(person.get(home + "/needs").text)
    assert "Insulin" in page and "100 IU/ml" in page
    assert "O-" in page and "shown to coordinators only" in page  # the founder coordinates


def test_match_confirm_deliver_and_withdraw(tmp_path: Path) -> None:
    with two_members(tmp_path) as (a, b, home):
        assert (
            a.post(home + "/areas", {"areas": AREAS, "edges": "block-4 mosque 2"}).status_code
            == 303
        )
        assert a.post(home + "/needs/new", {**NEED, "what": "tank"}).status_code == 303
        carry(a, b, home)
        assert b.post(home + "/offers/new", {**OFFER, "what": "well water"}).status_code == 303
        offers = b.get(home + "/offers").text
        assert "well water" in offers and "Withdraw" not in offers  # one line each
        own = re.search(rf'href="({home}/items/[0-9a-f]{{64}})"', offers)
        assert own is not None and "Withdraw" in b.get(own.group(1)).text
        carry(b, a, home)
        match = a.get(home + "/match").text
        assert "Confirm this match" in match and "Bahar" in words(match)
        need = re.search(r'name="need" value="([0-9a-f]{64})"', match)
        offer = re.search(r'name="offer" value="([0-9a-f]{64})"', match)
        assert need and offer
        pair = {"need": need.group(1), "offer": offer.group(1)}
        too_much = a.post(home + "/match/commit", {**pair, "quantity": "999"})
        assert too_much.status_code == 400 and "can be committed here" in too_much.text
        assert a.post(home + "/match/commit", {**pair, "quantity": "20"}).status_code == 303
        page = a.get(home + "/match").text
        assert "20 committed, 0 delivered" in words(page) and "No match to propose now." in page
        commitment = re.search(r'name="commitment" value="([0-9a-f]{64})"', page)
        assert commitment
        over = a.post(home + "/match/fulfil", {"commitment": commitment.group(1), "quantity": "21"})
        assert over.status_code == 400 and "left to deliver" in over.text
        assert (
            a.post(
                home + "/match/fulfil", {"commitment": commitment.group(1), "quantity": "20"}
            ).status_code
            == 303
        )
        assert "Delivered in full" in a.get(home + "/match").text
        bad = a.post(home + "/match/commit", {"need": "zz", "offer": "1"})
        assert bad.status_code == 400 and "not a valid id" in bad.text
        # Bahar withdraws her offer; Nasrin cannot withdraw it for her.
        not_hers = a.post(home + f"/items/{offer.group(1)}/cancel", {"reason": "no"})
        assert not_hers.status_code == 403
        carry(a, b, home)
        gone = b.post(home + f"/items/{offer.group(1)}/cancel", {"reason": "dry"})
        assert gone.status_code == 303 and gone.headers["location"].endswith("/offers")
        assert "well water" not in b.get(home + "/offers").text


def test_stocks_skills_and_the_summary(person: Browser) -> None:
    home = council_with_areas(person)
    stock = {"item": "Bottled water", "category": "water", "quantity": "30", "area": "mosque"}
    assert person.post(home + "/stocks", stock).status_code == 303
    page = person.get(home + "/stocks").text
    assert "Bottled water" in page and "30 in stock" in words(page)
    item = re.search(r"/stocks/([0-9a-f]{64})", page)
    assert item
    assert (
        person.post(home + f"/stocks/{item.group(1)}", {"quantity": "10", "add": "0"}).status_code
        == 303
    )
    assert (
        person.post(home + f"/stocks/{item.group(1)}", {"quantity": "۵", "add": "1"}).status_code
        == 303
    )
    assert "25 in stock" in words(person.get(home + "/stocks").text)
    over = person.post(home + f"/stocks/{item.group(1)}", {"quantity": "99", "add": "0"})
    assert over.status_code == 400 and "cannot draw 99" in over.text
    bad = person.post(home + "/stocks", {**stock, "item": ""})
    assert bad.status_code == 400
    skills = person.post(
        home + "/skills", {"skill": "nurse", "note": "nights", "visibility": "coordinators"}
    )
    assert skills.status_code == 303
    page = words(person.get(home + "/skills").text)
    assert "nurse" in page and "nights" in page and "shown to coordinators only" in page
    unknown = person.post(home + "/skills", {"skill": "wizard"})
    assert unknown.status_code == 400 and "unknown skill" in unknown.text
    assert person.post(home + "/skills", {"withdraw": "1"}).status_code == 303
    assert "nights" not in person.get(home + "/skills").text
    for _ in range(3):
        person.post(home + "/needs/new", NEED)
    summary = words(person.get(home + "/summary").text)
    assert "Block 4" in summary and "60" in summary and "Nasrin" not in summary
    csv = person.get(home + "/summary.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "#adm" in csv.text or "#loc" in csv.text or "#" in csv.text.splitlines()[1]
    assert "block-4" in csv.text and "Nasrin" not in csv.text


def test_alerts_confirm_retract_and_the_home_page(tmp_path: Path) -> None:
    with two_members(tmp_path) as (a, b, home):
        assert a.post(home + "/areas", {"areas": AREAS}).status_code == 303
        r = a.post(home + "/alerts", {"kind": "checkpoint", "area": "block-4", "note": "north end"})
        assert r.status_code == 303
        page = words(a.get(home).text)
        assert (
            page.index("Active alerts") < page.index("Open decisions") < page.index("Urgent needs")
        )
        assert "checkpoint" in page and "north end" in page
        own = a.get(home + "/alerts").text
        assert "Retract" in own and "I confirm it" not in own
        carry(a, b, home)
        alert = re.search(r"/alerts/([0-9a-f]{64})", b.get(home + "/alerts").text)
        assert alert
        assert b.post(home + f"/alerts/{alert.group(1)}", {"action": "confirm"}).status_code == 303
        assert "confirmed by 1 other" in words(b.get(home + "/alerts").text)
        refused = b.post(home + f"/alerts/{alert.group(1)}", {"action": "retract"})
        assert refused.status_code == 400 and "author or a coordinator" in refused.text
        assert a.post(home + f"/alerts/{alert.group(1)}", {"action": "retract"}).status_code == 303
        assert "retracted" in a.get(home + "/alerts").text
        assert "No active alerts." in a.get(home).text
        bad = a.post(home + "/alerts", {"kind": "dragons", "area": "block-4"})
        assert bad.status_code == 400 and "an alert is one of" in bad.text
        nowhere = a.post(home + "/alerts", {"kind": "fire"})
        assert nowhere.status_code == 400 and "choose an area" in nowhere.text


def test_roll_call_shows_who_answered(tmp_path: Path) -> None:
    with two_members(tmp_path) as (a, b, home):
        assert "No roll call yet." in a.get(home + "/rollcalls").text
        assert a.post(home + "/rollcalls", {"area": ""}).status_code == 303
        page = words(a.get(home + "/rollcalls").text)
        assert "Answered: 0" in page and "Not answered yet: 2" in page
        carry(a, b, home)
        assert b.post(home + "/checkin", {"status": "injured"}).status_code == 303
        carry(b, a, home)
        page = words(a.get(home + "/rollcalls").text)
        assert "Answered: 1" in page and "Bahar · I'm injured" in page
        assert "Not answered yet: 1" in page and "Nasrin" in page
        # The page polls the roll call alone (not activity: it keeps no session awake).
        polled = a.get(home + "/rollcalls/latest", headers={"X-Shora-Poll": "1"}).text
        assert polled.startswith('<div id="rollcall"') and "<html" not in polled
        assert "Bahar · I'm injured" in words(polled) and 'hx-trigger="every 5s"' in polled


def test_missing_people_notes_and_links(person: Browser) -> None:
    home = council_with_areas(person)
    person_a = {
        "full_name": "Reza Ahmadi",
        "age": "30-40",
        "sex": "male",
        "last_seen_area": "mosque",
    }
    assert person.post(home + "/missing", person_a).status_code == 303
    assert person.post(home + "/missing", {"full_name": "Reza A.", "age": "۳۵"}).status_code == 303
    page = person.get(home + "/missing").text
    ids = re.findall(r"/missing/([0-9a-f]{64})", page)
    assert len(ids) == 2
    note = {"status": "believed_alive", "text": "Seen at the clinic", "last_known_area": "block-4"}
    assert person.post(home + f"/missing/{ids[0]}", note).status_code == 303
    assert person.post(home + f"/missing/{ids[0]}", {"linked_person": ids[1]}).status_code == 303
    page = words(person.get(home + "/missing").text)
    assert "believed alive" in page and "Seen at the clinic" in page and "Linked records" in page
    empty = person.post(home + f"/missing/{ids[0]}", {})
    assert empty.status_code == 400 and "a note says something" in empty.text
    age = person.post(home + "/missing", {"full_name": "X", "age": "old"})
    assert age.status_code == 400 and "30-40" in age.text
    backwards = person.post(home + "/missing", {"full_name": "X", "age": "40-30"})
    assert backwards.status_code == 400 and "lower age" in backwards.text


def test_superscripts_are_refused_not_a_crash(person: Browser) -> None:
    """'²'.isdigit() is true but int('²') raises: an age or a street's length typed
    with one answers 400 and says what is expected, never a server error."""
    home = council_with_areas(person)
    for age in ("²", "3-²", "²-4"):
        r = person.post(home + "/missing", {"full_name": "X", "age": age})
        assert r.status_code == 400 and "An age is a number or a range" in r.text, age
    for length in ("²", "1²"):
        r = person.post(home + "/areas", {"areas": AREAS, "edges": f"block-4 mosque {length}"})
        assert r.status_code == 400 and "between neighbours is a whole" in r.text, length
    assert (
        person.post(home + "/areas", {"areas": AREAS, "edges": "block-4 mosque ۳"}).status_code
        == 303
    )


def test_dead_man_timer(tmp_path: Path) -> None:
    with two_members(tmp_path) as (a, b, home):
        page = a.get(home + "/deadman").text
        assert "No timer is running." in page and "Bahar" in page
        key = re.search(r'name="contact" value="([0-9a-f]{64})"', page)
        assert key
        none = a.post(home + "/deadman", {"hours": "12"})
        assert none.status_code == 400 and "name from 1 to" in none.text
        long = a.post(home + "/deadman", {"hours": "99999", "contact": key.group(1)})
        assert long.status_code == 400 and "out of range" in long.text
        assert (
            a.post(home + "/deadman", {"hours": "12", "contact": key.group(1)}).status_code == 303
        )
        assert "Running:" in a.get(home + "/deadman").text
        carry(a, b, home)
        assert "Timers that name you" in b.get(home + "/deadman").text
        assert a.post(home + "/deadman", {"clear": "1"}).status_code == 303
        assert "No timer is running." in a.get(home + "/deadman").text


def test_text_everywhere_is_inert(person: Browser) -> None:
    home = council_with_areas(person)
    person.post(home + "/needs/new", {**NEED, "what": XSS, "unit": XSS})
    person.post(home + "/offers/new", {**OFFER, "what": XSS})
    person.post(home + "/alerts", {"kind": "fire", "area": "mosque", "note": XSS[:200]})
    person.post(
        home + "/stocks", {"item": XSS, "category": "food", "quantity": "1", "area": "mosque"}
    )
    person.post(home + "/missing", {"full_name": XSS, "description": XSS})
    person.post(home + "/skills", {"skill": "cook", "note": XSS})
    missing = re.search(r"/missing/([0-9a-f]{64})", person.get(home + "/missing").text)
    assert missing
    note = {"text": XSS, "status": "believed_alive"}
    assert person.post(home + f"/missing/{missing.group(1)}", note).status_code == 303
    person.post(home + "/missing", {"full_name": "Omid", "alternate_names": XSS})
    bad = person.post(home + "/areas", {"areas": f"a = {XSS}\nb{XSS}\u2066 = x"})
    assert bad.status_code == 400 and "<script>alert(1)" not in bad.text
    named = f"block-4 = Block 4\nmosque = The mosque\n{XSS}"  # a name is any text, shown inert
    kept = {"areas": named, "edges": "Block 4, The mosque, 2"}
    assert person.post(home + "/areas", kept).status_code == 303
    for tail in (
        "/areas",
        "",
        "/needs",
        "/offers",
        "/match",
        "/alerts",
        "/stocks",
        "/missing",
        "/skills",
    ):
        page = person.get(home + tail).text
        assert "<script>alert(1)" not in page and "<img src=x" not in page, tail
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, tail


def test_the_api_lists_and_posts_needs_and_offers(person: Browser) -> None:
    home = council_with_areas(person)
    council = home.rsplit("/", 1)[1]
    headers = {"X-CSRF-Token": person.csrf}
    api = f"/api/councils/{council}"
    need = {
        "category": "water",
        "quantity": 5,
        "urgency": "immediate",
        "area": "mosque",
        "what": "jerrycans",
    }
    made = person.client.post(api + "/needs", json=need, headers=headers)
    assert made.status_code == 201, made.text
    offer = {"category": "water", "quantity": 9, "area": "block-4", "hours": 24}
    assert person.client.post(api + "/offers", json=offer, headers=headers).status_code == 201
    needs = person.client.get(api + "/needs").json()
    assert needs[0]["id"] == made.json()["id"] and needs[0]["what"] == "jerrycans"
    offers = person.client.get(api + "/offers?limit=1").json()
    assert offers[0]["remaining"] == 9 and offers[0]["expires"] is not None
    assert "jerrycans" in person.get(home + "/needs").text
    for bad in (
        {**need, "area": "nowhere"},
        {**need, "category": "unicorns"},
        {**need, "quantity": 0},
        {**need, "surprise": 1},
    ):
        r = person.client.post(api + "/needs", json=bad, headers=headers)
        assert r.status_code == 400 and set(r.json()) == {"error", "message"}, bad


def test_a_private_note_on_a_need_is_read_only_by_its_handlers(tmp_path: Path) -> None:
    with two_members(tmp_path) as (a, b, home):
        assert a.post(home + "/areas", {"areas": AREAS}).status_code == 303
        assert a.post(home + "/needs/new", {**NEED, "what": "insulin"}).status_code == 303
        need = re.search(r"/items/([0-9a-f]{64})", a.get(home + "/needs").text)
        assert need
        page = home + f"/items/{need.group(1)}"
        assert f"/needs/{need.group(1)}/notes" in a.get(page).text
        added = a.post(home + f"/needs/{need.group(1)}/notes", {"text": "Door code 4411"})
        assert added.status_code == 303 and added.headers["location"].endswith(page)
        assert "Door code 4411" in a.get(page).text
        assert "1 private note" in words(a.get(home + "/needs").text)
        carry(a, b, home)
        theirs = b.get(page).text
        assert (
            "Door code 4411" not in theirs and "A note for the people handling this need." in theirs
        )
        refused = b.post(home + f"/needs/{need.group(1)}/notes", {"text": "me too"})
        assert refused.status_code == 403
        empty = a.post(home + f"/needs/{need.group(1)}/notes", {"text": " "})
        assert empty.status_code == 400


def test_a_need_met_from_elsewhere_and_a_duplicate_marked(person: Browser) -> None:
    home = council_with_areas(person)
    assert person.post(home + "/needs/new", {**NEED, "what": "first"}).status_code == 303
    assert person.post(home + "/needs/new", {**NEED, "what": "again"}).status_code == 303
    page = person.get(home + "/needs").text
    ids = dict(
        (what, key)
        for key, what in re.findall(r'id="n-([0-9a-f]{64})".*?class="text">(\w+)<', page, re.S)
    )
    assert set(ids) == {"first", "again"}
    over = person.post(home + f"/needs/{ids['first']}/fulfil", {"quantity": "21"})
    assert over.status_code == 400 and "left to deliver" in over.text
    assert (
        person.post(home + f"/needs/{ids['first']}/fulfil", {"quantity": "20"}).status_code == 303
    )
    dup = {"reason": "posted twice", "duplicate_of": ids["first"]}
    assert person.post(home + f"/items/{ids['again']}/cancel", dup).status_code == 303
    assert "Nothing open here." in person.get(home + "/needs").text
    bad = person.post(home + f"/items/{ids['again']}/cancel", {"duplicate_of": "nonsense"})
    assert bad.status_code == 400 and "not a valid id" in bad.text


def test_i_need_from_the_home_page_the_area_as_the_member_last_named_it(
    person: Browser,
) -> None:
    """The home page's "I need..." buttons open the need's form with the category chosen
    and how much at 1; the area is the member's own (their last check-in's), else the one
    they last used, else the only one; posting goes back to the home page, which lists
    the need. A medicine's name and dose are shown open, and still required."""
    home = person.found_council()
    assert person.post(home + "/areas", {"areas": "block-4 = Block 4\n"}).status_code == 303
    page = person.get(home).text
    for category in ("water", "food", "medicine", "shelter", "transport", "medical_care"):
        assert f'href="{home}/needs/new?category={category}&amp;from=home"' in page
    assert f'href="{home}/needs/new?from=home"' in page
    form = person.get(home + "/needs/new?category=water&from=home").text
    assert '<option value="water" selected>' in form
    assert 'name="from" value="home"' in form and 'id="i-quantity"' in form
    assert re.search(r'id="i-quantity"[^>]*value="1"', form)
    assert '<option value="block-4" selected>' in form  # the only area
    assert "Choose the area" not in form
    assert "<details open>" not in form  # medicine and blood stay folded for water
    medicine = person.get(home + "/needs/new?category=medicine&from=home").text
    assert "<details open>" in medicine and 'id="i-medicine"' in medicine
    refused = person.post(
        home + "/needs/new", {"category": "medicine", "quantity": "1", "area": "block-4"}
    )
    assert refused.status_code == 400 and "A medicine needs its name and dose." in refused.text
    assert "<details open>" in refused.text
    posted = person.post(
        home + "/needs/new",
        {"category": "water", "quantity": "۱۰", "area": "block-4", "from": "home"},
    )
    assert posted.status_code == 303 and posted.headers["location"].startswith(home + "?posted=1")
    mine = words(person.get(home + "?posted=1").text)
    assert "Posted;" in mine and "10 litre · drinking water" in mine and "still open: 10" in mine
    # Two areas: the one last used in a need or offer; then the last check-in's.
    two = {"areas": "block-4 = Block 4\nmosque = The mosque\n"}
    assert person.post(home + "/areas", two).status_code == 303
    assert '<option value="block-4" selected>' in person.get(home + "/needs/new").text
    assert person.post(home + "/checkin", {"status": "safe", "area": "mosque"}).status_code == 303
    assert '<option value="mosque" selected>' in person.get(home + "/offers/new").text


def test_a_fresh_member_with_two_areas_chooses_one(tmp_path: Path) -> None:
    with browser(tmp_path / "fa", **{"Accept-Language": "fa"}) as person:
        person.create_profile()
        home = council_with_areas(person)
        form = person.get(home + "/needs/new?category=food&from=home").text
        assert "محدوده را انتخاب کنید" in form and " selected>" in form  # the category
        assert not re.search(r'<option value="(block-4|mosque)" selected>', form)
        home_page = words(person.get(home).text)
        assert "نیاز دارم…" in home_page and "چیز دیگر" in home_page


def test_a_matched_need_stays_listed_and_its_author_sees_the_match_at_home(
    tmp_path: Path,
) -> None:
    """Matched in full, a need is no longer open but still listed, as matched and then
    on its way, with its page; the commitment names the need it answers; the need's
    author reads on the home page who gives it and how much is on its way."""
    with two_members(tmp_path) as (a, b, home):
        assert a.post(home + "/areas", {"areas": AREAS}).status_code == 303
        carry(a, b, home)
        need = {"category": "water", "quantity": "10", "area": "block-4", "from": "home"}
        assert b.post(home + "/needs/new", need).status_code == 303
        carry(b, a, home)
        assert a.post(home + "/offers/new", {**OFFER, "area": "block-4"}).status_code == 303
        match = a.get(home + "/match").text
        pair = dict(re.findall(r'name="(need|offer)" value="([0-9a-f]{64})"', match))
        assert a.post(home + "/match/commit", {**pair, "quantity": "10"}).status_code == 303
        listed = words(a.get(home + "/needs").text)
        assert "matched" in listed and "10 litre · drinking water" in listed
        assert "matched" in words(a.get(f"{home}/items/{pair['need']}").text)
        page = a.get(home + "/match").text
        assert f'href="{home}/items/{pair["need"]}"' in page
        assert "For the need of Bahar in Block 4: 10 litre" in words(page)
        commitment = re.search(r'name="commitment" value="([0-9a-f]{64})"', page)
        assert commitment is not None
        sent = {"commitment": commitment.group(1), "quantity": "10"}
        assert a.post(home + "/match/dispatch", sent).status_code == 303
        carry(a, b, home)
        at_home = words(b.get(home).text)
        assert "10 on its way from Nasrin" in at_home
        listed = words(b.get(home + "/needs").text)
        assert "10 on its way" in listed and "Nothing open here." not in listed
        assert b.get(f"{home}/items/{pair['need']}").status_code == 200
        # Delivered in full: gone from the list and from the home page.
        assert a.post(home + "/match/fulfil", sent).status_code == 303
        carry(a, b, home)
        assert "10 litre · drinking water" not in words(b.get(home + "/needs").text)
        assert "on its way from" not in words(b.get(home).text)
        assert b.get(f"{home}/items/{pair['need']}").status_code == 404
