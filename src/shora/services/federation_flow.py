"""What flows between a base council and its federations, through the delegate's
node. See docs/federation.md §3.

Upward: the base council's de-identified aid summary. Downward: the federation's
alerts and decided proposals, and flags on ballots that differ from the mandate's
instructions, as notices. Ratification: a federation proposal put to each member
council, whose result the delegate carries back; a double majority decides.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shora.domain.aid import summary as aid_summary
from shora.domain.decisions import kinds as dk
from shora.domain.decisions.state import ProposalState
from shora.domain.federation import kinds as fk
from shora.domain.federation import mandates as md
from shora.domain.federation import rules as fr
from shora.errors import InvalidInput, NotAllowed, NotFound, ShoraError
from shora.i18n import _
from shora.kernel.core import NodeCore
from shora.services import decisions as dec
from shora.services import federation as fed
from shora.services.decisions import _views

if TYPE_CHECKING:
    from shora.node import Node

RATIFY_HOURS = 72


def _me(node: Node, council: bytes) -> bytes | None:
    found = node.store.one("SELECT sign_pk FROM identities WHERE council=?", (council,))
    return bytes(found) if found is not None else None


def my_seat(node: Node, federation: bytes) -> fr.Seat | None:
    """This node's active seat in a federation, or None."""
    state = node.ingestor.projection.final_state(federation)
    me = _me(node, federation)
    if me is None or not state.rules.federation or not state.is_active(me):
        return None
    return fr.seats(state).get(me)


def _is_member(node: Node, council: bytes) -> bool:
    me = _me(node, council)
    return me is not None and node.ingestor.projection.final_state(council).is_active(me)


def _federations_of(node: Node, base: bytes) -> list[bytes]:
    """The federations where this node holds a seat for `base`."""
    rows = node.store.rows("SELECT id FROM councils WHERE status='member'")
    found = []
    for (council,) in rows:
        seat = my_seat(node, bytes(council))
        if seat is not None and seat.base == base:
            found.append(bytes(council))
    return found


# --- upward: summaries ---------------------------------------------------------------


def post_summary(node: Node, federation: bytes, force: bool = False) -> bytes | None:
    """Share the base council's de-identified summary with the federation (only when
    it changed since the last one, unless forced). Returns the event, or None."""
    seat = my_seat(node, federation)
    if seat is None or not _is_member(node, seat.base):
        raise NotAllowed(_("only a seated delegate can share their council's summary"))
    now = int(node.now())
    summary = aid_summary.summarise(node.aid.state(seat.base, now), now)
    last = _latest_summaries(node, federation).get(seat.base)
    if not force and last is not None and last.rows == summary.rows:
        return None
    body = fk.Summary(seat.base, aid_summary.encode(summary))
    return node.append(federation, "federation.summary", body)


def _latest_summaries(node: Node, federation: bytes) -> dict[bytes, aid_summary.AidSummary]:
    state = node.ingestor.projection.final_state(federation)
    seats = fr.seats(state)
    latest: dict[bytes, aid_summary.AidSummary] = {}
    views = _views(
        node, "council=? AND kind='federation.summary' ORDER BY +clock, id", (federation,)
    )
    for v in views:
        seat = seats.get(v.author)
        if seat is None or seat.base != v.body.base:
            continue  # only a delegate of that council speaks for it
        with contextlib.suppress(InvalidInput):  # a faulty summary counts for nothing
            latest[v.body.base] = aid_summary.decode(v.body.summary)
    return latest


@dataclass(frozen=True, slots=True)
class TotalRow:
    kind: str
    category: str
    urgency: str | None
    area: str  # the area's name, as its council calls it
    councils: int
    count: int  # of the counts shown; councils that hid a small count add nothing
    hidden: int  # councils whose count here was below their threshold


def totals(node: Node, federation: bytes) -> tuple[int, list[TotalRow]]:
    """Totals across the latest summary of each member council: (councils, rows)."""
    latest = _latest_summaries(node, federation)
    councils: Counter[tuple[str, str, str | None, str]] = Counter()
    counts: Counter[tuple[str, str, str | None, str]] = Counter()
    hidden: Counter[tuple[str, str, str | None, str]] = Counter()
    for summary in latest.values():
        for row in summary.rows:
            key = (row.kind, row.category, row.urgency, summary.areas.get(row.area, row.area))
            councils[key] += 1
            if row.count is None:
                hidden[key] += 1
            else:
                counts[key] += row.count
    rows = [
        TotalRow(k[0], k[1], k[2], k[3], councils[k], counts[k], hidden[k])
        for k in sorted(councils, key=lambda k: (k[0], k[1], k[2] or "", k[3]))
    ]
    return len(latest), rows


