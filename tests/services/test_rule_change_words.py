"""A proposal to change the rules names each rule in words: its label, and old → new
values as people say them (a share as "half" or "two thirds" or a percentage, a
duration in hours or days, a time zone by its city, a role by its name), in the
proposer's language in the title and text, and in the reader's language on the
proposal's page."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import council_of_three, everyone
from shora.domain.governance.rule_words import rule_changes, share_words
from shora.i18n import using_language
from shora.kernel import kinds
from web.test_web_decisions import words
from web.test_web_persian import EN, FA, two_members

KEYS = re.compile(r"\b[a-z]+_[a-z_]+\b|\b\d+/\d+\b")  # a rule's key, a raw fraction


def test_values_in_words() -> None:
    assert [share_words(s) for s in ("0/1", "1/2", "2/3", "3/5", "1/8")] == [
        "none", "half", "two thirds", "60%", "12.5%",
    ]  # fmt: skip
    old = kinds.Rules()
    new = kinds.Rules(
        quorum="1/2", removal_vouches=3, grace_hours=48, time_zone="Asia/Tehran",
        emergency_removal_roles=["coordinator", "r-abcdefgh"], admission="vouches",
    )  # fmt: skip
    named = {"r-abcdefgh": "مسئول تدارکات"}.get
    changes = rule_changes(old, new, lambda r: named(r) or r)
    assert changes == [
        ("Who admits a new member", "any one member", "a number of vouches"),
        ("Vouches needed to remove", "2", "3"),
        ("Roles that may remove a member at once", "coordinator", "coordinator, مسئول تدارکات"),
        ("Quorum of every vote", "none", "half"),
        ("Least grace period after a deadline", "0 hours", "2 days"),
        ("Time zone of the council's times", "UTC", "Tehran"),
    ]
    with using_language("fa"):
        fa = rule_changes(old, new)
    assert fa[3] == ("حد نصاب هر رأی‌گیری", "هیچ", "نیمی")
    assert fa[4][1:] == ("۰ ساعت", "۲ روز") and fa[5][1:] == ("وقت جهانی", "تهران")
    assert not any(re.search("[A-Za-z]", "".join(c)) for c in fa[:2] + fa[3:])


def test_the_title_and_text_say_each_rule_in_words(tmp_path: Path) -> None:
    with council_of_three(tmp_path) as (nodes, council, _clock):
        a, b, _c = nodes
        changes = {"quorum": "1/2", "rule_change_threshold": "3/4", "time_zone": "Asia/Tehran"}
        pid = a.governance.change_rules(council, changes, hours=24)
        body = a.decisions.proposal(council, pid).body
        assert body.title == (
            "Change the rules: Quorum of every vote: none → half; Share of yes to change the "
            "rules: two thirds → three quarters; Time zone of the council's times: UTC → Tehran"
        )[:200] or body.title.startswith("Change the rules: Quorum of every vote")
        assert "Time zone of the council's times: UTC → Tehran" in body.text
        assert not KEYS.search(body.title) and not KEYS.search(body.text)
        with using_language("fa"):
            pid = b.governance.change_rules(council, {"term_days": 30}, text="کوتاه‌تر", hours=24)
        everyone(nodes)
        fa = a.decisions.proposal(council, pid).body
        assert fa.title.startswith("تغییر قواعد") and "۳۰ روز" in fa.title
        assert fa.text.startswith("کوتاه‌تر\n\n") and "۳۶۵ روز ← ۳۰ روز" in fa.text
        assert a.governance.rule_change(council, pid) == [
            ("Length of a term", "365 days", "30 days")
        ]


def test_the_proposal_page_shows_the_change_in_the_readers_words(tmp_path: Path) -> None:
    for headers, expected in (
        (EN, "Quorum of every vote: none → half"),
        (FA, "حد نصاب هر رأی‌گیری: هیچ ← نیمی"),
    ):
        with two_members(tmp_path / headers["Accept-Language"][:2], headers) as (a, _b, home):
            r = a.post(home + "/rules", {"quorum": "1/2", "hours": "24"})
            assert r.status_code == 303, r.text
            page = words(a.get(r.headers["location"]).text)
            assert expected in page
            assert "quorum =" not in page and "0/1" not in page and "1/2" not in page


def test_treasurers_limits_in_words() -> None:
    old = kinds.Rules()
    new = kinds.Rules(
        treasurer_limits=[kinds.TreasurerLimit(currency="toman", amount=5000, days=7)]
    )
    (change,) = rule_changes(old, new)
    assert change[0] == "What the treasurers may pay out without a vote"
    assert change[1] == "every payment by vote"
    assert change[2].startswith("5,000 toman") and change[2].endswith("in 7 days")
    with using_language("fa"):
        (change,) = rule_changes(old, new)
    assert not re.search("[A-Za-z]", " ".join(change)) and "۵" in change[2] and "۷" in change[2]
