"""Getting back in through the pages of real profiles: the new profile asks with an
invitation from another member and shows its recovery request (link, QR code, text);
each voucher's page shows who asks to replace whom and the warning before anything is
recorded; the place (name, role) passes to the new key."""

from __future__ import annotations

import re
import shutil
from html import unescape
from pathlib import Path

import pytest

from web.client import browser
from web.test_web_decisions import carry, words

ACCEPT = {"en": "en", "fa": "fa-IR,fa;q=0.9"}
TEXT = {
    "en": {
        "ask": "Get your place back",
        "waiting": "Waiting to get your place back.",
        "confirm": "Give Nasrin's place to a new key?",
        "warning": "Whoever you vouch for takes Nasrin's name, roles and standing",
        "recorded": "Your vouch for Nasrin is recorded",
        "passed": "Nasrin's place has passed to the new key",
        "role": "coordinator",
    },
    "fa": {
        "ask": "بازگرداندن جایگاه",
        "waiting": "در انتظار بازگشت جایگاهتان.",
        "confirm": "جایگاه Nasrin به کلیدی تازه داده شود؟",
        "warning": "هر کس را ضمانت کنید نام، نقش‌ها و جایگاه Nasrin را در شورا می‌گیرد",
        "recorded": "ضمانت شما برای Nasrin ثبت شد",
        "passed": "جایگاه Nasrin به کلید تازه رسید",
        "role": "هماهنگ‌کننده",
    },
}


def _field(page: str, id_: str) -> str:
    found = re.search(rf'id="{id_}"[^>]*value="([^"]+)"', page) or re.search(
        rf'id="{id_}"[^>]*>([^<]+)<', page
    )
    assert found is not None, id_
    return unescape(found.group(1))


def _join(member, newcomer, home: str, name: str) -> None:  # type: ignore[no-untyped-def]
    link = _field(member.post(home + "/invite").text, "invitation-link")
    joined = newcomer.post(
        "/join", {"invitation": link.split("#", 1)[1], "name": name}, follow_redirects=True
    )
    request = _field(joined.text, "join-request-link")
    assert member.post("/admit", {"request": request}).status_code == 200
    carry(member, newcomer, home)


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_a_wiped_member_gets_back_in_through_the_pages(tmp_path: Path, lang: str) -> None:
    t = TEXT[lang]
    header = {"Accept-Language": ACCEPT[lang]}
    with (
        browser(tmp_path / "b", **header) as b,
        browser(tmp_path / "c", **header) as c,
    ):
        with browser(tmp_path / "a", **header) as a:
            for person in (a, b, c):
                person.create_profile()
            home = a.found_council("Block 4 committee", "Nasrin")
            _join(a, b, home, "Bahar")
            _join(a, c, home, "Cyrus")
            carry(a, b, home)
            carry(a, c, home)
        shutil.rmtree(tmp_path / "a")  # the device is wiped
        with browser(tmp_path / "a2", **header) as fresh:
            fresh.create_profile()
            assert 'href="/recover/ask"' in fresh.get("/join").text
            ask_page = fresh.get("/recover/ask")
            assert t["ask"] in words(ask_page.text)
            # Both recovery pages scan codes: only they (and joining's) may use the camera.
            assert ask_page.headers["permissions-policy"].startswith("camera=(self)")
            assert b.get("/recover").headers["permissions-policy"].startswith("camera=(self)")
            link = _field(b.post(home + "/invite").text, "invitation-link")
            asked = fresh.post(
                "/recover/ask",
                {"invitation": link.split("#", 1)[1], "claim": "Nasrin"},
                follow_redirects=True,
            )
            assert asked.status_code == 200 and t["waiting"] in words(asked.text)
            request = _field(asked.text, "recovery-link")
            assert request.startswith("http://127.0.0.1:8150/recover#shora:recover/")
            assert "<svg" in asked.text and 'data-share="recovery-link"' in asked.text
            assert t["waiting"] in words(fresh.get(home).text)  # the council's page waits
            # The first voucher sees who asks to replace whom, and the warning; nothing
            # is recorded until they confirm.
            shown = b.post("/recover", {"request": request})
            assert shown.status_code == 200
            page = words(shown.text)
            assert t["confirm"] in page and t["warning"] in page and t["role"] in page
            assert 'name="confirm" value="yes"' in shown.text
            recorded = b.post("/recover", {"request": request, "confirm": "yes"})
            assert t["recorded"] in words(recorded.text)
            carry(b, c, home)
            passed = c.post("/recover", {"request": request, "confirm": "yes"})
            assert t["passed"] in words(passed.text)
            carry(c, fresh, home)
            members = words(fresh.get(home + "/members").text)
            assert "Nasrin" in members and t["role"] in members
            assert t["waiting"] not in words(fresh.get(home).text)
            # A damaged request: refused on the same page, which keeps what was pasted.
            wrong = c.post("/recover", {"request": "shora:recover/AAAA"})
            assert wrong.status_code == 400 and "shora:recover/AAAA" in wrong.text
