"""Threshold pledges as pure functions of their events (shora.domain.pledges.state),
with real ring signatures and a synthetic causal history: pledges and withdrawals from
random members on random branches. Any delivery order of the same events gives every
replica the same count and the same moment the threshold was met; a replica holding
part of the history (any causally closed part) that sees the threshold met is never
contradicted by the whole; once met the count never falls below the threshold; and a
withdrawal counts only from the causal past of that moment (docs/pledges.md)."""

from __future__ import annotations

import hashlib
import random

import nacl.bindings as sodium
from hypothesis import given, settings
from hypothesis import strategies as st

from shora.domain.decisions.state import EventView
from shora.domain.pledges import kinds as pk
from shora.domain.pledges.state import context, message, reduce_campaign
from shora.kernel import crypto, curve, ring

T0 = 1_800_000_000
MS = 1000


class World:
    """Members with keys, a campaign, and a causal history of its pledges."""

    def __init__(self, rnd: random.Random, n_members: int, people: int) -> None:
        self.rnd = rnd
        self.members = []
        for i in range(n_members):
            seed = hashlib.sha256(b"m%d-%d" % (i, rnd.getrandbits(32))).digest()
            pk_, sk = sodium.crypto_sign_seed_keypair(seed)
            self.members.append((bytes(pk_), curve.ed25519_scalar(bytes(sk))))
        self.cid = hashlib.sha256(b"campaign%d" % rnd.getrandbits(32)).digest()
        body = pk.Start(action="Stop work", people=people, deadline=T0 + 3600)
        self.start = EventView(self.cid, self.members[0][0], 1, T0 * MS, "pledge.start", body)
        self.events: list[EventView] = []
        self.parents: dict[bytes, list[bytes]] = {self.cid: []}
        self.steps = [0] * n_members
        self.n = 0

    @property
    def ring(self) -> list[bytes]:
        return sorted(m[0] for m in self.members)

    def ancestors(self, event: bytes) -> set[bytes]:
        found: set[bytes] = set()
        stack = list(self.parents[event])
        while stack:
            e = stack.pop()
            if e not in found:
                found.add(e)
                stack.extend(self.parents[e])
        return found

    def add(self, kind: str, body: object) -> None:
        known = [self.cid, *(e.id for e in self.events)]
        parents = self.rnd.sample(known, k=min(len(known), self.rnd.randint(1, 3)))
        clocks = {e.id: e.clock for e in self.events} | {self.cid: 1}
        clock = 1 + max(clocks[p] for p in parents)
        self.n += 1
        eid = hashlib.sha256(b"%d" % self.n + self.cid).digest()
        self.parents[eid] = parents
        time = (T0 + self.n) * MS
        author = crypto.sign_keypair()[0]
        self.events.append(EventView(eid, author, clock, time, kind, body))

    def move(self, who: int) -> None:
        """The member's next step: pledge if they stand withdrawn, withdraw if pledged
        (a modified client withdraws whatever it has seen); now and then a copy."""
        if self.steps[who] and self.rnd.random() < 0.15:
            step = self.steps[who]
        else:
            self.steps[who] += 1
            step = self.steps[who]
        kind = "pledge.take" if step % 2 else "pledge.withdraw"
        x = self.members[who][1]
        sig = ring.sign(message(self.cid, kind, step), self.ring, x, context(self.cid))
        schema = pk.Take if step % 2 else pk.Withdraw
        self.add(kind, schema(self.cid, step, sig.encode()))

    def closed_part(self) -> list[EventView]:
        """A causally closed part of the history: what some replica might hold."""
        keep = self.rnd.sample(self.events, k=self.rnd.randint(0, len(self.events)))
        ids = set()
        for e in keep:
            ids |= {e.id} | self.ancestors(e.id)
        return [e for e in self.events if e.id in ids]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    n_members=st.integers(2, 5),
    moves=st.integers(1, 14),
    data=st.data(),
)
def test_every_order_gives_the_same_count_and_met_moment(
    seed: int, n_members: int, moves: int, data: st.DataObject
) -> None:
    rnd = random.Random(seed)
    people = data.draw(st.integers(1, n_members))
    world = World(rnd, n_members, people)
    for _ in range(moves):
        if rnd.random() < 0.1:
            world.add("pledge.mark", pk.Mark(world.cid))
        else:
            world.move(rnd.randrange(n_members))
    electorate = frozenset(world.ring)
    states = []
    for _ in range(3):
        order = list(world.events)
        rnd.shuffle(order)
        states.append(reduce_campaign(world.start, electorate, order, world.ancestors))
    assert states[0] == states[1] == states[2]
    whole = states[0]
    if whole.met:
        assert whole.count >= people
        assert whole.met_by is not None
        past = world.ancestors(whole.met_by) | {whole.met_by}
        by_id = {e.id: e for e in world.events}
        for eid in past & set(by_id):
            assert by_id[eid].order <= by_id[whole.met_by].order
    part = reduce_campaign(world.start, electorate, world.closed_part(), world.ancestors)
    if part.met:
        assert whole.met  # a replica told "met" is never contradicted by more events
        by_id = {e.id: e for e in world.events}
        assert whole.met_by is not None and part.met_by is not None
        assert by_id[whole.met_by].order <= by_id[part.met_by].order
