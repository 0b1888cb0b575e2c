"""A council's own roles named in any script: the election that first names a role
gives it a generated ASCII id and its name; built-in roles keep their translated words
whatever is typed; pages and commands show names, never keys; replicas check the id's
pattern and the name's limits. A real node, the command line and the pages in Persian
and English."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest
from test_cli import COUNCIL, Profile, bring_in, sync
from test_governance import vote_and_close

from conftest import council_of_three
from shora.domain.decisions import kinds as dk
from shora.domain.governance import kinds as gk
from shora.errors import InvalidInput
from shora.i18n import using_language
from shora.services.governance import ROLE_NAMES
from web.client import browser
from web.test_web_decisions import words

ROLE = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def test_a_role_named_in_persian_gets_an_id_and_keeps_its_name(tmp_path: Path) -> None:
    with council_of_three(tmp_path) as (nodes, council, clock):
        a, b, c = nodes
        keys = {m.name: m.key for m in a.councils.members(council)}
        role, name = a.governance.find_role(council, "  مسئول   تدارکات ")
        assert ROLE.fullmatch(role) and role.startswith("r-") and name == "مسئول تدارکات"
        with using_language("fa"):  # the title is written in the proposer's language
            pid = a.governance.elect(council, "مسئول تدارکات", [keys["Bahram"]])
        title = a.decisions.proposal(council, pid).body.title
        assert title == "انتخابات: مسئول تدارکات (۱ کرسی)"
        state = vote_and_close(
            nodes, council, pid, clock, [dk.RankedBallot([keys["Bahram"].hex()])] * 3
        )
        assert state.winners == (keys["Bahram"].hex(),)
        for node in nodes:
            assert node.governance.council_roles(council) == {role: "مسئول تدارکات"}
            assert node.governance.role_name(council, role) == "مسئول تدارکات"
            assert [t.role for t in node.governance.roles(council)] == ["coordinator", role]
        # The same name again (Arabic kaf, other spaces) is the same role; its key too.
        assert b.governance.find_role(council, "مسئول  تداركات") == (role, "مسئول تدارکات")
        assert b.governance.find_role(council, role) == (role, "مسئول تدارکات")
        # A built-in role by its words in either language; never renamed by an election.
        assert c.governance.find_role(council, "نماینده") == ("delegate", None)
        assert c.governance.find_role(council, "Safety contact") == ("safety", None)
        choices = c.governance.role_choices(council)
        assert list(choices)[: len(ROLE_NAMES)] == list(ROLE_NAMES) and choices[role] == name
        with using_language("fa"):
            assert c.governance.role_choices(council)["delegate"] == "نماینده"
        # A later election cannot rename it.
        forged = gk.Election(role, 30, "Something else")
        body = dk.Propose(title="x", text="", method="irv", options=[keys["Cyrus"].hex(), "ron"],
                          deadline=int(clock.t) + 3 * 86_400)  # fmt: skip
        c.append(council, "gov.propose", gk.GovPropose(body, forged))
        assert c.governance.council_roles(council) == {role: "مسئول تدارکات"}


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("", "name the role"),
        ("x" * 81, "at most 80"),
        ("مسئول\u202e تدارکات", "direction-override"),
        ("a\x00b", "direction-override"),
    ],
)
def test_bad_role_names_are_refused_in_words(tmp_path: Path, typed: str, words: str) -> None:
    with council_of_three(tmp_path) as (nodes, council, _clock):
        with pytest.raises(InvalidInput, match=words):
            nodes[0].governance.find_role(council, typed)


def test_replicas_refuse_a_forged_role_id_or_name() -> None:
    for action in (
        {"type": "election", "role": "نماینده", "term_days": 30},
        {"type": "election", "role": "R-1", "term_days": 30},
        {"type": "election", "role": "r-" + "a" * 40, "term_days": 30},
        {"type": "election", "role": "r-a", "term_days": 30, "name": "x\u2066y"},
        {"type": "election", "role": "r-a", "term_days": 30, "name": "x" * 81},
        {"type": "election", "role": "r-a", "term_days": 30, "name": ""},
    ):
        with pytest.raises(msgspec.ValidationError):
            msgspec.msgpack.decode(msgspec.msgpack.encode(action), type=gk.Action)
    # An election without a name encodes as it always did (older replicas read it).
    plain = msgspec.msgpack.encode(gk.Election("delegate", 30))
    assert plain == msgspec.msgpack.encode(
        {"type": "election", "role": "delegate", "term_days": 30}
    )


def test_the_command_line_names_roles_and_shows_names(tmp_path: Path) -> None:
    a, b = Profile(tmp_path, "nasrin"), Profile(tmp_path, "bahram")
    for p in (a, b):
        assert p.run("init").returncode == 0
    a.ok("council", "create", COUNCIL, "--as", "Nasrin")
    bring_in(a, b, "Bahram")
    made = a.json("elect", COUNCIL, "مسئول تدارکات", "Bahram", "--hours", "1")
    assert made["title"] == "Election: مسئول تدارکات (1 seat)"
    assert made["action"]["role"].startswith("r-")
    assert made["action"]["name"] == "مسئول تدارکات"
    fa = a.ok("--lang", "fa", "elect", COUNCIL, "نماینده", "Nasrin", "--hours", "1")
    assert "انتخابات" in fa or "رأی" in fa
    sync(a, b, COUNCIL)
    shown = b.ok("--lang", "fa", "roles", COUNCIL)
    assert "هماهنگ" in shown and "coordinator" not in shown
    members = b.ok("--lang", "fa", "members", COUNCIL)
    assert "هماهنگ" in members and "coordinator" not in members
    refused = a.run("--lang", "fa", "elect", COUNCIL, "Tr\u202eeasurer", "Nasrin")
    assert refused.returncode == 1 and "کنترلی" in refused.stderr


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_the_roles_page_chooses_roles_by_name(tmp_path: Path, lang: str) -> None:
    with browser(tmp_path, **{"Accept-Language": lang}) as person:
        person.create_profile()
        home = person.found_council("شورا", "نسرین")
        page = person.get(home + "/roles").text
        delegate = "نماینده" if lang == "fa" else "delegate"
        assert f'<option value="delegate">{delegate}</option>' in page
        assert 'name="new_role"' in page and "<select" in page
        me = re.search(r'name="candidate" value="([0-9a-f]{64})"', page)
        assert me is not None
        fields = {"csrf": person.csrf, "role": "", "new_role": "مسئول تدارکات",
                  "candidate": me.group(1)}  # fmt: skip
        r = person.client.post(home + "/roles/elect", data=fields)
        assert r.status_code == 303, r.text
        shown = words(person.get(str(r.headers["location"])).text)
        assert "مسئول تدارکات" in shown and "r-" not in shown
        again = person.get(home + "/roles").text
        assert re.search(r'<option value="r-[a-z2-7]{8}">مسئول تدارکات</option>', again)
        bad = person.client.post(
            home + "/roles/elect",
            data={**fields, "new_role": "bad\u202ename", "seats": "2"},
        )
        refusal = "کنترلی" if lang == "fa" else "direction-override"
        assert bad.status_code == 400 and refusal in bad.text
        assert 'value="bad\u202ename"' in bad.text  # what was typed stays
        none = person.client.post(home + "/roles/elect", data={**fields, "new_role": ""})
        assert none.status_code == 400
