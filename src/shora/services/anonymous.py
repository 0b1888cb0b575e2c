"""What the anonymous moves share (a secret ballot, a pledge): the member's secret for
the ring signature and the key image, that only an active member makes one, the
random delay before it is published, so that its time says less about who made it,
and the endings the rule on members removed since reads (the members the ring leaves
out)."""

from __future__ import annotations

import os
from collections.abc import Set

from shora.domain.anonymous import Ending
from shora.errors import NotAllowed
from shora.i18n import _
from shora.kernel import curve
from shora.kernel.core import NodeCore

MAX_DELAY_SECONDS = 600  # a move waits up to ten minutes before it is published
DEADLINE_MARGIN_SECONDS = 60


def ring_secret(core: NodeCore, council: bytes) -> int:
    """This profile's signing key in the council, as the scalar ring signatures use."""
    return curve.ed25519_scalar(core.identity(council).sign_sk)


def active_member_or_none(core: NodeCore, council: bytes) -> bytes | None:
    """This profile's member key if it is an active member of that council, else None."""
    me = core.me(council)
    return me if me is not None and core.state(council).is_active(me) else None


def active_member(core: NodeCore, council: bytes) -> bytes:
    """This profile's member key; NotAllowed unless it is an active member."""
    me = active_member_or_none(core, council)
    if me is None:
        raise NotAllowed(_("you are not a member of this council"))
    return me


def publish_delay(deadline: float, now: float, delay: int | None) -> int:
    """Seconds to wait before publishing: `delay` if given, else random up to ten
    minutes; never past the deadline (less a margin), never below zero."""
    room = int(deadline - now) - DEADLINE_MARGIN_SECONDS
    if delay is None:
        upper = max(0, min(MAX_DELAY_SECONDS, room))
        delay = int.from_bytes(os.urandom(4), "big") % (upper + 1)
    return max(0, min(delay, room))


def endings(core: NodeCore, council: bytes, at: bytes | None) -> list[Ending]:
    """The memberships ended in the causal state of `at` (None: all known now), each
    with its ending's claimed time: what the rule on members removed after a vote or a
    campaign started reads (shora.domain.anonymous)."""
    state = core.state(council) if at is None else core.causal_state(council, at)
    found = []
    for key, member in state.members.items():
        if member.ended_by is None or member.end is None:
            continue
        meta = core.store.events.meta(member.ended_by)
        time = int(meta[3]) if meta is not None else 0
        found.append(Ending(key, member.ended_by, time, member.end))
    return found


def left_out(core: NodeCore, council: bytes, electorate: Set[bytes]) -> list[bytes]:
    """The members of an electorate whose membership has ended as far as this node
    knows, sorted: an honest move's ring leaves them out, since a ring still holding a
    removed member does not count."""
    current = core.state(council)
    return sorted(m for m in electorate if not current.is_active(m))
