"""Federation on a node: mandates in a base council, seats in a federation. See
docs/federation.md. The flows between levels are in `federation_flow`; the checks and
views themselves are pure, in `shora.domain.federation.delegates`.

A node holds identities in both: as a member of a base council it signs mandates
and revocations; as a delegate it is a member of the federation.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Protocol

import msgspec

from shora.domain.decisions import kinds as dk
from shora.domain.decisions.plain import plain
from shora.domain.decisions.state import EventView, ProposalState
from shora.domain.federation import delegates
from shora.domain.federation import kinds as fk
from shora.domain.federation import mandates as md
from shora.domain.federation import rules as fr
from shora.domain.federation.delegates import (
    DAY,
    DELEGATE,
    MandateView,
    SeatView,
    check_instructions,
    delegate_term_end,
    mandate_error,
    mandate_view,
    revocation_payload,
    seat_views,
)
from shora.errors import InvalidInput, NotAllowed, NotFound, ShoraError
from shora.i18n import _
from shora.kernel import kinds
from shora.kernel.core import NodeCore
from shora.kernel.membership import FOREVER
from shora.services.decisions import require_member, views_of
from shora.services.membership import AdmitResult

# What the interfaces use of the domain, re-exported (they import services only).
__all__ = [
    "DAY",
    "DELEGATE",
    "Federation",
    "MandateView",
    "SeatView",
    "md",
    "plain",
    "require_member",
    "revocation_payload",
    "views",
]


class CouncilMaker(Protocol):
    """What this service asks of the councils service: founding one."""

    def create(
        self, name: str, description: str, founder_name: str, rules: kinds.Rules | None = None
    ) -> bytes: ...


class CouncilActions(Protocol):
    """What this service asks of the membership service: admitting, ending a seat."""

    def admit(self, request: bytes, mandate: bytes | None = None) -> AdmitResult: ...

    def end_with_new_epoch(
        self, council: bytes, kind: str, body: Callable[[bytes], msgspec.Struct]
    ) -> bytes: ...


Propose = Callable[[bytes, dk.Propose], bytes]  # decisions: put a proposal to a council
ProposalOf = Callable[[bytes, bytes], ProposalState]  # decisions: one proposal's state


def views(
    core: NodeCore,
    council: bytes,
    kind: str,
    ref: bytes | None = None,
    *,
    order: str = "",
    limit: int | None = None,
    offset: int = 0,
) -> list[EventView]:
    """The valid events of one kind in a council, their bodies decoded."""
    rows = core.store.events.valid_of_kind(
        council, kind, ref, order=order, limit=limit, offset=offset
    )
    return views_of(rows)


def seat_of(core: NodeCore, federation: bytes) -> fr.Seat | None:
    """This profile's active seat in a federation, or None."""
    state = core.state(federation)
    me = core.me(federation)
    if me is None or not state.rules.federation or not state.is_active(me):
        return None
    return fr.seats(state).get(me)


