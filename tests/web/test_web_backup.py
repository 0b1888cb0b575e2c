"""The key backup through the pages of real profiles (docs/protocol.md §9.2): a member
leaves a backup with two of the others, each of whom sees the share they hold; after a
wipe, the new profile asks for its place, each trusted member releases their share to
that request after seeing who asks, and the new profile takes the keys back with the
shares and the passphrase. Only then is it the same member again."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from web.client import PASSPHRASE, browser
from web.test_web_decisions import carry, words
from web.test_web_recovery import ACCEPT, _field, _join

TEXT = {
    "en": {
        "title": "Key backup",
        "done": "Your backup is with 2 members; any 2 of them",
        "held": "any 2 of 2 shares",
        "confirm": "Give your share of Nasrin's backup?",
        "released": "Your share for Nasrin",
        "restore": "Take your keys back from a backup",
        "back": "Your keys are back",
        "unlike": "The two passphrases differ; type them again.",
    },
    "fa": {
        "title": "پشتیبان کلیدها",
        "done": "پشتیبان شما نزد ۲ عضو است؛ هر ۲ نفر از آنان",
        "held": "هر ۲ سهم از ۲ سهم",
        "confirm": "سهم‌تان از پشتیبان Nasrin را می‌دهید؟",
        "released": "سهم شما برای Nasrin",
        "restore": "بازگرداندن کلیدها از پشتیبان",
        "back": "کلیدهایتان بازگشت",
        "unlike": "دو عبارت عبور یکسان نیستند؛ دوباره وارد کنید.",
    },
}


def _share(page: str) -> str:
    return _field(page, "share-text").strip()


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "fa"])
def test_a_backup_made_released_and_restored_through_the_pages(tmp_path: Path, lang: str) -> None:
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
            assert 'href="' + home + '/backup"' in a.get(home + "/members").text
            page = a.get(home + "/backup")
            assert t["title"] in words(page.text)
            keys = sorted(set(re.findall(r'name="trusted" value="([0-9a-f]{64})"', page.text)))
            assert len(keys) == 2  # Bahar and Cyrus, not Nasrin herself
            form = {"trusted": keys, "needed": "۲", "passphrase": PASSPHRASE}
            unlike = a.post(home + "/backup", {**form, "again": "something else"})
            assert unlike.status_code == 400 and t["unlike"] in words(unlike.text)
            made = a.post(home + "/backup", {**form, "again": PASSPHRASE})
            assert made.status_code == 200 and t["done"] in words(made.text)
            carry(a, b, home)
            carry(a, c, home)
        for holder in (b, c):
            assert "Nasrin" in words(holder.get(home + "/backup").text)
            assert t["held"] in words(holder.get(home + "/backup").text)
        shutil.rmtree(tmp_path / "a")  # the device is wiped
        with browser(tmp_path / "a2", **header) as fresh:
            fresh.create_profile()
            link = _field(b.post(home + "/invite").text, "invitation-link")
            asked = fresh.post(
                "/recover/ask",
                {"invitation": link.split("#", 1)[1], "claim": "Nasrin"},
                follow_redirects=True,
            )
            assert 'href="/recover/restore"' in asked.text
            request = _field(asked.text, "recovery-link")
            shares = []
            for holder in (b, c):
                shown = holder.post(home + "/backup/release", {"request": request})
                assert shown.status_code == 200 and t["confirm"] in words(shown.text)
                assert "share-text" not in shown.text  # nothing given before the confirmation
                given = holder.post(
                    home + "/backup/release", {"request": request, "confirm": "yes"}
                )
                assert t["released"] in words(given.text)
                shares.append(_share(given.text))
            assert t["restore"] in words(fresh.get("/recover/restore").text)
            wrong = fresh.post(
                "/recover/restore", {"shares": "\n".join(shares), "passphrase": "not it"}
            )
            assert wrong.status_code == 400 and shares[0] in wrong.text
            back = fresh.post(
                "/recover/restore", {"shares": "\n".join(shares), "passphrase": PASSPHRASE}
            )
            assert back.status_code == 200, back.text
            assert t["back"] in words(back.text)
            carry(b, fresh, home)
            members = fresh.get(home + "/members").text
            assert "Nasrin" in words(members)
