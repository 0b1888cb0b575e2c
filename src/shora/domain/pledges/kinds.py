"""The event kinds of threshold pledges ("I will stop work on Monday if at least 60%
of us pledge the same"). See docs/pledges.md.

* ``pledge.start``: a member opens a campaign: the action, the threshold (a number of
  people, or a share of the members when it starts) and the deadline.
* ``pledge.take`` / ``pledge.withdraw``: anonymous events (one-time author key): a
  linkable ring signature over the campaign's electorate whose key image is bound to
  the campaign, so one per member. ``step`` counts a member's own moves in the
  campaign: odd steps pledge, even steps withdraw; the highest step of a key image
  says where its member stands, so a copy of an earlier step changes nothing. The
  ring is the electorate less the members named in ``without`` (those the maker's
  node knew were removed); a pledge whose ring still holds a member removed before it
  was made does not count (docs/pledges.md, "Removal after the start").
* ``pledge.mark``: anonymous, no signature: "the threshold is met as far as I can
  see". It is worth something only if its causal past meets the threshold (it joins
  pledges made at the same time on different devices into one causal past).
* A campaign ``across`` a federation is started in the federation; each seated
  delegate's node opens it in its own base council (a ``pledge.start`` naming the
  ``federation`` and the ``source`` campaign), where the council's own members pledge
  in their own ring, and carries the count back up in ``pledge.report``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from shora.domain.decisions.kinds import FractionText
from shora.kernel.events import Bytes32, register_kind

MAX_RING = 1000  # a ring signature over 1,000 keys fills 32 KiB of a 40 KiB body
MAX_ACTION = 500
MAX_STEP = 1000  # pledge and withdraw up to 500 times each

Step = Annotated[int, msgspec.Meta(ge=1, le=MAX_STEP)]
Signature = Annotated[bytes, msgspec.Meta(min_length=96, max_length=32 * (MAX_RING + 2))]


class Start(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    action: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ACTION)]
    people: Annotated[int, msgspec.Meta(ge=0, le=MAX_RING)] = 0  # a number of people, or
    share: FractionText = "0/1"  # a share of the members when the campaign starts
    deadline: Annotated[int, msgspec.Meta(ge=0, lt=2**40)]  # seconds
    across: bool = False  # a federation's campaign, pledged in each member council
    federation: Bytes32 | None = None  # a base council's part of a federation's campaign:
    source: Bytes32 | None = None  # the federation and its campaign


class Report(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A seated delegate's report of its base council's count, in the federation."""

    campaign: Bytes32  # the federation's campaign
    base: Bytes32
    count: Annotated[int, msgspec.Meta(ge=0, le=MAX_RING)]
    needed: Annotated[int, msgspec.Meta(ge=0, le=MAX_RING)]
    members: Annotated[int, msgspec.Meta(ge=0, le=MAX_RING)]
    met: bool


# The members of the electorate a move's ring leaves out (those its maker's node knew
# were removed): the ring is the electorate less these. Each costs 32 bytes here and
# saves 32 in the signature, so the body never grows past a full ring's.
Without = Annotated[list[Bytes32], msgspec.Meta(max_length=MAX_RING)]


class Take(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    campaign: Bytes32
    step: Step  # odd
    signature: Signature
    without: Without = []


class Withdraw(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    campaign: Bytes32
    step: Step  # even
    signature: Signature
    without: Without = []


class Mark(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    campaign: Bytes32


PLEDGE_KINDS: dict[str, type[msgspec.Struct]] = {
    "pledge.take": Take,
    "pledge.withdraw": Withdraw,
    "pledge.mark": Mark,
}


def register() -> None:
    """Register these kinds with the kernel: shora.node calls it once, from its
    KIND_MODULES; importing this module registers nothing."""
    register_kind("pledge.start", Start)
    register_kind("pledge.report", Report, ref=lambda body: body.campaign)
    for kind, schema in PLEDGE_KINDS.items():
        register_kind(kind, schema, ref=lambda body: body.campaign, anonymous=True)
