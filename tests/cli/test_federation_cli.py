"""``shora federation`` and ``shora mandate`` on the command line: a base council of
one elects its delegate, issues the mandate, the federation admits on it, and the
errors for a missing, forged, misdirected or second mandate are clear."""

from __future__ import annotations

import time
from pathlib import Path

from test_cli import COUNCIL, Profile


def test_mandate_and_admission(tmp_path: Path) -> None:
    a, x = Profile(tmp_path, "nasrin"), Profile(tmp_path, "xena")
    for p in (a, x):
        assert p.run("init").returncode == 0
    # An election of a few seconds, so that the test can wait for its deadline.
    a.ok("council", "create", COUNCIL, "--as", "Nasrin", "--min-vote-hours", "0")
    made = x.json("federation", "create", "District 2", "--as", "Xena")
    invitation = x.json("invite", "District 2")["text"]
    joined = a.json("federation", "join", invitation, "--as", "Nasrin of block 4")
    district, request = joined["council"][:12], joined["request"]
    assert district == made["id"][:12]
    # Only an elected delegate may ask for a mandate.
    assert "elected as delegate" in a.fails("mandate", "issue", COUNCIL, district)
    deadline = int(time.time()) + 5
    out = a.ok("elect", COUNCIL, "delegate", "Nasrin", "--deadline", str(deadline))
    pid = out.split("(")[1].split(")")[0]
    a.ok("vote", COUNCIL, pid, "--rank", "Nasrin")
    time.sleep(max(0.0, deadline + 1 - time.time()))
    a.ok("close", COUNCIL, pid)
    # The term starts at the close, in ms; whether it is held is asked at a whole second.
    time.sleep(1 - time.time() % 1)
    assert "Nasrin" in a.ok("roles", COUNCIL)
    assert "requested" in a.ok("mandate", "issue", COUNCIL, district, "--days", "30")
    shown = a.json("mandate", "show", COUNCIL)
    assert shown[0]["complete"] and shown[0]["needed"] == 1
    mandate = a.ok("mandate", "show", COUNCIL, shown[0]["request"][:12], "--text").strip()
    assert mandate.startswith("shora:mandate/")
    # The federation refuses an admission without a mandate, or with a damaged one.
    assert "--mandate" in x.fails("admit", request)
    # One letter changed in the middle (the last ones may carry only padding bits).
    i = len(mandate) // 2
    damaged = mandate[:i] + ("B" if mandate[i] != "B" else "C") + mandate[i + 1 :]
    assert "checksum" in x.fails("admit", request, "--mandate", damaged)
    assert "mandate is not valid" in x.fails("admit", request, "--mandate", invitation)
    admitted = x.json("admit", request, "--mandate", mandate)
    assert admitted["admitted"]
    seats = x.json("federation", "members", "District 2")["seats"]
    assert [s["name"] for s in seats] == ["Nasrin of block 4"]
    assert seats[0]["base"][:12] != district
    # The same mandate cannot seat anyone else.
    c = Profile(tmp_path, "cyrus")
    assert c.run("init").returncode == 0
    other = c.json("federation", "join", x.json("invite", "District 2")["text"], "--as", "C")
    assert "names someone else" in x.fails("admit", other["request"], "--mandate", mandate)
    # A revocation that is not one is refused clearly.
    assert "revocation" in x.fails("federation", "apply", "District 2", "shora:revoke/AAAA")
    assert "Summaries from" in x.ok("federation", "summary", "District 2")
    assert "No notices" in a.ok("federation", "notices", COUNCIL)