# --- downward: notices -----------------------------------------------------------------


def _noticed(node: Node, base: bytes) -> set[bytes]:
    return {v.body.source for v in _views(node, "council=? AND kind='federation.notice'", (base,))}


def _ballot_matches(state: ProposalState, member: bytes, vote: str) -> bool | None:
    counted = state.ballot_of(member)
    if counted is None:
        return None
    b = counted.ballot
    want = vote.strip().lower()
    if isinstance(b, dk.YesNoBallot):
        return b.vote == want
    if isinstance(b, dk.ConsentBallot):
        return b.response == want
    if isinstance(b, dk.RankedBallot):
        return bool(b.ranking) and b.ranking[0].strip().lower() == want
    if isinstance(b, dk.ApprovalBallot):
        return want in {c.strip().lower() for c in b.choices}
    return None


@dataclass(frozen=True, slots=True)
class Flag:
    member: bytes
    name: str
    base: bytes
    proposal: bytes
    title: str
    instructed: str


def flags(node: Node, federation: bytes) -> list[Flag]:
    """Ballots of delegates that differ from their mandate's instructions."""
    state = node.ingestor.projection.final_state(federation)
    found = []
    proposals = dec.proposals(node, federation, limit=1000)
    for member, seat in sorted(fr.seats(state).items()):
        for item in seat.instructions.items:
            for p in proposals:
                if p.body.title.strip().lower() != item.item.strip().lower():
                    continue
                if _ballot_matches(p, member, item.vote) is False:
                    name = state.members[member].name
                    found.append(Flag(member, name, seat.base, p.id, p.body.title, item.vote))
    return found


def relay_down(node: Node, federation: bytes) -> int:
    """As a seated delegate, copy the federation's alerts, decided proposals and flags
    on one's own ballots into one's base council. Returns how many notices."""
    seat = my_seat(node, federation)
    if seat is None or not _is_member(node, seat.base):
        return 0
    name = node.council(federation).name[:200]
    seen, now, done = _noticed(node, seat.base), int(node.now()), 0

    def notice(kind: str, title: str, text: str, source: bytes) -> None:
        nonlocal done
        if source not in seen:
            body = fk.Notice(federation, name, kind, title[:200], text[:20_000], source)  # type: ignore[arg-type]
            node.append(seat.base, "federation.notice", body)
            seen.add(source)
            done += 1

    for a in node.safety.alerts(federation, now):
        notice("alert", a.kind, f"{a.area}: {a.note}", a.id)
    for p in dec.proposals(node, federation, limit=200):
        if p.final:
            outcome = "; ".join(s for _e, _a, s in p.outcomes)
            result = "passed" if p.passed else ", ".join(p.winners) or "not passed"
            notice("decision", p.body.title, f"{result}. {outcome}".strip(), p.id)
    me = _me(node, federation)
    for f in flags(node, federation):
        if f.member == me:
            notice("flag", f.title, f.instructed, f.proposal)
    return done


# --- ratification ----------------------------------------------------------------------


def request_ratification(node: Node, federation: bytes, proposal: bytes) -> bytes:
    """Ask the member councils to ratify a federation proposal."""
    if not _is_member(node, federation):
        raise NotAllowed(_("you are not a member of this council"))
    dec.proposal(node, federation, proposal)
    return node.append(federation, "federation.ratify", fk.RatifyRequest(proposal))


def open_ratifications(node: Node, federation: bytes) -> int:
    """As a delegate, open in the base council each ratification the federation asks."""
    seat = my_seat(node, federation)
    if seat is None or not _is_member(node, seat.base):
        return 0
    seen, done = _noticed(node, seat.base), 0
    asks = _views(node, "council=? AND kind='federation.ratify'", (federation,))
    for ask in asks:
        source = ask.body.proposal
        if source in seen:
            continue
        fed_state = dec.proposal(node, federation, source)
        title = _("Ratify: {title}").format(title=fed_state.body.title)[:200]
        body = dk.Propose(
            title=title,
            text=fed_state.text,
            method="yes_no",
            deadline=int(node.now()) + RATIFY_HOURS * 3600,
        )
        local = dec.propose(node, seat.base, body)
        name = node.council(federation).name[:200]
        node.append(
            seat.base,
            "federation.notice",
            fk.Notice(federation, name, "ratify", title, fed_state.text[:20_000], source, local),
        )
        seen.add(source)
        done += 1
    return done


