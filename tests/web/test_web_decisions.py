"""Deliberation and self-government in the web pages: proposing, a ballot form for
every voting method, amendments, closing, results drawn as SVG (IRV rounds and STV
stages one by one), tasks, minutes, roles, elections, recall and rules; the JSON API
for proposals. Real app, real encrypted profiles; time moves by the node's own clock.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path

import pytest

from web.client import Browser, browser
from web.fixtures import person  # noqa: F401 (fixtures)

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'
BOBS = ("Bahar", "Cyrus")


def words(page: str) -> str:
    """What a person reads: the page without its tags."""
    return unescape(re.sub(r"<[^>]+>", "", page))


def later(b: Browser, seconds: float) -> None:
    """Move the node's clock forward (the node takes its clock as a function)."""
    node = b.keeper.node
    assert node is not None
    node.now = lambda: time.time() + seconds


def propose(b: Browser, home: str, **fields: str) -> str:
    data = {"title": "Water tank", "text": "Buy a tank", "deadline": "1", "deadline_unit": "hours"}
    r = b.post(home + "/decisions/new", {**data, **fields})
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def test_the_council_home_links_to_decisions_and_shows_open_ones(person: Browser) -> None:
    home = person.found_council()
    page = person.get(home).text
    assert f'href="{home}/decisions"' in page and f'href="{home}/decisions/new"' in page
    assert "No open decisions." in page
    url = propose(person, home, title="Generator rota")
    page = person.get(home).text
    assert "Generator rota" in page and url.removeprefix("http://127.0.0.1:8150") in page
    listing = person.get(home + "/decisions").text
    assert "Generator rota" in listing and "open for voting" in listing


def test_yes_no_vote_close_outcome_and_chart(person: Browser) -> None:
    home = person.found_council()
    url = propose(person, home, quorum="1/2")
    page = person.get(url).text
    assert 'name="vote" value="yes"' in page and "Result so far (provisional)" in page
    voted = person.post(url + "/vote", {"vote": "yes"})
    assert voted.status_code == 303 and voted.headers["location"].endswith("?voted=1")
    page = person.get(url).text
    assert "1 of 1 members" in words(page) and 'value="yes" checked' in page
    assert "<svg" in page and 'width="100.00"' in page
    polled = person.get(url + "/result", headers={"X-Shora-Poll": "1"}).text
    assert polled.startswith('<section id="result"') and "<html" not in polled
    assert 'hx-trigger="every 10s"' in polled and "1 of 1 members" in words(polled)
    early = person.post(url + "/close")
    assert early.status_code == 400 and "can be closed from" in early.text
    later(person, 2 * 3600)
    late = person.post(url + "/vote", {"vote": "no"})
    assert late.status_code == 400 and "deadline for voting passed" in late.text
    closed = person.post(url + "/close", {"statement": "We buy the tank."})
    assert closed.status_code == 303
    page = person.get(url).text
    assert "Final result" in page and "Passed" in page and "We buy the tank." in page
    assert "hx-trigger" not in page  # a final result is not polled
    assert person.post(url + "/outcome", {"statement": "Bought."}).status_code == 303
    assert "Bought." in person.get(url).text


def test_a_ballot_form_for_every_method(person: Browser) -> None:
    home = person.found_council()
    options = "Sat 10:00\nSun 18:00\nMon 09:00"
    cases = [
        ("consent", {"response": "agree"}, 'value="agree" checked'),
        ("approval", {"choice": ["0", "2"]}, 'name="choice" value="2" checked'),
        ("score", {"score:0": "5", "score:1": "۳"}, 'name="score:1" inputmode="numeric" value="3"'),
        ("dots", {"dots:0": "4", "dots:2": "6"}, 'name="dots:2" inputmode="numeric" value="6"'),
        ("irv", {"rank:0": "2", "rank:1": "1"}, 'name="rank:0" inputmode="numeric" value="2"'),
        ("stv", {"rank:2": "1"}, 'name="rank:2" inputmode="numeric" value="1"'),
        ("schulze", {"rank:0": "1", "rank:1": "2", "rank:2": "3"}, 'value="3"'),
        ("time_poll", {"slot:0": "yes", "slot:1": "if_need_be"}, 'value="if_need_be" checked'),
    ]
    for method, ballot, shown in cases:
        url = propose(person, home, method=method, options=options, title=f"Poll {method}")
        form = person.get(url).text
        assert "Cast my ballot" in form, method
        r = person.client.post(url + "/vote", data={"csrf": person.csrf, **ballot})
        assert r.status_code == 303, (method, r.text[-600:])
        page = person.get(url).text
        assert shown in page, method
        assert "Change my ballot" in page and "<svg" in page, method


