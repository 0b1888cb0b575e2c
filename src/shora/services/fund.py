"""A strike fund on a node: writers that check their input in the person's language and
seal who gave or who received, and readers that fold the valid ``fund.*`` events with
the replica checks of `shora.domain.fund.ledger`. See docs/fund.md.

Who gave and who received is sealed (`shora.services.restricted`) to the treasurers,
the auditors, the author and the member concerned; the amounts, balances and the count
of people helped are readable by every member; a federation sees only the aggregate
its member council's delegate shares (`share`, `federation_totals`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import msgspec

from shora.domain.decisions import kinds as dk
from shora.domain.decisions.state import MS, EventView, ProposalState
from shora.domain.decisions.tally_yesno import quorum_required
from shora.domain.federation import rules as fr
from shora.domain.fund import kinds as fk
from shora.domain.fund import kinds as kinds  # re-exported for the pages and commands
from shora.domain.fund import summary as fs
from shora.domain.fund.kinds import AUDITOR, TREASURER, Party
from shora.domain.fund.ledger import REASONS as REASONS
from shora.domain.fund.ledger import Context, Ledger, fold, postings_for
from shora.domain.fund.ledger import Entry as Entry
from shora.domain.fund.ledger import RequestState as RequestState
from shora.domain.fund.money import CURRENCIES as CURRENCIES
from shora.domain.fund.money import currency_name as currency_name
from shora.domain.fund.money import format_amount as format_amount
from shora.domain.fund.money import parse_amount as parse_amount
from shora.domain.fund.money import parse_currency as parse_currency
from shora.domain.fund.money import plain_amount as plain_amount
from shora.domain.fund.summary import CurrencyTotals as CurrencyTotals
from shora.domain.fund.summary import FederationTotals as FederationTotals
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _, number
from shora.kernel import crypto
from shora.kernel.core import NodeCore
from shora.kernel.events import decode_body
from shora.services.restricted import Opener, Restricted, Sealed, audience_members, seal

Propose = Callable[[bytes, dk.Propose], bytes]
ProposalOf = Callable[[bytes, bytes], ProposalState]

MIN_ID_PREFIX = 6
VOTE_HOURS = 72
_party = msgspec.msgpack.Decoder(Party)
_encode = msgspec.msgpack.Encoder()


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


def _enough_took_part(state: ProposalState, quorum: str) -> bool:
    """Whether at least the share `quorum` of the electorate took part in the vote."""
    found = state.quorum
    return found is not None and found.participants >= quorum_required(
        found.electorate, Fraction(quorum)
    )


def request_marker(request: bytes) -> str:
    """The words a decision's text carries to name the request it approves."""
    return f"fund.request {request.hex()}"


