"""The strike fund's pages, in English and in Persian: the overview every member sees,
recording a contribution and a pledge, a request put to a vote, paying out within the
limit and on an approved request, the ledger with its pager. Real app, real encrypted
profile; the node's clock is moved to let the elections close.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

from shora.domain.decisions import kinds as dk
from web.client import Browser, browser

DAY = 86_400
FA = {"Accept-Language": "fa-IR,fa;q=0.9"}
EN = {"Accept-Language": "en"}


def words(page: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", page))


def make_treasurer(b: Browser, home: str) -> None:
    """The founder, alone, sets a limit of 1,000,000 tomans a month and is elected
    treasurer and auditor; the votes ran two days, in the node's own clock."""
    node = b.keeper.node
    assert node is not None
    council = bytes.fromhex(home.rsplit("/", 1)[1])
    me = node.me(council)
    assert me is not None
    start = time.time()
    node.now = lambda: start
    changes = node.fund.limit_change(council, "toman", 1_000_000, 30)
    pids = [node.governance.change_rules(council, changes, hours=25)]
    pids += [node.governance.elect(council, r, [me], hours=25) for r in ("treasurer", "auditor")]
    node.decisions.vote(council, pids[0], dk.YesNoBallot("yes"))
    for pid in pids[1:]:
        node.decisions.vote(council, pid, dk.RankedBallot([me.hex()]))
    node.now = lambda: time.time() + 2 * DAY
    for pid in pids:
        node.decisions.close(council, pid)


@contextmanager
def fund_page(
    tmp_path: Path, headers: dict[str, str], founder: str
) -> Iterator[tuple[Browser, str]]:
    with browser(tmp_path / "a", **headers) as b:
        b.create_profile()
        home = urlsplit(b.found_council(founder=founder)).path
        make_treasurer(b, home)
        yield b, home


def test_the_fund_in_english(tmp_path: Path) -> None:
    with fund_page(tmp_path, EN, "Nasrin") as (b, home):
        page = b.get(home + "/fund")
        assert page.status_code == 200
        assert "The fund has no entries yet." in page.text
        assert "Treasurers may pay out up to 1,000,000 toman" in words(page.text)
        assert f'href="{home}/fund"' in b.get(home).text
        r = b.post(
            home + "/fund",
            {"action": "receive", "amount": "3,000,000", "currency": "toman", "name": "Maryam"},
        )
        assert r.status_code == 303, r.text
        r = b.post(home + "/fund", {"action": "pledge", "amount": "12.50", "currency": "usd"})
        assert r.status_code == 303, r.text
        text = words(b.get(home + "/fund").text)
        assert "3,000,000 toman (= 30,000,000 rial)" in text
        assert "Pledged, not yet received: 12.50 US dollar" in text
        # Within the limit, then above it (refused with the reason, nothing lost).
        r = b.post(
            home + "/fund/requests", {"amount": "400000", "currency": "toman", "name": "Karimi"}
        )
        assert r.status_code == 303, r.text
        r = b.post(
            home + "/fund/requests", {"amount": "700000", "currency": "toman", "name": "Rahimi"}
        )
        assert r.status_code == 400 and "limit" in words(r.text)
        # Above the limit: a request, put to a vote.
        r = b.post(
            home + "/fund",
            {
                "action": "request",
                "amount": "700000",
                "currency": "toman",
                "name": "Rahimi",
                "vote": "1",
            },
        )
        assert r.status_code == 303 and "/decisions/" in r.headers["location"]
        listing = words(b.get(home + "/fund/requests").text)
        assert "vote open" in listing and "For: Rahimi" in listing
        ledger = words(b.get(home + "/fund/ledger").text)
        assert "disbursement" in ledger and "Karimi" in ledger and "fund cash" in ledger
        text = words(b.get(home + "/fund").text)
        assert "People helped: 1" in text and "Open requests: 1" in text
        bad = b.post(home + "/fund", {"action": "pledge", "amount": "1", "currency": "pound"})
        assert bad.status_code == 400 and "unknown currency" in words(bad.text)


def test_the_fund_in_persian(tmp_path: Path) -> None:
    with fund_page(tmp_path, FA, "نسرین") as (b, home):
        r = b.post(
            home + "/fund",
            {"action": "receive", "amount": "۲٬۵۰۰٬۰۰۰", "currency": "تومان", "name": "مریم"},
        )
        assert r.status_code == 303, r.text
        page = b.get(home + "/fund").text
        assert 'dir="rtl"' in page or "rtl" in page
        text = words(page)
        assert "۲٬۵۰۰٬۰۰۰ تومان" in text and "۲۵٬۰۰۰٬۰۰۰ ریال" in text
        assert "صندوق اعتصاب" in text
        ledger = words(b.get(home + "/fund/ledger").text)
        assert "مریم" in ledger and "دریافت" in ledger


def test_the_federation_page_shows_fund_aggregates(tmp_path: Path) -> None:
    from test_federation_flow import key_of, one_person_council, pass_vote

    from conftest import T0, Clock, send

    clock = Clock(T0)
    with browser(tmp_path / "host", **EN) as b:
        b.create_profile()
        host = b.keeper.node
        assert host is not None
        host.now = clock
        city = host.federation.create("City", "Host")
        p, p_base = one_person_council(tmp_path, "p", clock, host, city)
        send(p, host)
        send(host, p)
        me = key_of(p, p_base)
        pid = p.governance.elect(p_base, "treasurer", [me], hours=25)
        pass_vote(p, p_base, pid, dk.RankedBallot([me.hex()]), clock)
        p.fund.receive(p_base, "eur", 50_000, source=host.councils.all()[0].id, name="Maryam")
        p.fund_federation.share(city)
        send(p, host)
        p.close()
        text = words(b.get(f"/councils/{city.hex()}/federation").text)
        assert "Strike funds across councils" in text
        assert "500.00 euro held, 0.00 euro paid out, 500.00 euro from supporter councils" in text
        assert "Maryam" not in text
