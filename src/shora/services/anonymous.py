"""What the anonymous moves share (a secret ballot, a pledge): the member's secret for
the ring signature and the key image, that only an active member makes one, and the
random delay before it is published, so that its time says less about who made it."""

from __future__ import annotations

import os

from shora.errors import NotAllowed
from shora.i18n import _
from shora.kernel import curve
from shora.kernel.core import NodeCore

MAX_DELAY_SECONDS = 600  # a move waits up to ten minutes before it is published
DEADLINE_MARGIN_SECONDS = 60


def ring_secret(core: NodeCore, council: bytes) -> int:
    """This profile's signing key in the council, as the scalar ring signatures use."""
    return curve.ed25519_scalar(core.identity(council).sign_sk)


def active_member(core: NodeCore, council: bytes) -> bytes:
    """This profile's member key; NotAllowed unless it is an active member."""
    me = core.me(council)
    if me is None or not core.state(council).is_active(me):
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