class Fund:
    """The strike fund: pledges, receipts, requests, disbursements and the ledger."""

    def __init__(
        self, core: NodeCore, restricted: Restricted, propose: Propose, proposal: ProposalOf
    ) -> None:
        self.core = core
        self.restricted = restricted
        self.propose = propose
        self.proposal = proposal

    # --- reading ------------------------------------------------------------------------

    def _views(self, council: bytes, kinds: tuple[str, ...]) -> list[EventView]:
        rows = self.core.store.events.valid_of_kinds(council, kinds)
        return [EventView(i, a, c, t, k, decode_body(k, body)) for i, a, c, t, k, body in rows]

    def _approved(self, council: bytes, e: EventView, quorum: str) -> bool:
        """Whether the decision a disbursement names passed on its request, with at least
        the council's governance quorum taking part (`quorum`, as the disbursement's
        causal past has the rules) and its close in the disbursement's causal past."""
        body: fk.Disburse = e.body
        if body.decision is None or body.request is None:
            return False
        try:
            state = self.proposal(council, body.decision)
        except NotFound:
            return False
        marker = request_marker(body.request)
        return (
            state.passed is True
            and state.closed_by is not None
            and state.body.method == "yes_no"
            and marker in state.body.text
            and _enough_took_part(state, quorum)
            and state.closed_by in self.core.ancestors(e.id)
        )

    def _context(self, council: bytes, e: EventView) -> Context:
        if e.kind not in ("fund.receipt", "fund.disburse"):
            return Context()
        causal = self.core.causal_state(council, e.id)
        treasurer = e.author in causal.role_holders(TREASURER, e.time)
        limit = next(
            (x for x in causal.rules.treasurer_limits if x.currency == e.body.currency), None
        )
        passed = e.kind == "fund.disburse" and self._approved(
            council, e, causal.rules.governance_quorum
        )
        return Context(treasurer, limit, passed)

    def ledger(self, council: bytes) -> Ledger:
        """The council's ledger, every entry checked as every replica checks it."""
        found = self._views(council, tuple(fk.FUND_KINDS))
        return fold((e, self._context(council, e)) for e in found)

    def overview(self, council: bytes) -> Overview:
        ledger = self.ledger(council)
        open_requests = sum(1 for r in ledger.requests.values() if r.remaining > 0)
        return Overview(
            fs.currency_totals(ledger),
            len(ledger.helped),
            len(ledger.entries),
            len(ledger.refused),
            open_requests,
        )

    def _open(self, opener: Opener, e: EventView) -> Party | None:
        sealed = getattr(e.body, "sealed", None)
        if sealed is None:
            return None
        plain = opener.open(sealed, e.kind.encode(), e.author)
        if plain is None:
            return None
        try:
            return _party.decode(plain)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return None

    def _name(self, council: bytes, key: bytes) -> str:
        m = self.core.state(council).members.get(key)
        return m.name if m is not None else key.hex()[:8]

    def lines(self, council: bytes, limit: int = 50, offset: int = 0) -> list[Line]:
        """The ledger, newest first, refused entries included with their reason; the
        parties opened where this member is a recipient."""
        self.restricted.require_member(council)
        ledger = self.ledger(council)
        opener = self.restricted.opener(council)
        rows: list[tuple[EventView, Entry | None, str | None]] = [
            (x.event, x, None) for x in ledger.entries
        ]
        rows += [(e, None, reason) for e, reason in ledger.refused]
        rows.sort(key=lambda r: r[0].order, reverse=True)
        out = []
        for e, entry, reason in rows[offset : offset + limit]:
            out.append(
                Line(
                    e.id,
                    e.kind.removeprefix("fund."),
                    e.time,
                    self._name(council, e.author),
                    e.body.currency,
                    e.body.amount,
                    tuple((p.account, p.amount) for p in e.body.postings),
                    self._open(opener, e),
                    e.body.memo,
                    entry.by_vote if entry is not None else False,
                    reason,
                )
            )
        return out

    def requests(self, council: bytes) -> list[RequestView]:
        """Requests for a disbursement, newest first, with the decision on each."""
        self.restricted.require_member(council)
        ledger = self.ledger(council)
        opener = self.restricted.opener(council)
        decisions = self._decisions(council, list(ledger.requests))
        out = []
        for rid, r in sorted(ledger.requests.items(), key=lambda kv: kv[1].event.order):
            decision = decisions.get(rid)
            passed = None
            if decision is not None:
                state = self.proposal(council, decision)
                passed = state.passed if state.final else None
            out.append(
                RequestView(
                    rid,
                    r.event.time,
                    self._name(council, r.event.author),
                    r.currency,
                    r.amount,
                    r.paid,
                    self._open(opener, r.event),
                    r.event.body.memo,
                    decision,
                    passed,
                )
            )
        return out[::-1]

    def _decisions(self, council: bytes, requests: list[bytes]) -> dict[bytes, bytes]:
        """The latest proposal naming each request."""
        found: dict[bytes, bytes] = {}
        if not requests:
            return found
        markers = {request_marker(r): r for r in requests}
        for e in sorted(self._views(council, ("decision.propose",)), key=lambda v: v.order):
            for marker, rid in markers.items():
                if marker in e.body.text:
                    found[rid] = e.id
        return found

    def find_request(self, council: bytes, ref: str) -> bytes:
        return self._find(list(self.ledger(council).requests), ref)

    def find_entry(self, council: bytes, ref: str) -> bytes:
        ledger = self.ledger(council)
        return self._find([e.event.id for e in ledger.entries], ref)

    def _find(self, ids: list[bytes], ref: str) -> bytes:
        ref = ref.strip().lower()
        if len(ref) < MIN_ID_PREFIX:
            raise InvalidInput(_("give at least 6 digits of the id"))
        found = [i for i in ids if i.hex().startswith(ref)]
        if len(found) != 1:
            raise NotFound(_("nothing here has an id starting {id}").format(id=ref))
        return found[0]

    # --- roles ---------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.core.now() * MS)

    def is_treasurer(self, council: bytes) -> bool:
        me = self.core.me(council)
        state = self.core.state(council)
        return me is not None and me in state.role_holders(TREASURER, self._now_ms())

    def is_auditor(self, council: bytes) -> bool:
        me = self.core.me(council)
        state = self.core.state(council)
        return me is not None and me in state.role_holders(AUDITOR, self._now_ms())

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
            if not _enough_took_part(state, self.core.state(council).rules.governance_quorum):
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

    # --- federations ---------------------------------------------------------------------

    def summary(self, council: bytes) -> fk.Summary:
        """The council's fund in aggregate: what a federation may see."""
        return fs.summarise(self.ledger(council), council)

    def _my_seat(self, federation: bytes) -> fr.Seat | None:
        state = self.core.state(federation)
        me = self.core.me(federation)
        if me is None or not state.rules.federation or not state.is_active(me):
            return None
        return fr.seats(state).get(me)

    def share(self, federation: bytes, force: bool = True) -> bytes | None:
        """Share this delegate's council's fund aggregate with a federation (unless
        `force`, only when it changed since the last one); the event, or None."""
        seat = self._my_seat(federation)
        if seat is None:
            raise NotAllowed(_("only a seated delegate can share their council's summary"))
        summary = self.summary(seat.base)
        found = self._views(federation, ("fund.summary",))
        last = fs.latest_summaries(self.core.state(federation), found).get(seat.base)
        unchanged = summary == last or (last is None and not summary.rows)
        if unchanged and not force:
            return None
        return self.core.append(federation, "fund.summary", summary)

    def keep_up(self, base: bytes) -> None:
        """The delegate's part of housekeeping: carry the base council's fund aggregate,
        when it changed, to each federation where this node holds its seat."""
        for council in self.core.store.councils.ids(status="member"):
            seat = self._my_seat(council)
            if seat is not None and seat.base == base:
                self.share(council, force=False)

    def federation_totals(self, federation: bytes) -> FederationTotals:
        """The member councils' fund aggregates, summed per currency."""
        found = self._views(federation, ("fund.summary",))
        return fs.federation_totals(fs.latest_summaries(self.core.state(federation), found))

    def limit_change(self, council: bytes, currency: str, amount: int, days: int) -> dict[str, Any]:
        """The rule change that sets the treasurers' limit in a currency (0: none), for
        `governance.change_rules`."""
        current = self.core.state(council).rules.treasurer_limits
        kept = [msgspec.to_builtins(x) for x in current if x.currency != currency]
        if amount > 0:
            kept.append({"currency": currency, "amount": amount, "days": days})
        return {"treasurer_limits": sorted(kept, key=lambda x: x["currency"])}
