"""Secret ballots as pure functions of their events (shora.domain.ballots.state),
with the real cryptography and synthetic events: random members, re-votes, k-of-n
tellers of whom some withhold; any order of the same events gives the same state,
and the result is the open count of each member's ballot with the highest signed
sequence, however copies of any ballot are re-published. And what a coalition
of k-1 tellers sees does not depend on how two members voted (docs/ballot-secrecy.md)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Set
from typing import Any

import nacl.bindings as sodium
from hypothesis import given, settings
from hypothesis import strategies as st

from shora.domain.ballots import kinds as bk
from shora.domain.ballots.state import Tellers, context, encode_ballot, message, reduce_secret
from shora.domain.decisions import kinds as dk
from shora.domain.decisions.state import EventView
from shora.kernel import crypto, curve, ring, threshold

T0 = 1_800_000_000
MS = 1000
BODY = dk.Propose(title="Strike?", text="", method="yes_no", deadline=T0 + 3600)
VOTES = ("yes", "no", "abstain")


class World:
    """Members with keys, tellers, and the events of one secret ballot."""

    def __init__(self, rnd: random.Random, n_members: int, n_tellers: int, k: int) -> None:
        self.rnd = rnd
        self.members = []
        for i in range(n_members):
            seed = hashlib.sha256(b"m%d-%d" % (i, rnd.getrandbits(32))).digest()
            pk, sk = sodium.crypto_sign_seed_keypair(seed)
            kx_pk, kx_sk = crypto.kx_keypair()
            self.members.append((bytes(pk), curve.ed25519_scalar(bytes(sk)), kx_pk, kx_sk))
        self.tellers = self.members[:n_tellers]
        self.k = k
        self.pid = hashlib.sha256(b"proposal%d" % rnd.getrandbits(32)).digest()
        self.events: list[EventView] = []
        self.clock = 1
        secret = bk.SecretPropose(proposal=BODY, tellers=[t[0] for t in self.tellers], needed=k)
        self.propose = EventView(self.pid, self.members[0][0], 0, T0 * MS, "ballot.propose", secret)
        self.dealings = [threshold.deal(k) for _ in self.tellers]
        for (pk, _x, _kx, _ks), dealing in zip(self.tellers, self.dealings, strict=True):
            shares = [
                crypto.seal(t[2], curve.scalar(dealing.share_for(j)))
                for j, t in enumerate(self.tellers, 1)
            ]
            self.add(pk, "ballot.deal", bk.Deal(self.pid, list(dealing.commitments), shares))
        commitments = [d.commitments for d in self.dealings]
        self.key = threshold.joint_key(commitments)
        for pk, *_ in self.tellers:
            self.add(pk, "ballot.ready", bk.Ready(self.pid, self.key))
        self.secrets = {
            j: sum(d.share_for(j) for d in self.dealings) % curve.L for j in range(1, n_tellers + 1)
        }

    def add(self, author: bytes, kind: str, body: Any, time: int | None = None) -> EventView:
        eid = hashlib.sha256(b"%d" % self.clock + author + kind.encode()).digest()
        view = EventView(eid, author, self.clock, time or (T0 + self.clock) * MS, kind, body)
        self.clock += 1
        self.events.append(view)
        return view

    @property
    def ring(self) -> list[bytes]:
        return sorted(m[0] for m in self.members)

    def vote(self, who: int, vote: str, sequence: int | None = None) -> bk.Cast:
        """Cast a ballot; its sequence by default the clock (later ballots go higher)."""
        _pk, x, _kx, _ks = self.members[who]
        ctx = context(self.pid)
        image = ring.key_image(x, ctx)
        ct = threshold.encrypt(self.key, encode_ballot(dk.YesNoBallot(vote)), ctx, image).encode()  # type: ignore[arg-type]
        seq = self.clock if sequence is None else sequence
        sig = ring.sign(message(self.pid, ct, seq), self.ring, x, ctx)
        body = bk.Cast(self.pid, sig.encode(), ct, seq)
        self.add(crypto.sign_keypair()[0], "ballot.cast", body)
        return body

    def republish(self, body: bk.Cast, clock: int, time: int) -> None:
        """What anyone holding the epoch key can do: the same ballot in a new event,
        under a new one-time key, on a clock and claimed time of their choosing."""
        eid = hashlib.sha256(b"copy%d" % self.rnd.getrandbits(64)).digest()
        author = crypto.sign_keypair()[0]
        self.events.append(EventView(eid, author, clock, time, "ballot.cast", body))

    def ancestors(self, eid: bytes) -> Set[bytes]:
        clock = next(e.clock for e in self.events if e.id == eid)
        return {e.id for e in self.events if e.clock < clock}

    def state(self, events: list[EventView] | None = None) -> Any:
        return reduce_secret(
            self.propose,
            BODY,
            frozenset(m[0] for m in self.members),
            events or self.events,
            self.ancestors,
            Tellers(tuple(self.propose.body.tellers), self.propose.body.needed),
        )

    def close_and_decrypt(self, publishing: list[int]) -> None:
        close = self.add(
            self.members[0][0], "ballot.close", bk.Close(self.pid), time=(T0 + 7200) * MS
        )
        state = self.state()
        a_s = [b.ciphertext.a for b in state.ballots]
        if not a_s:
            return
        for j in publishing:
            d_s, proof = threshold.decryption_shares(self.secrets[j], a_s, context(self.pid))
            body = bk.Decrypt(self.pid, close.id, 0, d_s, proof.encode())
            self.add(self.tellers[j - 1][0], "ballot.decrypt", body, time=(T0 + 7300) * MS)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    n_members=st.integers(2, 6),
    n_tellers=st.integers(1, 3),
    data=st.data(),
)
def test_every_order_gives_the_same_result_as_an_open_count(
    seed: int, n_members: int, n_tellers: int, data: st.DataObject
) -> None:
    rnd = random.Random(seed)
    n_tellers = min(n_tellers, n_members)
    k = data.draw(st.integers(1, n_tellers))
    world = World(rnd, n_members, n_tellers, k)
    last: dict[int, str] = {}
    for _ in range(data.draw(st.integers(0, 2 * n_members))):
        who, vote = rnd.randrange(n_members), rnd.choice(VOTES)
        world.vote(who, vote)
        last[who] = vote  # a re-vote replaces the earlier ballot
    publishing = sorted(rnd.sample(range(1, n_tellers + 1), rnd.randint(0, n_tellers)))
    world.close_and_decrypt(publishing)
    state = world.state()
    shuffled = list(world.events)
    rnd.shuffle(shuffled)
    assert world.state(shuffled + shuffled[:3]) == state  # any order, duplicates too
    assert len(state.ballots) == len(last)
    if len(publishing) >= k or not last:
        assert state.final
        votes = list(last.values())
        assert (state.result.yes, state.result.no, state.result.abstain) == (
            votes.count("yes"),
            votes.count("no"),
            votes.count("abstain"),
        )
    else:
        assert state.result is None and state.opened == ()


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32), n_members=st.integers(1, 5), data=st.data())
def test_each_members_highest_sequence_counts_whatever_is_re_published_when(
    seed: int, n_members: int, data: st.DataObject
) -> None:
    """Members cast ballots with sequences of their own choosing (ties included), in
    any order; anyone re-publishes copies of any of them at any clock and claimed
    time before the deadline. The count is the open count of each member's ballot
    with the highest sequence (at one sequence, the lesser ciphertext), in every
    order of the events, and no copy is refused or asks anyone to vote again."""
    rnd = random.Random(seed)
    world = World(rnd, n_members, 1, 1)
    cast: list[tuple[int, bk.Cast, str]] = []
    for _ in range(data.draw(st.integers(0, 3 * n_members))):
        who, vote = rnd.randrange(n_members), rnd.choice(VOTES)
        cast.append((who, world.vote(who, vote, sequence=rnd.randint(0, 4)), vote))
    for _ in range(data.draw(st.integers(0, 6)) if cast else 0):
        _who, body, _vote = rnd.choice(cast)
        time = rnd.randint(T0 * MS, BODY.deadline * MS)
        world.republish(body, rnd.randint(1, world.clock), time)
    best: dict[int, tuple[int, bytes, str]] = {}
    for who, body, vote in cast:
        held = best.get(who)
        if held is None or (body.sequence, held[1]) > (held[0], body.ciphertext):
            best[who] = (body.sequence, body.ciphertext, vote)
    world.close_and_decrypt([1])
    state = world.state()
    shuffled = list(world.events)
    rnd.shuffle(shuffled)
    assert world.state(shuffled) == state
    assert state.refused == () and state.recast == frozenset()
    assert sorted(b.sequence for b in state.ballots) == sorted(s for s, _c, _v in best.values())
    assert state.final
    votes = [v for _s, _c, v in best.values()]
    assert (state.result.yes, state.result.no, state.result.abstain) == (
        votes.count("yes"),
        votes.count("no"),
        votes.count("abstain"),
    )


def coalition_view(world: World, coalition: list[int]) -> list[tuple[bytes, bytes | None]]:
    """What k-1 tellers can compute of each counted ballot: their combined shares, and
    whether the box opens with them (it must not)."""
    state = world.state()
    out = []
    for b in state.ballots:
        shares = {j: curve.mul(world.secrets[j], b.ciphertext.a) for j in coalition}
        opened = (
            threshold.open_box(threshold.combine(shares), b.ciphertext, context(world.pid))
            if shares
            else None
        )
        out.append((b.image, opened))
    return out


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_k_minus_one_tellers_see_the_same_under_two_swapped_votes(seed: int) -> None:
    """Two worlds alike but for members 1 and 2 swapping their votes: the coalition of
    k-1 tellers (with every member's public key) sees the same key images, the same
    ballot sizes, the same refusals and result, and opens no ballot in either."""
    views = []
    for swap in (False, True):
        world = World(random.Random(seed), 5, 3, 2)
        votes = ["yes", "no", "yes", "abstain", "no"]
        if swap:
            votes[1], votes[2] = votes[2], votes[1]
        for who, vote in enumerate(votes):
            world.vote(who, vote)
        world.close_and_decrypt([1, 3])
        state = world.state()
        view = coalition_view(world, [1])
        assert all(opened is None for _image, opened in view)
        sizes = sorted(len(b.ciphertext.box) for b in state.ballots)
        views.append(
            (
                sorted(image for image, _o in view),
                sizes,
                state.refused,
                (state.result.yes, state.result.no, state.result.abstain),
            )
        )
    assert views[0] == views[1]