class Federation:
    """Mandates in a base council, seats in a federation."""

    def __init__(
        self,
        core: NodeCore,
        councils: CouncilMaker,
        membership: CouncilActions,
        propose: Propose,
        proposal: ProposalOf,
    ) -> None:
        self.core = core
        self.councils = councils
        self.membership = membership
        self.propose = propose
        self.proposal = proposal

    def create(self, name: str, founder_name: str, seats: int = 1, time_zone: str = "") -> bytes:
        """A federation: a council whose members are delegates seated on mandates. Its
        times are shown in `time_zone` ("" is UTC), checked as a council's are."""
        rules = kinds.Rules(federation=True, seats_per_council=seats, time_zone=time_zone)
        return self.councils.create(name, "", founder_name, rules)

    def is_federation(self, council: bytes) -> bool:
        """Whether the council is a federation (its members are delegates)."""
        return bool(self.core.state(council).rules.federation)

    # --- in the base council: instructions, requests, signatures -------------------

    def instruct(
        self, base: bytes, federation_name: str, instructions: md.Instructions, hours: int = 72
    ) -> bytes:
        """Put the delegate's instructions to the base council's vote (yes/no)."""
        text = md.render_instructions(instructions)
        if not text:
            raise InvalidInput(_("instructions need a text or at least one item"))
        title = _("Instructions for our delegate to {federation}").format(
            federation=federation_name
        )
        body = dk.Propose(
            title=title[:200],
            text=text,
            method="yes_no",
            deadline=int(self.core.now()) + hours * 3600,
        )
        return self.propose(base, body)

    def request_mandate(
        self,
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
        me = require_member(self.core, base)
        state, clock = self.core.state(base), self.core.now()
        now = int(clock)
        # The term starts at the close, in ms: a delegate asking in that same second holds it.
        term_end = delegate_term_end(state, me, int(clock * 1000))
        if term_end is None:
            raise NotAllowed(
                _("only a member the council elected as delegate can ask for a mandate")
            )
        key = self.core.me(federation)
        if key is None:
            raise NotFound(_("first join the federation with its invitation"))
        end = min(term_end // 1000, now + days * DAY) if days else term_end // 1000
        if term_end >= FOREVER:
            end = now + (days or state.rules.term_days) * DAY
        instructions = instructions or md.Instructions()
        if instructions_proposal is not None:
            check_instructions(instructions, self.proposal(base, instructions_proposal))
        try:
            roster = md.make_roster(state.active_members())
        except InvalidInput as exc:
            raise InvalidInput(
                _("a council of more than {n} members cannot issue mandates yet").format(
                    n=md.MAX_ROSTER
                )
            ) from exc
        mandate = md.Mandate(
            1, federation, base, key, now, end, instructions, roster, os.urandom(16)
        )
        body = fk.MandateRequest(md.encode(mandate), federation_name[:200], instructions_proposal)
        request = self.core.append(base, "mandate.request", body)
        self.sign(base, request)
        return request

    def _requests(self, base: bytes) -> list[tuple[bytes, bytes, fk.MandateRequest]]:
        found = views(self.core, base, "mandate.request", order="clock")
        return [(v.id, v.author, v.body) for v in found]

    def _shares(
        self, base: bytes, kind: str, ref: bytes
    ) -> dict[bytes, fk.MandateSign | fk.RevokeSign]:
        return {v.author: v.body for v in views(self.core, base, kind, ref)}

    def request_problem(self, base: bytes, author: bytes, body: fk.MandateRequest) -> str | None:
        """Why a member's node should not sign this request (None: it may)."""
        state = self.core.state(base)
        problem = delegates.request_problem(state, base, author, body.payload, self.core.now())
        if problem is not None:
            return problem
        mandate = md.decode_mandate(body.payload)
        if md.render_instructions(mandate.instructions):
            if body.instructions_proposal is None:
                return _("the instructions were not passed by the council")
            try:
                passed = self.proposal(base, body.instructions_proposal)
                check_instructions(mandate.instructions, passed)
            except ShoraError as exc:
                return str(exc)
        return None

    def sign(self, base: bytes, request: bytes) -> bytes:
        """Sign a mandate request as a member of the base council (after reading it)."""
        me = require_member(self.core, base)
        found = [r for r in self._requests(base) if r[0] == request]
        if not found:
            raise NotFound(_("no such mandate request in this council"))
        _request, author, body = found[0]
        problem = self.request_problem(base, author, body)
        if problem is not None:
            raise NotAllowed(_("this mandate cannot be signed: {problem}").format(problem=problem))
        if me in self._shares(base, "mandate.sign", request):
            raise NotAllowed(_("you have already signed this mandate"))
        sig = md.sign_share(self._secret_key(base), body.payload, is_mandate=True)
        return self.core.append(base, "mandate.sign", fk.MandateSign(request, sig))

    def _secret_key(self, council: bytes) -> bytes:
        # A share of a mandate or revocation is signed with this member's own key,
        # which only the core's identity holds: unavoidable.
        return self.core.identity(council).sign_sk

    def mandates(self, base: bytes) -> list[MandateView]:
        """The base council's mandate requests, newest first, with their signatures."""
        found = []
        for request, author, body in reversed(self._requests(base)):
            try:
                mandate = md.decode_mandate(body.payload)
            except ShoraError:
                continue
            mid = md.payload_id(body.payload)
            found.append(
                mandate_view(
                    request,
                    author,
                    body,
                    mandate,
                    self._shares(base, "mandate.sign", request),
                    self._shares(base, "mandate.revoke_sign", mid),
                )
            )
        return found

    def find_mandate(self, base: bytes, ref: str) -> MandateView:
        ref = ref.strip().lower()
        found = [
            m
            for m in self.mandates(base)
            if m.request.hex().startswith(ref) or m.id.hex().startswith(ref)
        ]
        if len(ref) < 6 or len(found) != 1:
            raise NotFound(_("no single mandate here has an id starting {id}").format(id=ref))
        return found[0]

    def revocable(self, base: bytes, view: MandateView) -> bool:
        """A complete, current mandate whose delegate no longer holds the role (recalled,
        replaced or no longer a member): the council's members sign its revocation."""
        return delegates.revocable(self.core.state(base), view, self.core.now())

    def sign_revocation(self, base: bytes, view: MandateView) -> bytes:
        """Sign the revocation of a mandate whose delegate no longer holds the role."""
        me = require_member(self.core, base)
        if not self.revocable(base, view):
            raise NotAllowed(_("this mandate cannot be revoked: its delegate still holds the role"))
        if me in view.revocation_signers:
            raise NotAllowed(_("you have already signed this revocation"))
        payload = revocation_payload(view.id, view.mandate)
        sig = md.sign_share(self._secret_key(base), payload, is_mandate=False)
        return self.core.append(base, "mandate.revoke_sign", fk.RevokeSign(view.id, payload, sig))

    def sign_due(self, base: bytes) -> int:
        """What a member's node signs by itself (docs/federation.md §1): sound mandate
        requests, and revocations of mandates whose delegate was recalled. Returns how
        many signatures it wrote."""
        state = self.core.state(base)
        me = self.core.me(base)
        if me is None or not state.is_active(me):
            return 0
        done = 0
        for view in self.mandates(base):
            if me not in view.mandate.roster.keys:
                continue
            if not view.complete and me not in view.signers:
                found = [r for r in self._requests(base) if r[0] == view.request]
                if found and self.request_problem(base, found[0][1], found[0][2]) is None:
                    self.sign(base, view.request)
                    done += 1
            elif self.revocable(base, view) and me not in view.revocation_signers:
                self.sign_revocation(base, view)
                done += 1
        return done

    # --- in the federation: admission with a mandate, ending seats --------------------

    def admit(self, federation: bytes, request: bytes, mandate_text: str) -> AdmitResult:
        """Admit a delegate on their mandate (checked first, for a clear error)."""
        from shora.kernel import tokens

        raw = md.from_text(mandate_text, is_mandate=True)
        payload, _request_id = tokens.open_join_request(request)
        state = self.core.state(federation)
        if not state.rules.federation:
            raise NotAllowed(_("this council is not a federation: admit without a mandate"))
        now = int(self.core.now())
        problem = fr.mandate_problem(state, federation, raw, payload.sign_pk, now)
        if problem is not None:
            raise mandate_error(problem)
        return self.membership.admit(request, raw)

    def apply_revocation(self, federation: bytes, text: str) -> str:
        """End the seat a revocation names (any member may); returns the delegate's name."""
        require_member(self.core, federation)
        raw = md.from_text(text, is_mandate=False)
        revocation = md.decode_revocation(md.decode_credential(raw).payload)
        state = self.core.state(federation)
        holders = [k for k, seat in fr.seats(state).items() if seat.mandate == revocation.mandate]
        if not holders or not state.is_active(holders[0]):
            raise NotFound(_("nobody here holds a seat on that mandate"))
        problem = fr.revocation_problem(state, federation, holders[0], raw)
        if problem is not None:
            raise InvalidInput(_("the revocation is not valid: {problem}").format(problem=problem))
        self._end_seat(federation, holders[0], raw)
        return state.members[holders[0]].name

    def _end_seat(self, federation: bytes, member: bytes, revocation: bytes | None) -> None:
        def body(epoch: bytes) -> fk.MandateEnd:
            return fk.MandateEnd(member, epoch, revocation)

        self.membership.end_with_new_epoch(federation, "mandate.end", body)

    def end_expired(self, federation: bytes) -> int:
        """End the seats whose mandate is over (any member's node does it)."""
        state = self.core.state(federation)
        me = self.core.me(federation)
        if not state.rules.federation or me is None or not state.is_active(me):
            return 0
        done = 0
        for member, seat in sorted(fr.seats(state).items()):
            if member != me and state.is_active(member) and seat.end <= self.core.now():
                self._end_seat(federation, member, None)
                done += 1
        return done

    def seats(self, federation: bytes) -> list[SeatView]:
        """The federation's seats, ending soonest first."""
        return seat_views(self.core.state(federation))
