"""Secret ballots against a member whose client signs anything (docs/ballot-secrecy.md,
docs/threat-model.md): a second vote under a forged key image, a removed member's
ballot, a member's earlier ballot re-published to undo their change of vote, a ballot
replayed into another proposal, a copied encrypted ballot, malformed
proofs, a teller publishing a wrong decryption share, and shares before the close.
Every honest replica refuses each with its reason and counts the same result."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec
import pytest
from test_ballots import elect_tellers

from attacks.adversary import Adversary, Forged
from conftest import T0, Clock, admit, everyone, make_node, send
from shora.domain.ballots import kinds as bk
from shora.domain.ballots.state import context, encode_ballot, message
from shora.domain.decisions import kinds as dk
from shora.errors import NotAllowed
from shora.kernel import crypto, curve, ring, threshold
from shora.kernel.kinds import Rules
from shora.node import Node

DAY = 86_400
YES, NO = dk.YesNoBallot("yes"), dk.YesNoBallot("no")


def council_of(root: Path, n: int, rules: Rules | None = None) -> tuple[list[Node], bytes, Clock]:
    """n members on one clock; the first three elected tellers (2 of 3 count)."""
    clock = Clock()
    people = [make_node(root, f"m{i}") for i in range(n)]
    for person in people:
        person.now = clock
    council = people[0].councils.create("Factory floor", "", "m0", rules)
    for i, person in enumerate(people[1:], start=1):
        admit(people[0], person, council, f"m{i}")
    everyone(people)
    elect_tellers(people, council, clock, people[:3])
    return people, council, clock


def secret_vote(nodes: Sequence[Node], council: bytes, tellers: Sequence[Node]) -> bytes:
    body = dk.Propose(title="Strike on Monday?", text="", method="yes_no", deadline=T0 + DAY)
    pid = tellers[0].ballots.propose(council, body)
    everyone(list(nodes))
    for _ in range(2):
        for teller in tellers:
            teller.ballots.take_part(council, pid)
        everyone(list(nodes))
    return pid


def anonymous(adv: Adversary, body: msgspec.Struct, **kw: int) -> Forged:
    return adv.forge("ballot.cast", body, author=crypto.sign_keypair(), **kw)


def deliver(nodes: Sequence[Node], *forged: Forged) -> None:
    for node in nodes:
        node.bundles.import_envelopes([f.raw for f in forged])


def forge_lsag(msg: bytes, keys: list[bytes], x: int, ctx: bytes, image: bytes) -> ring.Signature:
    """LSAG's signing steps with a key image of the forger's choosing."""
    n, h = len(keys), ring.image_base(ctx)
    pi = keys.index(curve.base(x))
    prefix = ring._prefix(ctx, keys, image, msg)
    alpha = curve.random_scalar()
    c, s = [0] * n, [0] * n
    c[(pi + 1) % n] = ring._challenge(prefix, curve.base(alpha), curve.mul(alpha, h))
    i = (pi + 1) % n
    while i != pi:
        s[i] = curve.random_scalar()
        left = curve.base_plus(s[i], c[i], keys[i])
        right = curve.lincomb(s[i], h, c[i], image)
        c[(i + 1) % n] = ring._challenge(prefix, left, right)
        i = (i + 1) % n
    s[pi] = (alpha - c[pi] * x) % curve.L
    return ring.Signature(image, curve.scalar(c[0]), tuple(curve.scalar(v) for v in s))


def cast_body(
    node: Node,
    council: bytes,
    pid: bytes,
    ballot: dk.Ballot,
    keys: list[bytes],
    image: bytes | None = None,
    reader: Node | None = None,
    sequence: int = 1,
) -> bk.Cast:
    state = (reader or node).ballots.ballot(council, pid)
    assert state.key is not None
    x = curve.ed25519_scalar(node.identity(council).sign_sk)
    ctx = context(pid)
    img = image or ring.key_image(x, ctx)
    ct = threshold.encrypt(state.key, encode_ballot(ballot), ctx, img).encode()
    if image is None:
        sig = ring.sign(message(pid, ct, sequence), keys, x, ctx)
    else:
        sig = forge_lsag(message(pid, ct, sequence), keys, x, ctx, image)
    return bk.Cast(pid, sig.encode(), ct, sequence)


def close_and_count(
    nodes: Sequence[Node], council: bytes, pid: bytes, clock: Clock, tellers: Sequence[Node]
) -> None:
    clock.t = nodes[0].ballots.ballot(council, pid).closes_at
    nodes[0].ballots.close(council, pid)
    everyone(list(nodes))
    for teller in tellers:
        teller.ballots.take_part(council, pid)
    everyone(list(nodes))


def test_a_second_vote_under_a_forged_key_image_is_refused(tmp_path: Path) -> None:
    nodes, council, clock = council_of(tmp_path, 3)
    a, b, c = nodes
    pid = secret_vote(nodes, council, nodes)
    adv = Adversary(c, council)
    keys = sorted(a.ballots.ballot(council, pid).eligible)
    c.ballots.vote(council, pid, YES, delay=0)  # the honest first vote
    other = curve.add(
        ring.key_image(curve.ed25519_scalar(c.identity(council).sign_sk), context(pid)),
        curve.base(7),
    )
    forged = [anonymous(adv, cast_body(c, council, pid, YES, keys, image=other))]
    # and a signature by a key outside the ring, presented over the members' ring
    stranger = curve.random_scalar()
    ct = cast_body(a, council, pid, YES, keys).ciphertext
    bad = ring.sign(
        message(pid, ct, 1), sorted([*keys[:2], curve.base(stranger)]), stranger, context(pid)
    )
    forged.append(anonymous(adv, bk.Cast(pid, bad.encode(), ct, 1)))
    deliver(nodes, *forged)
    a.ballots.vote(council, pid, NO, delay=0)
    everyone(nodes)
    for node in nodes:
        state = node.ballots.ballot(council, pid)
        assert len(state.ballots) == 2 and dict(state.refused) == {"not_in_electorate": 2}
    close_and_count(nodes, council, pid, clock, [a, b])
    states = [n.ballots.ballot(council, pid) for n in nodes]
    assert states[0] == states[1] == states[2]
    assert (states[0].result.yes, states[0].result.no) == (1, 1)


def test_a_removed_members_ballot_is_refused(tmp_path: Path) -> None:
    nodes, council, _clock = council_of(tmp_path, 4)
    a, b, c, d = nodes
    informer = Adversary(d, council)  # keeps every key it held
    d_key = d.me(council)
    assert d_key is not None
    a.membership.remove(council, d_key, "informer")
    send(a, b)
    assert b.membership.remove(council, d_key, "informer").admitted
    everyone([a, b, c])
    pid = secret_vote([a, b, c], council, [a, b, c])
    state = a.ballots.ballot(council, pid)
    assert d_key not in state.eligible
    # a friend in the council tells the informer the proposal and its key
    keys = sorted([*state.eligible, d_key])  # her own key slipped into the ring
    forged = anonymous(informer, cast_body(d, council, pid, NO, keys, reader=a))
    deliver([a, b, c], forged)
    for node in (a, b, c):
        refused = dict(node.ballots.ballot(council, pid).refused)
        assert refused == {"not_in_electorate": 1}
        assert node.ballots.ballot(council, pid).ballots == ()


def test_a_member_removed_after_the_proposal_cannot_cast_a_ballot_that_counts(
    tmp_path: Path,
) -> None:
    """The informer is in the vote's ring (a member when it was proposed), then removed.
    Their modified client signs over the old ring, picks parents from before the removal
    and claims a time before it (under the old epoch, whose keys it kept); a friend still
    in the council re-wraps the same ballot under the new epoch. Nobody can tell the
    ballot is theirs, but its ring holds a member removed before the deadline and the
    removal's authors had not seen it: every replica refuses it ("removed") at the
    close, whatever order the events came in. Leaving out someone else does not help:
    the signer must be in the ring."""
    nodes, council, clock = council_of(tmp_path, 5)
    a, b, c, d, e = nodes
    pid = secret_vote(nodes, council, [a, b, c])
    informer, friend = Adversary(d, council), Adversary(e, council)
    d_key, a_key = d.me(council), a.me(council)
    assert d_key is not None and a_key is not None
    electorate = sorted(a.ballots.ballot(council, pid).eligible)
    before, time_before = informer.heads(), int(d.now() * 1000)
    a.ballots.vote(council, pid, NO, delay=0)
    clock.t += 60
    a.membership.remove(council, d_key, "informer")
    send(a, b)
    assert b.membership.remove(council, d_key, "informer").admitted
    everyone([a, b, c, e])
    honest = [a, b, c]
    old_ring = cast_body(d, council, pid, YES, electorate, reader=a)
    smaller = [k for k in electorate if k != a_key]
    other = cast_body(d, council, pid, YES, smaller, reader=a)
    other = bk.Cast(other.proposal, other.signature, other.ciphertext, other.sequence, [a_key])
    forged = [
        anonymous(informer, old_ring, parents=before, time_ms=time_before),
        anonymous(informer, other, parents=before, time_ms=time_before + 1),
        anonymous(friend, old_ring),  # re-wrapped under the new epoch, on today's heads
    ]
    for node in honest:
        node.bundles.import_envelopes([f.raw for f in reversed(forged)])
    everyone([*honest, e])
    for node in honest:
        state = node.ballots.ballot(council, pid)
        assert state.removed == {d_key} and len(state.ballots) == 1
        assert dict(state.refused) == {"removed": 3}
    close_and_count([*honest, e], council, pid, clock, [a, b, c])
    for node in honest:
        state = node.ballots.ballot(council, pid)
        assert state.final and (state.result.yes, state.result.no) == (0, 1)
        assert "removed" in dict(state.refused)
        assert not state.counted(
            ring.key_image(curve.ed25519_scalar(d.identity(council).sign_sk), context(pid))
        )


def test_an_informer_re_publishing_a_members_first_ballot_does_not_undo_their_change(
    tmp_path: Path,
) -> None:
    """The informer holds the epoch key, so it can wrap any ballot it has seen in a new
    anonymous event, on today's heads (a higher clock) or on old ones, at any claimed
    time before the deadline. The order of one voter's ballots is the sequence inside
    their ring signature, which the informer cannot change: b's change of vote stands."""
    nodes, council, clock = council_of(tmp_path, 4)
    a, b, c, d = nodes
    informer = Adversary(d, council)
    pid = secret_vote(nodes, council, [a, b, c])
    b_image = ring.key_image(curve.ed25519_scalar(b.identity(council).sign_sk), context(pid))
    old_heads = informer.heads()
    b.ballots.vote(council, pid, YES, delay=0)
    everyone(nodes)
    row = d.store.events.valid_of_kind(council, "ballot.cast")[0]
    first = msgspec.msgpack.decode(row[5], type=bk.Cast)
    clock.t += 600
    b.ballots.vote(council, pid, NO, delay=0)  # b changes their mind
    a.ballots.vote(council, pid, NO, delay=0)
    everyone(nodes)
    clock.t = T0 + DAY - 1  # just before the deadline: no time left to vote again
    copies = [
        anonymous(informer, first),  # on today's heads: the highest clock of b's ballots
        anonymous(informer, first, parents=old_heads),  # on old heads, the latest time
    ]
    for node in nodes:  # every replica, each in its own order
        node.bundles.import_envelopes([f.raw for f in copies[:: 1 if node is b else -1]])
    everyone(nodes)
    for node in nodes:
        state = node.ballots.ballot(council, pid)
        assert len(state.ballots) == 2 and state.replaced == 1 and state.refused == ()
        assert state.recast == frozenset()
        mine = next(x for x in state.ballots if x.image == b_image)
        assert mine.sequence == state.sequence_of(b_image) > first.sequence
    close_and_count(nodes, council, pid, clock, [a, b, c])
    for node in nodes:
        state = node.ballots.ballot(council, pid)
        assert state.final and (state.result.yes, state.result.no) == (0, 2)
    mine_now = b.ballots.my_ballot(council, pid)
    assert mine_now.counted and mine_now.read == NO and not mine_now.recast