def test_ranked_ballots_keep_working_without_script_and_refuse_bad_ranks(person: Browser) -> None:
    home = person.found_council()
    url = propose(person, home, method="irv", options="A\nB\nC")
    page = person.get(url).text
    assert "data-rank-list" in page and 'draggable="true"' in page
    same = person.post(url + "/vote", {"rank:0": "1", "rank:1": "1"})
    assert same.status_code == 400 and "same rank" in same.text
    zero = person.post(url + "/vote", {"rank:0": "0"})
    assert zero.status_code == 400 and "start at 1" in zero.text
    empty = person.post(url + "/vote", {})
    assert empty.status_code == 400 and "fill in your ballot" in empty.text
    words = person.post(url + "/vote", {"rank:0": "first"})
    assert words.status_code == 400 and "not a whole number" in words.text


def test_bad_ballots_get_clear_errors(person: Browser) -> None:
    home = person.found_council()
    consent = propose(person, home, method="consent")
    block = person.post(consent + "/vote", {"response": "block"})
    assert block.status_code == 400 and "must give a reason" in block.text
    dots = propose(person, home, method="dots", options="A\nB", budget="5")
    over = person.post(dots + "/vote", {"dots:0": "4", "dots:1": "4"})
    assert over.status_code == 400 and "does not fit the vote" in over.text
    approval = propose(person, home, method="approval", options="A\nB\nC", max_choices="1")
    many = person.client.post(approval + "/vote", data={"csrf": person.csrf, "choice": ["0", "1"]})
    assert many.status_code == 400 and "does not fit the vote" in many.text
    score = propose(person, home, method="score", options="A\nB")
    high = person.post(score + "/vote", {"score:0": "99"})
    assert high.status_code == 400


def test_bad_proposals_keep_what_was_typed(person: Browser) -> None:
    home = person.found_council()
    cases = [
        ({"title": ""}, "needs a title"),
        ({"method": "approval", "options": "only one"}, "at least two options"),
        ({"method": "approval", "options": "A\nA"}, "listed twice"),
        ({"deadline": "soon"}, "not a whole number"),
        ({"deadline": "0"}, "out of range"),
        ({"deadline": "2", "deadline_unit": "years"}, "minutes, hours or days"),
        ({"quorum": "3/2"}, "not a share"),
        ({"method": "dancing"}, "choose a voting method"),
        ({"method": "stv", "options": "A\nB", "seats": "3"}, "cannot be voted on"),
        ({"title": "x" * 201}, "too long"),
    ]
    for fields, message in cases:
        data = {"title": "Kept title", "text": "Kept text", "deadline": "1", **fields}
        r = person.post(home + "/decisions/new", data)
        assert r.status_code == 400, fields
        assert message in r.text, (fields, r.text[:3000])
        assert "Kept text" in r.text
    assert "No proposals yet." in person.get(home + "/decisions").text


def test_figures_that_are_not_digits_are_refused_clearly(person: Browser) -> None:
    """'²'.isdigit() is true but int('²') raises: a share, a rule or a score typed with
    it answers the form again with a clear message (400), never a crash; Persian digits
    are read (۲ as a share is 2/1, more than all: no share either)."""
    home = person.found_council()
    for value in ("²", "۲", "²/³"):
        data = {"title": "Kept title", "text": "Kept text", "deadline": "1"}
        for name in ("quorum", "threshold"):
            r = person.post(home + "/decisions/new", {**data, name: value})
            assert r.status_code == 400 and "not a share" in r.text, (name, value)
        for name in ("rule_change_threshold", "quorum", "governance_quorum"):
            r = person.post(home + "/rules", {name: value, "hours": "24"})
            assert r.status_code == 400 and "not a share" in r.text, (name, value)
    for name in ("term_days", "recall_petition"):
        r = person.post(home + "/rules", {name: "²", "hours": "24"})
        assert r.status_code == 400 and "not a whole number" in r.text, name
    score = propose(person, home, method="score", options="A\nB")
    for name in ("score:0", "score:1"):
        r = person.post(score + "/vote", {name: "²"})
        assert r.status_code == 400 and "not a whole number" in r.text, name
    assert person.post(score + "/vote", {"score:0": "۲"}).status_code == 303
    assert 'name="score:0" inputmode="numeric" value="2"' in person.get(score).text
    dots = propose(person, home, method="dots", options="A\nB")
    r = person.post(dots + "/vote", {"dots:0": "-²"})
    assert r.status_code == 400 and "not a whole number" in r.text
    ranked = propose(person, home, method="irv", options="A\nB")
    r = person.post(ranked + "/vote", {"rank:0": "²"})
    assert r.status_code == 400 and "not a whole number" in r.text
    approval = propose(person, home, method="approval", options="A\nB")
    r = person.client.post(approval + "/vote", data={"csrf": person.csrf, "choice": ["²", "1"]})
    assert r.status_code == 303
    assert 'name="choice" value="1" checked' in person.get(approval).text


