"""Discussion through the pages on two real profiles: comments, replies and mentions on
a proposal, carried in bundles; the notifications page and its count; "new since you
last looked" on the home and the lists; markup in a comment stays inert; a comment by
a removed member concurrent with their removal is void on the page too."""

from __future__ import annotations

import re
from pathlib import Path

from web.test_web_decisions import carry, propose, two_members, words

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def _discussion(page: str) -> str:
    found = re.search(r'href="(/councils/[0-9a-f]{64}/discuss/[0-9a-f]{64})"', page)
    assert found is not None
    return found.group(1)


def test_comment_reply_mention_and_notifications(tmp_path: Path) -> None:
    with two_members(tmp_path) as (a, b, home):
        url = propose(a, home, title="Water tank")
        carry(a, b, home)
        # Bahar sees one new proposal on her home and on the list, then none.
        assert "1 new" in words(b.get(home).text)
        assert "1 new since you last looked" in words(b.get(home + "/decisions").text)
        assert "new since you last looked" not in words(b.get(home + "/decisions").text)
        thread = _discussion(b.get(url).text)
        page = b.get(thread).text
        assert "No comments yet." in page and "Nasrin" in page  # Nasrin can be mentioned
        nasrin = re.search(r'name="mention" value="([0-9a-f]{64})"', page)
        assert nasrin is not None
        r = b.post(thread, {"text": "Who pays? " + XSS, "mention": nasrin.group(1)})
        assert r.status_code == 303
        page = b.get(thread).text
        assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
        assert "@Nasrin" in words(page)
        carry(b, a, home)
        assert a.get(home + "/notifications/count").json() == {"unread": 1}
        notes = words(a.get(home + "/notifications").text)
        assert "Mentioned you" in notes and "Bahar" in notes and "Who pays?" in notes
        assert a.get(home + "/notifications/count").json() == {"unread": 0}
        comment = re.search(r'id="c-([0-9a-f]{64})"', a.get(thread).text)
        assert comment is not None
        form = a.get(thread + f"?reply={comment.group(1)}").text
        assert f'name="reply_to" value="{comment.group(1)}"' in form
        r = a.post(thread, {"text": "The council does", "reply_to": comment.group(1)})
        assert r.status_code == 303
        carry(a, b, home)
        assert "Replied to you" in words(b.get(home + "/notifications").text)
        assert "in reply to Bahar" in words(b.get(thread).text)


def test_refusals_on_the_page(tmp_path: Path) -> None:
    with two_members(tmp_path) as (a, _b, home):
        url = propose(a, home)
        thread = _discussion(a.get(url).text)
        r = a.post(thread, {"text": "hi", "mention": "ab" * 32})
        assert r.status_code == 400 and "only members" in words(r.text)
        assert a.post(thread, {"text": "   "}).status_code == 400
        assert a.get(home + "/discuss/" + "cd" * 32).status_code == 404
        assert "No comments yet." in a.get(thread).text


def test_the_pages_in_persian(tmp_path: Path) -> None:
    with two_members(tmp_path) as (a, b, home):
        url = propose(a, home)
        carry(a, b, home)
        fa = {"Accept-Language": "fa"}
        top = words(b.get(home, headers=fa).text)
        assert "تازه‌ها از آخرین باری که دیدید" in top and "۱ تازه" in top
        assert "۱ مورد تازه" in words(b.get(home + "/decisions", headers=fa).text)
        thread = _discussion(b.get(url).text)
        page = words(b.get(thread, headers=fa).text)
        assert "گفت‌وگو" in page and "هنوز نظری نیست." in page and "نام بردن از اعضا" in page
        r = b.post(thread, {"text": "x", "mention": "ab" * 32}, headers=fa)
        assert "فقط می‌توانید از اعضای این شورا نام ببرید" in words(r.text)
        notes = words(a.get(home + "/notifications", headers=fa).text)
        assert "اعلان‌ها" in notes and "هنوز چیزی برای شما نیست." in notes


def test_long_threads_and_notifications_come_a_page_at_a_time(tmp_path: Path) -> None:

    with two_members(tmp_path) as (a, b, home):
        url = propose(a, home)
        carry(a, b, home)
        council = bytes.fromhex(home.rsplit("/", 1)[1])
        subject = bytes.fromhex(url.rstrip("/").rsplit("/", 1)[1])
        node = b.keeper.node
        assert node is not None
        for n in range(35):
            node.discussion.comment(council, subject, f"remark number {n:02}")
        carry(b, a, home)
        thread = _discussion(a.get(url).text)
        first = words(a.get(thread).text)
        assert "remark number 29" in first and "remark number 30" not in first
        second = words(a.get(thread + "?page=2").text)
        assert "remark number 34" in second and "remark number 29" not in second
        notes = a.get(home + "/notifications").text
        assert words(notes).count("Commented on what you wrote") == 20
        assert "remark number 34" in words(notes) and "remark number 14" not in words(notes)
        assert "remark number 14" in words(a.get(home + "/notifications?page=2").text)
        newest = re.search(r'href="([^"]+\?at=[0-9a-f]{64})#c-', notes)
        assert newest is not None
        assert "remark number 34" in words(a.get(newest.group(1).replace("&amp;", "&")).text)
