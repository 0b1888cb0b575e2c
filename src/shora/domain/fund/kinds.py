"""The event kinds of a strike fund (docs/fund.md). Every ledger entry names its
currency and carries its postings; who gave or who received is sealed to the
treasurers, the auditors and the person concerned (`shora.domain.aid.restricted`),
while the amounts are readable by every member, so that every member can check the
balances.

* ``fund.pledge``: a contribution promised: pledges receivable +a, income -a.
* ``fund.receipt``: money received: cash +a, and income -a, or pledges -a when it
  settles a pledge (``pledge``). It may name a council of a federation it came from.
* ``fund.request``: a member asks the council to pay out; a vote on it (a decision
  whose proposal names it) can approve a disbursement.
* ``fund.disburse``: money paid out: expense +a, cash -a, by a treasurer, approved by a
  passed decision on a request, or within the treasurer's limit the rules set.
* ``fund.summary``: a seated delegate's aggregate of its council's fund, in a federation.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec

from shora.domain.aid.restricted import Sealed
from shora.kernel.events import Bytes32, register_kind
from shora.kernel.kinds import MAX_AMOUNT as MAX_AMOUNT
from shora.kernel.kinds import Bytes16
from shora.kernel.kinds import Currency as Currency

Account = Literal["cash", "pledges", "income", "expense"]
ACCOUNTS: tuple[str, ...] = get_args(Account)
Amount = Annotated[int, msgspec.Meta(ge=1, le=MAX_AMOUNT)]
Signed = Annotated[int, msgspec.Meta(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
Memo = Annotated[str, msgspec.Meta(max_length=200)]
MAX_POSTINGS = 4
MAX_SUMMARY_ROWS = 16
TREASURER = "treasurer"
AUDITOR = "auditor"


class Posting(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    """One line of an entry: a signed amount on an account (debit +, credit -)."""

    account: Account
    amount: Signed


Postings = Annotated[list[Posting], msgspec.Meta(min_length=2, max_length=MAX_POSTINGS)]


class Party(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The sealed part of an entry or request: who gave or who is to receive (a member,
    or a person or family named in words), the recipient's tag, and a note."""

    member: Bytes32 | None = None
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    tag: Bytes16 | None = None
    note: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class Pledge(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    currency: Currency
    amount: Amount
    postings: Postings
    sealed: Sealed | None = None  # who pledged, and a note: for treasurers and auditors
    memo: Memo = ""  # readable by every member: never a name


class Receipt(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    currency: Currency
    amount: Amount
    postings: Postings
    pledge: Bytes32 | None = None  # the pledge it settles
    source: Bytes32 | None = None  # a council of a federation it came from (a supporter)
    sealed: Sealed | None = None  # who gave
    memo: Memo = ""


class Request(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A request for a disbursement; who for, and why, sealed."""

    currency: Currency
    amount: Amount
    sealed: Sealed
    memo: Memo = ""


class Disburse(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    currency: Currency
    amount: Amount
    postings: Postings
    # The people helped are counted by these tags: the same tag for the same recipient
    # (a random pseudonym the treasurers keep in the sealed part), nothing else public.
    recipient: Bytes16
    request: Bytes32 | None = None
    decision: Bytes32 | None = None  # a passed decision on `request`
    sealed: Sealed | None = None  # to whom, and why
    memo: Memo = ""


class SummaryRow(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    currency: Currency
    received: Annotated[int, msgspec.Meta(ge=0)]
    pledged: Annotated[int, msgspec.Meta(ge=0)]  # still outstanding
    disbursed: Annotated[int, msgspec.Meta(ge=0)]
    balance: Annotated[int, msgspec.Meta(ge=0)]
    from_federation: Annotated[int, msgspec.Meta(ge=0)]  # received from supporter councils


class Summary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A council's fund in aggregate, as its delegate shares it with a federation."""

    base: Bytes32
    rows: Annotated[list[SummaryRow], msgspec.Meta(max_length=MAX_SUMMARY_ROWS)]
    helped: Annotated[int, msgspec.Meta(ge=0, le=10**9)]


ENTRY_KINDS: dict[str, type[msgspec.Struct]] = {
    "fund.pledge": Pledge,
    "fund.receipt": Receipt,
    "fund.disburse": Disburse,
}
FUND_KINDS: dict[str, type[msgspec.Struct]] = {**ENTRY_KINDS, "fund.request": Request}


def register() -> None:
    """Register these kinds with the kernel: shora.node calls it once, from its
    KIND_MODULES; importing this module registers nothing."""
    for kind, schema in FUND_KINDS.items():
        register_kind(kind, schema)
    register_kind("fund.summary", Summary, ref=lambda body: body.base)
