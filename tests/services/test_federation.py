"""Federation end to end on real profiles: a base council elects a delegate, its
members' nodes sign the mandate, the federation admits the delegate on it (and
refuses forged, expired, misdirected mandates and a second seat), then the base
council recalls the delegate and the revocation ends the seat, mid-vote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Clock, everyone, make_node, send, three_members
from shora.domain.decisions import kinds as dk
from shora.domain.federation import mandates as md
from shora.errors import InvalidInput, NotAllowed
from shora.kernel import tokens
from shora.node import Node

DAY = 86_400
YES = dk.YesNoBallot("yes")


def key_of(node: Node, council: bytes) -> bytes:
    return bytes(node.store.one("SELECT sign_pk FROM identities WHERE council=?", (council,)))


def close_vote(nodes: list[Node], council: bytes, pid: bytes, clock: Clock) -> None:
    everyone(nodes)
    for node in nodes:
        node.decisions.vote(
            council,
            pid,
            YES
            if node.decisions.proposal(council, pid).body.method == "yes_no"
            else dk.RankedBallot(list(node.decisions.proposal(council, pid).body.options)),
        )
    everyone(nodes)
    clock.t = max(clock.t, nodes[0].decisions.proposal(council, pid).closes_at)
    nodes[0].decisions.close(council, pid)
    everyone(nodes)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[list[Node], bytes, Node, bytes, Clock]]:
    """Base council (a, b, c) with a elected delegate; federation founded by x."""
    clock = Clock()
    nodes, base = three_members(tmp_path, clock)
    x = make_node(tmp_path, "x")
    x.now = clock
    federation = x.federation.create("District 2", "Xena")
    a = nodes[0]
    pid = a.governance.elect(base, "delegate", [key_of(a, base)], term_days=90, hours=1)
    close_vote(nodes, base, pid, clock)
    assert [t.name for t in a.governance.roles(base) if t.role == "delegate"] == ["Azadeh"]
    yield nodes, base, x, federation, clock
    for node in [*nodes, x]:
        node.close()


def seat_delegate(nodes: list[Node], base: bytes, x: Node, federation: bytes) -> bytes:
    a = nodes[0]
    request = a.membership.join(x.membership.invite(federation), "Azadeh of block 4")
    a.federation.request_mandate(base, federation, days=30, federation_name="District 2")
    everyone(nodes)  # b's and c's nodes sign it by themselves when it arrives
    (view,) = a.federation.mandates(base)
    assert view.complete and len(view.signers) == 3 and view.mandate.roster.threshold == 2
    assert view.credential is not None
    x.federation.admit(federation, request, md.to_text(view.credential, True))
    send(x, a)
    return request


def test_mandate_signed_by_the_base_then_seated(world) -> None:  # type: ignore[no-untyped-def]
    nodes, base, x, federation, _clock = world
    seat_delegate(nodes, base, x, federation)
    a = nodes[0]
    assert x.ingestor.projection.final_state(federation).is_active(key_of(a, federation))
    (seat,) = x.federation.seats(federation)
    assert seat.base == base and seat.active
    a.posts.post(federation, "hello from block 4")
    send(a, x)
    assert any(p["text"] == "hello from block 4" for p in x.posts.posts(federation))


def test_bad_mandates_are_refused(world) -> None:  # type: ignore[no-untyped-def]
    nodes, base, x, federation, clock = world
    a, b, _c = nodes
    request = a.membership.join(x.membership.invite(federation), "Azadeh of block 4")
    a.federation.request_mandate(base, federation, days=30)
    # Before the others sign it, a's own signature is not a majority.
    (view,) = a.federation.mandates(base)
    assert not view.complete
    payload = _payload(a, base)
    share = md.sign_share(a.identity(base).sign_sk, payload, True)
    forged = md.to_text(md.assemble(payload, {key_of(a, base): share}), True)
    with pytest.raises(InvalidInput, match="not signed"):
        x.federation.admit(federation, request, forged)
    everyone(nodes)
    (view,) = a.federation.mandates(base)
    text = md.to_text(view.credential or b"", True)
    # A mandate for someone else's join request.
    other = make_node(x.home.parent, "other")
    other.now = clock
    stranger = other.membership.join(x.membership.invite(federation), "Stranger")
    with pytest.raises(NotAllowed, match="someone else"):
        x.federation.admit(federation, stranger, text)
    # Tampered bytes break the checksum; a non-mandate text is refused.
    with pytest.raises(InvalidInput):
        x.federation.admit(
            federation, request, text[:-3] + ("A" if text[-3] != "A" else "B") + text[-2:]
        )
    # Expired.
    saved = clock.t
    clock.t += 31 * DAY
    with pytest.raises(NotAllowed, match="expired"):
        x.federation.admit(federation, request, text)
    clock.t = saved
    x.federation.admit(federation, request, text)
    # A second seat for the same council (the rules give one).
    b_request = b.membership.join(x.membership.invite(federation), "Bahram of block 4")
    with pytest.raises(NotAllowed, match="someone else"):
        x.federation.admit(federation, b_request, text)
    pid = b.governance.elect(base, "delegate", [key_of(b, base), key_of(a, base)], seats=2, hours=1)
    close_vote(nodes, base, pid, clock)
    b.federation.request_mandate(base, federation, days=20)
    everyone(nodes)
    second = next(v for v in b.federation.mandates(base) if v.requester == key_of(b, base))
    with pytest.raises(NotAllowed, match="every seat"):
        x.federation.admit(federation, b_request, md.to_text(second.credential or b"", True))
    other.close()


def _payload(node: Node, base: bytes) -> bytes:
    return node.federation._requests(base)[-1][2].payload


def recall_delegate(nodes: list[Node], base: bytes, clock: Clock) -> None:
    """b and c petition to recall a as delegate, c opens the vote, both vote yes, c
    closes it; the members' nodes then sign the revocation and pass it round."""
    a, b, c = nodes
    a_base = key_of(a, base)
    assert b.governance.petition(base, "delegate", a_base) == 1  # the petition needs two
    send(b, c)
    assert c.governance.petition(base, "delegate", a_base) == 0
    everyone(nodes)
    recall = c.governance.recall(base, "delegate", a_base, hours=24)
    everyone(nodes)
    for node in (b, c):
        node.decisions.vote(base, recall, YES)
    everyone(nodes)
    clock.t = c.decisions.proposal(base, recall).closes_at
    c.decisions.close(base, recall)
    everyone(nodes)  # the members' nodes sign the revocation by themselves ...
    everyone(nodes)  # ... and pass their signatures round


