"""Delegates, their mandates and seats, as a base council and a federation judge them.
Pure: the node reads the events and the states, these functions decide. See
docs/federation.md §1."""

from __future__ import annotations

from dataclasses import dataclass

from shora.domain.decisions.state import ProposalState
from shora.domain.federation import kinds as fk
from shora.domain.federation import mandates as md
from shora.domain.federation import rules as fr
from shora.errors import InvalidInput, NotAllowed, ShoraError
from shora.i18n import _
from shora.kernel.membership import CouncilState

DAY = 86_400
DELEGATE = "delegate"


def delegate_term_end(state: CouncilState, member: bytes, at_ms: int) -> int | None:
    """When the member's current term as delegate ends (ms), or None if they hold none."""
    ends = [
        t.end
        for t in state.terms.get(DELEGATE, ())
        if t.member == member and t.holds_at(at_ms) and state.is_active(member)
    ]
    return max(ends) if ends else None


def check_instructions(instructions: md.Instructions, passed: ProposalState) -> None:
    """Refuse instructions that are not what the council passed in that proposal."""
    if not (passed.final and passed.passed):
        raise NotAllowed(_("the instructions' proposal has not passed"))
    if passed.text != md.render_instructions(instructions):
        raise InvalidInput(_("the instructions differ from what the council passed"))


def request_problem(
    state: CouncilState, base: bytes, author: bytes, payload: bytes, now: float
) -> str | None:
    """Why a member's node should not sign this mandate request, as far as the base
    council's state tells (None: it may; its instructions are checked apart)."""
    try:
        mandate = md.decode_mandate(payload)
    except ShoraError as exc:
        return str(exc)
    term_end = delegate_term_end(state, author, int(now * 1000))
    if mandate.base != base or term_end is None:
        return _("the person asking does not hold the delegate role")
    if mandate.end * 1000 > term_end or mandate.end <= now:
        return _("the mandate's term is longer than the delegate's, or over")
    if (
        mandate.roster.keys != sorted(state.active_members())
        and len(state.active_members()) <= md.MAX_ROSTER
    ):
        return _("the roster is not the council's members")
    return None


def valid_shares(
    shares: dict[bytes, fk.MandateSign | fk.RevokeSign], payload: bytes, is_mandate: bool
) -> dict[bytes, bytes]:
    """The signature shares, by signer, that verify on `payload`."""
    good: dict[bytes, bytes] = {}
    for key, body in shares.items():
        try:
            md.check_signatures(
                md.Credential(payload, [md.Signature(key, body.sig)]),
                md.Roster([key], 1),
                is_mandate,
            )
        except ShoraError:
            continue
        good[key] = body.sig
    return good


def revocation_payload(mandate_id: bytes, mandate: md.Mandate) -> bytes:
    """The revocation every member signs: the same bytes on every node."""
    return md.encode(md.Revocation(1, mandate_id, mandate.base, mandate.federation, "recalled"))


@dataclass(frozen=True, slots=True)
class MandateView:
    request: bytes  # the mandate.request event
    requester: bytes  # the delegate's key in the base council
    id: bytes  # the mandate's id (of its payload)
    mandate: md.Mandate
    federation_name: str
    signers: frozenset[bytes]
    complete: bool  # signed by a majority of its roster
    credential: bytes | None
    revocation_signers: frozenset[bytes]
    revocation: bytes | None  # the revocation credential, once complete


def mandate_view(
    request: bytes,
    author: bytes,
    body: fk.MandateRequest,
    mandate: md.Mandate,
    signs: dict[bytes, fk.MandateSign | fk.RevokeSign],
    revoke_signs: dict[bytes, fk.MandateSign | fk.RevokeSign],
) -> MandateView:
    """A mandate request with the valid signatures of its roster, and its revocation's."""
    mid = md.payload_id(body.payload)
    roster = set(mandate.roster.keys)
    shares = {k: v for k, v in valid_shares(signs, body.payload, True).items() if k in roster}
    complete = len(shares) >= mandate.roster.threshold
    revoke = revocation_payload(mid, mandate)
    rshares = {k: v for k, v in valid_shares(revoke_signs, revoke, False).items() if k in roster}
    return MandateView(
        request,
        author,
        mid,
        mandate,
        body.federation_name,
        frozenset(shares),
        complete,
        md.assemble(body.payload, shares) if complete else None,
        frozenset(rshares),
        md.assemble(revoke, rshares) if len(rshares) >= mandate.roster.threshold else None,
    )


def revocable(state: CouncilState, view: MandateView, now: float) -> bool:
    """A complete, current mandate whose delegate no longer holds the role (recalled,
    replaced or no longer a member): the council's members sign its revocation."""
    current = view.mandate.end > now
    holds = delegate_term_end(state, view.requester, int(now * 1000)) is not None
    return view.complete and current and not holds


def mandate_error(problem: str) -> ShoraError:
    """The error a person reads for a mandate the federation's rules refuse."""
    messages = {  # `rules.mandate_problem` says these in the reader's language too
        _("the mandate has expired"): _("the mandate has expired"),
        _("the mandate has been revoked"): _("the mandate has been revoked"),
        _("the mandate is for another federation"): _("the mandate is for another federation"),
        _("the mandate names another delegate"): _("the mandate names someone else"),
        _("that council already holds every seat the rules give it"): _(
            "that council already holds every seat the rules give it"
        ),
    }
    if problem in messages:
        return NotAllowed(messages[problem])
    return InvalidInput(_("the mandate is not valid: {problem}").format(problem=problem))


@dataclass(frozen=True, slots=True)
class SeatView:
    member: bytes
    name: str
    base: bytes
    mandate: bytes
    end: int
    active: bool
    instructions: md.Instructions


def seat_views(state: CouncilState) -> list[SeatView]:
    """The federation's seats, ending soonest first."""
    return [
        SeatView(
            k, state.members[k].name, s.base, s.mandate, s.end, state.is_active(k), s.instructions
        )
        for k, s in sorted(fr.seats(state).items(), key=lambda item: item[1].end)
    ]
