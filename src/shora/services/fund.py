"""A strike fund on a node: writers that check their input in the person's language and
seal who gave or who received, over the readers of `shora.services.fund_books` (the
ledger with the replica checks of `shora.domain.fund.ledger`). See docs/fund.md.

Who gave and who received is sealed (`shora.services.restricted`) to the treasurers,
the auditors, the author and the member concerned; the amounts, balances and the count
of people helped are readable by every member; a federation sees only the aggregate
its member council's delegate shares (`shora.services.fund_federation`).
"""

from __future__ import annotations

from typing import Any

import msgspec

from shora.domain.decisions import kinds as dk
from shora.domain.decisions.state import MS
from shora.domain.fund import kinds as fk
from shora.domain.fund import kinds as kinds  # re-exported for the pages and commands
from shora.domain.fund.approval import enough_took_part
from shora.domain.fund.approval import request_marker as request_marker
from shora.domain.fund.kinds import AUDITOR, TREASURER, Party
from shora.domain.fund.ledger import REASONS as REASONS
from shora.domain.fund.ledger import Entry as Entry
from shora.domain.fund.ledger import Ledger, postings_for
from shora.domain.fund.ledger import RequestState as RequestState
from shora.domain.fund.money import CURRENCIES as CURRENCIES
from shora.domain.fund.money import currency_name as currency_name
from shora.domain.fund.money import format_amount as format_amount
from shora.domain.fund.money import parse_amount as parse_amount
from shora.domain.fund.money import parse_currency as parse_currency
from shora.domain.fund.money import plain_amount as plain_amount
from shora.domain.fund.summary import CurrencyTotals as CurrencyTotals
from shora.domain.fund.views import Line as Line
from shora.domain.fund.views import Overview as Overview
from shora.domain.fund.views import RequestView as RequestView
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _, number
from shora.kernel import crypto
from shora.services.fund_books import MIN_ID_PREFIX as MIN_ID_PREFIX
from shora.services.fund_books import FundBooks
from shora.services.fund_books import views as views
from shora.services.restricted import Sealed, audience_members, seal

VOTE_HOURS = 72
_encode = msgspec.msgpack.Encoder()


