"""A secret election's seat against a member whose client signs anything
(docs/ballot-secrecy.md, "Secret elections"; docs/threat-model.md): a seat naming
someone who lost, a seat before the count is final (after the close, with fewer than
k tellers' shares, or on a close claimed early with shares of colluding tellers), a
seat naming another close, an open ballot or a vote outside its causal past, and a
second seat after the first. Every honest replica refuses each (the event stays
void), nobody takes the role, and the honest seat that follows stands everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from test_ballots_seats import holders, rank, secret_election

from attacks.adversary import Adversary, Forged
from attacks.test_secret_ballots import council_of, deliver, secret_vote
from conftest import T0, Clock, everyone
from shora.domain.ballots import kinds as bk
from shora.domain.ballots.state import context
from shora.domain.decisions import kinds as dk
from shora.domain.governance import kinds as gk
from shora.kernel import threshold
from shora.kernel.kinds import Rules
from shora.node import Node

DAY = 86_400


def valid(node: Node, event: bytes) -> bool:
    return bool(node.store.one("SELECT valid FROM events WHERE id=?", (event,)))


def verdict(node: Node, council: bytes, event: bytes) -> str | None:
    """Why the node's fold refused a seat (a key of seats.SEAT_REASONS; "" passed)."""
    content = node.ingestor.projection.resolver(council).content
    assert content is not None
    return content.kept([event]).get(event)


def refused_everywhere(
    nodes: Sequence[Node], council: bytes, forged: Forged, role: str, reason: str
) -> None:
    deliver(nodes, forged)
    for node in nodes:
        assert node.store.one("SELECT 1 FROM events WHERE id=?", (forged.id,))  # it arrived
        assert not valid(node, forged.id)
        assert verdict(node, council, forged.id) == reason
        assert holders(node, council, role) == set()


def election(tmp_path: Path) -> tuple[list[Node], bytes, Clock, bytes]:
    """Four members, the first three tellers (2 of 3 count); a secret election of a
    treasurer between m2 and m3 that m3 wins three ballots to one."""
    nodes, council, clock = council_of(tmp_path, 4)
    pid = secret_election(nodes, council, clock, "treasurer", nodes[2:])
    m2, m3 = nodes[2], nodes[3]
    rank(nodes, council, pid, [[m3, m2], [m3], [m2, m3], [m3, m2]])
    return nodes, council, clock, pid


def test_a_seat_naming_someone_who_lost_is_refused(tmp_path: Path) -> None:
    nodes, council, clock, pid = election(tmp_path)
    a, b, m2, m3 = nodes
    clock.t = a.ballots.ballot(council, pid).closes_at
    a.ballots.close(council, pid)
    everyone(nodes)
    for teller in (a, b):
        teller.ballots.publish_shares(council, pid)
    everyone(nodes)
    state = a.ballots.ballot(council, pid)
    assert state.final and state.winners == (m3.me(council).hex(),)  # type: ignore[union-attr]
    assert state.closed_by is not None
    adv = Adversary(m2, council)  # the loser's own client seats them
    loser = m2.me(council)
    assert loser is not None
    refused_everywhere(
        nodes,
        council,
        adv.forge("ballot.seat", bk.Seat(pid, state.closed_by, [loser])),
        "treasurer",
        "other_winners",
    )
    both = [loser, m3.me(council)]
    refused_everywhere(
        nodes,
        council,
        adv.forge("ballot.seat", bk.Seat(pid, state.closed_by, both)),
        "treasurer",
        "other_winners",
    )
    refused_everywhere(
        nodes,
        council,
        adv.forge("ballot.seat", bk.Seat(pid, state.closed_by, [])),
        "treasurer",
        "other_winners",
    )
    # the honest seat stands; a second one after it (the right winner, even) does not
    seat = b.ballots.seat(council, pid)
    everyone(nodes)
    winner = m3.me(council)
    assert all(holders(n, council, "treasurer") == {winner} for n in nodes)
    again = adv.forge("ballot.seat", bk.Seat(pid, state.closed_by, [winner]))  # type: ignore[list-item]
    deliver(nodes, again)
    for node in nodes:
        assert valid(node, seat) and not valid(node, again.id)
        assert node.ballots.seated_by(council, pid) == seat


