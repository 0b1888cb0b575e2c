"""Joining is one scan or one link each way, through the pages of two real profiles:
the invitation is a link (and QR code) to the newcomer's own join page with the token
in the fragment; the join request is a link (and QR code) to a member's admit page,
with a share button; a damaged paste keeps what was typed and says what is wrong in
the page's language; while waiting, the newcomer sees the council's name, "waiting to
be admitted" and their request, and nothing that would answer 403."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from shora.ui.qr import qr_svg
from shora.web.areas.joining import scalable
from web.client import PASSPHRASE, browser
from web.test_web_decisions import carry, words

ACCEPT = {"en": "en", "fa": "fa-IR,fa;q=0.9"}
TEXT = {
    "en": {
        "waiting": "Waiting to be admitted.",
        "damaged": "The invitation is damaged or incomplete",
        "not_invitation": "This is not an invitation",
        "admitted": "Bahar is admitted.",
    },
    "fa": {
        "waiting": "در انتظار پذیرش.",
        "damaged": "دعوت‌نامه آسیب دیده یا ناقص است",
        "not_invitation": "این دعوت‌نامه نیست",
        "admitted": "Bahar پذیرفته شد.",
    },
}


def _field(page: str, id_: str) -> str:
    found = re.search(rf'id="{id_}"[^>]*value="([^"]+)"', page) or re.search(
        rf'id="{id_}"[^>]*>([^<]+)<', page
    )
    assert found is not None, id_
    return unescape(found.group(1))


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_an_invitation_link_there_a_join_request_link_back(tmp_path: Path, lang: str) -> None:
    t = TEXT[lang]
    header = {"Accept-Language": ACCEPT[lang]}
    with browser(tmp_path / "a", **header) as a, browser(tmp_path / "b", **header) as b:
        a.create_profile()
        b.create_profile()
        home = a.found_council("Block 4 committee", "Nasrin")
        council = home.rsplit("/", 1)[1]
        made = a.post(home + "/invite").text
        link = _field(made, "invitation-link")
        url = urlsplit(link)
        # The newcomer's own node, its join page; the token only in the fragment.
        assert (url.scheme, url.netloc, url.path, url.query) == (
            "http",
            "127.0.0.1:8150",
            "/join",
            "",
        )
        assert url.fragment.startswith("shora:invite/") and "council=Block%204%20committee" in link
        qr = re.search(r"<svg.*?</svg>", made, re.S)
        assert qr is not None and qr.group(0) == scalable(qr_svg(link)).strip()
        assert 'data-share="invitation-link"' in made
        # A damaged paste: the page says what is wrong, in its language, and keeps it.
        cut = link[:-40]
        damaged = b.post("/join", {"invitation": cut, "name": "Bahar"}, follow_redirects=True)
        assert damaged.status_code == 400
        assert t["damaged"] in words(damaged.text) and "checksum" not in damaged.text
        assert _field(damaged.text, "invitation") == cut and 'value="Bahar"' in damaged.text
        wrong = b.post(
            "/join", {"invitation": "shora:join/AAAA", "name": "Bahar"}, follow_redirects=True
        )
        assert wrong.status_code == 400 and t["not_invitation"] in words(wrong.text)
        # The whole link (what the page's script puts in the field from the fragment).
        # Redirect after POST to the council's own page (a reload sends nothing again),
        # the same until admitted and its home after.
        posted = b.post("/join", {"invitation": url.fragment, "name": "Bahar"})
        assert posted.status_code == 303 and posted.headers["location"] == home
        joined = b.get(home)
        assert joined.status_code == 200
        page = words(joined.text)
        assert "Block 4 committee" in page and t["waiting"] in page
        request_link = _field(joined.text, "join-request-link")
        back = urlsplit(request_link)
        assert (back.netloc, back.path, back.query) == ("127.0.0.1:8150", "/admit", "")
        assert back.fragment.startswith("shora:join/")
        assert 'data-share="join-request-link"' in joined.text and "<svg" in joined.text
        # While waiting: the council's name, and nothing that would answer 403.
        assert "Block 4 committee" in words(b.get("/councils").text)
        waiting = b.get(home).text
        assert t["waiting"] in words(waiting) and request_link in unescape(waiting)
        for refused in ("/checkin", "/rename", "/invite", "/leave", "/decisions", "/needs"):
            assert (
                f'action="{home}{refused}' not in waiting
                and f'href="{home}{refused}' not in waiting
            )
        # The member opens the request's link: the admit page, then admits.
        admit_page = a.get("/admit")
        assert admit_page.status_code == 200
        # Only the scanning pages may use the camera.
        assert admit_page.headers["permissions-policy"].startswith("camera=(self)")
        assert a.get("/councils").headers["permissions-policy"].startswith("camera=()")
        admitted = a.post("/admit", {"request": request_link})
        assert admitted.status_code == 200 and t["admitted"] in words(admitted.text)
        carry(a, b, home)
        home_page = b.get(home).text
        assert t["waiting"] not in words(home_page) and f'action="{home}/checkin"' in home_page
        assert council in home


def test_the_text_forms_are_still_accepted(tmp_path: Path) -> None:
    with browser(tmp_path / "a") as a, browser(tmp_path / "b") as b:
        a.create_profile()
        b.create_profile()
        home = a.found_council("Depot", "Nasrin")
        made = a.post(home + "/invite").text
        blocks = _field(made, "invitation-text")
        assert re.fullmatch(r"[A-Z2-7]{5}(-[A-Z2-7]{1,5})+", blocks)
        joined = b.post("/join", {"invitation": blocks, "name": "Bahar"}, follow_redirects=True)
        assert joined.status_code == 200
        request = _field(joined.text, "join-request")
        assert request.startswith("shora:join/")
        broken = a.post("/admit", {"request": request[:-9]})
        assert broken.status_code == 400 and "The join request is damaged" in broken.text
        assert request[:-9] in broken.text
        assert "admitted" in words(a.post("/admit", {"request": request}).text)
        other = a.found_council("Second", "Nasrin")
        plain = _field(a.post(other + "/invite").text, "invitation-link").split("#")[1]
        token = plain.split("?")[0]  # shora:invite/... with no name: still a council
        waiting = b.post("/join", {"invitation": token, "name": "Bahar"}, follow_redirects=True)
        assert waiting.status_code == 200 and "Waiting to be admitted." in waiting.text
        typo = b.post(
            "/join",
            {"invitation": token[:20] + "!" + token[21:], "name": "Bahar"},
            follow_redirects=True,
        )
        assert typo.status_code == 400 and "letters that do not belong" in typo.text
        twice = b.post("/join", {"invitation": token, "name": "Bahar"}, follow_redirects=True)
        assert twice.status_code == 400 and "already in that council" in twice.text


def test_markup_in_a_join_link_or_a_paste_is_inert(tmp_path: Path) -> None:
    from urllib.parse import quote

    from web.test_web_security import PAYLOADS, assert_inert

    evil = PAYLOADS[0] + PAYLOADS[1]
    with browser(tmp_path / "a") as a, browser(tmp_path / "b") as b:
        a.create_profile()
        b.create_profile()
        home = a.found_council("Depot", "Nasrin")
        token = _field(a.post(home + "/invite").text, "invitation-link").split("#")[1]
        pasted = b.post("/join", {"invitation": evil, "name": evil}, follow_redirects=True)
        assert pasted.status_code == 400
        assert_inert(pasted.text)
        named = token.split("?")[0] + "?council=" + quote(evil[:60], safe="")
        waiting = b.post("/join", {"invitation": named, "name": "Bahar"}, follow_redirects=True)
        assert waiting.status_code == 200
        assert_inert(waiting.text)
        assert_inert(b.get("/councils").text)
        assert_inert(b.get(home).text)
        removal = a.post(home + "/leave", {"reason": evil})
        assert_inert(removal.text)


def test_an_invitation_opened_on_a_fresh_node_returns_to_the_join_page(tmp_path: Path) -> None:
    """A newcomer's first page may be the invitation's link: the profile is created
    first, and then the join page opens (its script fills in the token), not the list."""
    with browser(tmp_path / "fresh") as b:
        asked = b.client.get("/join")
        assert asked.status_code == 303 and asked.headers["location"] == "/welcome?next=/join"
        page = b.get("/welcome?next=/join")
        assert 'action="/welcome?next=/join"' in page.text
        made = b.post("/welcome?next=/join", {"passphrase": "a long passphrase", "again": "x"})
        assert made.status_code == 400 and 'action="/welcome?next=/join"' in made.text
        made = b.post(
            "/welcome?next=/join",
            {"passphrase": "a long passphrase", "again": "a long passphrase"},
        )
        assert made.status_code == 303 and made.headers["location"] == "/join"
        assert b.client.get("/join").status_code == 200
    with browser(tmp_path / "elsewhere") as b:  # never to another site
        made = b.post(
            "/welcome?next=//evil.example/",
            {"passphrase": "a long passphrase", "again": "a long passphrase"},
        )
        assert made.headers["location"] == "/"


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_the_new_profile_page_from_an_invitation_also_asks_to_join(
    tmp_path: Path, lang: str
) -> None:
    """From an invitation's link, the new profile's page asks the name beside the
    passphrase and sends the join request in the same form: the council's page, waiting,
    looks again by itself (a script, or a refresh tag without one)."""
    t = TEXT[lang]
    header = {"Accept-Language": ACCEPT[lang]}
    with browser(tmp_path / "a", **header) as a, browser(tmp_path / "fresh", **header) as b:
        a.create_profile()
        home = a.found_council("Block 4 committee", "Nasrin")
        fragment = urlsplit(_field(a.post(home + "/invite").text, "invitation-link")).fragment
        page = b.get("/welcome?next=/join").text
        assert 'id="join-name"' in page and 'data-from-fragment="shora:invite/"' in page
        assert 'id="join-name"' not in b.get("/welcome").text  # not from elsewhere
        both = {"passphrase": PASSPHRASE, "again": PASSPHRASE}
        # A damaged invitation: said in the page's language, what was typed kept, and
        # no profile made yet.
        cut = fragment.split("?")[0][:-20]
        damaged = b.post("/welcome?next=/join", {**both, "invitation": cut, "name": "Bahar"})
        assert damaged.status_code == 400 and t["damaged"] in words(damaged.text)
        assert _field(damaged.text, "invitation") == cut and 'value="Bahar"' in damaged.text
        assert not b.keeper.exists
        nameless = b.post("/welcome?next=/join", {**both, "invitation": fragment})
        assert nameless.status_code == 400 and not b.keeper.exists
        # Whole: the profile, the join request, and the council's page, waiting.
        made = b.post("/welcome?next=/join", {**both, "invitation": fragment, "name": "Bahar"})
        assert made.status_code == 303 and made.headers["location"] == home
        waiting = b.get(home).text
        assert "Block 4 committee" in words(waiting) and t["waiting"] in words(waiting)
        assert f'data-refresh="10" data-refresh-url="{home}"' in waiting
        assert f'<noscript><meta http-equiv="refresh" content="10; url={home}"></noscript>' in (
            waiting
        )
        request_link = _field(waiting, "join-request-link")
        assert a.post("/admit", {"request": request_link}).status_code == 200
        carry(a, b, home)
        member = b.get(home).text
        assert t["waiting"] not in words(member) and "data-refresh" not in member