class Fund(FundBooks):
    """The strike fund: pledges, receipts, requests, disbursements, and (from
    `FundBooks`) the ledger."""

    def _require_treasurer(self, council: bytes) -> bytes:
        me = self.restricted.require_member(council)
        if not self.is_treasurer(council):
            raise NotAllowed(_("only a treasurer can do this"))
        return me

    # --- writing -------------------------------------------------------------------------

    def _seal(self, council: bytes, kind: str, party: Party) -> Sealed:
        """Seal a party to the treasurers, the auditors, the author and the member
        concerned, as the council stands now."""
        me = self.restricted.my_key(council)
        state = self.core.state(council)
        now = self._now_ms()
        extra = set(state.role_holders(AUDITOR, now))
        if party.member is not None:
            extra.add(party.member)
        recipients = audience_members(state, "role:" + TREASURER, me, now, extra)
        return seal(recipients, _encode.encode(party), kind.encode(), council, me)

    def _party(
        self, council: bytes, member: bytes | None, name: str, note: str, tag: bytes | None = None
    ) -> Party:
        if member is not None and not self.core.state(council).is_active(member):
            raise NotFound(_("that member is not an active member of this council"))
        if len(name) > 200 or len(note) > 1000:
            raise InvalidInput(_("too long: at most {n} characters").format(n=number(1000)))
        return Party(member=member, name=name.strip(), tag=tag, note=note.strip())

    @staticmethod
    def _memo(memo: str) -> str:
        if len(memo) > 200:
            raise InvalidInput(_("too long: at most {n} characters").format(n=number(200)))
        return memo.strip()

    def pledge(
        self,
        council: bytes,
        currency: str,
        amount: int,
        *,
        member: bytes | None = None,
        name: str = "",
        note: str = "",
        memo: str = "",
    ) -> bytes:
        """Record a pledge: any member's own (they are its author, visible to members),
        or one a treasurer records for someone else."""
        me = self.restricted.require_member(council)
        if member is not None and member != me:
            self._require_treasurer(council)
        party = self._party(council, member or me, name, note)
        body = fk.Pledge(
            currency=currency,
            amount=amount,
            postings=postings_for("fund.pledge", amount),
            sealed=self._seal(council, "fund.pledge", party),
            memo=self._memo(memo),
        )
        return self.core.append(council, "fund.pledge", body)

    def receive(
        self,
        council: bytes,
        currency: str,
        amount: int,
        *,
        pledge: bytes | None = None,
        member: bytes | None = None,
        name: str = "",
        note: str = "",
        source: bytes | None = None,
        memo: str = "",
    ) -> bytes:
        """Record money received (a treasurer's job), settling a pledge if named."""
        self._require_treasurer(council)
        if pledge is not None:
            ledger = self.ledger(council)
            left = ledger.pledges.get(pledge)
            if left is None or ledger.pledge_currency[pledge] != currency:
                raise NotFound(_("there is no pledge in that currency with that id"))
            if amount > left:
                raise InvalidInput(
                    _("that pledge has only {amount} outstanding").format(
                        amount=format_amount(left, currency)
                    )
                )
        party = self._party(council, member, name, note)
        body = fk.Receipt(
            currency=currency,
            amount=amount,
            postings=postings_for("fund.receipt", amount, pledge is not None),
            pledge=pledge,
            source=source,
            sealed=self._seal(council, "fund.receipt", party),
            memo=self._memo(memo),
        )
        return self.core.append(council, "fund.receipt", body)

    def request(
        self,
        council: bytes,
        currency: str,
        amount: int,
        *,
        member: bytes | None = None,
        name: str = "",
        note: str = "",
        memo: str = "",
    ) -> bytes:
        """Ask the council to pay out to a member or a family in need (sealed)."""
        self.restricted.require_member(council)
        if member is None and not name.strip():
            raise InvalidInput(_("say who is to receive: a member, or a name"))
        party = self._party(council, member, name, note)
        body = fk.Request(
            currency=currency,
            amount=amount,
            sealed=self._seal(council, "fund.request", party),
            memo=self._memo(memo),
        )
        return self.core.append(council, "fund.request", body)

    def put_to_vote(self, council: bytes, request: bytes, hours: int = VOTE_HOURS) -> bytes:
        """Open a yes/no vote on a request; passed and closed, it lets a treasurer pay
        it out whatever the limit."""
        r = self.ledger(council).requests.get(request)
        if r is None:
            raise NotFound(_("there is no request with that id"))
        rules = self.core.state(council).rules
        amount = format_amount(r.amount, r.currency)
        title = _("Pay {amount} from the strike fund").format(amount=amount)[:200]
        text = _(
            "A request for {amount} from the strike fund; who is to receive it is "
            "sealed to the treasurers and the auditors."
        ).format(amount=amount)
        body = dk.Propose(
            title=title,
            text=text + "\n\n" + request_marker(request),
            method="yes_no",
            threshold=rules.threshold,
            quorum=rules.governance_quorum,
            deadline=int(self.core.now()) + hours * 3600,
            grace=rules.grace_hours * 3600,
        )
        return self.propose(council, body)

    def _tag_for(self, council: bytes, member: bytes | None, name: str) -> bytes:
        """The recipient's tag: the one an earlier disbursement to them carries, if this
        treasurer can open it, else a new random one."""
        opener = self.restricted.opener(council)
        key = name.strip().casefold()
        for entry in self.ledger(council).entries:
            if entry.kind != "disburse":
                continue
            party = self._open(opener, entry.event)
            if party is None:
                continue
            same = party.member == member if member is not None else False
            same = same or (member is None and bool(key) and party.name.casefold() == key)
            if same:
                return bytes(entry.event.body.recipient)
        return crypto.random_bytes(16)

    def disburse(
        self,
        council: bytes,
        currency: str,
        amount: int,
        *,
        request: bytes | None = None,
        decision: bytes | None = None,
        member: bytes | None = None,
        name: str = "",
        note: str = "",
        memo: str = "",
    ) -> bytes:
        """Pay out (a treasurer's job): on a request the council approved by a vote, or
        within the treasurers' limit the rules set."""
        self._require_treasurer(council)
        ledger = self.ledger(council)
        if request is not None:
            r = ledger.requests.get(request)
            if r is None:
                raise NotFound(_("there is no request with that id"))
            if r.currency != currency or amount > r.remaining:
                raise InvalidInput(
                    _("that request has {amount} left to pay").format(
                        amount=format_amount(r.remaining, r.currency)
                    )
                )
            asked = self._open(self.restricted.opener(council), r.event)
            if asked is not None and member is None and not name:
                member, name, note = asked.member, asked.name, note or asked.note
            if decision is None:
                decision = self._decisions(council, [request]).get(request)
                if decision is not None and self.proposal(council, decision).passed is not True:
                    decision = None
        if decision is not None:
            state = self.proposal(council, decision)
            if request is None or request_marker(request) not in state.body.text:
                raise InvalidInput(_("that decision is not about this request"))
            if not state.final or state.passed is not True:
                raise NotAllowed(_("the council has not approved this disbursement"))
            if not enough_took_part(state, self.core.state(council).rules.governance_quorum):
                raise NotAllowed(
                    _("too few members took part in that vote to approve a disbursement")
                )
        else:
            self._within_limit(council, ledger, currency, amount)
        if amount > ledger.balance("cash", currency):
            raise NotAllowed(
                _("the fund holds only {amount}").format(
                    amount=format_amount(ledger.balance("cash", currency), currency)
                )
            )
        if member is None and not name.strip():
            raise InvalidInput(_("say who is to receive: a member, or a name"))
        tag = self._tag_for(council, member, name)
        party = self._party(council, member, name, note, tag)
        body = fk.Disburse(
            currency=currency,
            amount=amount,
            postings=postings_for("fund.disburse", amount),
            recipient=tag,
            request=request,
            decision=decision,
            sealed=self._seal(council, "fund.disburse", party),
            memo=self._memo(memo),
        )
        return self.core.append(council, "fund.disburse", body)

    def _within_limit(self, council: bytes, ledger: Ledger, currency: str, amount: int) -> None:
        rules = self.core.state(council).rules
        limit = next((x for x in rules.treasurer_limits if x.currency == currency), None)
        if limit is None:
            raise NotAllowed(
                _("the rules set no treasurer's limit in {currency}: this needs a vote").format(
                    currency=currency_name(currency)
                )
            )
        span = limit.days * 86_400 * MS
        now = self._now_ms()
        used = sum(
            e.amount
            for e in ledger.entries
            if e.kind == "disburse"
            and not e.by_vote
            and e.currency == currency
            and abs(e.event.time - now) < span
        )
        if used + amount > limit.amount:
            raise NotAllowed(
                _(
                    "over the treasurers' limit: {left} left of {limit} in {days} days; "
                    "this needs a vote"
                ).format(
                    left=format_amount(max(0, limit.amount - used), currency),
                    limit=format_amount(limit.amount, currency),
                    days=number(limit.days),
                )
            )

    def limit_change(self, council: bytes, currency: str, amount: int, days: int) -> dict[str, Any]:
        """The rule change that sets the treasurers' limit in a currency (0: none), for
        `governance.change_rules`."""
        current = self.core.state(council).rules.treasurer_limits
        kept = [msgspec.to_builtins(x) for x in current if x.currency != currency]
        if amount > 0:
            kept.append({"currency": currency, "amount": amount, "days": days})
        return {"treasurer_limits": sorted(kept, key=lambda x: x["currency"])}
