"""The fund's ledger: a pure fold of the valid ``fund.*`` events, with the checks every
replica makes of each entry (docs/fund.md, "What every replica checks").

Entries are folded in (clock, id) order whatever order they arrived in, duplicates
ignored. Each entry is accepted or refused, with a reason, by the same rules on every
replica; an accepted entry's postings sum to zero in its one currency, so the balances
of every currency always sum to zero, and the fund's cash never goes below zero.

What the fold cannot see in the events alone (whether the author held the treasurer
role as their own causal past shows it, the treasurer's limit the rules set there,
whether a decision on a request passed with its close in the entry's causal past) the
node works out from the kernel's causal states and hands in as a `Context`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from shora.domain.decisions.state import MS, EventView
from shora.domain.fund import kinds as fk
from shora.i18n import N_
from shora.kernel.kinds import TreasurerLimit

DAY_MS = 86_400 * MS

REASONS = {
    "unbalanced": N_("its postings do not sum to zero"),
    "postings": N_("its postings are not those of its kind and amount"),
    "role": N_("its author was not a treasurer"),
    "pledge": N_("it settles no outstanding pledge of that currency and amount"),
    "request": N_("it names no open request of that currency and amount"),
    "approval": N_("it has neither a passed decision nor a treasurer's limit for it"),
    "limit": N_("it would take the treasurers over the limit the rules set"),
    "cash": N_("the fund does not hold that much in that currency"),
}
"""Why an entry was refused, by code (words for the pages, through _())."""


@dataclass(frozen=True, slots=True)
class Context:
    """What the node knows of an entry from its author's causal past."""

    treasurer: bool = False  # the author held the treasurer role at the entry's time
    limit: TreasurerLimit | None = None  # the rules' limit for the entry's currency
    passed: bool = False  # its decision passed on its request, closed in its past


@dataclass(frozen=True, slots=True)
class Entry:
    event: EventView
    currency: str
    amount: int
    postings: tuple[tuple[str, int], ...]
    by_vote: bool = False  # a disbursement approved by a decision (not by a limit)

    @property
    def kind(self) -> str:
        return self.event.kind.removeprefix("fund.")


@dataclass(slots=True)
class RequestState:
    event: EventView
    currency: str
    amount: int
    paid: int = 0

    @property
    def remaining(self) -> int:
        return self.amount - self.paid


@dataclass(slots=True)
class Ledger:
    balances: Counter[tuple[str, str]] = field(default_factory=Counter)  # (account, currency)
    entries: list[Entry] = field(default_factory=list)  # accepted, in order
    refused: list[tuple[EventView, str]] = field(default_factory=list)  # (event, reason)
    pledges: dict[bytes, int] = field(default_factory=dict)  # outstanding, by pledge
    pledge_currency: dict[bytes, str] = field(default_factory=dict)
    requests: dict[bytes, RequestState] = field(default_factory=dict)
    helped: set[bytes] = field(default_factory=set)  # recipient tags
    from_councils: Counter[tuple[bytes, str]] = field(default_factory=Counter)

    def currencies(self) -> list[str]:
        return sorted({c for _a, c in self.balances})

    def balance(self, account: str, currency: str) -> int:
        return self.balances[(account, currency)]

    def total(self, currency: str) -> int:
        """The sum of every account in a currency: zero, always."""
        return sum(v for (_a, c), v in self.balances.items() if c == currency)


def postings_for(kind: str, amount: int, settles_pledge: bool = False) -> list[fk.Posting]:
    """The postings of an entry of this kind and amount (debit +, credit -)."""
    if kind == "fund.pledge":
        pairs = [("pledges", amount), ("income", -amount)]
    elif kind == "fund.receipt":
        pairs = [("cash", amount), ("pledges" if settles_pledge else "income", -amount)]
    elif kind == "fund.disburse":
        pairs = [("expense", amount), ("cash", -amount)]
    else:
        raise ValueError(kind)
    return [fk.Posting(a, v) for a, v in pairs]  # type: ignore[arg-type]


