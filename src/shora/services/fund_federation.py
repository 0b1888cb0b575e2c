"""A strike fund seen from a federation: a seated delegate shares the aggregate of their
council's fund (totals per currency, what came from supporter councils, the count of
people helped: never an entry or a name), by housekeeping when it changes or at once;
the federation sums the latest aggregate of each member council, counted only from a
delegate seated for that council. See docs/fund.md, "Money from abroad".
"""

from __future__ import annotations

from collections.abc import Callable

from shora.domain.federation import rules as fr
from shora.domain.fund import kinds as fk
from shora.domain.fund import summary as fs
from shora.domain.fund.summary import FederationTotals as FederationTotals
from shora.errors import NotAllowed
from shora.i18n import _
from shora.kernel.core import NodeCore
from shora.services.federation import seat_of
from shora.services.fund_books import views

SummaryOf = Callable[[bytes], fk.Summary]  # the fund: a council's aggregate


class FundFederation:
    """The fund's aggregates between base councils and their federations."""

    def __init__(self, core: NodeCore, summary: SummaryOf) -> None:
        self.core = core
        self.summary = summary

    def _my_seat(self, federation: bytes) -> fr.Seat | None:
        """This node's active seat in a federation, or None."""
        return seat_of(self.core, federation)

    def share(self, federation: bytes, force: bool = True) -> bytes | None:
        """Share this delegate's council's fund aggregate with a federation (unless
        `force`, only when it changed since the last one); the event, or None."""
        seat = self._my_seat(federation)
        if seat is None:
            raise NotAllowed(_("only a seated delegate can share their council's summary"))
        summary = self.summary(seat.base)
        found = views(self.core, federation, ("fund.summary",))
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
        found = views(self.core, federation, ("fund.summary",))
        return fs.federation_totals(fs.latest_summaries(self.core.state(federation), found))
