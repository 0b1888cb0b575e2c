"""``shora secret propose | teller | vote | close | show`` on the command line: a
secret yes/no vote counted by two tellers, from proposal to result."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from test_cli import COUNCIL, Profile, bring_in, sync


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Profile, Profile]:
    a, b = Profile(tmp_path, "nasrin"), Profile(tmp_path, "bahram")
    for p in (a, b):
        assert p.run("init").returncode == 0
    a.ok("council", "create", COUNCIL, "--as", "Nasrin", "--min-vote-hours", "0")
    bring_in(a, b, "Bahram")
    return a, b


def both(a: Profile, b: Profile) -> None:
    sync(a, b, COUNCIL)
    sync(b, a, COUNCIL)


def elect_tellers(a: Profile, b: Profile) -> None:
    """Both elected tellers, by an election of a few seconds."""
    deadline = int(time.time()) + 5
    out = a.ok("elect", COUNCIL, "teller", "Nasrin", "Bahram", "--seats", "2",
               "--deadline", str(deadline))  # fmt: skip
    pid = out.split("(")[1].split(")")[0]
    both(a, b)
    for p in (a, b):
        p.ok("vote", COUNCIL, pid, "--rank", "Nasrin", "--rank", "Bahram")
    both(a, b)
    time.sleep(max(0.0, deadline + 1 - time.time()))
    a.ok("close", COUNCIL, pid)
    both(a, b)
    time.sleep(1 - time.time() % 1)  # the terms start at the close, in ms


def test_secret_vote_from_proposal_to_result(pair: tuple[Profile, Profile]) -> None:
    a, b = pair
    rules = a.json("rules", COUNCIL)
    assert (rules["teller_threshold"], rules["secret_ballots"]) == ("2/3", "choice")
    refused = a.fails("secret", "propose", COUNCIL, "Strike?", "")
    assert "no elected tellers" in refused and "teller" in refused
    elect_tellers(a, b)
    deadline = int(time.time()) + 20
    made = a.json(
        "secret", "propose", COUNCIL, "Strike on Monday?", "If enough of us do.",
        "--deadline", str(deadline),
    )  # fmt: skip
    pid = made["id"][:12]
    assert made["secret"] and made["phase"] == "setup" and made["needed"] == 2
    assert "not finished setting up" in a.fails("secret", "vote", COUNCIL, pid, "--yes", "--now")
    both(a, b)
    out = b.ok("secret", "teller", COUNCIL, pid)  # the last to deal checks at once
    assert "part of the key is published" in out and "key is ready" in out
    both(a, b)
    assert "key is ready" in a.ok("secret", "teller", COUNCIL, pid)
    both(a, b)
    assert "carries no name" in a.ok("secret", "vote", COUNCIL, pid, "--yes", "--now")
    b.ok("secret", "vote", COUNCIL, pid, "--no", "--now")
    b.ok("secret", "vote", COUNCIL, pid, "--yes", "--now")  # changed
    both(a, b)
    shown = a.json("secret", "show", COUNCIL, pid)
    assert (shown["ballots"], shown["result"], shown["my_ballot"]["counted"]) == (2, None, True)
    assert shown["my_ballot"]["cast_again"] is False and shown["removed_since"] == 0
    assert "Nothing to do now" in a.ok("secret", "teller", COUNCIL, pid)  # no share before
    time.sleep(max(0.0, deadline + 1 - time.time()))
    assert "is closed" in a.ok("secret", "close", COUNCIL, pid)
    both(a, b)
    assert "decryption share is published" in a.ok("secret", "teller", COUNCIL, pid)
    assert "decryption share is published" in b.ok("secret", "teller", COUNCIL, pid)
    both(a, b)
    out = b.ok("secret", "show", COUNCIL, pid)
    assert "yes 2, no 0, abstain 0" in out and "Your ballot is counted." in out
    final = a.json("secret", "show", COUNCIL, pid)
    assert final["passed"] is True and final["phase"] == "counted"


def test_secret_election_seats_the_winner(pair: tuple[Profile, Profile]) -> None:
    """``shora elect --secret``: ranked by name in secret, counted by the two tellers;
    the teller whose share completes the count seats the winner, and ``secret show``
    and ``roles`` name the holder on both profiles, in English and in Persian."""
    a, b = pair
    elect_tellers(a, b)
    deadline = int(time.time()) + 20
    out = a.ok("elect", COUNCIL, "treasurer", "Bahram", "--secret", "--deadline", str(deadline))
    assert "Secret election opened" in out
    pid = out.split("(")[1].split(")")[0]
    both(a, b)
    b.ok("secret", "teller", COUNCIL, pid)
    both(a, b)
    a.ok("secret", "teller", COUNCIL, pid)
    both(a, b)
    for p in (a, b):
        p.ok("secret", "vote", COUNCIL, pid, "--rank", "Bahram", "--now")
    both(a, b)
    assert "An election to treasurer." in a.ok("secret", "show", COUNCIL, pid)
    time.sleep(max(0.0, deadline + 1 - time.time()))
    a.ok("secret", "close", COUNCIL, pid)
    both(a, b)
    a.ok("secret", "teller", COUNCIL, pid)
    both(a, b)
    assert "hold the role" in b.ok("secret", "teller", COUNCIL, pid)  # completes and seats
    both(a, b)
    for p in (a, b):
        assert "Elected to treasurer, holding it now: Bahram" in p.ok(
            "secret", "show", COUNCIL, pid
        )
        shown = p.json("secret", "show", COUNCIL, pid)
        assert shown["role"] == "treasurer" and shown["seated_by"] and len(shown["holders"]) == 1
        assert any(t["role"] == "treasurer" for t in p.json("roles", COUNCIL))
    persian = a.ok("--lang", "fa", "secret", "show", COUNCIL, pid)
    assert "Bahram" in persian and "Elected to" not in persian
    assert "already hold the role" in a.fails("secret", "seat", COUNCIL, pid)