def test_a_copy_of_a_ballot_after_a_removal_asks_nobody_to_vote_again(tmp_path: Path) -> None:
    """c's ballot was seen by the removal's authors and counts; a member re-wraps it
    after the removal. The copy is refused ("removed"), but it carries c's ballot's own
    sequence: c is not asked to vote again, and c's ballot still counts."""
    nodes, council, _clock = council_of(tmp_path, 4)
    a, b, c, d = nodes
    pid = secret_vote(nodes, council, [a, b, c])
    c.ballots.vote(council, pid, NO, delay=0)
    everyone(nodes)
    d_key = d.me(council)
    assert d_key is not None
    a.membership.remove(council, d_key, "informer")
    send(a, b)
    assert b.membership.remove(council, d_key, "informer").admitted
    everyone([a, b, c])
    row = b.store.events.valid_of_kind(council, "ballot.cast")[0]
    copy = anonymous(Adversary(b, council), msgspec.msgpack.decode(row[5], type=bk.Cast))
    deliver([a, b, c], copy)
    everyone([a, b, c])
    for node in (a, b, c):
        state = node.ballots.ballot(council, pid)
        assert dict(state.refused) == {"removed": 1} and len(state.ballots) == 1
        assert state.recast == frozenset()
    mine = c.ballots.my_ballot(council, pid)
    assert mine.counted and not mine.recast and c.ballots.to_cast_again(council) == []


