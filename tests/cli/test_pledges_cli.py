"""``shora pledge start | take | withdraw | show | list`` on the command line: a
campaign among three members, a pledge and a withdrawal, the threshold met and
announced, pledges final after it; --json; in Persian too."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import COUNCIL, Profile, bring_in, sync

Three = tuple[Profile, Profile, Profile]


@pytest.fixture
def three(tmp_path: Path) -> Three:
    a, b, c = Profile(tmp_path, "nasrin"), Profile(tmp_path, "bahram"), Profile(tmp_path, "cyrus")
    for p in (a, b, c):
        assert p.run("init").returncode == 0
    a.ok("council", "create", COUNCIL, "--as", "Nasrin")
    bring_in(a, b, "Bahram")
    bring_in(a, c, "Cyrus")
    return a, b, c


def all_sync(*profiles: Profile) -> None:
    for src in profiles:
        for dst in profiles:
            if src is not dst:
                sync(src, dst, COUNCIL)


def test_a_campaign_from_start_to_threshold(three: Three) -> None:
    a, b, c = three
    all_sync(a, b, c)
    made = a.json("pledge", "start", COUNCIL, "Stop work on Monday", "--share", "60%")
    cid = made["id"][:12]
    assert (made["needed"], made["members"], made["share"], made["count"]) == (2, 3, "3/5", 0)
    all_sync(a, b, c)
    assert "carries no name" in b.ok("pledge", "take", COUNCIL, cid, "--now")
    assert "already pledged" in b.fails("pledge", "take", COUNCIL, cid, "--now")
    assert "withdrawn" in b.ok("pledge", "withdraw", COUNCIL, cid, "--now")
    out = b.ok("pledge", "take", COUNCIL, cid)  # with the random delay
    assert "random delay" in out
    assert "waiting for its random delay" in b.ok("pledge", "show", COUNCIL, cid)
    c.ok("pledge", "take", COUNCIL, cid, "--now")
    all_sync(a, b, c)
    shown = a.json("pledge", "show", COUNCIL, cid)
    assert (shown["count"], shown["met"], shown["withdrawals"]) == (1, False, 1)
    assert shown["my_pledge"]["counted"] is False
    a.ok("pledge", "take", COUNCIL, cid, "--now")
    all_sync(a, b, c)
    listed = c.ok("pledge", "list", COUNCIL)
    assert "Threshold met: Stop work on Monday — 2 pledged, 2 needed." in listed
    assert "threshold met" in listed
    assert "Your pledge is counted." in c.ok("pledge", "show", COUNCIL, cid)
    assert "pledges are final" in a.fails("pledge", "withdraw", COUNCIL, cid, "--now")
    [row] = b.json("pledge", "list", COUNCIL)
    assert row["met"] and row["count"] == 2 and len(row["key_images"]) == 2
    fa = b.ok("--lang", "fa", "pledge", "show", COUNCIL, cid)
    assert "تعهد" in fa and "آستانه" in fa


def test_bad_thresholds_are_refused(three: Three) -> None:
    a, _b, _c = three
    assert "not a share" in a.fails("pledge", "start", COUNCIL, "Stop", "--share", "150%", code=2)
    assert "number of people or as a share" in a.fails("pledge", "start", COUNCIL, "Stop")
    assert "only a federation" in a.fails(
        "pledge", "start", COUNCIL, "Stop", "--people", "1", "--across"
    )
    assert "more people than the members" in a.fails(
        "pledge", "start", COUNCIL, "Stop", "--people", "9"
    )
