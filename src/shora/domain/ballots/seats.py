"""A secret election seats its winners: the state kind ``ballot.seat`` and its rule.
See docs/ballot-secrecy.md, "Secret elections".

Roles are council state, folded by the kernel from state events alone, while a secret
ballot's count needs content events (anonymous ballots, the tellers' shares). A
``ballot.seat`` is a state event any member may write once the count is final; it
names the vote, the close and the winners. Every replica applies it only if

* recounting the vote from the events in the seat's own causal past (the proposal, its
  causal state's electorate, rules and elected tellers, every ballot, the close, the
  tellers' shares and their proofs: `state.reduce_in_state`) gives a final result,
  fixed by that close, that elects exactly those winners; the causal past never
  changes, so this verdict is the same on every replica and is kept per event;
* it is the first seat of that vote in the total order that passes (later ones are
  refused, so a vote seats once);
* the proposal still stands in the seat's causal state: its author's membership was
  not ended concurrently with it by an ending the seat's author knew of (strong
  removal, as the kernel voids content events; judged on the causal past only, so
  that every replica reaches the same verdict whatever order it folds events in).

So nobody seats anyone the ballots did not elect: a result exists only once k tellers'
shares with valid proofs cover every counted ballot, and the recount is the same pure
count as the vote's page. Pure: the kernel's resolver hands in the content events
(`membership.Content`); no store, no clock.
"""

from __future__ import annotations

from typing import Any

from shora.domain.ballots import kinds as bk
from shora.i18n import N_
from shora.kernel import membership
from shora.kernel.membership import CouncilState, Resolver, StateEvent

SEAT_KIND = "ballot.seat"
SEATED = "ballots.seated"  # CouncilState.ext: secret election -> the seat that stands

# Why a seat is refused (its verdict), for pages and tests.
SEAT_REASONS: dict[str, str] = {
    "no_vote": N_("it names no secret ballot in its causal past"),
    "not_election": N_("the secret ballot it names is no election"),
    "problem": N_("the secret ballot it names cannot be held"),
    "not_counted": N_("the count was not final in its causal past"),
    "other_close": N_("it names another close than the one that fixed the count"),
    "other_winners": N_("the count does not elect exactly the members it names"),
}


def _view(e: membership.ContentEvent) -> Any:
    from shora.domain.decisions.state import EventView

    return EventView(e.id, e.author, e.clock, e.time, e.kind, e.body)


def recount(content: membership.Content, r: Resolver, seat: StateEvent) -> str:
    """The seat's verdict from its causal past alone: "" if the vote it names is a
    secret election whose count there is final, fixed by the close it names, and elects
    exactly its winners; else the reason (a key of SEAT_REASONS)."""
    from shora.domain.ballots.state import (
        Ending,
        cast_verdict,
        elected_keys,
        reduce_in_state,
        ring_of,
        verdict_key,
    )

    body: bk.Seat = seat.body
    propose = content.event(body.proposal)
    past = content.ancestors(seat.id)
    if propose is None or propose.kind != "ballot.propose" or propose.id not in past:
        return "no_vote"
    secret: bk.SecretPropose = propose.body
    if secret.action is None:
        return "not_election"
    causal = r.state_of(content.state_past(propose.id))
    electorate = frozenset(causal.active_members())
    events = [_view(e) for e in content.about(propose.id, tuple(bk.BALLOT_KINDS)) if e.id in past]
    # The ring verdicts this device kept (a page, a teller's duty), under event and ring.
    keyed: dict[bytes, tuple[bytes, Any]] = {}
    for e in events:
        keys = ring_of(electorate, e.body) if e.kind == "ballot.cast" else None
        if keys is not None:
            keyed[verdict_key(e.id, keys)] = (e.id, e.body)
    kept = content.kept(list(keyed))
    cache: dict[bytes, Any] = {k: cast_verdict(keyed[k][1], v or None) for k, v in kept.items()}

    def endings(at: bytes | None) -> list[Ending]:
        """The memberships ended in the causal state of `at` (the close), or of the
        seat: from the events in its past alone."""
        ended = r.state_of(content.state_past(at) if at is not None else seat.heads)
        return [
            Ending(key, m.ended_by, r.events[m.ended_by].time, m.end)
            for key, m in ended.members.items()
            if m.ended_by is not None and m.end is not None and m.ended_by in r.events
        ]

    state = reduce_in_state(_view(propose), causal, events, content.ancestors, cache, endings)
    content.keep({k: cache[k][0] or "" for k in keyed if k in cache and k not in kept})
    if state.problem is not None:
        return "problem"
    elected = elected_keys(state)
    if elected is None:
        return "not_counted"
    if state.closed_by != body.close:
        return "other_close"
    if list(elected) != list(body.winners):
        return "other_winners"
    return ""


def verdict(r: Resolver, seat: StateEvent) -> str:
    """The seat's verdict, kept per event: it depends on its causal past alone."""
    content = r.content
    if content is None:
        return "no_vote"
    found = content.kept([seat.id]).get(seat.id)
    if found is None:
        found = recount(content, r, seat)
        content.keep({seat.id: found})
    return found


def _stands(c: CouncilState, content: membership.Content, proposal: bytes) -> bool:
    """The proposal is not void by strong removal as the seat's causal state knows it:
    each effective ending of its author's membership there is in the proposal's causal
    past or has the proposal in its own. Judged on the seat's causal state `c`, never
    on the total-order state: endings concurrent with the seat would otherwise make the
    verdict depend on the order in which a replica folded them."""
    event = content.event(proposal)
    if event is None or event.author not in c.members:
        return False
    ends = c.ends.get(event.author, frozenset())
    if not ends:
        return True
    past = content.state_past(proposal)
    return all(
        end in past or proposal in c.acknowledged.get(end, ()) or proposal in content.ancestors(end)
        for end in ends
    )


def on_seat(s: CouncilState, ev: StateEvent, c: CouncilState, r: Resolver) -> set[bytes] | None:
    from shora.domain.governance.rules import seat

    body: bk.Seat = ev.body
    seated: dict[bytes, bytes] = s.ext.get(SEATED, {})
    if body.proposal in seated or r.content is None:
        return None
    if verdict(r, ev) != "":
        return None
    if not _stands(c, r.content, body.proposal):
        return None
    propose = r.content.event(body.proposal)
    assert propose is not None  # the verdict found it
    action = propose.body.action
    s.ext[SEATED] = {**seated, body.proposal: ev.id}
    seat(s, ev, action, [bytes(w) for w in body.winners])
    return set()


def register() -> None:
    """Register the seat with the kernel: shora.node calls it once, from its
    KIND_MODULES; importing this module registers nothing."""
    membership.register_state_kind(SEAT_KIND, bk.Seat, on_seat, ref=lambda body: body.proposal)
