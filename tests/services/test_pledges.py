"""Threshold pledges end to end on real profiles: a campaign, anonymous pledges, a
withdrawal before the threshold, the moment it is met (the same on every replica),
pledges final after it, a delayed pledge, pledges made at once on two devices joined
by a mark, and each member checking their own pledge (docs/pledges.md)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from test_federation_flow import one_person_council

from conftest import T0, Clock, council_of_members, envelope_ids, everyone, make_node, send
from shora.errors import InvalidInput, NotAllowed
from shora.node import Node

DAY = 86_400
Nodes = tuple[list[Node], bytes, Clock]


def states(nodes: list[Node], council: bytes, cid: bytes) -> list[object]:
    return [n.pledges.campaign(council, cid) for n in nodes]


def test_pledges_count_withdraw_and_meet(council3: Nodes) -> None:
    nodes, council, _clock = council3
    a, b, c = nodes
    cid = a.pledges.start(council, "Stop work on Monday", T0 + DAY, share="2/3")
    everyone(nodes)
    state = b.pledges.campaign(council, cid)
    assert (state.needed, state.count, state.met) == (2, 0, False)
    a.pledges.take(council, cid, delay=0)
    everyone(nodes)
    assert [s.count for s in states(nodes, council, cid)] == [1, 1, 1]  # type: ignore[attr-defined]
    assert a.pledges.mine(council, cid).counted
    assert not b.pledges.mine(council, cid).counted
    a.pledges.withdraw(council, cid, delay=0)  # before the threshold: allowed
    everyone(nodes)
    assert b.pledges.campaign(council, cid).count == 0
    assert not a.pledges.mine(council, cid).counted
    a.pledges.take(council, cid, delay=0)  # pledges again (step 3)
    everyone(nodes)
    b.pledges.take(council, cid, delay=0)
    everyone(nodes)
    found = states(nodes, council, cid)
    assert found[0] == found[1] == found[2]
    state = a.pledges.campaign(council, cid)
    assert (state.count, state.met, state.withdrawals) == (2, True, 1)
    assert state.met_at is not None
    assert [x.id for x in c.pledges.met_recently(council, T0 - 1)] == [cid]
    with pytest.raises(NotAllowed):
        a.pledges.withdraw(council, cid, delay=0)  # final now
    c.pledges.take(council, cid, delay=0)  # pledges after the threshold still count
    everyone(nodes)
    assert a.pledges.campaign(council, cid).count == 3
    assert a.pledges.campaign(council, cid).met_by == state.met_by
    # Nobody's key appears: the counted pledges are key images only.
    keys = {n.me(council) for n in nodes}
    assert not keys & set(state.pledged)


def test_a_pledge_after_the_deadline_is_refused_by_the_service(council3: Nodes) -> None:
    nodes, council, clock = council3
    a, b, _c = nodes
    cid = a.pledges.start(council, "Stop work", T0 + DAY, people=2)
    everyone(nodes)
    clock.t = T0 + DAY + 1
    with pytest.raises(NotAllowed):
        b.pledges.take(council, cid, delay=0)


def test_thresholds_are_checked(council3: Nodes) -> None:
    nodes, council, _clock = council3
    a = nodes[0]
    with pytest.raises(InvalidInput):
        a.pledges.start(council, "Stop", T0 + DAY, people=4)  # more than the members
    with pytest.raises(InvalidInput):
        a.pledges.start(council, "Stop", T0 + DAY, people=2, share="1/2")
    with pytest.raises(InvalidInput):
        a.pledges.start(council, "Stop", T0 + DAY, share="0")
    with pytest.raises(InvalidInput):
        a.pledges.start(council, "Stop", T0 - 1, people=1)
    cid = a.pledges.start(council, "Stop", T0 + DAY, share="۳/۵")  # Persian digits
    assert a.pledges.campaign(council, cid).needed == 2  # at least 60% of 3


def test_a_delayed_pledge_waits_then_counts(council3: Nodes) -> None:
    nodes, council, clock = council3
    a, b, _c = nodes
    cid = a.pledges.start(council, "Stop work", T0 + DAY, people=2)
    everyone(nodes)
    b.pledges.take(council, cid)  # a random delay of up to ten minutes
    mine = b.pledges.mine(council, cid)
    assert mine.pledged and not mine.counted
    assert b.pledges.campaign(council, cid).count == 0
    with pytest.raises(NotAllowed):
        b.pledges.take(council, cid, delay=0)  # one pledge each, the waiting one too
    clock.t += 601
    b.housekeeping.after_round()
    everyone(nodes)
    assert a.pledges.campaign(council, cid).count == 1
    assert b.pledges.mine(council, cid).counted


def test_pledges_at_once_on_two_devices_are_joined_by_a_mark(council3: Nodes) -> None:
    nodes, council, _clock = council3
    a, b, c = nodes
    cid = a.pledges.start(council, "Stop work", T0 + DAY, people=2)
    everyone(nodes)
    one = b.pledges.take(council, cid, delay=0)  # neither has seen the other's pledge
    two = c.pledges.take(council, cid, delay=0)
    everyone(nodes)  # the import's housekeeping writes the mark
    everyone(nodes)
    found = states(nodes, council, cid)
    assert found[0] == found[1] == found[2]
    state = a.pledges.campaign(council, cid)
    assert state.met and state.count == 2
    assert state.met_by not in (one, two)  # a mark, whose causal past holds both


def parts_of(node: Node, base: bytes) -> bytes:
    (part,) = node.pledges.campaigns(base)
    return part.id


def test_a_campaign_across_a_federation_by_double_majority(tmp_path: Path) -> None:
    clock = Clock(T0)
    host = make_node(tmp_path, "host")
    host.now = clock
    city = host.federation.create("City", "Host")
    people = {n: one_person_council(tmp_path, n, clock, host, city) for n in ("p", "q", "r")}
    for node, _base in people.values():
        send(node, host)
    cid = host.pledges.start(city, "Stop work on Monday", T0 + DAY, share="1/2", across=True)
    with pytest.raises(NotAllowed):
        host.pledges.take(city, cid, delay=0)  # pledged in each council, not here
    parts = {}
    for name, (node, base) in people.items():
        send(host, node)  # the delegate's node opens the campaign in its council
        (part,) = node.pledges.campaigns(base)
        assert part.body.source == cid and part.body.federation == city
        assert part.needed == 1 and part.body.action == "Stop work on Monday"
        parts[name] = part.id
    for name in ("p", "q"):
        node, base = people[name]
        node.pledges.take(base, parts[name], delay=0)
        node.housekeeping.run(base)  # carries the count up
        send(node, host)
        assert (name == "q") == host.pledges.across(city, cid).met
    r, r_base = people["r"]
    r.housekeeping.run(r_base)
    send(r, host)
    across = host.pledges.across(city, cid)
    assert (across.councils, across.councils_met, across.members, across.members_met) == (
        3,
        2,
        3,
        2,
    )
    assert across.met and {row.count for row in across.rows} == {0, 1}
    assert sum(1 for n, b in people.values() if n.pledges.campaign(b, parts_of(n, b)).met) == 2
    for node, base in people.values():
        send(host, node)  # the delegate's node tells its council, once
        send(host, node)
        assert node.pledges.met_across(base) == {parts_of(node, base)}
        assert [c.id for c in node.pledges.met_recently(base, T0)] == [parts_of(node, base)]
        told = [n for n in node.federation_flow.notices(base) if n.kind == "decision"]
        assert len(told) == 1 and "Stop work on Monday" in told[0].title
    for node in [host, *(n for n, _ in people.values())]:
        node.close()


def test_every_delivery_order_gives_every_replica_the_same_count(tmp_path: Path) -> None:
    """Pledges and withdrawals made on four devices that have not seen each other's,
    delivered to each replica one envelope at a time in its own random order."""
    rnd = random.Random(7)
    people, council, _clock = council_of_members(tmp_path, 4, "Factory floor")
    cid = people[0].pledges.start(council, "Stop work on Monday", T0 + DAY, people=3)
    everyone(people)
    known = {e for p in people for e in envelope_ids(p, council)}
    for person in people:  # nobody sees anybody's moves until the end
        person.pledges.take(council, cid, delay=0)
    people[1].pledges.withdraw(council, cid, delay=0)
    people[2].pledges.withdraw(council, cid, delay=0)
    people[2].pledges.take(council, cid, delay=0)
    raws = {}
    for person in people:
        for raw in person.store.events.raws(council):
            eid = bytes.fromhex(json.loads(raw)["id"])
            if eid not in known:
                raws[eid] = raw
    for person in people:
        order = list(raws.values())
        rnd.shuffle(order)
        for raw in order:
            person.bundles.import_envelopes([raw])
    everyone(people)  # and the marks the replicas wrote, if any
    states = [p.pledges.campaign(council, cid) for p in people]
    assert all(s == states[0] for s in states)
    assert states[0].count == 3 and states[0].met
    for person in people:
        person.close()


def test_pledges_made_on_time_are_joined_after_the_deadline(council3: Nodes) -> None:
    nodes, council, clock = council3
    a, b, c = nodes
    cid = a.pledges.start(council, "Stop work", T0 + DAY, people=2)
    everyone(nodes)
    b.pledges.take(council, cid, delay=0)
    c.pledges.take(council, cid, delay=0)
    clock.t = T0 + DAY + 3600  # nobody synced before the deadline
    everyone(nodes)
    everyone(nodes)
    state = a.pledges.campaign(council, cid)
    assert state.met and state.count == 2 and dict(state.refused) == {}
    assert state.met_at is not None and state.met_at > (T0 + DAY) * 1000


def test_a_withdrawal_concurrent_with_the_met_moment_does_not_count(council3: Nodes) -> None:
    """The rule of docs/pledges.md §3: once met, a withdrawal counts only if it is in
    the causal past of the moment it was met, even one made without knowing."""
    nodes, council, _clock = council3
    a, b, _c = nodes
    cid = a.pledges.start(council, "Stop work", T0 + DAY, people=2)
    everyone(nodes)
    a.pledges.take(council, cid, delay=0)
    everyone(nodes)
    a.pledges.withdraw(council, cid, delay=0)  # a has not seen b's pledge
    met = b.pledges.take(council, cid, delay=0)  # b's past holds a's pledge: met here
    everyone(nodes)
    everyone(nodes)
    states = [n.pledges.campaign(council, cid) for n in nodes]
    assert states[0] == states[1] == states[2]
    assert states[0].met_by == met and states[0].count == 2
    assert dict(states[0].refused) == {"after_met": 1}
    assert a.pledges.mine(council, cid).counted  # final: a's pledge stands
    assert a.pledges.mine(council, cid).pledged
    with pytest.raises(NotAllowed):
        a.pledges.take(council, cid, delay=0)
