"""How a vote approves a disbursement (docs/fund.md, "Approval"): the decision's text
names the request, and enough of the council took part. Pure."""

from __future__ import annotations

from fractions import Fraction

from shora.domain.decisions.state import ProposalState
from shora.domain.decisions.tally_yesno import quorum_required


def enough_took_part(state: ProposalState, quorum: str) -> bool:
    """Whether at least the share `quorum` of the electorate took part in the vote."""
    found = state.quorum
    return found is not None and found.participants >= quorum_required(
        found.electorate, Fraction(quorum)
    )


def request_marker(request: bytes) -> str:
    """The words a decision's text carries to name the request it approves."""
    return f"fund.request {request.hex()}"