def test_a_ballot_replayed_into_another_proposal_is_refused(tmp_path: Path) -> None:
    nodes, council, _clock = council_of(tmp_path, 3)
    a, b, _c = nodes
    first = secret_vote(nodes, council, nodes)
    second = secret_vote(nodes, council, nodes)
    a.ballots.vote(council, first, YES, delay=0)
    everyone(nodes)
    row = b.store.events.valid_of_kind(council, "ballot.cast")[0]
    cast = msgspec.msgpack.decode(row[5], type=bk.Cast)
    body = bk.Cast(second, cast.signature, cast.ciphertext, cast.sequence)
    replay = anonymous(Adversary(b, council), body)
    deliver(nodes, replay)
    for node in nodes:
        assert dict(node.ballots.ballot(council, second).refused) == {"not_in_electorate": 1}
        assert len(node.ballots.ballot(council, first).ballots) == 1


def test_a_copied_encrypted_ballot_and_a_malformed_proof_are_refused(tmp_path: Path) -> None:
    nodes, council, _clock = council_of(tmp_path, 3)
    a, b, c = nodes
    pid = secret_vote(nodes, council, nodes)
    keys = sorted(a.ballots.ballot(council, pid).eligible)
    a.ballots.vote(council, pid, YES, delay=0)
    everyone(nodes)
    row = c.store.events.valid_of_kind(council, "ballot.cast")[0]
    alices = msgspec.msgpack.decode(row[5], type=bk.Cast).ciphertext
    x = curve.ed25519_scalar(c.identity(council).sign_sk)
    adv = Adversary(c, council)
    # c signs Alice's ciphertext as its own ballot: its proof is bound to Alice's key image
    copied = ring.sign(message(pid, alices, 1), keys, x, context(pid))
    # b's ciphertext with its proof's response changed
    honest = cast_body(b, council, pid, NO, keys)
    bent_ct = honest.ciphertext[:64] + curve.scalar(1) + honest.ciphertext[96:]
    b_secret = curve.ed25519_scalar(b.identity(council).sign_sk)
    bent = ring.sign(message(pid, bent_ct, 1), keys, b_secret, context(pid))
    deliver(
        nodes,
        anonymous(adv, bk.Cast(pid, copied.encode(), alices, 1)),
        anonymous(Adversary(b, council), bk.Cast(pid, bent.encode(), bent_ct, 1)),
        anonymous(adv, bk.Cast(pid, b"\x01" * 97, alices, 1)),
    )
    for node in nodes:
        state = node.ballots.ballot(council, pid)
        assert dict(state.refused) == {"bad_proof": 2, "malformed": 1}
        assert len(state.ballots) == 1


