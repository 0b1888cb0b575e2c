"""What every member sees of the fund, and what a federation sees: aggregates only
(docs/fund.md, "Who sees what"). Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shora.domain.decisions.state import EventView
from shora.domain.federation import rules as fr
from shora.domain.fund import kinds as fk
from shora.domain.fund.ledger import Ledger
from shora.kernel.membership import CouncilState


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    currency: str
    cash: int  # what the fund holds
    received: int  # every receipt
    pledged: int  # pledges not yet received
    disbursed: int
    from_federation: int  # receipts naming a supporter council


def currency_totals(ledger: Ledger) -> list[CurrencyTotals]:
    received: Counter[str] = Counter()
    supporters: Counter[str] = Counter()
    for e in ledger.entries:
        if e.kind == "receipt":
            received[e.currency] += e.amount
    for (_council, currency), amount in ledger.from_councils.items():
        supporters[currency] += amount
    return [
        CurrencyTotals(
            c,
            ledger.balance("cash", c),
            received[c],
            ledger.balance("pledges", c),
            ledger.balance("expense", c),
            supporters[c],
        )
        for c in ledger.currencies()
    ]


def summarise(ledger: Ledger, base: bytes) -> fk.Summary:
    """The council's fund as a federation may see it: totals per currency and the count
    of people helped, no entry, no name."""
    rows = [
        fk.SummaryRow(t.currency, t.received, t.pledged, t.disbursed, t.cash, t.from_federation)
        for t in currency_totals(ledger)
    ][: fk.MAX_SUMMARY_ROWS]
    return fk.Summary(base, rows, len(ledger.helped))


@dataclass(frozen=True, slots=True)
class FederationTotals:
    councils: int  # that shared a summary
    helped: int
    rows: tuple[fk.SummaryRow, ...]  # summed per currency


def latest_summaries(state: CouncilState, views: Iterable[EventView]) -> dict[bytes, fk.Summary]:
    """The latest `fund.summary` of each member council (in clock order), from its
    seated delegate only: only a delegate of that council speaks for it."""
    seats = fr.seats(state)
    latest: dict[bytes, fk.Summary] = {}
    for v in sorted(views, key=lambda v: v.order):
        seat = seats.get(v.author)
        if seat is not None and seat.base == v.body.base:
            latest[v.body.base] = v.body
    return latest


def federation_totals(latest: Mapping[bytes, fk.Summary]) -> FederationTotals:
    sums: dict[str, list[int]] = {}
    for summary in latest.values():
        for r in summary.rows:
            acc = sums.setdefault(r.currency, [0, 0, 0, 0, 0])
            for i, v in enumerate(
                (r.received, r.pledged, r.disbursed, r.balance, r.from_federation)
            ):
                acc[i] += v
    rows = tuple(fk.SummaryRow(c, *v) for c, v in sorted(sums.items()))
    return FederationTotals(len(latest), sum(s.helped for s in latest.values()), rows)
