"""The fund on real replicas, as a property: two treasurers and an auditor on three
devices write random entries (receipts, pledges, payments within the limit, requests,
and forged entries the rules refuse) while syncing only now and then, in pieces,
shuffled and duplicated; once everyone holds everything, every replica has the same
ledger (the same entries accepted, the same refused for the same reasons), every
currency's balances sum to zero, and no cash balance is below zero."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from fundkit import elect, fund_council

from attacks.adversary import Adversary
from conftest import everyone, partial_sync
from shora.domain.fund import kinds as fk
from shora.domain.fund.ledger import postings_for
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.node import Node

CURRENCIES = ("toman", "usd")


def _forged(adv: Adversary, rnd: random.Random) -> None:
    amount = rnd.randint(1, 3_000_000)
    postings = postings_for("fund.disburse", amount)
    if rnd.random() < 0.5:  # unbalanced
        postings[0] = fk.Posting("expense", amount + 1)
    body = fk.Disburse(
        currency=rnd.choice(CURRENCIES), amount=amount, postings=postings, recipient=bytes(16)
    )
    forged = adv.forge("fund.disburse", body)
    adv.node.bundles.import_envelopes([forged.raw])


def _step(nodes: list[Node], advs: list[Adversary], council: bytes, rnd: random.Random) -> None:
    a, b, c = nodes
    treasurer = rnd.choice([a, c])
    currency = rnd.choice(CURRENCIES)
    amount = rnd.randint(1, 2_500_000)
    op = rnd.randrange(6)
    try:
        if op == 0:
            treasurer.fund.receive(council, currency, amount, name=f"giver {amount}")
        elif op == 1:
            treasurer.fund.disburse(council, currency, amount, name=f"family {amount % 5}")
        elif op == 2:
            b.fund.pledge(council, currency, amount)
        elif op == 3:
            rnd.choice(nodes).fund.request(council, currency, amount, name="someone")
        elif op == 4:
            _forged(rnd.choice(advs), rnd)
        else:
            src, dst = rnd.sample(nodes, 2)
            partial_sync(src, dst, rnd)
    except (NotAllowed, InvalidInput, NotFound):
        pass  # the honest writer refused (over the limit, more than the cash ...)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replicas_agree_and_balance(tmp_path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    with fund_council(tmp_path) as (nodes, council, clock):
        elect(nodes, council, clock, "treasurer", "Azadeh", "Cyrus")
        advs = [Adversary(n, council) for n in nodes]
        for _ in range(40):
            _step(nodes, advs, council, rnd)
            clock.t += rnd.choice([1, 60, 3600, 86_400 * 3])
        everyone(nodes)
        everyone(nodes)
        ledgers = [n.fund.ledger(council) for n in nodes]
        first = ledgers[0]
        assert first.entries and first.refused
        for other in ledgers[1:]:
            assert other.balances == first.balances
            assert [e.event.id for e in other.entries] == [e.event.id for e in first.entries]
            assert [(e.id, r) for e, r in other.refused] == [(e.id, r) for e, r in first.refused]
        for currency in first.currencies():
            assert first.total(currency) == 0
            assert first.balance("cash", currency) >= 0
        views = [n.fund.overview(council) for n in nodes]
        assert views[0] == views[1] == views[2]