def test_a_teller_publishing_a_wrong_share_is_caught_by_its_proof(tmp_path: Path) -> None:
    nodes, council, clock = council_of(tmp_path, 3)
    a, b, c = nodes
    pid = secret_vote(nodes, council, nodes)
    for node, vote in zip(nodes, (YES, NO, YES), strict=True):
        node.ballots.vote(council, pid, vote, delay=0)
    everyone(nodes)
    clock.t = a.ballots.ballot(council, pid).closes_at
    a.ballots.close(council, pid)
    everyone(nodes)
    state = b.ballots.ballot(council, pid)
    assert state.closed_by is not None
    a_s = [x.ciphertext.a for x in state.ballots]
    adv = Adversary(b, council)
    # a share from a made-up secret, with a proof that is honest for that secret
    d_s, proof = threshold.decryption_shares(curve.random_scalar(), a_s, context(pid))
    wrong = adv.forge("ballot.decrypt", bk.Decrypt(pid, state.closed_by, 0, d_s, proof.encode()))
    # b's real shares with one of them moved: the batch proof no longer holds
    secret = b.ballots._my_shares(council, state)
    real, real_proof = threshold.decryption_shares(secret, a_s, context(pid))
    moved = [curve.add(real[0], curve.base(1)), *real[1:]]
    tampered = adv.forge(
        "ballot.decrypt", bk.Decrypt(pid, state.closed_by, 0, moved, real_proof.encode())
    )
    deliver(nodes, wrong, tampered)
    for node in nodes:
        mid = node.ballots.ballot(council, pid)
        assert {x.event for x in mid.bad_shares} == {wrong.id, tampered.id}
        assert mid.result is None  # one teller's (bad) shares are not enough, nor counted
    for teller in (a, c):
        teller.ballots.take_part(council, pid)
    everyone(nodes)
    states = [n.ballots.ballot(council, pid) for n in nodes]
    assert states[0] == states[1] == states[2]
    assert (states[0].result.yes, states[0].result.no) == (2, 1)
    assert b.me(council) not in states[0].decrypted_by