def test_recall_ends_the_seat_even_mid_vote(world) -> None:  # type: ignore[no-untyped-def]
    nodes, base, x, federation, clock = world
    a, b, _c = nodes
    seat_delegate(nodes, base, x, federation)
    a_fed = key_of(a, federation)
    # The federation is voting; the delegate votes yes but the ballot is still in transit.
    pid = x.decisions.propose(federation, dk.Propose(
        title="Share the generator", text="Block 4 lends it to block 5.", method="yes_no",
        deadline=int(clock.t) + DAY))  # fmt: skip
    send(x, a)
    a.decisions.vote(federation, pid, YES)
    # Meanwhile the base council recalls its delegate.
    recall_delegate(nodes, base, clock)
    (view,) = b.federation.mandates(base)
    assert view.revocation is not None and len(view.revocation_signers) >= 2
    text = md.to_text(view.revocation, False)
    assert x.federation.apply_revocation(federation, text) == "Azadeh of block 4"
    assert not x.ingestor.projection.final_state(federation).is_active(a_fed)
    send(a, x)  # the ballot arrives after the revocation: it was concurrent, so void
    state = x.decisions.proposal(federation, pid)
    assert state.ballots == ()
    # The same revocation twice, or for nobody seated, is refused.
    with pytest.raises(Exception, match="nobody here holds a seat"):
        x.federation.apply_revocation(federation, text)


def test_mandate_request_needs_an_elected_delegate(world) -> None:  # type: ignore[no-untyped-def]
    nodes, base, x, federation, _clock = world
    b = nodes[1]
    b.membership.join(x.membership.invite(federation), "Bahram")
    with pytest.raises(NotAllowed, match="elected as delegate"):
        b.federation.request_mandate(base, federation)


def test_credential_decoders_refuse_garbage() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    from shora.errors import ShoraError

    @given(st.binary(max_size=2000))
    def decode(raw: bytes) -> None:
        for fn in (md.decode_credential, md.decode_mandate, md.decode_revocation):
            try:
                fn(raw)
            except ShoraError:
                pass

    @given(st.text(max_size=300))
    def parse(text: str) -> None:
        for is_mandate in (True, False):
            try:
                md.from_text(text, is_mandate)
            except ShoraError:
                pass

    decode()
    parse()
    assert tokens.armor(b"x", "shora:revoke/").startswith("shora:revoke/")


def test_a_second_delegate_of_the_council_applies_the_recall_by_itself(tmp_path: Path) -> None:
    clock = Clock()
    nodes, base = three_members(tmp_path, clock)
    a, b, _c = nodes
    x = make_node(tmp_path, "x")
    x.now = clock
    federation = x.federation.create("District 2", "Xena", seats=2)
    pid = a.governance.elect(base, "delegate", [key_of(a, base), key_of(b, base)], seats=2, hours=1)
    close_vote(nodes, base, pid, clock)
    for node, name in ((a, "Azadeh of block 4"), (b, "Bahram of block 4")):
        request = node.membership.join(x.membership.invite(federation), name)
        node.federation.request_mandate(base, federation, days=30)
        everyone(nodes)
        everyone(nodes)
        view = next(v for v in node.federation.mandates(base) if v.requester == key_of(node, base))
        assert view.credential is not None
        x.federation.admit(federation, request, md.to_text(view.credential, True))
        send(x, node)
    everyone([*nodes, x])
    assert len([s for s in b.federation.seats(federation) if s.active]) == 2
    # The council recalls Azadeh; Bahram's node holds the revocation and applies it.
    recall_delegate(nodes, base, clock)
    send(b, x)
    assert not x.ingestor.projection.final_state(federation).is_active(key_of(a, federation))
    assert x.ingestor.projection.final_state(federation).is_active(key_of(b, federation))
    for node in [*nodes, x]:
        node.close()
