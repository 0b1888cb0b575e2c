"""The fund's ledger fold, as properties: whatever entries arrive (valid, refused,
concurrent ones from several replicas), in whatever order, duplicated, every replica
folds the same ledger, every accepted entry's postings sum to zero in its currency, so
every currency's balances sum to zero, and the fund's cash never goes below zero."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from shora.domain.decisions.state import EventView
from shora.domain.fund import kinds as fk
from shora.domain.fund.ledger import Context, fold, postings_for
from shora.kernel.kinds import MAX_AMOUNT, TreasurerLimit

CURRENCIES = ["rial", "toman", "usd", "token:bread"]
DAY_MS = 86_400_000
LIMIT = {c: TreasurerLimit(c, 5_000, 7) for c in CURRENCIES}
amounts = st.one_of(st.integers(1, 10_000), st.sampled_from([1, MAX_AMOUNT]))


@st.composite
def entry_specs(draw: st.DrawFn) -> tuple[str, dict[str, object], Context, int, int]:
    kind = draw(st.sampled_from(["fund.pledge", "fund.receipt", "fund.disburse", "fund.request"]))
    currency = draw(st.sampled_from(CURRENCIES))
    amount = draw(amounts)
    skew = draw(st.sampled_from([0, 0, 0, 1, -1, amount]))  # unbalanced sometimes
    ctx = Context(
        treasurer=draw(st.booleans()),
        limit=LIMIT[currency] if draw(st.booleans()) else None,
        passed=draw(st.booleans()),
    )
    clock = draw(st.integers(1, 30))
    time = draw(st.integers(0, 40)) * DAY_MS
    fields = {"currency": currency, "amount": amount, "skew": skew}
    return kind, fields, ctx, clock, time


def _build(specs: list[tuple[str, dict[str, object], Context, int, int]], rnd: random.Random):  # type: ignore[no-untyped-def]
    made: list[tuple[EventView, Context]] = []
    pledges: list[bytes] = []
    requests: list[bytes] = []
    for i, (kind, f, ctx, clock, time) in enumerate(specs):
        eid = i.to_bytes(2, "big") + rnd.randbytes(30)
        amount, currency, skew = int(f["amount"]), str(f["currency"]), int(f["skew"])  # type: ignore[call-overload]
        if kind == "fund.request":
            body: object = fk.Request(currency=currency, amount=amount, sealed=None)  # type: ignore[arg-type]
            requests.append(eid)
        elif kind == "fund.pledge":
            body = fk.Pledge(currency=currency, amount=amount, postings=postings_for(kind, amount))
            pledges.append(eid)
        elif kind == "fund.receipt":
            settles = bool(pledges) and rnd.random() < 0.5
            postings = postings_for(kind, amount, settles)
            postings[0] = fk.Posting(postings[0].account, postings[0].amount + skew)
            body = fk.Receipt(
                currency=currency,
                amount=amount,
                postings=postings,
                pledge=rnd.choice(pledges) if settles else None,
            )
        else:
            request = rnd.choice(requests) if requests and rnd.random() < 0.6 else None
            body = fk.Disburse(
                currency=currency,
                amount=amount,
                postings=postings_for(kind, amount),
                recipient=rnd.randbytes(16),
                request=request,
                decision=rnd.randbytes(32) if request and rnd.random() < 0.5 else None,
            )
        author = bytes([rnd.randrange(3)]) * 32
        made.append((EventView(eid, author, clock, time, kind, body), ctx))
    return made


@settings(max_examples=150, deadline=None)
@given(st.lists(entry_specs(), min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_every_replica_folds_the_same_balanced_ledger(specs, rnd) -> None:  # type: ignore[no-untyped-def]
    events = _build(specs, rnd)
    ledgers = []
    for _replica in range(3):
        delivered = events + rnd.sample(events, k=len(events) // 2)  # duplicates
        rnd.shuffle(delivered)
        ledgers.append(fold(delivered))
    first = ledgers[0]
    for other in ledgers[1:]:
        assert other.balances == first.balances
        assert [e.event.id for e in other.entries] == [e.event.id for e in first.entries]
        assert [(e.id, r) for e, r in other.refused] == [(e.id, r) for e, r in first.refused]
    for entry in first.entries:
        assert sum(v for _a, v in entry.postings) == 0
    for currency in CURRENCIES:
        assert first.total(currency) == 0
        assert first.balance("cash", currency) >= 0
        assert first.balance("pledges", currency) >= 0
    assert len(first.entries) + len(first.refused) == sum(
        1 for e, _c in events if e.kind != "fund.request"
    )
    # Within any window of the limit's length, what treasurers paid by their limit is
    # at most the limit, whatever claimed times and order the entries came in.
    by_limit = [e for e in first.entries if e.kind == "disburse" and not e.by_vote]
    for e in by_limit:
        window = [
            x.amount
            for x in by_limit
            if x.currency == e.currency and 0 <= x.event.time - e.event.time < 7 * DAY_MS
        ]
        assert sum(window) <= 5_000