def test_no_share_counts_before_a_valid_close(tmp_path: Path) -> None:
    nodes, council, _clock = council_of(tmp_path, 3)
    a, b, _c = nodes
    pid = secret_vote(nodes, council, nodes)
    for node in nodes:
        node.ballots.vote(council, pid, YES, delay=0)
    everyone(nodes)
    state = a.ballots.ballot(council, pid)
    a_s = [x.ciphertext.a for x in state.ballots]
    # two tellers conspire early: a close claimed before the deadline, and their shares
    early_close = Adversary(a, council).forge("ballot.close", bk.Close(pid))
    deliver(nodes, early_close)
    forged = []
    for teller in (a, b):
        secret = teller.ballots._my_shares(council, teller.ballots.ballot(council, pid))
        d_s, proof = threshold.decryption_shares(secret, a_s, context(pid))
        forged.append(
            Adversary(teller, council).forge(
                "ballot.decrypt", bk.Decrypt(pid, early_close.id, 0, d_s, proof.encode())
            )
        )
    deliver(nodes, *forged)
    for node in nodes:
        mid = node.ballots.ballot(council, pid)
        assert mid.closed_by is None and mid.result is None and mid.opened == ()


def test_a_malformed_dealing_is_passed_over_by_every_teller(tmp_path: Path) -> None:
    """A teller's first dealing has the wrong number of commitments and shares: every
    replica and every teller takes its next well-formed one, and the count works."""
    nodes, council, clock = council_of(tmp_path, 3)
    a, b, c = nodes
    body = dk.Propose(title="Strike?", text="", method="yes_no", deadline=T0 + DAY)
    pid = a.ballots.propose(council, body)
    everyone(nodes)
    bad = threshold.deal(3)
    junk = [crypto.seal(c.identity(council).kx_pk, curve.scalar(1))] * 2
    deliver(
        nodes, Adversary(b, council).forge("ballot.deal", bk.Deal(pid, list(bad.commitments), junk))
    )
    for _ in range(2):
        for node in nodes:
            node.ballots.take_part(council, pid)
        everyone(nodes)
    assert all(n.ballots.ballot(council, pid).key is not None for n in nodes)
    for node in nodes:
        node.ballots.vote(council, pid, YES, delay=0)
    everyone(nodes)
    close_and_count(nodes, council, pid, clock, [b, c])
    assert a.ballots.ballot(council, pid).result.yes == 3


def test_a_dealer_cancelling_the_others_commitments_gets_no_key(tmp_path: Path) -> None:
    """The last teller to deal picks a commitment that cancels the others' (so that
    the joint key would be one whose secret she knows); she cannot deal shares that
    match it, the honest tellers do not say ready, and no ballot can be cast."""
    nodes, council, _clock = council_of(tmp_path, 3)
    a, b, c = nodes
    keys = [n.me(council) for n in nodes]
    body = dk.Propose(title="Strike?", text="", method="yes_no", deadline=T0 + DAY)
    pid = a.ballots.propose(council, body)
    everyone(nodes)
    c.ballots.take_part(council, pid)
    everyone(nodes)
    deals = [
        msgspec.msgpack.decode(row[5], type=bk.Deal)
        for row in b.store.events.valid_of_kind(council, "ballot.deal")
    ]
    z = curve.random_scalar()
    others = curve.add(deals[0].commitments[0], deals[1].commitments[0])
    rogue = [curve.sub(curve.base(z), others), curve.base(curve.random_scalar())]
    members = b.ingestor.projection.final_state(council).members
    shares = [crypto.seal(members[k].kx, curve.scalar(z)) for k in keys if k]
    deliver(nodes, Adversary(b, council).forge("ballot.deal", bk.Deal(pid, rogue, shares)))
    for node in (a, c):
        with pytest.raises(NotAllowed, match="does not match their commitments"):
            node.ballots.take_part(council, pid)
    everyone(nodes)
    assert all(n.ballots.ballot(council, pid).key is None for n in nodes)
    with pytest.raises(NotAllowed, match="not finished setting up"):
        a.ballots.vote(council, pid, YES, delay=0)


