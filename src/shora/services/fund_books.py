"""The strike fund's books on a node: the ledger folded from the valid ``fund.*``
events with the replica checks of `shora.domain.fund.ledger` (each entry's context
worked out from the kernel's causal states), and what members see of it: the
overview, ledger lines and requests, the parties opened where this member may read
them. `shora.services.fund.Fund` adds the writers. See docs/fund.md.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from shora.domain.decisions import kinds as dk
from shora.domain.decisions.state import MS, EventView, ProposalState
from shora.domain.fund import kinds as fk
from shora.domain.fund import summary as fs
from shora.domain.fund.approval import enough_took_part, request_marker
from shora.domain.fund.kinds import AUDITOR, TREASURER, Party
from shora.domain.fund.ledger import Context, Entry, Ledger, fold
from shora.domain.fund.views import Line, Overview, RequestView
from shora.errors import InvalidInput, NotFound
from shora.i18n import _
from shora.kernel.core import NodeCore
from shora.services.decisions import views_of
from shora.services.restricted import Opener, Restricted

Propose = Callable[[bytes, dk.Propose], bytes]
ProposalOf = Callable[[bytes, bytes], ProposalState]

MIN_ID_PREFIX = 6
_party = msgspec.msgpack.Decoder(Party)


def views(core: NodeCore, council: bytes, kinds: tuple[str, ...]) -> list[EventView]:
    """The valid events of these kinds in a council, decoded."""
    rows = core.store.events.valid_of_kinds(council, kinds)
    return views_of(rows)


class FundBooks:
    """The fund's ledger and what this member may see of it."""

    def __init__(
        self, core: NodeCore, restricted: Restricted, propose: Propose, proposal: ProposalOf
    ) -> None:
        self.core = core
        self.restricted = restricted
        self.propose = propose
        self.proposal = proposal

    # --- reading ------------------------------------------------------------------------

    def _views(self, council: bytes, kinds: tuple[str, ...]) -> list[EventView]:
        return views(self.core, council, kinds)

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
            and enough_took_part(state, quorum)
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

    def summary(self, council: bytes) -> fk.Summary:
        """The council's fund in aggregate: what a federation may see."""
        return fs.summarise(self.ledger(council), council)
