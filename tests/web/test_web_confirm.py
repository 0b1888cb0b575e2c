"""Irreversible actions ask first, with plain forms (no JavaScript): vouching to remove
a member and leaving a council for good each show a page that says what it means,
and only that page's button acts; a POST without it only shows the page."""

from __future__ import annotations

import re
from pathlib import Path

from web.test_web_decisions import two_members, words


def test_a_removal_asks_first(tmp_path: Path) -> None:
    with two_members(tmp_path) as (a, _b, home):
        members = a.get(home + "/members").text
        found = re.search(rf'href="({home}/members/([0-9a-f]{{64}})/remove)"', members)
        assert found is not None and "<form" not in members.split("Vouch to remove")[0][-400:]
        ask = a.get(found.group(1)).text
        page = words(ask)
        assert "Remove Bahar?" in page and "cannot be taken back" in page
        assert 'name="confirm" value="yes"' in ask and "<script>" not in ask.split("</head>")[1]
        # A post without the confirmation only shows the page again, keeping the reason.
        unasked = a.post(found.group(1), {"reason": "informer"})
        assert unasked.status_code == 200 and "Remove Bahar?" in words(unasked.text)
        assert 'value="informer"' in unasked.text
        assert "Removals asked for" not in a.get(home + "/members").text
        done = a.post(found.group(1), {"reason": "informer", "confirm": "yes"})
        # Two members: the founder's vouch is enough.
        assert done.status_code == 200 and "Bahar is removed." in words(done.text)
        assert "removed" in words(a.get(home + "/members").text)
        assert a.get(home + f"/members/{'0' * 64}/remove").status_code == 404


def test_leaving_for_good_asks_first(tmp_path: Path) -> None:
    with two_members(tmp_path) as (_a, b, home):
        members = b.get(home + "/members").text
        assert f'href="{home}/leave"' in members and f'action="{home}/leave"' not in members
        ask = words(b.get(home + "/leave").text)
        assert "Leave Depot for good?" in ask and "cannot be undone" in ask
        unasked = b.post(home + "/leave", {"reason": "moving away"})
        assert unasked.status_code == 200 and 'value="moving away"' in unasked.text
        assert "member" in words(b.get("/councils").text)  # still in it
        left = b.post(home + "/leave", {"reason": "moving away", "confirm": "yes"})
        assert left.status_code == 303 and left.headers["location"] == "/councils"
        assert "left" in words(b.get("/councils").text)