def test_a_proposer_naming_their_own_tellers_is_refused(tmp_path: Path) -> None:
    """An informer (m3, no teller) proposes a secret ballot counted by herself and a
    friend, one of them enough: or by the elected tellers, but one of them enough.
    Every replica refuses it: nobody can vote, no teller takes part."""
    nodes, council, _clock = council_of(tmp_path, 4)
    a, _b, c, d = nodes
    informer = Adversary(d, council)
    body = dk.Propose(title="Strike on Monday?", text="", method="yes_no", deadline=T0 + DAY)
    own = sorted(k for k in (d.me(council), c.me(council)) if k)
    elected = a.ballots.tellers(council)
    assert elected.needed == 2
    forged = [
        informer.forge("ballot.propose", bk.SecretPropose(proposal=body, tellers=own, needed=1)),
        informer.forge(
            "ballot.propose",
            bk.SecretPropose(proposal=body, tellers=list(elected.keys), needed=1),
        ),
    ]
    deliver(nodes, *forged)
    for f in forged:
        for node in nodes:
            state = node.ballots.ballot(council, f.id)
            assert state.problem is not None and "elected tellers" in state.problem
            assert state.key is None
        with pytest.raises(NotAllowed, match="elected tellers"):
            a.ballots.vote(council, f.id, YES, delay=0)
    for node in nodes:
        assert node.ballots.teller_duties(council) == []
    assert all(n.store.events.valid_of_kind(council, "ballot.deal") == [] for n in nodes)


def test_an_open_ballot_where_the_rules_hold_every_vote_secret_is_refused(
    tmp_path: Path,
) -> None:
    """The rules say every vote is secret; an informer proposes an open vote anyway (a
    modified client) and votes in it, to see who votes how. Every replica refuses the
    proposal: no ballot in it counts, it has no result; an honest client refuses to
    write it, and a secret ballot goes ahead."""
    nodes, council, clock = council_of(tmp_path, 3, Rules(secret_ballots="always"))
    a, b, c = nodes
    informer = Adversary(c, council)
    body = dk.Propose(title="Who will strike?", text="", method="yes_no", deadline=T0 + DAY)
    with pytest.raises(NotAllowed, match="every vote by secret ballot"):
        c.decisions.propose(council, body)
    pid = secret_vote(nodes, council, [a, b, c])
    assert a.ballots.ballot(council, pid).problem is None
    forged = informer.forge("decision.propose", body)
    deliver(nodes, forged)
    deliver(nodes, informer.forge("decision.vote", dk.Vote(forged.id, YES)))
    clock.t = T0 + 2 * DAY
    deliver(nodes, informer.forge("decision.close", dk.Close(forged.id)))
    for node in nodes:
        state = node.decisions.proposal(council, forged.id)
        assert state.problem is not None and "every vote by secret ballot" in state.problem
        assert state.result is None and state.passed is None


def test_a_secret_ballot_where_the_rules_hold_none_is_refused(tmp_path: Path) -> None:
    nodes, council, _clock = council_of(tmp_path, 3, Rules(secret_ballots="never"))
    a, _b, c = nodes
    body = dk.Propose(title="Strike?", text="", method="yes_no", deadline=T0 + DAY)
    with pytest.raises(NotAllowed, match="no vote by secret ballot"):
        a.ballots.propose(council, body)
    elected = a.ballots.tellers(council)
    secret = bk.SecretPropose(proposal=body, tellers=list(elected.keys), needed=elected.needed)
    forged = Adversary(c, council).forge("ballot.propose", secret)
    deliver(nodes, forged)
    for node in nodes:
        assert node.ballots.ballot(council, forged.id).problem == (
            "the council's rules hold no vote by secret ballot"
        )
    with pytest.raises(NotAllowed, match="no vote by secret ballot"):
        a.ballots.vote(council, forged.id, YES, delay=0)
