"""``shora fund ...`` on the command line: a treasurer elected on a profile whose
clock ran three days back, then every fund command through the real entry point, in
English and Persian, with --json and pagination, and one-line errors."""

from __future__ import annotations

import time
from pathlib import Path

from test_cli import COUNCIL, Profile

from conftest import FAST_KDF
from shora.domain.decisions import kinds as dk
from shora.kernel import kinds
from shora.node import Node

DAY = 86_400


def _treasurer(tmp_path: Path) -> Profile:
    """A one-member council whose founder was elected treasurer (and auditor)."""
    p = Profile(tmp_path, "azadeh")
    node = Node.create(p.home, p.passphrase, kdf_limits=FAST_KDF, allow_weak_kdf=True)
    start = time.time() - 3 * DAY
    node.now = lambda: start
    rules = kinds.Rules(treasurer_limits=[kinds.TreasurerLimit("toman", 1_000_000, 30)])
    council = node.councils.create(COUNCIL, "", "Azadeh", rules)
    me = node.councils.members(council)[0].key
    for role in ("treasurer", "auditor"):
        pid = node.governance.elect(council, role, [me], hours=25)
        node.decisions.vote(council, pid, dk.RankedBallot([me.hex()]))
    start += 2 * DAY
    for proposal in node.decisions.proposals(council):
        node.decisions.close(council, proposal.id)
    node.close()
    return p


def test_fund_commands(tmp_path: Path) -> None:
    p = _treasurer(tmp_path)
    pledge = p.json("fund", "pledge", COUNCIL, "۲٬۰۰۰٬۰۰۰", "تومان", "--note", "wages")
    p.ok("fund", "receive", COUNCIL, "1,500,000", "toman", "--pledge", pledge["id"][:8])
    p.ok("fund", "receive", COUNCIL, "12.50", "dollar", "--name", "a supporter")
    p.ok("fund", "disburse", COUNCIL, "400000", "toman", "--name", "Karimi family")
    balance = p.json("fund", "balance", COUNCIL)
    toman = next(c for c in balance["currencies"] if c["currency"] == "toman")
    assert (toman["cash"], toman["pledged"], toman["disbursed"]) == (1_100_000, 500_000, 400_000)
    assert balance["helped"] == 1
    usd = next(c for c in balance["currencies"] if c["currency"] == "usd")
    assert usd["cash"] == 1250
    text = p.ok("fund", "balance", COUNCIL)
    assert "1,100,000 toman (= 11,000,000 rial)" in text and "People helped: 1" in text

    ledger = p.json("fund", "ledger", COUNCIL)
    assert [x["kind"] for x in ledger] == ["disburse", "receipt", "receipt", "pledge"]
    assert ledger[0]["party"]["name"] == "Karimi family"
    assert all(sum(q["amount"] for q in x["postings"]) == 0 for x in ledger)
    page = p.json("fund", "ledger", COUNCIL, "--limit", "2", "--offset", "2")
    assert [x["id"] for x in page] == [x["id"] for x in ledger[2:4]]
    assert "Karimi family" in p.ok("fund", "ledger", COUNCIL)

    request = p.json("fund", "request", COUNCIL, "2000000", "toman", "--name", "Rahimi", "--vote")
    assert request["proposal"]
    [listed] = p.json("fund", "requests", COUNCIL)
    assert (listed["amount"], listed["passed"]) == (2_000_000, None)
    assert "limit" in p.fails("fund", "disburse", COUNCIL, "2000000", "toman", "--name", "x")
    assert "vote" in p.fails("fund", "disburse", COUNCIL, "1", "euro", "--name", "x")
    assert "unknown currency" in p.fails("fund", "pledge", COUNCIL, "1", "pound")
    assert "whole numbers" in p.fails("fund", "pledge", COUNCIL, "1.5", "toman")
    assert "not an amount" in p.fails("fund", "pledge", "--", COUNCIL, "-1", "rial")
    assert p.json("fund", "limit", COUNCIL, "100", "euro", "--days", "7")["id"]

    fa = p.run("--lang", "fa", "fund", "balance", COUNCIL)
    assert fa.returncode == 0, fa.stderr
    assert "۱٬۱۰۰٬۰۰۰" in fa.stdout and "تومان" in fa.stdout
