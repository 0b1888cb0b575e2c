"""A strike fund against a modified client: a treasurer or a member whose client signs
any fund entry it likes, against honest replicas (docs/fund.md, docs/threat-model.md).

Every honest replica refuses, by the same rule and with the same reason, a treasurer
exceeding the limit the rules set, a disbursement without an approved decision (or on
one about another request, or one closed after it), a receipt by someone who is not a
treasurer, unbalanced postings, and amounts or currencies outside the schema; the
balances stay as they were and sum to zero on every replica.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fundkit import TOMAN_LIMIT, fund_council, key_of, pass_vote

from attacks.adversary import Adversary, Forged
from conftest import everyone
from shora.domain.decisions import kinds as dk
from shora.domain.fund import kinds as fk
from shora.domain.fund.ledger import postings_for
from shora.errors import NotAllowed
from shora.node import Node
from shora.services.fund import request_marker

TAG = b"\x07" * 16


def deliver(nodes: list[Node], *forged: Forged) -> None:
    for node in nodes:
        node.bundles.import_envelopes([f.raw for f in forged])


def refused(node: Node, council: bytes, forged: Forged) -> str | None:
    """The reason an honest replica gives for refusing the entry (None: accepted)."""
    ledger = node.fund.ledger(council)
    reasons = {e.id: reason for e, reason in ledger.refused}
    assert forged.id in reasons or any(x.event.id == forged.id for x in ledger.entries)
    return reasons.get(forged.id)


def disburse(amount: int, **kw: object) -> fk.Disburse:
    return fk.Disburse(
        currency="toman",
        amount=amount,
        postings=postings_for("fund.disburse", amount),
        recipient=TAG,
        **kw,  # type: ignore[arg-type]
    )


def balanced_everywhere(nodes: list[Node], council: bytes) -> None:
    views = [n.fund.overview(council) for n in nodes]
    assert all(v == views[0] for v in views)
    for node in nodes:
        ledger = node.fund.ledger(council)
        assert all(ledger.total(c) == 0 for c in ledger.currencies())
        assert all(ledger.balance("cash", c) >= 0 for c in ledger.currencies())


def test_a_treasurer_cannot_exceed_the_limit(tmp_path: Path) -> None:
    with fund_council(tmp_path) as (nodes, council, _clock):
        a, b, c = nodes
        a.fund.receive(council, "toman", 20_000_000, name="collection")
        everyone(nodes)
        adv = Adversary(a, council)
        first = adv.forge("fund.disburse", disburse(TOMAN_LIMIT))
        deliver(nodes, first)
        over = adv.forge("fund.disburse", disburse(1))
        deliver(nodes, over)
        for node in (b, c):
            assert refused(node, council, first) is None
            assert refused(node, council, over) == "limit"
            assert node.fund.overview(council).totals[0].cash == 20_000_000 - TOMAN_LIMIT
        balanced_everywhere(nodes, council)


def test_no_disbursement_above_the_limit_without_a_passed_decision(tmp_path: Path) -> None:
    with fund_council(tmp_path) as (nodes, council, clock):
        a, b, c = nodes
        a.fund.receive(council, "toman", 50_000_000, name="collection")
        request = c.fund.request(council, "toman", 9_000_000, name="family")
        other = c.fund.request(council, "toman", 9_000_000, name="another family")
        everyone(nodes)
        pid = c.fund.put_to_vote(council, request)
        everyone(nodes)
        adv = Adversary(a, council)
        # No decision at all; a decision still open; the open decision on a request it
        # is not about.
        bare = adv.forge("fund.disburse", disburse(9_000_000, request=request))
        early = adv.forge("fund.disburse", disburse(9_000_000, request=request, decision=pid))
        wrong = adv.forge("fund.disburse", disburse(9_000_000, request=other, decision=pid))
        deliver(nodes, bare, early, wrong)
        heads_before_close = adv.heads()
        pass_vote(nodes, council, clock, pid)
        # Written as if the close had not been seen: its close is not in its past.
        blind = adv.forge(
            "fund.disburse",
            disburse(9_000_000, request=request, decision=pid),
            parents=heads_before_close,
        )
        misnamed = adv.forge("fund.disburse", disburse(9_000_000, request=other, decision=pid))
        deliver(nodes, blind, misnamed)
        for node in (b, c):
            assert refused(node, council, bare) == "limit"
            assert refused(node, council, early) == "approval"
            assert refused(node, council, wrong) == "approval"
            assert refused(node, council, blind) == "approval"
            assert refused(node, council, misnamed) == "approval"
        # The honest way, after the close, is accepted.
        ok = adv.forge("fund.disburse", disburse(9_000_000, request=request, decision=pid))
        deliver(nodes, ok)
        twice = adv.forge("fund.disburse", disburse(1, request=request, decision=pid))
        deliver(nodes, twice)
        for node in (b, c):
            assert refused(node, council, ok) is None
            assert refused(node, council, twice) == "request"
        balanced_everywhere(nodes, council)


def test_a_member_cannot_record_receipts_or_pay_out(tmp_path: Path) -> None:
    with fund_council(tmp_path) as (nodes, council, _clock):
        a, b, c = nodes
        a.fund.receive(council, "toman", 1_000_000, name="collection")
        everyone(nodes)
        adv = Adversary(c, council)
        receipt = fk.Receipt(
            currency="toman",
            amount=5_000_000,
            postings=postings_for("fund.receipt", 5_000_000),
        )
        forged = [adv.forge("fund.receipt", receipt), adv.forge("fund.disburse", disburse(10))]
        # The auditor sees everything but is no treasurer either.
        forged.append(Adversary(b, council).forge("fund.disburse", disburse(10)))
        deliver(nodes, *forged)
        for node in nodes:
            assert [refused(node, council, f) for f in forged] == ["role"] * 3
            assert node.fund.overview(council).totals[0].cash == 1_000_000
        balanced_everywhere(nodes, council)


def test_unbalanced_or_wrong_postings_are_refused(tmp_path: Path) -> None:
    with fund_council(tmp_path) as (nodes, council, _clock):
        a, b, c = nodes
        adv = Adversary(a, council)
        p = fk.Posting
        unbalanced = fk.Receipt(
            currency="toman",
            amount=1000,
            postings=[p("cash", 1_000_000), p("income", -1000)],
        )
        # Balanced, but money appears in cash out of pledges nobody made.
        wrong = fk.Receipt(
            currency="toman",
            amount=1000,
            postings=[p("cash", 1000), p("expense", -1000)],
        )
        split = fk.Receipt(
            currency="toman",
            amount=1000,
            postings=[p("cash", 500), p("cash", 500), p("income", -1000)],
        )
        forged = [adv.forge("fund.receipt", body) for body in (unbalanced, wrong, split)]
        deliver(nodes, *forged)
        for node in (b, c):
            reasons = [refused(node, council, f) for f in forged]
            assert reasons == ["unbalanced", "postings", "postings"]
            assert node.fund.overview(council).entries == 0
        balanced_everywhere(nodes, council)


def test_amounts_out_of_range_and_unknown_currencies_are_refused(tmp_path: Path) -> None:
    with fund_council(tmp_path) as (nodes, council, _clock):
        a, b, c = nodes
        adv = Adversary(a, council)
        huge = 10**16
        bodies = [
            fk.Receipt(currency="toman", amount=huge, postings=postings_for("fund.receipt", huge)),
            fk.Receipt(currency="toman", amount=0, postings=postings_for("fund.receipt", 0)),
            fk.Receipt(currency="gbp", amount=100, postings=postings_for("fund.receipt", 100)),
            fk.Receipt(currency="token:", amount=1, postings=postings_for("fund.receipt", 1)),
        ]
        forged = [adv.forge("fund.receipt", body) for body in bodies]
        deliver(nodes, *forged)
        for node in (b, c):
            valid = {bytes(r[0]) for r in node.store.rows("SELECT id FROM events WHERE valid=1")}
            assert not valid & {f.id for f in forged}
            assert node.fund.overview(council).entries == 0
        # An honest receipt after them still counts.
        a.fund.receive(council, "toman", 1000, name="x")
        everyone(nodes)
        assert c.fund.overview(council).totals[0].cash == 1000
        balanced_everywhere(nodes, council)


def test_receipts_cannot_settle_more_than_was_pledged(tmp_path: Path) -> None:
    with fund_council(tmp_path) as (nodes, council, _clock):
        a, b, c = nodes
        pledge = c.fund.pledge(council, "toman", 1000)
        everyone(nodes)
        adv = Adversary(a, council)

        def settle(amount: int, currency: str = "toman") -> fk.Receipt:
            return fk.Receipt(
                currency=currency,
                amount=amount,
                postings=postings_for("fund.receipt", amount, True),
                pledge=pledge,
            )

        over, other, ok = (
            adv.forge("fund.receipt", settle(1001)),
            adv.forge("fund.receipt", settle(10, "rial")),
            adv.forge("fund.receipt", settle(1000)),
        )
        deliver(nodes, over, other, ok)
        for node in (b, c):
            assert [refused(node, council, f) for f in (over, other, ok)] == [
                "pledge",
                "pledge",
                None,
            ]
        balanced_everywhere(nodes, council)
        assert key_of(a, council, "Cyrus")


def test_a_vote_with_too_few_taking_part_approves_nothing(tmp_path: Path) -> None:
    with fund_council(tmp_path) as (nodes, council, clock):
        a, b, c = nodes
        a.fund.receive(council, "toman", 50_000_000, name="collection")
        request = a.fund.request(council, "toman", 9_000_000, name="a friend")
        # The treasurer puts the request to a vote of their own making, with no quorum,
        # votes alone and closes it: it passes under the ordinary rules (no quorum) ...
        pid = a.decisions.propose(
            council,
            dk.Propose(
                title="Pay",
                text=request_marker(request),
                method="yes_no",
                quorum="0/1",
                deadline=int(clock.t) + 2 * 3600,
            ),
        )
        a.decisions.vote(council, pid, dk.YesNoBallot("yes"))
        clock.t += 3 * 3600
        a.decisions.close(council, pid)
        assert a.decisions.proposal(council, pid).passed is True
        # ... but one of three is below the governance quorum (1/2): no disbursement.
        with pytest.raises(NotAllowed, match="too few"):
            a.fund.disburse(council, "toman", 9_000_000, request=request, decision=pid)
        forged = Adversary(a, council).forge(
            "fund.disburse", disburse(9_000_000, request=request, decision=pid)
        )
        everyone(nodes)
        deliver(nodes, forged)
        for node in (b, c):
            assert refused(node, council, forged) == "approval"
        balanced_everywhere(nodes, council)
