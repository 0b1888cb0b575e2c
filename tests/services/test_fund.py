"""The strike fund end to end on real profiles: pledges and receipts, disbursements
within the treasurers' limit or by a passed vote, the sealed parties, and the balances
every member sees alike."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from fundkit import TOMAN_LIMIT, elect, fund_council, key_of, pass_vote

from conftest import everyone, partial_sync
from shora.errors import InvalidInput, NotAllowed
from shora.i18n import using_language
from shora.services import fund as fs


def test_pledge_receive_disburse_and_balances(tmp_path: Path) -> None:
    with fund_council(tmp_path) as ((a, b, c), council, _clock):
        cyrus = key_of(a, council, "Cyrus")
        pledge = c.fund.pledge(council, "toman", 2_000_000, note="from my wages")
        everyone([a, b, c])
        a.fund.receive(council, "toman", 1_500_000, pledge=pledge, member=cyrus)
        a.fund.receive(council, "usd", 12_550, name="a supporter abroad")
        a.fund.disburse(council, "toman", 1_000_000, name="the family of a dismissed worker")
        everyone([a, b, c])
        views = [n.fund.overview(council) for n in (a, b, c)]
        assert views[0] == views[1] == views[2]
        toman = next(t for t in views[0].totals if t.currency == "toman")
        assert (toman.cash, toman.received, toman.pledged, toman.disbursed) == (
            500_000,
            1_500_000,
            500_000,
            1_000_000,
        )
        assert views[0].helped == 1 and views[0].refused == 0
        ledger = c.fund.ledger(council)
        for currency in ledger.currencies():
            assert ledger.total(currency) == 0


def test_parties_are_sealed_to_treasurers_auditors_and_the_person(tmp_path: Path) -> None:
    with fund_council(tmp_path) as ((a, b, c), council, _clock):
        a.fund.receive(council, "toman", 3_000_000, name="Maryam, a nurse")
        a.fund.disburse(council, "toman", 100_000, name="the Karimi family")
        everyone([a, b, c])
        for node, sees in ((a, True), (b, True), (c, False)):
            parties = [line.party for line in node.fund.lines(council)]
            assert all((p is not None) == sees for p in parties)
        names = {line.party.name for line in b.fund.lines(council) if line.party}
        assert names == {"Maryam, a nurse", "the Karimi family"}
        # The person concerned reads what names them, and nothing else.
        a.fund.disburse(council, "toman", 50_000, member=key_of(a, council, "Cyrus"))
        everyone([a, b, c])
        mine = [line for line in c.fund.lines(council) if line.party is not None]
        assert [line.party.member for line in mine] == [key_of(a, council, "Cyrus")]
        # Cyrus's device holds only ciphertext of who gave and who received.
        stored = [r[5] for r in c.store.events.valid_where("kind LIKE ?", ("fund.%",))]
        assert len(stored) == 3
        assert not any(b"Maryam" in body or b"Karimi" in body for body in stored)


def test_the_same_recipient_counts_once(tmp_path: Path) -> None:
    with fund_council(tmp_path) as ((a, _b, _c), council, _clock):
        a.fund.receive(council, "toman", 4_000_000, name="collection at the gate")
        a.fund.disburse(council, "toman", 100_000, name="Karimi family")
        a.fund.disburse(council, "toman", 100_000, name="karimi family")
        a.fund.disburse(council, "toman", 100_000, member=key_of(a, council, "Cyrus"))
        assert a.fund.overview(council).helped == 2


def test_the_treasurers_limit_and_a_vote_above_it(tmp_path: Path) -> None:
    with fund_council(tmp_path) as ((a, b, c), council, clock):
        a.fund.receive(council, "toman", 20_000_000, name="collection")
        a.fund.disburse(council, "toman", TOMAN_LIMIT - 1000, name="family one")
        with pytest.raises(NotAllowed, match="limit"):
            a.fund.disburse(council, "toman", 2000, name="family two")
        with pytest.raises(NotAllowed, match="vote"):
            a.fund.disburse(council, "usd", 100, name="family two")
        request = c.fund.request(council, "toman", 8_000_000, name="family two", note="rent")
        everyone([a, b, c])
        pid = c.fund.put_to_vote(council, request)
        with pytest.raises(NotAllowed):
            everyone([a, b, c])
            a.fund.disburse(council, "toman", 8_000_000, request=request, decision=pid)
        pass_vote([a, b, c], council, clock, pid)
        a.fund.disburse(council, "toman", 8_000_000, request=request)
        everyone([a, b, c])
        line = c.fund.lines(council)[0]
        assert line.by_vote and line.party is None
        assert c.fund.requests(council)[0].paid == 8_000_000
        # After the period, the limit is whole again.
        clock.t += 31 * 86_400
        a.fund.disburse(council, "toman", TOMAN_LIMIT, name="family three")


def test_a_member_cannot_record_receipts(tmp_path: Path) -> None:
    with fund_council(tmp_path) as ((_a, b, c), council, _clock):
        with pytest.raises(NotAllowed, match="treasurer"):
            c.fund.receive(council, "toman", 1000, name="x")
        with pytest.raises(NotAllowed, match="treasurer"):
            b.fund.disburse(council, "toman", 1000, name="x")


def test_amounts_and_currencies_as_people_type_them() -> None:
    assert fs.parse_currency("تومان") == "toman"
    assert fs.parse_currency(" Dollar ") == "usd"
    assert fs.parse_currency("token:bread") == "token:bread"
    with pytest.raises(InvalidInput):
        fs.parse_currency("pound")
    assert fs.parse_amount("۱۲٬۵۰۰", "toman") == 12_500
    assert fs.parse_amount("12.5", "usd") == 1250
    assert fs.parse_amount("۱۲٫۰۵", "eur") == 1205
    for bad in ("12.5", "-3", "0", "1e3", "12.345"):
        with pytest.raises(InvalidInput):
            fs.parse_amount(bad, "toman" if bad != "12.345" else "usd")
    with using_language("en"):
        assert fs.format_amount(12_345, "rial") == "12,345 rial (= 1,234.5 toman)"
        assert fs.format_amount(1250, "usd") == "12.50 US dollar"
    with using_language("fa"):
        shown = fs.format_amount(1_000, "toman")
        assert "۱٬۰۰۰" in shown and "۱۰٬۰۰۰" in shown


def test_concurrent_disbursements_from_two_replicas_converge(tmp_path: Path) -> None:
    with fund_council(tmp_path) as (nodes, council, clock):
        a, _b, c = nodes
        elect(nodes, council, clock, "treasurer", "Azadeh", "Cyrus")
        a.fund.receive(council, "toman", 6_000_000, name="collection")
        everyone(nodes)
        # Offline from each other, each treasurer pays within the limit as they see it.
        a.fund.disburse(council, "toman", 3_000_000, name="family one")
        c.fund.disburse(council, "toman", 3_000_000, name="family two")
        rnd = random.Random(4)
        for _ in range(3):
            for src, dst in rnd.sample([(x, y) for x in nodes for y in nodes if x is not y], 6):
                partial_sync(src, dst, rnd)
        everyone(nodes)
        ledgers = [n.fund.ledger(council) for n in nodes]
        assert all(x.balances == ledgers[0].balances for x in ledgers)
        assert [r for _e, r in ledgers[0].refused] == ["limit"]
        assert ledgers[0].balance("cash", "toman") == 3_000_000
        assert ledgers[0].total("toman") == 0
        views = [n.fund.overview(council) for n in nodes]
        assert views[0] == views[1] == views[2] and views[0].refused == 1
