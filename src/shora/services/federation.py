"""Federation on a node: mandates in a base council, seats in a federation. See
docs/federation.md. The flows between levels are in `federation_flow`.

A node holds identities in both: as a member of a base council it signs mandates
and revocations; as a delegate it is a member of the federation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shora.domain.decisions import kinds as dk
from shora.domain.federation import kinds as fk
from shora.domain.federation import mandates as md
from shora.domain.federation import rules as fr
from shora.errors import InvalidInput, NotAllowed, NotFound, ShoraError
from shora.i18n import _
from shora.kernel import kinds
from shora.kernel.core import NodeCore
from shora.kernel.membership import FOREVER, CouncilState
from shora.services import decisions as dec
from shora.services.decisions import _require_member, _views

if TYPE_CHECKING:
    from shora.node import Node
    from shora.services.membership import AdmitResult

DAY = 86_400
DELEGATE = "delegate"


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


def _state(node: Node, council: bytes) -> CouncilState:
    return node.ingestor.projection.final_state(council)


def _now_ms(node: Node) -> int:
    return int(node.now() * 1000)


def create(node: Node, name: str, founder_name: str, seats: int = 1) -> bytes:
    """A federation: a council whose members are delegates seated on mandates."""
    rules = kinds.Rules(federation=True, seats_per_council=seats)
    return node.councils.create(name, "", founder_name, rules)


# --- in the base council: instructions, requests, signatures -----------------------


def instruct(
    node: Node, base: bytes, federation_name: str, instructions: md.Instructions, hours: int = 72
) -> bytes:
    """Put the delegate's instructions to the base council's vote (yes/no)."""
    text = md.render_instructions(instructions)
    if not text:
        raise InvalidInput(_("instructions need a text or at least one item"))
    title = _("Instructions for our delegate to {federation}").format(federation=federation_name)
    body = dk.Propose(
        title=title[:200], text=text, method="yes_no", deadline=int(node.now()) + hours * 3600
    )
    return dec.propose(node, base, body)


def _delegate_term_end(state: CouncilState, member: bytes, at_ms: int) -> int | None:
    """When the member's current term as delegate ends (ms), or None if they hold none."""
    ends = [
        t.end
        for t in state.terms.get(DELEGATE, ())
        if t.member == member and t.holds_at(at_ms) and state.is_active(member)
    ]
    return max(ends) if ends else None