def test_a_seat_before_the_count_is_final_is_refused(tmp_path: Path) -> None:
    nodes, council, clock, pid = election(tmp_path)
    a, b, _m2, m3 = nodes
    winner = m3.me(council)
    assert winner is not None
    adv = Adversary(a, council)
    # before the close: no count at all, whatever close it names
    refused_everywhere(
        nodes,
        council,
        adv.forge("ballot.seat", bk.Seat(pid, pid, [winner])),
        "treasurer",
        "not_counted",
    )
    # two tellers collude early: a close claimed before the deadline, and their shares
    state = a.ballots.ballot(council, pid)
    a_s = [x.ciphertext.a for x in state.ballots]
    early = adv.forge("ballot.close", bk.Close(pid))
    deliver(nodes, early)
    shares = []
    for teller in (a, b):
        secret = teller.ballots._my_shares(council, teller.ballots.ballot(council, pid))
        d_s, proof = threshold.decryption_shares(secret, a_s, context(pid))
        shares.append(
            Adversary(teller, council).forge(
                "ballot.decrypt", bk.Decrypt(pid, early.id, 0, d_s, proof.encode())
            )
        )
    deliver(nodes, *shares)
    refused_everywhere(
        nodes,
        council,
        adv.forge("ballot.seat", bk.Seat(pid, early.id, [winner])),
        "treasurer",
        "not_counted",
    )
    # the real close, and one teller's shares: fewer than k
    clock.t = a.ballots.ballot(council, pid).closes_at
    a.ballots.close(council, pid)
    everyone(nodes)
    a.ballots.publish_shares(council, pid)
    everyone(nodes)
    closed = a.ballots.ballot(council, pid)
    assert closed.closed_by is not None and not closed.final
    refused_everywhere(
        nodes,
        council,
        adv.forge("ballot.seat", bk.Seat(pid, closed.closed_by, [winner])),
        "treasurer",
        "not_counted",
    )
    # the k-th teller's shares make it final; a seat naming the early close still fails
    before_k = adv.heads()
    b.ballots.publish_shares(council, pid)
    everyone(nodes)
    assert a.ballots.ballot(council, pid).final
    refused_everywhere(
        nodes,
        council,
        adv.forge("ballot.seat", bk.Seat(pid, early.id, [winner])),
        "treasurer",
        "other_close",
    )
    # a seat written on the history before the second teller's shares: not final there
    blind = adv.forge("ballot.seat", bk.Seat(pid, closed.closed_by, [winner]), parents=before_k)
    refused_everywhere(nodes, council, blind, "treasurer", "not_counted")
    assert a.ballots.seat_elected(council)  # the honest seat, then, stands
    everyone(nodes)
    assert all(holders(n, council, "treasurer") == {winner} for n in nodes)


def test_a_seat_naming_a_plain_secret_ballot_or_a_vote_outside_its_past_is_refused(
    tmp_path: Path,
) -> None:
    nodes, council, clock = council_of(tmp_path, 3)
    a, b, c = nodes
    plain = secret_vote(nodes, council, nodes)  # a yes/no secret ballot: no role
    for node in nodes:
        node.ballots.vote(council, plain, dk.YesNoBallot("yes"), delay=0)
    everyone(nodes)
    clock.t = a.ballots.ballot(council, plain).closes_at
    a.ballots.close(council, plain)
    everyone(nodes)
    for teller in (a, b):
        teller.ballots.publish_shares(council, plain)
    everyone(nodes)
    state = a.ballots.ballot(council, plain)
    assert state.final and state.closed_by is not None
    adv = Adversary(c, council)
    me = c.me(council)
    assert me is not None
    forged = adv.forge("ballot.seat", bk.Seat(plain, state.closed_by, [me]))
    before = parents_of(a, plain)
    elsewhere = adv.forge("ballot.seat", bk.Seat(plain, state.closed_by, [me]), parents=before)
    deliver(nodes, forged, elsewhere)
    for node in nodes:
        assert not valid(node, forged.id) and not valid(node, elsewhere.id)
        assert verdict(node, council, forged.id) == "not_election"
        assert verdict(node, council, elsewhere.id) == "no_vote"
        assert node.ballots.seated_by(council, plain) is None
        assert holders(node, council, "teller") == {n.me(council) for n in nodes}