def test_amendments_and_their_acceptance(person: Browser) -> None:
    home = person.found_council()
    url = propose(person, home)
    r = person.post(url + "/amend", {"text": "Buy two tanks", "reason": "One is not enough"})
    assert r.status_code == 303
    page = person.get(url).text
    assert "Buy two tanks" in page and "Accept this text" in page
    amendment = re.search(r"/amendments/([0-9a-f]{64})/accept", page)
    assert amendment is not None
    assert person.post(url + f"/amendments/{amendment.group(1)}/accept").status_code == 303
    page = person.get(url).text
    assert "accepted" in page and 'class="text" dir="auto">Buy two tanks' in page
    empty = person.post(url + "/amend", {"text": "  "})
    assert empty.status_code == 400 and "needs a new text" in empty.text


def carry(source: Browser, target: Browser, home: str) -> None:
    """Take the council's events from one profile to the other in a bundle, through the
    pages (the export link and the import form with its progress)."""
    exported = source.get(home + "/bundle")
    assert exported.status_code == 200
    upload = {"bundle": ("x.bundle", exported.content, "application/octet-stream")}
    started = target.post("/sync/import", files=upload)
    assert started.status_code == 303, started.text
    for _ in range(200):
        progress = target.get(
            started.headers["location"] + "/progress", headers={"X-Shora-Poll": "1"}
        )
        if 'value="100"' in progress.text:
            return
        time.sleep(0.02)
    raise AssertionError(progress.text)


@contextmanager
def two_members(tmp_path: Path) -> Iterator[tuple[Browser, Browser, str]]:
    """Nasrin founds a council and admits Bahar, who joined from her own profile."""
    with browser(tmp_path / "a") as a, browser(tmp_path / "b") as b:
        a.create_profile()
        b.create_profile()
        home = a.found_council("Depot", "Nasrin")
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


def test_irv_rounds_and_stv_stages_are_drawn_one_by_one(tmp_path: Path) -> None:
    with two_members(tmp_path) as (a, b, home):
        irv = propose(a, home, method="irv", options="A\nB\nC")
        stv = propose(a, home, method="stv", options="A\nB\nC", seats="2")
        a.post(irv + "/vote", {"rank:2": "1", "rank:0": "2"})
        a.post(stv + "/vote", {"rank:1": "1", "rank:0": "2"})
        carry(a, b, home)
        assert b.post(irv + "/vote", {"rank:1": "1"}).status_code == 303
        assert b.post(stv + "/vote", {"rank:2": "1", "rank:1": "2"}).status_code == 303
        carry(b, a, home)
        page = words(a.get(irv).text)
        assert "2 of 2 members" in page
        assert "Round 1" in page and "Round 2" in page and "A is excluded." in page
        page = words(a.get(stv).text)
        assert "Stage 1: first preferences" in page and "Quota: 1" in page
        assert "B is elected." in page and "C is elected." in page


def test_text_everywhere_is_inert(person: Browser) -> None:
    home = person.found_council()
    url = propose(person, home, title=XSS, text=XSS, method="approval", options=f"{XSS}\nB")
    person.post(url + "/amend", {"text": XSS, "reason": XSS})
    person.post(url + "/vote", {"choice": "0"})
    person.post(home + "/tasks", {"what": XSS, "who": XSS})
    person.post(home + "/minutes", {"title": XSS, "text": XSS})
    consent = propose(person, home, method="consent", title="Consent")
    assert person.post(consent + "/vote", {"response": "block", "reason": XSS}).status_code == 303
    later(person, 2 * 3600)
    assert person.post(consent + "/close", {"statement": XSS}).status_code == 303
    role = person.post(home + "/roles/elect", {"role": XSS[:32]})
    assert role.status_code == 400 and "<script>" not in role.text
    paths = (url, consent, home + "/decisions", home, home + "/tasks", home + "/minutes")
    for path in paths:
        page = person.get(path).text
        assert "<script>alert(1)" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path