def request_mandate(
    node: Node,
    base: bytes,
    federation: bytes,
    *,
    days: int | None = None,
    instructions: md.Instructions | None = None,
    instructions_proposal: bytes | None = None,
    federation_name: str = "",
) -> bytes:
    """As the base council's elected delegate, ask it to sign a mandate for the key
    this node holds in the federation; sign it first. Returns the request's id."""
    me = _require_member(node, base)
    state, now = _state(node, base), int(node.now())
    term_end = _delegate_term_end(state, me, now * 1000)
    if term_end is None:
        raise NotAllowed(_("only a member the council elected as delegate can ask for a mandate"))
    try:
        key = node._identity(federation).sign_pk
    except NotFound as exc:
        raise NotFound(_("first join the federation with its invitation")) from exc
    end = min(term_end // 1000, now + days * DAY) if days else term_end // 1000
    if term_end >= FOREVER:
        end = now + (days or state.rules.term_days) * DAY
    instructions = instructions or md.Instructions()
    if instructions_proposal is not None:
        _check_instructions(node, base, instructions, instructions_proposal)
    try:
        roster = md.make_roster(state.active_members())
    except InvalidInput as exc:
        raise InvalidInput(
            _("a council of more than {n} members cannot issue mandates yet").format(
                n=md.MAX_ROSTER
            )
        ) from exc
    mandate = md.Mandate(1, federation, base, key, now, end, instructions, roster, os.urandom(16))
    body = fk.MandateRequest(md.encode(mandate), federation_name[:200], instructions_proposal)
    request = node.append(base, "mandate.request", body)
    sign(node, base, request)
    return request


def _check_instructions(
    node: Node, base: bytes, instructions: md.Instructions, proposal: bytes
) -> None:
    state = dec.proposal(node, base, proposal)
    if not (state.final and state.passed):
        raise NotAllowed(_("the instructions' proposal has not passed"))
    if state.text != md.render_instructions(instructions):
        raise InvalidInput(_("the instructions differ from what the council passed"))


def _requests(node: Node, base: bytes) -> list[tuple[bytes, bytes, fk.MandateRequest]]:
    views = _views(node, "council=? AND kind='mandate.request' ORDER BY +clock, id", (base,))
    return [(v.id, v.author, v.body) for v in views]


def _shares(node: Node, base: bytes, kind: str, ref: bytes) -> dict[bytes, object]:
    return {
        v.author: v.body for v in _views(node, "council=? AND kind=? AND ref=?", (base, kind, ref))
    }


def request_problem(node: Node, base: bytes, author: bytes, body: fk.MandateRequest) -> str | None:
    """Why a member's node should not sign this request (None: it may)."""
    try:
        mandate = md.decode_mandate(body.payload)
    except ShoraError as exc:
        return str(exc)
    state = _state(node, base)
    term_end = _delegate_term_end(state, author, _now_ms(node))
    if mandate.base != base or term_end is None:
        return "the person asking does not hold the delegate role"
    if mandate.end * 1000 > term_end or mandate.end <= node.now():
        return "the mandate's term is longer than the delegate's, or over"
    if (
        mandate.roster.keys != sorted(state.active_members())
        and len(state.active_members()) <= md.MAX_ROSTER
    ):
        return "the roster is not the council's members"
    rendered = md.render_instructions(mandate.instructions)
    if rendered:
        if body.instructions_proposal is None:
            return "the instructions were not passed by the council"
        try:
            _check_instructions(node, base, mandate.instructions, body.instructions_proposal)
        except ShoraError as exc:
            return str(exc)
    return None


def sign(node: Node, base: bytes, request: bytes) -> bytes:
    """Sign a mandate request as a member of the base council (after reading it)."""
    me = _require_member(node, base)
    found = [r for r in _requests(node, base) if r[0] == request]
    if not found:
        raise NotFound(_("no such mandate request in this council"))
    _request, author, body = found[0]
    problem = request_problem(node, base, author, body)
    if problem is not None:
        raise NotAllowed(_("this mandate cannot be signed: {problem}").format(problem=problem))
    if me in _shares(node, base, "mandate.sign", request):
        raise NotAllowed(_("you have already signed this mandate"))
    sig = md.sign_share(node._identity(base).sign_sk, body.payload, is_mandate=True)
    return node.append(base, "mandate.sign", fk.MandateSign(request, sig))


def _valid_shares(
    shares: dict[bytes, object], payload: bytes, is_mandate: bool
) -> dict[bytes, bytes]:
    good: dict[bytes, bytes] = {}
    for key, body in shares.items():
        sig = getattr(body, "sig")  # noqa: B009
        try:
            md.check_signatures(
                md.Credential(payload, [md.Signature(key, sig)]), md.Roster([key], 1), is_mandate
            )
        except ShoraError:
            continue
        good[key] = sig
    return good


def revocation_payload(mandate_id: bytes, mandate: md.Mandate) -> bytes:
    """The revocation every member signs: the same bytes on every node."""
    return md.encode(md.Revocation(1, mandate_id, mandate.base, mandate.federation, "recalled"))


def mandates(node: Node, base: bytes) -> list[MandateView]:
    """The base council's mandate requests, newest first, with their signatures."""
    views = []
    for request, author, body in reversed(_requests(node, base)):
        try:
            mandate = md.decode_mandate(body.payload)
        except ShoraError:
            continue
        mid = md.payload_id(body.payload)
        shares = _valid_shares(_shares(node, base, "mandate.sign", request), body.payload, True)
        roster = set(mandate.roster.keys)
        shares = {k: v for k, v in shares.items() if k in roster}
        complete = len(shares) >= mandate.roster.threshold
        revoke = revocation_payload(mid, mandate)
        rshares = {
            k: v
            for k, v in _valid_shares(
                _shares(node, base, "mandate.revoke_sign", mid), revoke, False
            ).items()
            if k in roster
        }
        views.append(
            MandateView(
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
        )
    return views


def find_mandate(node: Node, base: bytes, ref: str) -> MandateView:
    ref = ref.strip().lower()
    found = [
        m
        for m in mandates(node, base)
        if m.request.hex().startswith(ref) or m.id.hex().startswith(ref)
    ]
    if len(ref) < 6 or len(found) != 1:
        raise NotFound(_("no single mandate here has an id starting {id}").format(id=ref))
    return found[0]


def revocable(node: Node, base: bytes, view: MandateView) -> bool:
    """A complete, current mandate whose delegate no longer holds the role (recalled,
    replaced or no longer a member): the council's members sign its revocation."""
    current = view.mandate.end > node.now()
    holds = _delegate_term_end(_state(node, base), view.requester, _now_ms(node)) is not None
    return view.complete and current and not holds


def sign_revocation(node: Node, base: bytes, view: MandateView) -> bytes:
    """Sign the revocation of a mandate whose delegate no longer holds the role."""
    me = _require_member(node, base)
    if not revocable(node, base, view):
        raise NotAllowed(_("this mandate cannot be revoked: its delegate still holds the role"))
    if me in view.revocation_signers:
        raise NotAllowed(_("you have already signed this revocation"))
    payload = revocation_payload(view.id, view.mandate)
    sig = md.sign_share(node._identity(base).sign_sk, payload, is_mandate=False)
    return node.append(base, "mandate.revoke_sign", fk.RevokeSign(view.id, payload, sig))


def sign_due(node: Node, base: bytes) -> int:
    """What a member's node signs by itself (docs/federation.md §1): sound mandate
    requests, and revocations of mandates whose delegate was recalled. Returns how
    many signatures it wrote."""
    state = _state(node, base)
    me = node.store.one("SELECT sign_pk FROM identities WHERE council=?", (base,))
    if me is None or not state.is_active(bytes(me)):
        return 0
    me, done = bytes(me), 0
    for view in mandates(node, base):
        if me not in view.mandate.roster.keys:
            continue
        if not view.complete and me not in view.signers:
            found = [r for r in _requests(node, base) if r[0] == view.request]
            if found and request_problem(node, base, found[0][1], found[0][2]) is None:
                sign(node, base, view.request)
                done += 1
        elif revocable(node, base, view) and me not in view.revocation_signers:
            sign_revocation(node, base, view)
            done += 1
    return done


# --- in the federation: admission with a mandate, ending seats ----------------------


def _mandate_error(problem: str) -> ShoraError:
    messages = {
        "the mandate has expired": _("the mandate has expired"),
        "the mandate has been revoked": _("the mandate has been revoked"),
        "the mandate is for another federation": _("the mandate is for another federation"),
        "the mandate names another delegate": _("the mandate names someone else"),
        "that council already holds every seat the rules give it": _(
            "that council already holds every seat the rules give it"
        ),
    }
    if problem in messages:
        return NotAllowed(messages[problem])
    return InvalidInput(_("the mandate is not valid: {problem}").format(problem=problem))


def admit(node: Node, federation: bytes, request: bytes, mandate_text: str) -> AdmitResult:
    """Admit a delegate on their mandate (checked first, for a clear error)."""
    from shora.kernel import tokens

    raw = md.from_text(mandate_text, is_mandate=True)
    payload, _request_id = tokens.open_join_request(request)
    state = _state(node, federation)
    if not state.rules.federation:
        raise NotAllowed(_("this council is not a federation: admit without a mandate"))
    problem = fr.mandate_problem(state, federation, raw, payload.sign_pk, int(node.now()))
    if problem is not None:
        raise _mandate_error(problem)
    return node.membership.admit(request, raw)


def apply_revocation(node: Node, federation: bytes, text: str) -> str:
    """End the seat a revocation names (any member may); returns the delegate's name."""
    _require_member(node, federation)
    raw = md.from_text(text, is_mandate=False)
    revocation = md.decode_revocation(md.decode_credential(raw).payload)
    state = _state(node, federation)
    holders = [k for k, seat in fr.seats(state).items() if seat.mandate == revocation.mandate]
    if not holders or not state.is_active(holders[0]):
        raise NotFound(_("nobody here holds a seat on that mandate"))
    problem = fr.revocation_problem(state, federation, holders[0], raw)
    if problem is not None:
        raise InvalidInput(_("the revocation is not valid: {problem}").format(problem=problem))
    _end_seat(node, federation, holders[0], raw)
    return state.members[holders[0]].name


def _end_seat(node: Node, federation: bytes, member: bytes, revocation: bytes | None) -> None:
    def body(epoch: bytes) -> fk.MandateEnd:
        return fk.MandateEnd(member, epoch, revocation)

    node.membership.end_with_new_epoch(federation, "mandate.end", body)


def end_expired(node: Node, federation: bytes) -> int:
    """End the seats whose mandate is over (any member's node does it)."""
    state = _state(node, federation)
    me = node.store.one("SELECT sign_pk FROM identities WHERE council=?", (federation,))
    if not state.rules.federation or me is None or not state.is_active(bytes(me)):
        return 0
    done = 0
    for member, seat in sorted(fr.seats(state).items()):
        if member != bytes(me) and state.is_active(member) and seat.end <= node.now():
            _end_seat(node, federation, member, None)
            done += 1
    return done


@dataclass(frozen=True, slots=True)
class SeatView:
    member: bytes
    name: str
    base: bytes
    mandate: bytes
    end: int
    active: bool
    instructions: md.Instructions


def seats(node: Node, federation: bytes) -> list[SeatView]:
    state = _state(node, federation)
    return [
        SeatView(
            k, state.members[k].name, s.base, s.mandate, s.end, state.is_active(k), s.instructions
        )
        for k, s in sorted(fr.seats(state).items(), key=lambda item: item[1].end)
    ]


class Federation:
    """Mandates in a base council, seats in a federation."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core
