"""Secret ballots with members removed after the proposal (docs/ballot-secrecy.md §5),
as pure functions of their events: random members (the removed ones too) vote and
vote again over rings that leave out random removed members; each removal has seen a
random part of the ballots, and is claimed before or after the deadline. Every order
of the same events gives the same state, and the result is the open count of each
member's last ballot that the rule lets stand: one the removal's author had seen, or
whose ring leaves the removed member out, or any ballot if the removal came after the
deadline."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Set
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_ballots_props import BODY, MS, VOTES, World

from shora.domain.ballots import kinds as bk
from shora.domain.ballots.state import (
    Ending,
    Tellers,
    context,
    encode_ballot,
    message,
    reduce_secret,
)
from shora.domain.decisions import kinds as dk
from shora.domain.decisions.state import EventView
from shora.kernel import crypto, ring, threshold


class RemovalWorld(World):
    """A World whose members may be removed after the proposal."""

    def __init__(self, rnd: random.Random, n_members: int, n_tellers: int, k: int) -> None:
        super().__init__(rnd, n_members, n_tellers, k)
        self.endings: list[Ending] = []
        self.seen_by: dict[bytes, set[bytes]] = {}  # ending -> the events it had seen
        self.cast: list[tuple[bytes, int, str, frozenset[bytes]]] = []  # id, who, vote, without

    def vote_over(self, who: int, vote: str, without: frozenset[bytes]) -> None:
        _pk, x, _kx, _ks = self.members[who]
        ctx = context(self.pid)
        image = ring.key_image(x, ctx)
        ballot = dk.YesNoBallot(vote)  # type: ignore[arg-type]
        ct = threshold.encrypt(self.key, encode_ballot(ballot), ctx, image).encode()
        keys = sorted(set(self.ring) - without)
        sig = ring.sign(message(self.pid, ct, self.clock), keys, x, ctx)
        body = bk.Cast(self.pid, sig.encode(), ct, self.clock, sorted(without))
        view = self.add(crypto.sign_keypair()[0], "ballot.cast", body)
        self.cast.append((view.id, who, vote, without))

    def remove(self, who: int, seen: set[bytes], time_ms: int) -> None:
        eid = hashlib.sha256(b"removal%d" % len(self.endings) + self.members[who][0]).digest()
        self.endings.append(Ending(self.members[who][0], eid, time_ms, "removed"))
        self.seen_by[eid] = seen

    def ancestors(self, eid: bytes) -> Set[bytes]:
        if eid in self.seen_by:
            return self.seen_by[eid]
        return super().ancestors(eid)

    def ended(self, _at: bytes | None) -> Iterable[Ending]:
        return list(self.endings)

    def state(self, events: list[EventView] | None = None) -> Any:
        return reduce_secret(
            self.propose,
            BODY,
            frozenset(m[0] for m in self.members),
            events or self.events,
            self.ancestors,
            Tellers(tuple(self.propose.body.tellers), self.propose.body.needed),
            endings=self.ended,
        )


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32), n_members=st.integers(3, 6), n_removed=st.integers(1, 2))
def test_every_order_gives_the_same_count_with_members_removed(
    seed: int, n_members: int, n_removed: int
) -> None:
    rnd = random.Random(seed)
    world = RemovalWorld(rnd, n_members, 2, 2)
    removed = rnd.sample(range(2, n_members), min(n_removed, n_members - 2))  # not tellers
    removed_keys = {world.members[r][0] for r in removed}
    for _ in range(rnd.randint(1, 2 * n_members)):
        who = rnd.randrange(n_members)
        others = sorted(removed_keys - {world.members[who][0]})
        without = frozenset(k for k in others if rnd.random() < 0.5)
        world.vote_over(who, rnd.choice(VOTES), without)
    for r in removed:
        seen = {c[0] for c in world.cast if rnd.random() < 0.5}
        late = rnd.random() < 0.25
        world.remove(r, seen, (BODY.deadline + (60 if late else -60)) * MS)
    world.close_and_decrypt([1, 2])
    state = world.state()
    for _ in range(3):
        shuffled = list(world.events)
        rnd.shuffle(shuffled)
        assert world.state(shuffled + shuffled[:2]) == state  # any order, duplicates too

    def stands(eid: bytes, without: frozenset[bytes]) -> bool:
        return all(
            eid in world.seen_by[e.event] or e.member in without
            for e in world.endings
            if e.time <= BODY.deadline * MS
        )

    last: dict[int, str] = {}
    for eid, who, vote, without in world.cast:  # in clock order
        if stands(eid, without):
            last[who] = vote
    assert state.removed == {e.member for e in world.endings if e.time <= BODY.deadline * MS}
    assert len(state.ballots) == len(last)
    assert state.final
    votes = list(last.values())
    assert (state.result.yes, state.result.no, state.result.abstain) == (
        votes.count("yes"),
        votes.count("no"),
        votes.count("abstain"),
    )
    refused = sum(1 for eid, _w, _v, without in world.cast if not stands(eid, without))
    assert dict(state.refused).get("removed", 0) == refused
