"""The state of a pledge campaign: a pure function of its events. See docs/pledges.md.

No I/O, no clock. Fed the ``pledge.start`` event, the electorate (the active members
in its causal state: the ring), the campaign's other events and a function giving an
event's ancestors. Every replica holding the same events computes the same state.

* A move (``pledge.take`` or ``pledge.withdraw``) counts if it is claimed by the
  deadline, its step has the right parity, and its ring signature verifies over the
  electorate for this campaign's context. A move that repeats a key image's step
  already seen is a copy: it counts once.
* Where a key image stands is the parity of its highest step among the moves that
  count: odd, pledged; even, withdrawn.
* The threshold is met at the first campaign event, in (clock, id) order, whose causal
  past (itself included) holds enough pledges, every withdrawal in that past counted.
  Nothing that arrives later can undo it: a causal past never changes.
* Once met, pledges are final: a withdrawal counts only if it is in the causal past of
  the moment the threshold was met. Later pledges still count until the deadline.
* Removal after the start (the rule of shora.domain.anonymous): a move's ring is the
  electorate less the members it names in ``without``. A pledge counts at an event E
  only if its ring leaves out every member of the electorate removed (or whose place
  passed to a new key) by an ending claimed by the deadline and in E's causal state,
  unless the pledge is in that ending's causal past. So the moment the threshold is
  met stays a function of causal pasts alone. The pledges in that moment's causal
  past are judged by its endings; later ones by every ending known. A pledge refused
  so ("removed") could be the removed member's; if it is the latest move of its key
  image, its maker (a member) is asked to pledge again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping, Set
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from shora.domain.anonymous import Ending, Known, known, ring_less, voided, voiding
from shora.domain.decisions.state import EventView
from shora.domain.pledges import kinds as pk
from shora.i18n import N_
from shora.kernel import curve, ring

MS = 1000
CONTEXT_PREFIX = b"shora/pledge/v1"
MESSAGE_TAG = b"shora/pledge/msg"
MOVES = ("pledge.take", "pledge.withdraw")

# Why a pledge event does not count (shown to members; N_ so pages translate them).
REASONS: dict[str, str] = {
    "late": N_("made after the deadline"),
    "malformed": N_("not a well-formed pledge"),
    "not_in_electorate": N_(
        "its ring signature does not verify over this campaign's members "
        "(not made by a member, altered, or made for another campaign)"
    ),
    "copy": N_("a copy of a pledge already counted"),
    "after_met": N_("a withdrawal after the threshold was met"),
    "removed": N_(
        "made before a member was removed, over a ring that still holds them: it must be made again"
    ),
}


def context(campaign: bytes) -> bytes:
    """What every signature of this campaign is bound to (its key images too)."""
    return CONTEXT_PREFIX + campaign


def message(campaign: bytes, kind: str, step: int) -> bytes:
    return curve.hash_bytes(MESSAGE_TAG, campaign, kind.encode(), step.to_bytes(4, "big"))


def share_of(text: str) -> Fraction | None:
    """A share kept as "n/d" (0 < n/d <= 1), or None."""
    num, _sep, den = text.partition("/")
    if not (num.isdigit() and den.isdigit()) or int(den) == 0:
        return None
    found = Fraction(int(num), int(den))
    return found if 0 < found <= 1 else None


def needed(body: pk.Start, electorate: int) -> int | None:
    """How many pledges meet the threshold (None if the threshold is not valid):
    a number of people, or at least the share of the electorate (never less than 1)."""
    if body.people and body.share == "0/1":
        return body.people
    share = share_of(body.share)
    if body.people or share is None:
        return None
    return max(1, -(-share.numerator * electorate // share.denominator))


@dataclass(frozen=True, slots=True)
class Campaign:
    id: bytes
    author: bytes
    time: int  # ms, claimed
    body: pk.Start
    electorate: frozenset[bytes]
    needed: int  # pledges that meet the threshold
    count: int  # pledges in force
    pledged: frozenset[bytes]  # the key images pledged (nobody can tell whose)
    met_by: bytes | None  # the event whose causal past first met the threshold
    met_at: int | None  # its claimed time, ms
    withdrawals: int  # withdrawals that count
    steps: tuple[tuple[bytes, int], ...]  # each key image's highest valid step
    refused: tuple[tuple[str, int], ...]  # (reason code, how many)
    problem: str | None
    # members of the electorate whose removal voids older rings, as far as known
    removed: frozenset[bytes] = frozenset()
    # key images whose latest move is a pledge refused as "removed": pledge again
    recast: frozenset[bytes] = frozenset()

    @property
    def met(self) -> bool:
        return self.met_by is not None

    def counts(self, image: bytes) -> bool:
        return image in self.pledged

    def step_of(self, image: bytes) -> int:
        """The highest step seen under a key image (0: none)."""
        return dict(self.steps).get(image, 0)


def phase(campaign: Campaign, now: float) -> str:
    """open (before the deadline, not met yet), met, or missed (the deadline passed
    without it)."""
    if campaign.met:
        return "met"
    return "open" if now <= campaign.body.deadline else "missed"


def problem_of(body: pk.Start, electorate: Set[bytes]) -> str | None:
    """Why a campaign cannot run (None if it can); the same words on every replica."""
    if len(electorate) > pk.MAX_RING:
        return N_("a pledge campaign holds at most 1,000 members")
    found = needed(body, len(electorate))
    if found is None:
        return N_("the threshold is neither a number of people nor a share of the members")
    if found > len(electorate) and not body.across:
        return N_("the threshold is more people than the members")
    return None


Rings = dict[tuple[bytes, ...], list[bytes] | None]


def ring_for(
    electorate: Set[bytes], body: pk.Take | pk.Withdraw, rings: Rings
) -> list[bytes] | None:
    """The ring a move signs over (the electorate less its `without`), once per
    distinct `without` (most moves share one); None if `without` is not valid."""
    left_out = tuple(body.without)
    if left_out not in rings:
        rings[left_out] = ring_less(electorate, left_out)
    return rings[left_out]


def check_move(
    campaign: bytes, event: EventView, electorate: Set[bytes], rings: Rings | None = None
) -> tuple[str | None, bytes]:
    """(reason it does not count or None, key image). The ring is the electorate less
    the members the move leaves out: a verdict depends on the event and the campaign
    only."""
    body = event.body
    if (body.step % 2 == 1) != (event.kind == "pledge.take"):
        return "malformed", b""
    ring_keys = ring_for(electorate, body, {} if rings is None else rings)
    if ring_keys is None:
        return "malformed", b""
    try:
        sig = ring.Signature.decode(body.signature)
    except ValueError:
        return "malformed", b""
    msg = message(campaign, event.kind, body.step)
    if not ring.verify(msg, ring_keys, sig, context(campaign)):
        return "not_in_electorate", sig.image
    return None, sig.image


def move_verdict(event: EventView, reason: str | None) -> tuple[str | None, bytes]:
    """A move's verdict from the reason its signature was found to fail (None: it
    verifies), as `check_move` gives it, without checking it again."""
    if reason == "malformed":
        return reason, b""
    try:
        return reason, ring.Signature.decode(event.body.signature).image
    except ValueError:
        return "malformed", b""


def _standing(moves: Iterable[tuple[bytes, int]]) -> dict[bytes, int]:
    """Each key image's highest step."""
    top: dict[bytes, int] = {}
    for image, step in moves:
        if step > top.get(image, 0):
            top[image] = step
    return top


