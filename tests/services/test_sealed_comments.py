"""Comments on a need only coordinators may read, as its audience uses them: written and
read on the command line by the coordinator and the need's author while a third member
sees none, and on the pages in Persian and English. The attacks on them are in
tests/attacks/test_sealed_comments.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_cli import COUNCIL, Profile, bring_in, sync

from web.test_web_decisions import carry, words
from web.test_web_persian import EN, FA, two_members

SECRET = "the-door-code-is-4471"


def test_the_audience_reads_the_comments_on_the_command_line(tmp_path: Path) -> None:
    a, b, c = (Profile(tmp_path, n) for n in ("nasrin", "bahram", "cyrus"))
    for p in (a, b, c):
        assert p.run("init").returncode == 0
    a.ok("council", "create", COUNCIL, "--as", "Nasrin")  # the founder: a coordinator
    bring_in(a, b, "Bahram")
    bring_in(a, c, "Cyrus")
    a.ok("areas", COUNCIL, "Block 4")
    sync(a, b, COUNCIL)
    sync(a, c, COUNCIL)
    made = b.json("need", COUNCIL, "water", "2", "--area", "Block 4", "--coordinators-only")
    nid = made["id"][:10]
    b.json("comment", COUNCIL, nid, SECRET)
    sync(b, a, COUNCIL)
    sync(b, c, COUNCIL)
    [seen] = a.json("comments", COUNCIL, nid)
    assert (seen["text"], seen["name"]) == (SECRET, "Bahram")
    a.ok("comment", COUNCIL, nid, "on my way", "--reply", seen["id"][:8], "--mention", "Bahram")
    sync(a, b, COUNCIL)
    sync(a, c, COUNCIL)
    shown = b.ok("comments", COUNCIL, nid)
    assert SECRET in shown and "on my way" in shown and "Nasrin" in shown
    assert c.json("comments", COUNCIL, nid) == []
    assert "No comments yet." in c.ok("comments", COUNCIL, nid)
    assert "shown to" in c.fails("comment", COUNCIL, nid, "let me in")
    fa = c.run("--lang", "fa", "comment", COUNCIL, nid, "let me in")
    assert fa.returncode == 1 and "Traceback" not in fa.stderr
    assert not re.search(r"only the people", fa.stderr)


@pytest.mark.parametrize(("headers", "said"), [(EN, "Comment"), (FA, "نظر")])
def test_the_audience_reads_the_comments_on_the_pages(
    tmp_path: Path, headers: dict[str, str], said: str
) -> None:
    with two_members(tmp_path, headers) as (a, b, home):
        assert a.post(home + "/areas", {"areas": "بلوک ۴"}).status_code == 303
        carry(a, b, home)
        form = b.get(home + "/needs/new").text
        area = re.search(r'<option value="([a-z0-9-]+)"(?: selected)?>بلوک ۴</option>', form)
        assert area is not None
        need = {"category": "water", "quantity": "2", "urgency": "urgent", "area": area.group(1),
                "visibility": "coordinators"}  # fmt: skip
        assert b.post(home + "/needs/new", need).status_code == 303
        nid = re.search(r"/items/([0-9a-f]{64})", b.get(home + "/needs").text)
        assert nid is not None
        thread = f"{home}/discuss/{nid.group(1)}"
        assert b.post(thread, {"text": SECRET}).status_code == 303
        carry(b, a, home)
        page = a.get(thread)  # the coordinator reads it
        assert page.status_code == 200 and SECRET in words(page.text)
        assert said in page.text