def parents_of(node: Node, event: bytes) -> list[bytes]:
    raw = bytes(node.store.one("SELECT parents FROM events WHERE id=?", (event,)))
    return [raw[i : i + 32] for i in range(0, len(raw), 32)]


def test_a_secret_election_the_rules_refuse_seats_nobody(tmp_path: Path) -> None:
    """The proposer's client puts an "election" no election could be (a yes/no vote, a
    candidate who is no member) to a secret ballot with the right tellers: its count,
    whatever it says, seats nobody."""
    nodes, council, _clock = council_of(tmp_path, 3)
    a, _b, c = nodes
    adv = Adversary(c, council)
    elected = a.ballots.tellers(council)
    me = c.me(council)
    assert me is not None
    outsider = bytes(range(32))
    for method, options in (("yes_no", []), ("irv", [me.hex(), outsider.hex()])):
        body = dk.Propose(
            title="Treasurer", text="", method=method, options=options, deadline=T0 + DAY
        )
        propose = adv.forge(
            "ballot.propose",
            bk.SecretPropose(
                proposal=body,
                tellers=list(elected.keys),
                needed=elected.needed,
                action=gk.Election("treasurer", 365),
            ),
        )
        deliver(nodes, propose)
        assert a.ballots.ballot(council, propose.id).problem is not None
        seat = adv.forge("ballot.seat", bk.Seat(propose.id, propose.id, [me]))
        refused_everywhere(nodes, council, seat, "treasurer", "problem")


def test_a_seat_of_a_proposal_its_authors_removal_voided_is_refused(tmp_path: Path) -> None:
    """m3 proposes a secret election while m4, who has not seen it, removes m3: the
    proposal is void by strong removal. The tellers (who had not seen the removal)
    count it; once the removal reaches them, a seat naming exactly the winners, with
    the removal in its past, is refused by every replica."""
    nodes, council, clock = council_of(tmp_path, 5, Rules(removal="member"))
    m0, m1, m2, m3, m4 = nodes
    election_nodes = [m0, m1, m2, m3]
    action, body = m3.governance.election(
        council, "treasurer", [k for k in (m1.me(council), m2.me(council)) if k], hours=30
    )
    pid = m3.ballots.propose(council, body, action)
    target = m3.me(council)
    assert target is not None
    m4.membership.remove(council, target)  # m4 holds no event of the proposal
    everyone(election_nodes)
    for _ in range(2):
        for teller in (m0, m1, m2):
            teller.ballots.take_part(council, pid)
        everyone(election_nodes)
    rank(election_nodes, council, pid, [[m2, m1], [m2], [m1], [m2, m1]])
    clock.t = m0.ballots.ballot(council, pid).closes_at
    m0.ballots.close(council, pid)
    everyone(election_nodes)
    for teller in (m0, m1):
        teller.ballots.publish_shares(council, pid)  # no seat yet
    everyone(election_nodes)
    state = m0.ballots.ballot(council, pid)
    winner = m2.me(council)
    assert state.final and state.closed_by is not None and winner is not None
    everyone(nodes)  # the removal arrives: the proposal is void
    for node in nodes:
        assert not valid(node, pid)
    seat = Adversary(m0, council).forge("ballot.seat", bk.Seat(pid, state.closed_by, [winner]))
    honest = [m0, m1, m2, m4]  # m3, removed, holds no key to the new epoch
    deliver(honest, seat)
    for node in honest:
        assert not valid(node, seat.id)
        assert verdict(node, council, seat.id) == ""  # the count itself checks out
        assert holders(node, council, "treasurer") == set()