def report_ratifications(node: Node, federation: bytes) -> int:
    """Carry each closed ratification vote of the base council back up."""
    seat = my_seat(node, federation)
    if seat is None or not _is_member(node, seat.base):
        return 0
    reported = {
        v.body.proposal
        for v in _views(node, "council=? AND kind='federation.ratification'", (federation,))
        if v.body.base == seat.base
    }
    done = 0
    for v in _views(node, "council=? AND kind='federation.notice'", (seat.base,)):
        if v.body.kind != "ratify" or v.body.proposal is None or v.body.source in reported:
            continue
        if v.body.federation != federation:
            continue
        local = dec.proposal(node, seat.base, v.body.proposal)
        if not local.final or local.result is None:
            continue
        body = fk.Ratification(
            v.body.source, seat.base, local.result.yes, local.result.no, len(local.eligible)
        )
        node.append(federation, "federation.ratification", body)
        reported.add(v.body.source)
        done += 1
    return done


@dataclass(frozen=True, slots=True)
class RatificationResult:
    councils: int  # councils that reported
    councils_yes: int
    members: int  # members those councils represent
    members_yes: int  # members of the councils that said yes
    passed: bool  # a double majority: of councils and of the members they represent


def ratification(node: Node, federation: bytes, proposal: bytes) -> RatificationResult:
    state = node.ingestor.projection.final_state(federation)
    seats = fr.seats(state)
    latest: dict[bytes, fk.Ratification] = {}
    views = _views(
        node,
        "council=? AND kind='federation.ratification' AND ref=? ORDER BY +clock, id",
        (federation, proposal),
    )
    for v in views:
        seat = seats.get(v.author)
        if seat is not None and seat.base == v.body.base:
            latest[v.body.base] = v.body
    said_yes = [r for r in latest.values() if r.yes > r.no]
    members = sum(r.members for r in latest.values())
    members_yes = sum(r.members for r in said_yes)
    passed = bool(latest) and 2 * len(said_yes) > len(latest) and 2 * members_yes > members
    return RatificationResult(len(latest), len(said_yes), members, members_yes, passed)


def notices(node: Node, base: bytes, limit: int = 50, offset: int = 0) -> list[fk.Notice]:
    """What federations said to this council, newest first."""
    views = _views(
        node,
        "council=? AND kind='federation.notice' ORDER BY +clock DESC, id LIMIT ? OFFSET ?",
        (base, limit, offset),
    )
    return [v.body for v in views]


def carry_revocations(node: Node, base: bytes) -> int:
    """A member of both a base council and a federation applies, by itself, every
    complete revocation of the base council for a seat in that federation: when the
    base has a second delegate there, a recall takes effect without anyone carrying
    text. Returns how many seats it ended."""
    done = 0
    views = [v for v in fed.mandates(node, base) if v.revocation is not None]
    for view in views:
        federation = view.mandate.federation
        if not _is_member(node, federation):
            continue
        state = node.ingestor.projection.final_state(federation)
        seated = [
            k for k, s in fr.seats(state).items() if s.mandate == view.id and state.is_active(k)
        ]
        if not seated or seated[0] == _me(node, federation) or view.revocation is None:
            continue  # nothing to do, or it is this node's own seat: someone else ends it
        with contextlib.suppress(ShoraError):  # housekeeping never fails on it
            fed.apply_revocation(node, federation, md.to_text(view.revocation, False))
            done += 1
    return done


def keep_up(node: Node, council: bytes) -> None:
    """The delegate's part of housekeeping: for a federation where this node is
    seated, copy down and open ratifications; for a base council, carry results and
    the summary up to each federation where this node holds its seat."""
    if my_seat(node, council) is not None:
        relay_down(node, council)
        open_ratifications(node, council)
    carry_revocations(node, council)
    for federation in _federations_of(node, council):
        report_ratifications(node, federation)
        try:
            post_summary(node, federation)
        except (NotAllowed, NotFound):
            pass


class FederationFlow:
    """What flows between a base council and its federations."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core
