"""Threshold pledges with members removed after the campaign started (docs/pledges.md
§3, "Removal after the start"), as pure functions of their events: random members
(the removed ones too) pledge and withdraw on random branches, over rings that leave
out random removed members; each removal sits at a random place in the causal history.
Every order of the same events gives the same state; a replica holding a causally
closed part that sees the threshold met is never contradicted by the whole; and at the
moment it is met, its causal past holds enough pledges that the rule lets stand there:
in the past of every removal in that causal past, or over a ring leaving its member
out."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st
from test_pledges_props import MS, World

from shora.domain.anonymous import Ending
from shora.domain.decisions.state import EventView
from shora.domain.pledges import kinds as pk
from shora.domain.pledges.state import Campaign, context, message, reduce_campaign
from shora.kernel import ring


class RemovalWorld(World):
    """A World whose members may be removed after the campaign started."""

    def __init__(self, rnd: random.Random, n_members: int, people: int) -> None:
        super().__init__(rnd, n_members, people)
        self.endings: list[Ending] = []
        self.removed: set[bytes] = set()
        self.withouts: dict[bytes, frozenset[bytes]] = {}

    def remove(self, who: int) -> None:
        known = [self.cid, *(e.id for e in self.events), *(e.event for e in self.endings)]
        parents = self.rnd.sample(known, k=min(len(known), self.rnd.randint(1, 3)))
        eid = hashlib.sha256(b"removal%d" % len(self.endings) + self.cid).digest()
        self.parents[eid] = parents
        member = self.members[who][0]
        self.endings.append(Ending(member, eid, (self.start.body.deadline - 60) * MS, "removed"))
        self.removed.add(member)

    def add(self, kind: str, body: object) -> None:
        # like World.add, but a move may also follow a removal
        before = len(self.events)
        super().add(kind, body)
        if self.endings and self.rnd.random() < 0.5:
            eid = self.events[before].id
            self.parents[eid] = [*self.parents[eid], self.rnd.choice(self.endings).event]

    def move_over(self, who: int) -> None:
        self.steps[who] += 1
        step = self.steps[who]
        kind = "pledge.take" if step % 2 else "pledge.withdraw"
        me = self.members[who][0]
        without = frozenset(k for k in self.removed - {me} if self.rnd.random() < 0.6)
        keys = sorted(set(self.ring) - without)
        sig = ring.sign(
            message(self.cid, kind, step), keys, self.members[who][1], context(self.cid)
        )
        schema = pk.Take if step % 2 else pk.Withdraw
        self.add(kind, schema(self.cid, step, sig.encode(), sorted(without)))
        self.withouts[self.events[-1].id] = without

    def ended(self, at: bytes | None) -> Iterable[Ending]:
        if at is None:
            return list(self.endings)
        past = self.ancestors(at)
        return [e for e in self.endings if e.event in past]


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    n_members=st.integers(3, 5),
    moves=st.integers(1, 12),
    data=st.data(),
)
def test_every_order_gives_the_same_met_moment_with_members_removed(
    seed: int, n_members: int, moves: int, data: st.DataObject
) -> None:
    rnd = random.Random(seed)
    people = data.draw(st.integers(1, n_members))
    world = RemovalWorld(rnd, n_members, people)
    for _ in range(moves):
        r = rnd.random()
        if r < 0.1:
            world.add("pledge.mark", pk.Mark(world.cid))
        elif r < 0.25 and len(world.endings) < 2:
            world.remove(rnd.randrange(1, n_members))
        else:
            world.move_over(rnd.randrange(n_members))
    electorate = frozenset(world.ring)

    def reduce(events: list[EventView]) -> Campaign:
        return reduce_campaign(world.start, electorate, events, world.ancestors, None, world.ended)

    states = []
    for _ in range(3):
        order = list(world.events)
        rnd.shuffle(order)
        states.append(reduce(order + order[:2]))
    assert states[0] == states[1] == states[2]
    whole = states[0]
    assert whole.removed == {e.member for e in world.endings}
    if whole.met:
        met_by = whole.met_by
        past = world.ancestors(met_by) | {met_by}
        endings = [(e.member, world.ancestors(e.event)) for e in world.ended(met_by)]
        top: dict[bytes, tuple[int, bool]] = {}
        by_id = {e.id: e for e in world.events}
        for eid in past & set(by_id):
            e = by_id[eid]
            if e.kind == "pledge.mark":
                continue
            image = ring.Signature.decode(e.body.signature).image
            stands = e.kind == "pledge.withdraw" or all(
                eid in seen or m in world.withouts[eid] for m, seen in endings
            )
            if stands and e.body.step > top.get(image, (0, False))[0]:
                top[image] = (e.body.step, e.body.step % 2 == 1)
        assert sum(1 for _s, pledged in top.values() if pledged) >= people
        assert whole.count >= people
    part = reduce(world.closed_part())
    if part.met:
        assert whole.met
        by_id = {e.id: e for e in world.events}
        assert by_id[whole.met_by].order <= by_id[part.met_by].order
