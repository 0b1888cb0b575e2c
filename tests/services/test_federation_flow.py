"""What flows between levels, on real profiles: summaries up, alerts and decisions
down as notices, ratification by member councils with a double majority, flags on
ballots against the instructions, and a federation sending its own delegate up."""

from __future__ import annotations

from pathlib import Path

from conftest import T0, Clock, make_node, send
from shora.domain.aid import kinds as ak
from shora.domain.aid import summary as aid_summary
from shora.domain.decisions import kinds as dk
from shora.domain.federation import mandates as md
from shora.node import Node

DAY = 86_400


def key_of(node: Node, council: bytes) -> bytes:
    return bytes(node.store.one("SELECT sign_pk FROM identities WHERE council=?", (council,)))


def pass_vote(node: Node, council: bytes, pid: bytes, ballot: dk.Ballot, clock: Clock) -> None:
    node.decisions.vote(council, pid, ballot)
    clock.t = max(clock.t, node.decisions.proposal(council, pid).closes_at)
    node.decisions.close(council, pid)


def one_person_council(
    root: Path,
    name: str,
    clock: Clock,
    federation_host: Node,
    federation: bytes,
    instructions: md.Instructions | None = None,
) -> tuple[Node, bytes]:
    """A council of one (its founder elects themself delegate) seated in the federation."""
    node = make_node(root, name)
    node.now = clock
    base = node.councils.create(f"Block {name}", "", name.title())
    pid = node.governance.elect(base, "delegate", [key_of(node, base)], hours=1)
    pass_vote(node, base, pid, dk.RankedBallot([key_of(node, base).hex()]), clock)
    proposal = None
    if instructions is not None:
        proposal = node.federation.instruct(base, "City", instructions, hours=1)
        pass_vote(node, base, proposal, dk.YesNoBallot("yes"), clock)
    request = node.membership.join(
        federation_host.membership.invite(federation), f"{name} delegate"
    )
    node.federation.request_mandate(
        base, federation, days=60, instructions=instructions, instructions_proposal=proposal
    )
    (view,) = node.federation.mandates(base)
    assert view.credential is not None
    federation_host.federation.admit(federation, request, md.to_text(view.credential, True))
    send(federation_host, node)
    return node, base


def test_summaries_up_notices_down_ratification_and_flags(tmp_path: Path) -> None:
    clock = Clock(T0)
    host = make_node(tmp_path, "host")
    host.now = clock
    city = host.federation.create("City", "Host")
    items = md.Instructions("Hold the line on water.", [md.Item("Water rationing", "yes")])
    people = {
        n: one_person_council(tmp_path, n, clock, host, city, items if n == "p" else None)
        for n in ("p", "q", "r")
    }
    for node, _base in people.values():
        send(node, host)
    for node, _base in people.values():
        send(host, node)
    # Up: a need in p's council reaches the city's totals as a count, without names.
    p, p_base = people["p"]
    p.aid.set_areas(p_base, ak.Areas([ak.Area("b4", "Block 4")]))
    for i in range(aid_summary.SUPPRESS_BELOW):
        p.aid.post_need(
            p_base, ak.Need(category="water", quantity=20 + i, urgency="urgent", area="b4")
        )
    p.housekeeping.run(p_base)  # the delegate's node shares the changed summary
    send(p, host)
    councils, rows = host.federation_flow.totals(city)
    assert councils >= 1
    water = [r for r in rows if r.category == "water" and r.kind == "need"]
    assert water and water[0].count == aid_summary.SUPPRESS_BELOW and water[0].area == "Block 4"
    # Down: the city's alert reaches every base council as a notice from the city.
    host.aid.set_areas(city, ak.Areas([ak.Area("centre", "Centre")]))
    host.safety.alert(city, "air_raid", "centre", note="sirens")
    vote = host.decisions.propose(city, dk.Propose(
        title="Water rationing", text="Two litres a head.", method="yes_no",
        deadline=int(clock.t) + DAY))  # fmt: skip
    host.federation_flow.request_ratification(city, vote)
    for node, base in people.values():
        send(host, node)  # housekeeping: notices down, ratification opened below
        kinds = {n.kind for n in node.federation_flow.notices(base)}
        assert {"alert", "ratify"} <= kinds, kinds
        assert all(n.federation == city for n in node.federation_flow.notices(base))
    # p votes against the instructions: flagged.
    p.decisions.vote(city, vote, dk.YesNoBallot("no"))
    send(p, host)
    (flag,) = host.federation_flow.flags(city)
    assert flag.member == key_of(p, city) and flag.instructed == "yes"
    # Ratification: p and q say yes, r says no: two councils of three, and the
    # members they represent (one each), a double majority.
    for name, answer in (("p", "yes"), ("q", "yes"), ("r", "no")):
        node, base = people[name]
        local = next(n.proposal for n in node.federation_flow.notices(base) if n.kind == "ratify")
        assert local is not None
        saved = clock.t
        pass_vote(node, base, local, dk.YesNoBallot(answer), clock)
        clock.t = saved
        node.housekeeping.run(base)  # carries the result up
        send(node, host)
    result = host.federation_flow.ratification(city, vote)
    assert (result.councils, result.councils_yes, result.members) == (3, 2, 3)
    assert result.passed
    for node in [host, *(n for n, _ in people.values())]:
        node.close()


def test_a_federation_sends_its_own_delegate_up(tmp_path: Path) -> None:
    """Levels: the city (a federation) elects and mandates a delegate to the province."""
    clock = Clock(T0)
    host = make_node(tmp_path, "host")
    host.now = clock
    province = host.federation.create("Province", "Host")
    city_host = make_node(tmp_path, "cityhost")
    city_host.now = clock
    city, _ = city_host.federation.create("City", "Chair"), None
    pid = city_host.governance.elect(city, "delegate", [key_of(city_host, city)], hours=1)
    pass_vote(city_host, city, pid, dk.RankedBallot([key_of(city_host, city).hex()]), clock)
    request = city_host.membership.join(host.membership.invite(province), "City delegate")
    city_host.federation.request_mandate(city, province, days=30)
    (view,) = city_host.federation.mandates(city)
    assert view.credential is not None
    host.federation.admit(province, request, md.to_text(view.credential, True))
    (seat,) = host.federation.seats(province)
    assert seat.base == city
    host.close()
    city_host.close()
