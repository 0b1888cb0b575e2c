"""What the fund's readers hand the pages and commands: the overview every member
sees, ledger lines and requests as this member may see them. Pure data."""

from __future__ import annotations

from dataclasses import dataclass

from shora.domain.fund.kinds import Party
from shora.domain.fund.summary import CurrencyTotals


@dataclass(frozen=True, slots=True)
class Overview:
    """What every member sees: totals per currency, people helped, entries counted."""

    totals: list[CurrencyTotals]
    helped: int
    entries: int
    refused: int
    open_requests: int


@dataclass(frozen=True, slots=True)
class Line:
    """One entry of the ledger as this member may see it (party None: sealed to others)."""

    id: bytes
    kind: str  # pledge, receipt, disburse
    time: int  # ms, claimed
    author: str
    currency: str
    amount: int
    postings: tuple[tuple[str, int], ...]
    party: Party | None
    memo: str
    by_vote: bool
    refused: str | None  # the reason's code, for refused entries


@dataclass(frozen=True, slots=True)
class RequestView:
    id: bytes
    time: int
    author: str
    currency: str
    amount: int
    paid: int
    party: Party | None
    memo: str
    decision: bytes | None  # the latest proposal naming it
    passed: bool | None  # that decision's outcome (None: open, or none)