def test_tasks_and_minutes(person: Browser) -> None:
    home = person.found_council()
    r = person.post(home + "/tasks", {"what": "Fetch water", "due_days": "۲"})
    assert r.status_code == 303
    page = person.get(home + "/tasks").text
    assert "Fetch water" in page and "due " in page
    task = re.search(r"/tasks/([0-9a-f]{64})", page)
    assert task is not None
    done = person.post(home + f"/tasks/{task.group(1)}", {"status": "done", "note": "All done"})
    assert done.status_code == 303
    page = person.get(home + "/tasks").text
    assert "All done" in page and '<option value="done" selected>' in page
    bad = person.post(home + f"/tasks/{task.group(1)}", {"status": "asleep"})
    assert bad.status_code == 400 and "a task&#39;s status is one of" in bad.text
    assert person.post(home + "/tasks", {"what": ""}).status_code == 400
    assert (
        person.post(home + "/minutes", {"title": "Meeting 1", "text": "We met."}).status_code == 303
    )
    assert "We met." in person.get(home + "/minutes").text
    assert "Minutes need a title." in person.post(home + "/minutes", {"text": "x"}).text


def test_roles_elections_recall_and_rules(person: Browser) -> None:
    home = person.found_council(founder="Nasrin")
    page = person.get(home + "/roles").text
    key = re.search(r'name="candidate" value="([0-9a-f]{64})"', page)
    assert key is not None and "Nasrin" in page
    r = person.post(
        home + "/roles/elect", {"role": "coordinator", "candidate": key.group(1), "hours": "1"}
    )
    assert r.status_code == 303, r.text
    election = person.get(r.headers["location"]).text
    assert "Nasrin" in election and key.group(1) not in election.split("Result so far")[1]
    none = person.post(home + "/roles/elect", {"role": "coordinator"})
    assert none.status_code == 400 and "at least one candidate" in none.text
    rules = person.get(home + "/rules").text
    assert "Share of yes to change the rules" in rules and 'value="2/3"' in rules
    same = person.post(home + "/rules", {})
    assert same.status_code == 400 and "Change at least one rule" in same.text
    short = person.post(home + "/rules", {"term_days": "۳۰", "hours": "1"})
    assert short.status_code == 400 and "open at least 24 hours" in short.text
    change = person.post(home + "/rules", {"term_days": "۳۰", "hours": "24"})
    assert change.status_code == 303, change.text
    shown = words(person.get(change.headers["location"]).text)
    assert "Change the rules: Length of a term: 365 days → 30 days" in shown
    assert "term_days" not in shown
    bad = person.post(home + "/rules", {"quorum": "5/4"})
    assert bad.status_code == 400 and "not a share" in bad.text
    # The founder holds the coordinator role: a petition to recall her, then the vote.
    roles = words(person.get(home + "/roles").text)
    assert "Nasrin · coordinator" in roles
    target = {"role": "coordinator", "member": key.group(1)}
    assert person.post(home + "/roles/recall", target).status_code == 303
    assert "recall petition: 1 supporters" in words(person.get(home + "/roles").text)
    vote = person.post(home + "/roles/recall", {**target, "open_vote": "1"})
    assert vote.status_code == 303  # alone in the council, one supporter is enough
    assert "Recall Nasrin as coordinator" in person.get(vote.headers["location"]).text
    nobody = person.post(home + "/roles/recall", {"role": "treasurer", "member": key.group(1)})
    assert nobody.status_code == 400 and "does not hold that role" in nobody.text
    ratify = person.post(home + "/roles/ratify", {"action": "ab" * 32})
    assert ratify.status_code == 400 and "no pending emergency action" in ratify.text