def _limit_used(ledger: Ledger, currency: str, at: int, days: int) -> int:
    """What treasurers paid out by their limit in a currency within `days` of `at` (ms),
    before or after: every window of that length then holds no more than the limit,
    whatever claimed times the entries carry and whatever order they are folded in."""
    span = days * DAY_MS
    return sum(
        e.amount
        for e in ledger.entries
        if e.kind == "disburse"
        and not e.by_vote
        and e.currency == currency
        and abs(e.event.time - at) < span
    )


def _problem(ledger: Ledger, e: EventView, ctx: Context) -> tuple[str | None, bool]:
    """Why this entry is refused (a code of REASONS) or None; and whether a vote
    approved it."""
    body = e.body
    posted = Counter[str]()
    for p in body.postings:
        posted[p.account] += p.amount
    if sum(p.amount for p in body.postings) != 0:
        return "unbalanced", False
    settles = e.kind == "fund.receipt" and body.pledge is not None
    want = Counter({p.account: p.amount for p in postings_for(e.kind, body.amount, settles)})
    if len(body.postings) != len(want) or posted != want:
        return "postings", False
    if e.kind == "fund.pledge":
        return None, False
    if not ctx.treasurer:
        return "role", False
    if e.kind == "fund.receipt":
        if settles:
            left = ledger.pledges.get(body.pledge, 0)
            if ledger.pledge_currency.get(body.pledge) != body.currency or body.amount > left:
                return "pledge", False
        return None, False
    if body.amount > ledger.balance("cash", body.currency):
        return "cash", False
    if body.decision is not None:
        request = ledger.requests.get(body.request) if body.request is not None else None
        if request is None or request.currency != body.currency:
            return "request", False
        if body.amount > request.remaining:
            return "request", False
        return (None, True) if ctx.passed else ("approval", False)
    if ctx.limit is None or ctx.limit.currency != body.currency:
        return "approval", False
    if body.request is not None:
        request = ledger.requests.get(body.request)
        if request is None or request.currency != body.currency:
            return "request", False
        if body.amount > request.remaining:
            return "request", False
    used = _limit_used(ledger, body.currency, e.time, ctx.limit.days)
    if used + body.amount > ctx.limit.amount:
        return "limit", False
    return None, False


def _accept(ledger: Ledger, e: EventView, by_vote: bool) -> None:
    body = e.body
    postings = tuple((p.account, p.amount) for p in body.postings)
    for account, amount in postings:
        ledger.balances[(account, body.currency)] += amount
    ledger.entries.append(Entry(e, body.currency, body.amount, postings, by_vote))
    if e.kind == "fund.pledge":
        ledger.pledges[e.id] = body.amount
        ledger.pledge_currency[e.id] = body.currency
    elif e.kind == "fund.receipt":
        if body.pledge is not None:
            ledger.pledges[body.pledge] -= body.amount
        if body.source is not None:
            ledger.from_councils[(body.source, body.currency)] += body.amount
    else:
        ledger.helped.add(body.recipient)
        if body.request is not None:
            ledger.requests[body.request].paid += body.amount


def fold(events: Iterable[tuple[EventView, Context]]) -> Ledger:
    """The ledger from the council's valid fund events, each with its context."""
    ledger = Ledger()
    unique = {e.id: (e, ctx) for e, ctx in events}
    for e, ctx in sorted(unique.values(), key=lambda pair: pair[0].order):
        if e.kind == "fund.request":
            ledger.requests[e.id] = RequestState(e, e.body.currency, e.body.amount)
            continue
        if e.kind not in fk.ENTRY_KINDS:
            continue
        problem, by_vote = _problem(ledger, e, ctx)
        if problem is None:
            _accept(ledger, e, by_vote)
        else:
            ledger.refused.append((e, problem))
    return ledger
