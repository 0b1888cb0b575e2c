"""What flows between a base council and its federations, through the delegate's
node. See docs/federation.md §3.

Upward: the base council's de-identified aid summary. Downward: the federation's
alerts and decided proposals, and flags on ballots that differ from the mandate's
instructions, as notices. Ratification: a federation proposal put to each member
council, whose result the delegate carries back; a double majority decides.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from shora.domain.aid import summary as aid_summary
from shora.domain.aid.state import AidState
from shora.domain.decisions import kinds as dk
from shora.domain.decisions.state import ProposalState
from shora.domain.federation import flows
from shora.domain.federation import kinds as fk
from shora.domain.federation import mandates as md
from shora.domain.federation import rules as fr
from shora.domain.federation.flows import Flag, RatificationResult, TotalRow
from shora.domain.safety.alerts import AlertState
from shora.errors import InvalidInput, NotAllowed, NotFound, ShoraError
from shora.i18n import _
from shora.kernel.core import NodeCore
from shora.services.federation import Federation, ProposalOf, Propose, seat_of, views

# What the interfaces use of the domain, re-exported (they import services only).
__all__ = ["RATIFY_HOURS", "FederationFlow", "Flag", "RatificationResult", "TotalRow"]

RATIFY_HOURS = 72

Proposals = Callable[[bytes, int], list[ProposalState]]  # decisions: a council's, up to n
AidStateOf = Callable[[bytes, int], AidState]  # aid: a council's state at unix time
AlertsOf = Callable[[bytes, int], list[AlertState]]  # safety: a council's active alerts


class FederationFlow:
    """What flows between a base council and its federations."""

    def __init__(
        self,
        core: NodeCore,
        federation: Federation,
        *,
        propose: Propose,
        proposal: ProposalOf,
        proposals: Proposals,
        aid_state: AidStateOf,
        alerts: AlertsOf,
    ) -> None:
        self.core = core
        self.federation = federation
        self.propose = propose
        self.proposal = proposal
        self.proposals = proposals
        self.aid_state = aid_state
        self.alerts = alerts

    def my_seat(self, federation: bytes) -> fr.Seat | None:
        """This node's active seat in a federation, or None."""
        return seat_of(self.core, federation)

    def _is_member(self, council: bytes) -> bool:
        me = self.core.me(council)
        return me is not None and self.core.state(council).is_active(me)

    def _federations_of(self, base: bytes) -> list[bytes]:
        """The federations where this node holds a seat for `base`."""
        found = []
        for council in self.core.store.councils.ids(status="member"):
            seat = self.my_seat(council)
            if seat is not None and seat.base == base:
                found.append(council)
        return found

    def _name(self, council: bytes) -> str:
        return (self.core.store.councils.name(council) or "")[:200]

    # --- upward: summaries -----------------------------------------------------------

    def post_summary(self, federation: bytes, force: bool = False) -> bytes | None:
        """Share the base council's de-identified summary with the federation (only when
        it changed since the last one, unless forced). Returns the event, or None."""
        seat = self.my_seat(federation)
        if seat is None or not self._is_member(seat.base):
            raise NotAllowed(_("only a seated delegate can share their council's summary"))
        now = int(self.core.now())
        summary = aid_summary.summarise(self.aid_state(seat.base, now), now)
        last = self._latest_summaries(federation).get(seat.base)
        if not force and last is not None and last.rows == summary.rows:
            return None
        body = fk.Summary(seat.base, aid_summary.encode(summary))
        return self.core.append(federation, "federation.summary", body)

    def _latest_summaries(self, federation: bytes) -> dict[bytes, aid_summary.AidSummary]:
        found = views(self.core, federation, "federation.summary", order="clock")
        latest: dict[bytes, aid_summary.AidSummary] = {}
        for v in flows.summary_speakers(self.core.state(federation), found):
            with contextlib.suppress(InvalidInput):  # a faulty summary counts for nothing
                latest[v.body.base] = aid_summary.decode(v.body.summary)
        return latest

    def totals(self, federation: bytes) -> tuple[int, list[TotalRow]]:
        """Totals across the latest summary of each member council: (councils, rows)."""
        return flows.totals(self._latest_summaries(federation))

    # --- downward: notices -------------------------------------------------------------

    def _noticed(self, base: bytes) -> set[bytes]:
        return {v.body.source for v in views(self.core, base, "federation.notice")}

    def flags(self, federation: bytes) -> list[Flag]:
        """Ballots of delegates that differ from their mandate's instructions."""
        state = self.core.state(federation)
        return flows.flags(state, self.proposals(federation, 1000))

    def relay_down(self, federation: bytes) -> int:
        """As a seated delegate, copy the federation's alerts, decided proposals and flags
        on one's own ballots into one's base council. Returns how many notices."""
        seat = self.my_seat(federation)
        if seat is None or not self._is_member(seat.base):
            return 0
        name = self._name(federation)
        seen, now, done = self._noticed(seat.base), int(self.core.now()), 0

        def notice(kind: str, title: str, text: str, source: bytes) -> None:
            nonlocal done
            if source not in seen:
                body = fk.Notice(federation, name, kind, title[:200], text[:20_000], source)  # type: ignore[arg-type]
                self.core.append(seat.base, "federation.notice", body)
                seen.add(source)
                done += 1

        for a in self.alerts(federation, now):
            notice("alert", a.kind, f"{a.area}: {a.note}", a.id)
        for p in self.proposals(federation, 200):
            if p.final:
                outcome = "; ".join(s for _e, _a, s in p.outcomes)
                result = "passed" if p.passed else ", ".join(p.winners) or "not passed"
                notice("decision", p.body.title, f"{result}. {outcome}".strip(), p.id)
        me = self.core.me(federation)
        for f in self.flags(federation):
            if f.member == me:
                notice("flag", f.title, f.instructed, f.proposal)
        return done

    # --- ratification --------------------------------------------------------------------

    def request_ratification(self, federation: bytes, proposal: bytes) -> bytes:
        """Ask the member councils to ratify a federation proposal."""
        if not self._is_member(federation):
            raise NotAllowed(_("you are not a member of this council"))
        self.proposal(federation, proposal)
        return self.core.append(federation, "federation.ratify", fk.RatifyRequest(proposal))

    def open_ratifications(self, federation: bytes) -> int:
        """As a delegate, open in the base council each ratification the federation asks."""
        seat = self.my_seat(federation)
        if seat is None or not self._is_member(seat.base):
            return 0
        seen, done = self._noticed(seat.base), 0
        for ask in views(self.core, federation, "federation.ratify"):
            source = ask.body.proposal
            if source in seen:
                continue
            fed_state = self.proposal(federation, source)
            title = _("Ratify: {title}").format(title=fed_state.body.title)[:200]
            body = dk.Propose(
                title=title,
                text=fed_state.text,
                method="yes_no",
                deadline=int(self.core.now()) + RATIFY_HOURS * 3600,
            )
            local = self.propose(seat.base, body)
            name = self._name(federation)
            notice = fk.Notice(
                federation, name, "ratify", title, fed_state.text[:20_000], source, local
            )
            self.core.append(seat.base, "federation.notice", notice)
            seen.add(source)
            done += 1
        return done

    def report_ratifications(self, federation: bytes) -> int:
        """Carry each closed ratification vote of the base council back up."""
        seat = self.my_seat(federation)
        if seat is None or not self._is_member(seat.base):
            return 0
        reported = {
            v.body.proposal
            for v in views(self.core, federation, "federation.ratification")
            if v.body.base == seat.base
        }
        done = 0
        for v in views(self.core, seat.base, "federation.notice"):
            if v.body.kind != "ratify" or v.body.proposal is None or v.body.source in reported:
                continue
            if v.body.federation != federation:
                continue
            local = self.proposal(seat.base, v.body.proposal)
            if not local.final or local.result is None:
                continue
            body = fk.Ratification(
                v.body.source, seat.base, local.result.yes, local.result.no, len(local.eligible)
            )
            self.core.append(federation, "federation.ratification", body)
            reported.add(v.body.source)
            done += 1
        return done

    def ratification(self, federation: bytes, proposal: bytes) -> RatificationResult:
        """Where the member councils stand on ratifying a federation proposal."""
        found = views(self.core, federation, "federation.ratification", proposal, order="clock")
        return flows.count_ratification(self.core.state(federation), found)

    def notices(self, base: bytes, limit: int = 50, offset: int = 0) -> list[fk.Notice]:
        """What federations said to this council, newest first."""
        found = views(
            self.core, base, "federation.notice", order="newest", limit=limit, offset=offset
        )
        return [v.body for v in found]

    def carry_revocations(self, base: bytes) -> int:
        """A member of both a base council and a federation applies, by itself, every
        complete revocation of the base council for a seat in that federation: when the
        base has a second delegate there, a recall takes effect without anyone carrying
        text. Returns how many seats it ended."""
        done = 0
        complete = [v for v in self.federation.mandates(base) if v.revocation is not None]
        for view in complete:
            federation = view.mandate.federation
            if not self._is_member(federation):
                continue
            state = self.core.state(federation)
            seated = [
                k for k, s in fr.seats(state).items() if s.mandate == view.id and state.is_active(k)
            ]
            if not seated or seated[0] == self.core.me(federation) or view.revocation is None:
                continue  # nothing to do, or it is this node's own seat: someone else ends it
            with contextlib.suppress(ShoraError):  # housekeeping never fails on it
                self.federation.apply_revocation(federation, md.to_text(view.revocation, False))
                done += 1
        return done

    def keep_up(self, council: bytes) -> None:
        """The delegate's part of housekeeping: for a federation where this node is
        seated, copy down and open ratifications; for a base council, carry results and
        the summary up to each federation where this node holds its seat."""
        if self.my_seat(council) is not None:
            self.relay_down(council)
            self.open_ratifications(council)
        self.carry_revocations(council)
        for federation in self._federations_of(council):
            self.report_ratifications(federation)
            try:
                self.post_summary(federation)
            except (NotAllowed, NotFound):
                pass
