"""A real secret ballot recounted by the independent verifier (tests/independent/
ballots.py, no shora crypto): three members vote (one twice) on real profiles, two of
three tellers publish their shares, and the events a node holds — read with the
independent MessagePack decoder — give the same count when every ring signature,
proof of knowledge and decryption proof is checked and every ballot opened apart
from shora."""

from __future__ import annotations

from typing import Any

from test_ballots import secret_proposal, setup_vote

from conftest import Clock, everyone
from independent import ballots as ib
from independent import mpack
from shora.domain.decisions import kinds as dk
from shora.node import Node


def rows(node: Node, council: bytes, kind: str) -> list[tuple[bytes, bytes, int, Any]]:
    """(id, author, clock, body as plain data) of the valid events of one kind."""
    found = node.store.events.valid_of_kind(council, kind)
    return [(r[0], r[1], r[2], mpack.unpackb(r[5])) for r in found]


def recount(node: Node, council: bytes, pid: bytes, electorate: list[bytes]) -> dict[str, int]:
    context = b"shora/ballot/v1" + pid
    verified: list[tuple[bytes, int, bytes]] = []
    for _eid, _author, _clock, body in rows(node, council, "ballot.cast"):
        sig, ct, sequence = body["signature"], body["ciphertext"], body["sequence"]
        message = ib.ballot_message(pid, ct, sequence)
        # the ring: the electorate less the members the ballot leaves out (removed since)
        ring = sorted(set(electorate) - set(body.get("without", [])))
        assert ib.lsag_verify(message, ring, sig, context)
        assert ib.ciphertext_ok(ct, context, sig[:32])
        image = sig[:32]
        verified.append((image, sequence, ct))
    chosen = ib.counted(verified)  # per key image, the highest signed sequence
    cts = [chosen[i] for i in sorted(chosen)]  # key-image order, as the shares are
    state = node.ballots.ballot(council, pid)
    deals = {author: body for _e, author, _c, body in rows(node, council, "ballot.deal")}
    commitments = [deals[t]["commitments"] for t in state.tellers]
    shares: dict[int, list[bytes]] = {}
    for _e, author, _c, body in rows(node, council, "ballot.decrypt"):
        j = state.tellers.index(author) + 1
        y_j = ib.public_share(commitments, j)
        assert ib.shares_ok(y_j, [ct[:32] for ct in cts], body["shares"], body["proof"], context)
        shares[j] = body["shares"]
    counts = {"yes": 0, "no": 0, "abstain": 0}
    for i, ct in enumerate(cts):
        padded = ib.decrypt(ct, {j: s[i] for j, s in shares.items()}, context)
        assert padded is not None
        n = int.from_bytes(padded[:2], "big")
        counts[mpack.unpackb(padded[2 : 2 + n])["vote"]] += 1
    return counts


def test_the_independent_verifier_recounts_a_real_secret_ballot(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    nodes, council, clock = council3
    a, b, c = nodes
    pid = setup_vote(nodes, council, clock, secret_proposal())
    a.ballots.vote(council, pid, dk.YesNoBallot("no"), delay=0)
    b.ballots.vote(council, pid, dk.YesNoBallot("no"), delay=0)
    c.ballots.vote(council, pid, dk.YesNoBallot("abstain"), delay=0)
    everyone(nodes)
    a.ballots.vote(council, pid, dk.YesNoBallot("yes"), delay=0)  # a re-vote
    everyone(nodes)
    clock.t = a.ballots.ballot(council, pid).closes_at
    b.ballots.close(council, pid)
    everyone(nodes)
    for teller in (b, c):
        teller.ballots.take_part(council, pid)
    everyone(nodes)
    state = a.ballots.ballot(council, pid)
    counted = recount(a, council, pid, sorted(state.eligible))
    assert counted == {"yes": 1, "no": 1, "abstain": 1}
    assert (state.result.yes, state.result.no, state.result.abstain) == (1, 1, 1)
