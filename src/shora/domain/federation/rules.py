"""The federation's rules, as kernel hooks. Pure. See docs/federation.md §1.

* An admission to a federation must carry a mandate that verifies against the
  stored roster of its base council (the first mandate of a council brings the
  roster), names this federation and the joining key, is current at the
  admission's claimed time, is not revoked, and leaves the council within its seats.
* `mandate.end` ends a seat (like a removal: new epoch, voiding rule) when it carries
  a revocation of that seat's mandate signed by the stored roster, or when the
  mandate's term is over at the event's claimed time. Any member may write it.

The seats, rosters and revoked mandates live in `CouncilState.ext`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from shora.domain.federation import kinds as fk
from shora.domain.federation import mandates as md
from shora.errors import ShoraError
from shora.i18n import _
from shora.kernel import membership
from shora.kernel.membership import CouncilState, JoinRequestSeen, Resolver, StateEvent


class Seat(msgspec.Struct, frozen=True):
    base: bytes  # the base council
    mandate: bytes  # the mandate's id
    end: int  # unix seconds
    instructions: md.Instructions


def seats(state: CouncilState) -> dict[bytes, Seat]:
    """Seats by delegate key (ended members' seats included; check is_active)."""
    found: dict[bytes, Seat] = state.ext.get("seats", {})
    return found


def rosters(state: CouncilState) -> dict[bytes, md.Roster]:
    found: dict[bytes, md.Roster] = state.ext.get("rosters", {})
    return found


def revoked(state: CouncilState) -> frozenset[bytes]:
    found: frozenset[bytes] = state.ext.get("revoked", frozenset())
    return found


def _put(state: CouncilState, name: str, key: bytes, value: Any) -> None:
    state.ext[name] = {**state.ext.get(name, {}), key: value}


def mandate_problem(
    state: CouncilState, federation: bytes, raw: bytes, joining: bytes, at: int
) -> str | None:
    """Why this mandate cannot seat `joining` in the federation at unix time `at`, in
    the reader's language (the rules only ask whether there is a problem)."""
    try:
        credential = md.decode_credential(raw)
        mandate = md.decode_mandate(credential.payload)
    except ShoraError as exc:
        return str(exc)
    if mandate.federation != federation:
        return _("the mandate is for another federation")
    if mandate.delegate != joining:
        return _("the mandate names another delegate")
    if not mandate.start <= at < mandate.end:
        if at >= mandate.end:
            return _("the mandate has expired")
        return _("the mandate has not begun")
    if md.payload_id(credential.payload) in revoked(state):
        return _("the mandate has been revoked")
    roster = rosters(state).get(mandate.base, mandate.roster)
    try:
        md.check_signatures(credential, roster, is_mandate=True)
    except ShoraError as exc:
        return _("the mandate is not signed by its council: {error}").format(error=exc)
    held = sum(
        1
        for key, seat in seats(state).items()
        if seat.base == mandate.base and state.is_active(key)
    )
    if held >= state.rules.seats_per_council:
        return _("that council already holds every seat the rules give it")
    return None


def on_admit(s: CouncilState, ev: StateEvent, c: CouncilState, seen: JoinRequestSeen) -> bool:
    raw = getattr(ev.body, "mandate", None)
    council = seen.payload.council
    if raw is None:
        return False
    for state in (c, s):
        if mandate_problem(state, council, raw, seen.payload.sign_pk, ev.time // 1000):
            return False
    credential = md.decode_credential(raw)
    mandate = md.decode_mandate(credential.payload)
    mandate_id = md.payload_id(credential.payload)
    _put(
        s,
        "seats",
        seen.payload.sign_pk,
        Seat(mandate.base, mandate_id, mandate.end, mandate.instructions),
    )
    _put(s, "rosters", mandate.base, mandate.roster)
    return True


def revocation_problem(
    state: CouncilState, federation: bytes, member: bytes, raw: bytes
) -> str | None:
    """Why this revocation does not end `member`'s seat."""
    seat = seats(state).get(member)
    if seat is None or not state.is_active(member):
        return _("that member holds no seat here")
    try:
        credential = md.decode_credential(raw)
        revocation = md.decode_revocation(credential.payload)
    except ShoraError as exc:
        return str(exc)
    if revocation.mandate != seat.mandate or revocation.base != seat.base:
        return _("the revocation is for another mandate")
    if revocation.federation != federation:
        return _("the revocation is for another federation")
    try:
        md.check_signatures(credential, rosters(state)[seat.base], is_mandate=False)
    except ShoraError as exc:
        return _("the revocation is not signed by the delegate's council: {error}").format(
            error=exc
        )
    return None


def on_end(s: CouncilState, ev: StateEvent, c: CouncilState, r: Resolver) -> set[bytes] | None:
    body: fk.MandateEnd = ev.body
    seat = seats(c).get(body.member)
    if seat is None or not (c.is_active(body.member) and s.is_active(body.member)):
        return None
    if body.member == ev.author and body.revocation is None:
        return None  # to give up a seat, leave
    if body.revocation is not None:
        if revocation_problem(s, r.council, body.member, body.revocation):
            return None
        s.ext["revoked"] = revoked(s) | {seat.mandate}
    elif ev.time < seat.end * 1000:
        return None
    membership.new_epoch(s, ev, body.new_epoch)
    return membership.end_membership(s, ev, body.member, "removed")


def register() -> None:
    """Register these kinds with the kernel: shora.node calls it once, from its
    KIND_MODULES; importing this module registers nothing."""
    if on_admit not in membership.ADMISSION_HOOKS:
        membership.ADMISSION_HOOKS.append(on_admit)
    membership.register_state_kind(
        "mandate.end", fk.MandateEnd, on_end, ref=lambda b: b.member, ends=lambda ev: ev.body.member
    )
