"""Everything in the person's words: an election's title with the role in words, the
seats counted by Babel's plural forms and the Persian comma between names; and a
catalogue check that renders the main pages and a set of refusals in Persian and finds
no Latin word outside names, ids and keys. Real app, real profiles.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from web.client import Browser, browser
from web.test_web_decisions import carry, words

FA = {"Accept-Language": "fa-IR,fa;q=0.9"}
EN = {"Accept-Language": "en"}

# What stays Latin on a Persian page: the project's name, formats and standards named
# as such (USB, CSV, HXL), the counting methods' names (IRV, STV), the language menu's
# own names, a command to type (shora serve --lan) and a relay address's form
# (ws://HOST:PORT); hex ids are matched apart, and what the person typed is theirs.
ALLOWED = {"Shora", "English", "CSV", "HXL", "QR", "USB", "IRV", "STV"}
ALLOWED |= {"shora", "serve", "lan", "ws", "wss", "HOST", "PORT"}
LATIN = re.compile(r"[A-Za-z][A-Za-z'’-]*")
HEX = re.compile(r"\b[0-9a-f]{6,}\b")


@contextmanager
def two_members(tmp_path: Path, headers: dict[str, str]) -> Iterator[tuple[Browser, Browser, str]]:
    """نسرین founds a council and admits بهار, who joined from her own profile."""
    with browser(tmp_path / "a", **headers) as a, browser(tmp_path / "b", **headers) as b:
        a.create_profile()
        b.create_profile()
        home = a.found_council("شورای محله", "نسرین")
        invitation = re.search(r'id="invitation-text"[^>]*>([^<]+)<', a.post(home + "/invite").text)
        assert invitation is not None
        joined = b.post(
            "/join", {"invitation": invitation.group(1), "name": "بهار"}, follow_redirects=True
        )
        request = re.search(r'id="join-request"[^>]*>([^<]+)<', joined.text)
        assert request is not None
        assert a.post(home + "/admit", {"request": request.group(1)}).status_code == 200
        carry(a, b, home)
        yield a, b, home


def elect(a: Browser, home: str, role: str, seats: str) -> str:
    keys = re.findall(r'name="candidate" value="([0-9a-f]{64})"', a.get(home + "/roles").text)
    assert len(keys) == 2
    fields = {"csrf": a.csrf, "role": role, "seats": seats, "method": "stv", "candidate": keys}
    r = a.client.post(home + "/roles/elect", data=fields)
    assert r.status_code == 303, r.text
    return words(a.get(str(r.headers["location"])).text)


def test_an_election_reads_in_persian(tmp_path: Path) -> None:
    with two_members(tmp_path, FA) as (a, _b, home):
        page = elect(a, home, "نماینده", "۲")  # the role typed in Persian words
        assert "انتخابات: نماینده (۲ کرسی)" in page
        assert "نسرین، بهار" in page or "بهار، نسرین" in page, page
        assert "delegate" not in page


def test_an_election_counts_its_seats_in_english(tmp_path: Path) -> None:
    with two_members(tmp_path, EN) as (a, _b, home):
        assert "Election: delegate (1 seat)" in elect(a, home, "delegate", "1")
        assert "Election: treasurer (2 seats)" in elect(a, home, "Treasurer", "2")


def latin_words(page: str) -> set[str]:
    body = page.split("<body", 1)[1].split(">", 1)[1]
    body = re.sub(r"<(script|style|textarea)\b.*?</\1>", " ", body, flags=re.S)
    text = HEX.sub(" ", words(body))
    return {w for w in LATIN.findall(text) if w not in ALLOWED}


def test_persian_pages_and_refusals_have_no_english(tmp_path: Path) -> None:
    with two_members(tmp_path, FA) as (a, _b, home):
        elect(a, home, "نماینده", "1")
        pages = ["/councils", "/join", "/sync", "/federations/new", home]
        pages += [home + p for p in ("/members", "/posts", "/decisions", "/decisions/new")]
        pages += [home + p for p in ("/roles", "/tasks", "/rules", "/needs", "/alerts")]
        pages += [home + p for p in ("/federation", "/leave", "/rollcalls", "/missing")]
        pages += [home + p for p in ("/areas", "/needs/new", "/offers", "/offers/new")]
        pages += [home + p for p in ("/match", "/skills", "/stocks", "/summary", "/minutes")]
        pages += [home + p for p in ("/deadman", "/federation/apply")]
        found = {p: latin_words(a.get(p).text) for p in pages}
        refusals = {
            "no such page": a.get("/nowhere"),
            "bad mandate": a.post(home + "/federation/admit", {"request": "x", "mandate": "y"}),
            "bad number": a.post(home + "/roles/elect", {"role": "نماینده", "seats": "بسیار"}),
            "no role": a.post(home + "/roles/elect", {"role": ""}),
            "empty federation": a.post("/federations/new", {"name": "", "founder": ""}),
            "bad invitation": a.post(
                "/join", {"invitation": "shora:invite/abc", "name": "x"}, follow_redirects=True
            ),
            "bad join request": a.post(home + "/admit", {"request": "abc"}),
            "nameless council": a.post("/councils", {"name": "", "founder": ""}),
            "need without area": a.post(home + "/needs/new", {"title": "آب", "category": "water"}),
            "bad relay": a.post("/sync/relays", {"url": "ftp://x"}),
            "no rule changed": a.post(home + "/rules", {"hours": "72"}),
            "empty post": a.post(home + "/posts", {"text": ""}),
        }
        for name, r in refusals.items():
            assert r.status_code in (200, 400, 403, 404), (name, r.status_code)
            found[name] = latin_words(r.text)
        left = {p.rsplit("/", 1)[-1]: sorted(w) for p, w in found.items() if w}
        assert not left, "\n".join(f"{p}: {w}" for p, w in left.items())


def test_shares_are_chosen_in_words_or_as_a_percentage(tmp_path: Path) -> None:
    with two_members(tmp_path, FA) as (a, _b, home):
        form = a.get(home + "/decisions/new").text
        assert '<option value="2/3">دوسوم</option>' in form
        assert '<option value="3/5">۶۰٪</option>' in form and "۱/۲" not in words(form)
        r = a.post(
            home + "/decisions/new",
            {"title": "مخزن", "text": "خرید", "deadline": "1", "deadline_unit": "days"}
            | {"quorum": "1/2", "threshold": "3/5"},
        )
        assert r.status_code == 303, r.text
        rules = a.get(home + "/rules").text
        assert '<select id="r-quorum" name="quorum">' in rules and "نیمی" in words(rules)
        changed = a.post(home + "/rules", {"quorum": "2/3", "hours": "72"})
        assert changed.status_code == 303, changed.text
        proposal = words(a.get(str(changed.headers["location"])).text)
        assert "حد نصاب هر رأی‌گیری: هیچ ← دوسوم" in proposal  # in words, not "2/3"
        assert "2/3" not in proposal and "۲/۳" not in proposal


def test_the_nodes_own_refusals_read_in_persian(tmp_path: Path) -> None:
    """A refusal raised by the node itself (not by the page's form checks) comes in the
    page's language too."""
    with browser(tmp_path / "a", **FA) as a:
        a.create_profile()
        home = a.found_council("شورای محله", "نسرین")
        r = a.post(home + "/members/" + "ab" * 32 + "/remove", {"confirm": "yes"})
        assert r.status_code == 404, r.text
        assert not latin_words(r.text), latin_words(r.text)
        assert "عضو فعال" in words(r.text)