def _pledged(moves: Iterable[tuple[bytes, int]]) -> set[bytes]:
    return {image for image, step in _standing(moves).items() if step % 2 == 1}


def reduce_campaign(
    start: EventView,
    electorate: Set[bytes],
    events: Iterable[EventView],
    ancestors: Callable[[bytes], Set[bytes]],
    cache: MutableMapping[bytes, Any] | None = None,
    endings: Callable[[bytes | None], Iterable[Ending]] | None = None,
) -> Campaign:
    """The state of one campaign. `cache` (event id -> verdict) may carry signature
    checks between calls: a verdict depends only on the event and this campaign.
    `endings`: the memberships ended in the causal state of an event, or, given None,
    in everything known (the rule on members removed after the start)."""
    cache = {} if cache is None else cache
    body: pk.Start = start.body
    unique = {e.id: e for e in events if getattr(e.body, "campaign", None) == start.id}
    ordered = sorted(unique.values(), key=lambda e: e.order)
    problem = problem_of(body, electorate)
    goal = needed(body, len(electorate)) or 0
    refused: dict[str, int] = {}

    def refuse(reason: str) -> None:
        refused[reason] = refused.get(reason, 0) + 1

    rings: Rings = {}
    moves: dict[bytes, tuple[bytes, int]] = {}  # event id -> (key image, step)
    takes: dict[bytes, list[bytes]] = {}  # a pledge's event id -> the members it leaves out
    candidates: list[EventView] = []
    seen: set[tuple[bytes, int]] = set()
    # An `across` campaign is pledged in each member council, never in the federation.
    for e in ordered if problem is None and not body.across else ():
        if e.kind == "pledge.mark":
            candidates.append(e)
            continue
        if e.kind not in MOVES:
            continue
        if e.time > body.deadline * MS:
            refuse("late")
            continue
        if e.id not in cache:
            cache[e.id] = check_move(start.id, e, electorate, rings)
        reason, image = cache[e.id]
        if reason is not None:
            refuse(reason)
            continue
        if (image, e.body.step) in seen:
            refuse("copy")
            continue
        seen.add((image, e.body.step))
        moves[e.id] = (image, e.body.step)
        if e.kind == "pledge.take":
            takes[e.id] = list(e.body.without)
        candidates.append(e)

    deadline_ms = body.deadline * MS

    def knew_at(at: bytes | None) -> Known:
        if endings is None:
            return []
        return known(voiding(endings(at), electorate, deadline_ms), ancestors)

    def void(i: bytes, knew: Known) -> bool:
        return i in takes and voided(i, takes[i], knew)

    met: EventView | None = None
    met_past: Set[bytes] = frozenset()
    met_knew: Known = []
    # No causal past can hold more pledges than there are key images that ever pledged.
    ever = {image for image, step in moves.values() if step % 2 == 1}
    if problem is None and len(ever) >= goal:
        for e in candidates:
            past = ancestors(e.id)
            inside = [i for i in moves if i == e.id or i in past]
            if len(_pledged(moves[i] for i in inside)) < goal:
                continue
            # The rule only takes pledges away: read E's endings only when it may matter.
            knew = knew_at(e.id)
            if len(_pledged(moves[i] for i in inside if not void(i, knew))) >= goal:
                met, met_past, met_knew = e, past, knew
                break

    knew_now = knew_at(None)
    counted = []
    withdrawals = 0
    refused_top: dict[bytes, int] = {}  # key image -> its highest pledge refused as "removed"
    for i, (image, step) in moves.items():
        if met is not None and step % 2 == 0 and i != met.id and i not in met_past:
            refuse("after_met")
            continue
        in_met = met is not None and (i == met.id or i in met_past)
        if void(i, met_knew if in_met else knew_now):
            refuse("removed")
            refused_top[image] = max(refused_top.get(image, 0), step)
            continue
        withdrawals += step % 2 == 0
        counted.append((image, step))
    pledged = frozenset(_pledged(counted))
    standing = _standing(moves.values())
    recast = frozenset(i for i, step in refused_top.items() if standing.get(i) == step)
    removed = frozenset(m for m, _seen in knew_now) | frozenset(m for m, _seen in met_knew)
    return Campaign(
        id=start.id,
        author=start.author,
        time=start.time,
        body=body,
        electorate=frozenset(electorate),
        needed=goal,
        count=len(pledged),
        pledged=pledged,
        met_by=met.id if met is not None else None,
        met_at=met.time if met is not None else None,
        withdrawals=withdrawals,
        steps=tuple(sorted(_standing(moves.values()).items())),
        refused=tuple(sorted(refused.items())),
        problem=problem,
        removed=removed,
        recast=recast,
    )