def test_the_api_lists_shows_and_votes_on_proposals(person: Browser) -> None:
    home = person.found_council()
    council = home.rsplit("/", 1)[1]
    url = propose(person, home, method="approval", options="A\nB")
    pid = url.rsplit("/", 1)[1]
    headers = {"X-CSRF-Token": person.csrf}
    api = f"/api/councils/{council}/proposals"
    listed = person.client.get(api).json()
    assert [p["id"] for p in listed] == [pid] and listed[0]["phase"] == "open"
    cast = person.client.post(
        f"{api}/{pid}/vote",
        json={"ballot": {"type": "approval", "choices": ["B"]}},
        headers=headers,
    )
    assert cast.status_code == 201, cast.text
    shown = person.client.get(f"{api}/{pid}").json()
    assert shown["ballots"] == 1 and shown["my_ballot"] == {"type": "approval", "choices": ["B"]}
    assert shown["result"]["totals"] == {"A": 0, "B": 1}
    for bad in (
        {"ballot": {"type": "yes_no", "vote": "yes"}},
        {"ballot": {"type": "approval", "choices": ["Z"]}},
        {"ballot": {"type": "approval", "choices": ["A"]}, "extra": 1},
        {"nothing": True},
    ):
        r = person.client.post(f"{api}/{pid}/vote", json=bad, headers=headers)
        assert r.status_code == 400 and set(r.json()) == {"error", "message"}, bad
    unknown = person.client.get(f"{api}/{'0' * 64}")
    assert unknown.status_code == 404
    forged = person.client.post(
        f"{api}/{pid}/vote", json={"ballot": {"type": "approval", "choices": []}}
    )
    assert forged.status_code == 403  # no CSRF header
    doc = person.client.get("/api/openapi.json").json()
    for path in (
        "/proposals",
        "/proposals/{proposal}",
        "/proposals/{proposal}/vote",
        "/needs",
        "/offers",
    ):
        assert "/api/councils/{council}" + path in doc["paths"], path
    assert {"Proposal", "NewBallot", "Item", "NewNeed", "NewOffer"} <= set(
        doc["components"]["schemas"]
    )


def test_tasks_come_a_page_at_a_time(person: Browser) -> None:
    home = person.found_council()
    for i in range(21):
        assert person.post(home + "/tasks", {"what": f"task number {i}"}).status_code == 303
    first = person.get(home + "/tasks").text
    assert words(first).count("task number") == 20 and 'rel="next"' in first
    second = person.get(home + "/tasks?page=2").text
    assert words(second).count("task number") == 1 and 'rel="prev"' in second
    assert person.get(home + "/tasks?page=3").status_code == 400


@pytest.mark.parametrize(
    ("lang", "yes", "recorded"),
    [("en", "yes", "Your ballot is recorded"), ("fa", "موافق", "رأی شما ثبت شد")],
)
def test_a_yes_no_proposal_is_one_tap_from_the_home_page(
    tmp_path: Path, lang: str, yes: str, recorded: str
) -> None:
    """A simple yes/no/abstain proposal has its three ballot buttons on the council's home
    page (plain forms with the CSRF token); the tap records the ballot, the home page
    says so, and it can be changed until the deadline. Other methods keep their page."""
    with browser(tmp_path / "home", **{"Accept-Language": lang}) as person:
        person.create_profile()
        home = person.found_council()
        url = propose(person, home, title="Share the water tank?")
        ranked = propose(person, home, title="Which day?", method="irv", options="Sat\nSun")
        proposal = url.rsplit("/", 1)[1]
        page = person.get(home).text
        buttons = re.findall(
            rf'<form method="post" action="{home}/decisions/{proposal}/vote" class="row '
            r'quick-ballot">\s*<input type="hidden" name="csrf" value="[^"]+">\s*'
            r'<input type="hidden" name="from" value="home">(.*?)</form>',
            page,
            re.S,
        )
        assert len(buttons) == 1 and buttons[0].count('name="vote"') == 3
        assert yes in words(buttons[0]) and 'aria-pressed="false"' in buttons[0]
        assert f'action="{ranked.removeprefix("http://127.0.0.1:8150")}/vote"' not in page
        assert page.count("quick-ballot") == 1  # the ranked one keeps its own page
        voted = person.post(f"{home}/decisions/{proposal}/vote", {"vote": "yes", "from": "home"})
        assert voted.status_code == 303
        assert voted.headers["location"] == f"{home}?voted={proposal}#p-{proposal}"
        page = person.get(voted.headers["location"].split("#")[0]).text
        assert recorded in words(page)
        assert re.search(r'value="yes" aria-pressed="true" class="primary"', page)
        assert recorded not in words(person.get(home).text)  # said once, after the tap
        changed = person.post(f"{home}/decisions/{proposal}/vote", {"vote": "no", "from": "home"})
        assert changed.status_code == 303
        assert 'value="no" checked' in person.get(url).text
        # Past the deadline, no buttons (the proposal's page says why).
        later(person, 2 * 3600)
        assert "quick-ballot" not in person.get(home).text
        late = person.post(f"{home}/decisions/{proposal}/vote", {"vote": "yes", "from": "home"})
        assert late.status_code == 400
