"""``shora propose | amend | vote | close | result | minutes | task`` on the command line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from test_cli import COUNCIL, Profile, bring_in, sync

PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Profile, Profile]:
    a, b = Profile(tmp_path, "nasrin"), Profile(tmp_path, "bahram")
    for p in (a, b):
        assert p.run("init").returncode == 0
    # Votes of a few seconds, so that the tests can wait for their deadlines.
    a.ok("council", "create", COUNCIL, "--as", "Nasrin", "--min-vote-hours", "0")
    bring_in(a, b, "Bahram")
    return a, b


def test_ranked_vote_close_and_errors(pair: tuple[Profile, Profile], tmp_path: Path) -> None:
    a, b = pair
    deadline = int(time.time()) + 10  # time enough for a dozen commands on a loaded machine
    made = a.json(
        "propose", COUNCIL, "Where to store water", "Pick a place.", "--method", "irv",
        "--option", "mosque", "--option", "school", "--option", "depot",
        "--deadline", str(deadline).translate(PERSIAN),
    )  # fmt: skip
    pid = made["id"][:12]
    assert made["deadline"] == deadline and made["phase"] == "open" and not made["final"]
    out = a.ok("vote", COUNCIL, pid, "--rank", "school>mosque")
    assert "ballot is recorded" in out
    assert "ranked twice" in a.fails("vote", COUNCIL, pid, "--rank", "school>school")
    assert "not an option" in a.fails("vote", COUNCIL, pid, "--rank", "garage")
    assert "vote with --rank" in a.fails("vote", COUNCIL, pid, "--yes")
    error = a.fails("close", COUNCIL, pid)
    assert "can be closed from" in error and "UTC" in error
    sync(a, b, COUNCIL)
    b.ok("vote", COUNCIL, pid, "--rank", "mosque", "--rank", "depot")
    b.ok("vote", COUNCIL, pid, "--rank", "depot")  # changed
    sync(b, a, COUNCIL)
    shown = a.json("result", COUNCIL, pid)
    assert (shown["ballots"], shown["eligible"], shown["final"]) == (2, 2, False)
    assert shown["my_ballot"] == {"type": "ranked", "ranking": ["school", "mosque"]}
    assert "Provisional result" in a.ok("result", COUNCIL, pid)
    time.sleep(max(0.0, deadline + 1 - time.time()))
    assert "deadline for voting passed" in b.fails("vote", COUNCIL, pid, "--rank", "school")
    out = a.ok("close", COUNCIL, pid, "--outcome", "Water goes to the school")
    assert "The vote is closed" in out and "Result: winner: school" in out
    assert "voting on this proposal is closed" in a.fails("vote", COUNCIL, pid, "--rank", "depot")
    assert "already closed" in a.fails("close", COUNCIL, pid)
    sync(a, b, COUNCIL)
    final = b.json("result", COUNCIL, pid)
    assert final["final"] and final["winners"] == ["school"]
    assert final["outcomes"][0]["statement"] == "Water goes to the school"
    listed = b.json("result", COUNCIL)
    assert [p["id"] for p in listed] == [made["id"]]


def test_consent_amend_tasks_minutes_and_a_newcomer(
    pair: tuple[Profile, Profile], tmp_path: Path
) -> None:
    a, b = pair
    made = a.json(
        "propose", COUNCIL, "Night watch", "Two people a night.", "--method", "consent",
        "--hours", "۴۸", "--quorum", "۱/۲",
    )  # fmt: skip
    pid = made["id"][:12]
    assert made["parameters"]["quorum"] == "1/2"
    assert "reason" in a.fails("vote", COUNCIL, pid, "--block")
    a.ok("vote", COUNCIL, pid, "--object", "--reason", "tiring")
    sync(a, b, COUNCIL)
    out = b.ok("amend", COUNCIL, pid, "Three people a night.", "--reason", "safer")
    amendment = out.split("Amendment ")[1].split(" ")[0]
    sync(b, a, COUNCIL)
    assert "only the proposal's author" in b.fails("amend", COUNCIL, "--accept", amendment)
    a.ok("amend", COUNCIL, "--accept", amendment)
    assert a.json("result", COUNCIL, pid)["text"] == "Three people a night."
    out = a.ok("result", COUNCIL)
    assert "Night watch" in out and "open for voting" in out
    # Cyrus joins after the proposal was made: he may not vote on it.
    c = Profile(tmp_path, "cyrus")
    assert c.run("init").returncode == 0
    bring_in(a, c, "Cyrus")
    assert "not a member when this proposal was made" in c.fails("vote", COUNCIL, pid, "--agree")
    # A person outside the council cannot even name it.
    d = Profile(tmp_path, "dara")
    assert d.run("init").returncode == 0
    assert "not found" in d.fails("vote", COUNCIL, pid, "--agree")
    # Tasks and minutes.
    out = a.ok("task", "add", COUNCIL, "Buy torches", "--decision", pid, "--who", "Bahram")
    task = out.split("id ")[1].rstrip(").\n")
    a.ok("task", "update", COUNCIL, task, "doing", "--note", "at the bazaar")
    [listed] = a.json("task", "list", COUNCIL, "--status", "doing")
    assert listed["what"] == "Buy torches" and listed["who_member"] is not None
    assert a.json("task", "list", COUNCIL, "--status", "done") == []
    a.ok("minutes", "write", COUNCIL, "Meeting 1", "We talked.", "--decision", pid)
    [minutes] = a.json("minutes", "list", COUNCIL)
    assert minutes["decisions"] == [made["id"]]


def test_help_for_every_decision_command(tmp_path: Path) -> None:
    p = Profile(tmp_path, "x")
    for args in (
        ("propose",), ("amend",), ("vote",), ("close",), ("result",),
        ("minutes", "write"), ("minutes", "list"), ("task", "add"), ("task", "list"),
        ("task", "update"),
    ):  # fmt: skip
        assert "Usage" in p.ok(*args, "--help")
    out = p.ok("--lang", "fa", "vote", "--help")
    assert "رأی" in out


def test_a_share_or_a_score_typed_with_other_figures_is_refused_clearly(
    pair: tuple[Profile, Profile],
) -> None:
    """'²'.isdigit() is true but int('²') raises: a share or a score typed with it is
    refused with a clear message, never a traceback; Persian digits are read (۲ is 2/1,
    no share, but a score of 2)."""
    a, _b = pair
    for option in ("--quorum", "--threshold"):
        for value in ("²", "۲", "²/³"):
            result = a.run("propose", COUNCIL, "Water", "A tank.", option, value)
            assert result.returncode == 2, (option, value, result.stderr)
            assert "Traceback" not in result.stderr
            assert "is not a share such as 1/2 or 2/3" in result.stderr
    made = a.json("propose", COUNCIL, "Water", "A tank.", "--quorum", "۱/۲")
    assert made["parameters"]["quorum"] == "1/2"
    made = a.json(
        "propose", COUNCIL, "Where", "A place.", "--method", "score",
        "--option", "A", "--option", "B",
    )  # fmt: skip
    pid = made["id"][:12]
    for value in ("A=²", "A=-²", "A=--1"):
        assert "is not a whole number" in a.fails("vote", COUNCIL, pid, "--score", value)
    a.ok("vote", COUNCIL, pid, "--score", "A=۲")
    assert a.json("result", COUNCIL, pid)["my_ballot"]["scores"] == {"A": 2}
