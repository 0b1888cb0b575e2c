"""Mutual aid and safety end to end on real profiles: needs and offers on two nodes,
matching, commitments, fulfilment, expiry, blood groups through the whole path;
check-ins and roll calls; alerts. Then the command line, and a property test that the
aid reducer does not depend on the order of its events."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli import Profile, bring_in

from conftest import T0, Clock, council_of_three, everyone, send
from shora.domain.aid import kinds as ak
from shora.domain.aid.state import reduce_aid
from shora.domain.decisions.state import EventView
from shora.errors import InvalidInput, NotAllowed
from shora.node import Node

HOUR = 3600
AREAS = ak.Areas(
    [ak.Area("block-4", "Block 4"), ak.Area("block-9", "Block 9"), ak.Area("market", "Market")],
    [ak.Edge("block-4", "block-9", 3), ak.Edge("block-9", "market", 2)],
)


@pytest.fixture
def council3(tmp_path: Path) -> Iterator[tuple[list[Node], bytes, Clock]]:
    with council_of_three(tmp_path, AREAS) as made:
        yield made


def need(category: str = "water", quantity: int = 10, **kw: object) -> ak.Need:
    kw.setdefault("urgency", "urgent")
    kw.setdefault("area", "block-4")
    return ak.Need(category=category, quantity=quantity, **kw)  # type: ignore[arg-type]


def offer(category: str = "water", quantity: int = 10, **kw: object) -> ak.Offer:
    kw.setdefault("area", "block-9")
    return ak.Offer(category=category, quantity=quantity, **kw)  # type: ignore[arg-type]


def test_need_offer_match_commit_fulfil(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, b, c), council, clock = council3
    n = a.aid.post_need(council, need(quantity=10))
    o = b.aid.post_offer(council, offer(quantity=6))
    everyone([a, b, c])
    now = int(clock())
    proposal = c.aid.match(council, now)
    assert [(x.need_id, x.offer_id, x.quantity, x.distance) for x in proposal.assignments] == [
        (n, o, 6, 3)
    ]
    # Nothing is committed by matching.
    assert [x.remaining for x in c.aid.open_needs(council, now)] == [10]

    cid = b.aid.commit(council, n, o, 6)
    everyone([a, b, c])
    [left] = a.aid.open_needs(council, now)
    assert (left.id, left.committed, left.remaining, left.status) == (n, 6, 4, "open")
    assert a.aid.open_offers(council, now) == []
    assert a.aid.state(council, now).offers[o].status == "committed"
    assert a.aid.match(council, now).assignments == ()

    with pytest.raises(InvalidInput):
        a.aid.fulfil(council, 7, commitment=cid)
    with pytest.raises(NotAllowed, match="giver"):
        c.aid.dispatch(council, cid, 2)  # neither the giver nor the one who committed
    b.aid.dispatch(council, cid, 4)
    everyone([a, b, c])
    assert a.aid.state(council, now).commitments[cid].dispatched == 4
    assert a.aid.state(council, now).needs[n].in_transit == 4
    with pytest.raises(InvalidInput, match="only 2 is left to send"):
        b.aid.dispatch(council, cid, 3)
    a.aid.fulfil(council, 4, need=n)  # part came from outside
    everyone([a, b, c])
    item = c.aid.state(council, now).needs[n]
    assert (item.in_transit, item.status) == (4, "committed")  # 2 have not left yet
    b.aid.dispatch(council, cid, 2)
    everyone([a, b, c])
    item = c.aid.state(council, now).needs[n]
    assert (item.in_transit, item.status) == (6, "in_transit")
    a.aid.fulfil(council, 6, commitment=cid)
    everyone([a, b, c])
    item = c.aid.state(council, now).needs[n]
    assert (item.fulfilled, item.remaining, item.status) == (10, 0, "fulfilled")


def test_filters_expiry_and_cancel(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, b, _c), council, clock = council3
    water = a.aid.post_need(council, need(quantity=3, expires=T0 + HOUR))
    food = a.aid.post_need(council, need("food", 2, urgency="immediate", area="market"))
    now = int(clock())
    assert [n.id for n in a.aid.open_needs(council, now)] == [food, water]  # triage first
    assert [n.id for n in a.aid.open_needs(council, now, category="water")] == [water]
    assert [n.id for n in a.aid.open_needs(council, now, area="market")] == [food]
    assert [n.id for n in a.aid.open_needs(council, now, urgency="urgent")] == [water]
    assert [n.id for n in a.aid.open_needs(council, T0 + HOUR)] == [food]
    assert a.aid.state(council, T0 + HOUR).needs[water].status == "expired"
    send(a, b)
    with pytest.raises(NotAllowed):
        b.aid.cancel(council, food)
    a.aid.cancel(council, food, "met by the clinic")
    assert a.aid.state(council, now).needs[food].status == "cancelled"
    with pytest.raises(InvalidInput, match="unknown area"):
        a.aid.post_need(council, need(area="nowhere"))
    with pytest.raises(InvalidInput, match="blood group"):
        a.aid.post_need(council, need("blood", 1))


def test_blood_groups_through_the_whole_path(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, b, c), council, clock = council3
    now = int(clock())
    recipient = a.aid.post_need(council, need("blood", 2, blood="A-", urgency="immediate"))
    wrong = b.aid.post_offer(council, offer("blood", 5, blood="A+"))
    right = c.aid.post_offer(council, offer("blood", 1, blood="O-"))
    everyone([a, b, c])
    proposal = a.aid.match(council, now)
    assert [(x.offer_id, x.quantity) for x in proposal.assignments] == [(right, 1)]
    with pytest.raises(InvalidInput, match="cannot serve"):
        a.aid.commit(council, recipient, wrong, 1)
    a.aid.commit(council, recipient, right, 1)
    assert a.aid.open_needs(council, now)[0].remaining == 1


def test_checkins_and_rollcall(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, b, c), council, clock = council3
    c.safety.checkin(council, "safe", "block-9")
    everyone([a, b, c])
    clock.t += 60
    call = a.safety.rollcall(council)
    everyone([a, b, c])
    clock.t += 60
    b.safety.checkin(council, "injured", "block-4")
    a.safety.checkin(council, "safe")
    everyone([a, b, c])
    state = c.safety.rollcall_state(council, call)
    members = {m for m, _ in state.answered} | set(state.not_answered)
    assert len(members) == 3
    assert sorted(s for _, s in state.answered) == ["injured", "safe"]
    assert len(state.not_answered) == 1  # c checked in before the call only
    area_call = a.safety.rollcall(council, "block-9")
    send(a, c)
    area = c.safety.rollcall_state(council, area_call)
    assert area.answered == () and len(area.not_answered) == 1  # c, last seen in block 9
    with pytest.raises(InvalidInput):
        a.safety.checkin(council, "fine")


def test_alerts(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, b, c), council, clock = council3
    raid = a.safety.alert(council, "air_raid", "market")
    gas = a.safety.alert(council, "gas_leak", "block-4", expires=T0 + 10 * HOUR)
    everyone([a, b, c])
    b.safety.confirm_alert(council, raid)
    c.safety.confirm_alert(council, raid)
    c.safety.confirm_alert(council, raid)  # twice: still one confirmer
    with pytest.raises(NotAllowed):
        a.safety.confirm_alert(council, raid)
    with pytest.raises(NotAllowed):
        b.safety.retract_alert(council, gas)
    everyone([a, b, c])
    now = int(clock())
    shown = {x.id: x for x in a.safety.alerts(council, now)}
    assert shown[raid].confidence == 2 and shown[gas].confidence == 0
    assert [x.id for x in a.safety.alerts(council, T0 + 6 * HOUR)] == [gas]  # default 6 h
    a.safety.retract_alert(council, gas)
    assert a.safety.alerts(council, T0 + 6 * HOUR) == []
    with pytest.raises(InvalidInput):
        a.safety.alert(council, "meteor", "market")


# --- order independence -------------------------------------------------------------------


def _events() -> list[EventView]:
    ids = iter(bytes([i]) * 32 for i in range(1, 200))
    alice, bob = b"\x01" * 32, b"\x02" * 32
    out: list[EventView] = []

    def add(author: bytes, kind: str, body: object) -> bytes:
        i = next(ids)
        out.append(EventView(i, author, len(out) + 1, T0 * 1000, kind, body))
        return i

    add(alice, "aid.areas", AREAS)
    n1 = add(alice, "aid.need", need(quantity=5))
    n2 = add(bob, "aid.need", need("blood", 2, blood="B+"))
    o1 = add(bob, "aid.offer", offer(quantity=3))
    o2 = add(alice, "aid.offer", offer("blood", 4, blood="O+"))
    o3 = add(alice, "aid.offer", offer(quantity=4))
    c1 = add(alice, "aid.commit", ak.Commit(n1, o1, 3))
    add(bob, "aid.commit", ak.Commit(n1, o3, 4))  # capped at 2
    add(bob, "aid.commit", ak.Commit(n2, o2, 2))
    add(bob, "aid.commit", ak.Commit(n2, o1, 1))  # wrong category: ignored
    add(alice, "aid.fulfil", ak.Fulfil(c1, None, 2))
    add(alice, "aid.fulfil", ak.Fulfil(c1, None, 5))  # capped at 1
    add(bob, "aid.cancel", ak.Cancel(o3, "gone"))  # not the author's: ignored
    add(alice, "aid.cancel", ak.Cancel(o3, "gone"))
    add(alice, "aid.commit", ak.Commit(n2, o3, 1))  # after the cancel, and wrong category
    return out


def _summary(events: list[EventView]) -> object:
    s = reduce_aid(events, T0)
    return (
        {k: (v.committed, v.fulfilled, v.remaining, v.status) for k, v in s.needs.items()},
        {k: (v.committed, v.remaining, v.status) for k, v in s.offers.items()},
        {k: (v.quantity, v.fulfilled) for k, v in s.commitments.items()},
        s.ignored,
        s.areas,
    )


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 3))
def test_aid_reducer_is_order_independent(rnd: random.Random, copies: int) -> None:
    events = _events()
    expected = _summary(events)
    shuffled = events + events[:copies]
    rnd.shuffle(shuffled)
    assert _summary(shuffled) == expected
    s = reduce_aid(shuffled, T0)
    needs = list(s.needs.values())
    assert [(n.committed, n.fulfilled, n.status) for n in needs] == [
        (5, 3, "committed"),
        (2, 0, "committed"),
    ]
    assert s.ignored == 3


# --- command line -----------------------------------------------------------------------


def test_cli_aid_flow_and_errors(tmp_path: Path) -> None:
    a, b = Profile(tmp_path, "nasrin"), Profile(tmp_path, "bahram")
    for p in (a, b):
        assert p.run("init").returncode == 0
    a.ok("council", "create", "Block 4 committee", "--as", "Nasrin")
    bring_in(a, b, "Bahram")
    from test_cli import sync

    council = "Block 4 committee"
    out = a.ok(
        "areas",
        council,
        "--area",
        "block-4=Block 4",
        "--area",
        "block-9=Block 9",
        "--edge",
        "block-4:block-9:۳",
    )
    assert "2" in out
    sync(a, b, council)
    need_json = a.json(
        "need",
        council,
        "blood",
        "۲",
        "--blood",
        "A-",
        "--urgency",
        "immediate",
        "--area",
        "block-4",
    )
    offer_json = b.json("offer", council, "blood", "3", "--blood", "O-", "--area", "block-9")
    sync(b, a, council)
    [proposed] = a.json("match", council)["assignments"]
    assert proposed["need"] == need_json["id"] and proposed["offer"] == offer_json["id"]
    assert proposed["quantity"] == 2 and proposed["distance"] == 3
    [listed] = a.json("need", council, "--list")
    assert listed["matched"] and listed["status"] == "open"  # proposed, not committed
    assert "matched" in a.ok("need", council, "--list")
    commitment = a.json("commit", council, need_json["id"][:8], offer_json["id"][:8], "2")
    sync(a, b, council)
    assert "on its way" in b.ok("dispatch", council, commitment["id"][:8], "2")
    sync(b, a, council)
    assert a.json("need", council, "--list") == []  # no longer open ...
    [on_its_way] = a.json("need", council, "--list", "--all")  # ... but listed with --all
    assert (on_its_way["in_transit"], on_its_way["status"]) == (2, "in_transit")
    assert "in transit" in a.ok("need", council, "--list", "--all")
    a.ok("fulfil", council, commitment["id"][:8], "2")
    assert a.json("need", council, "--list") == []  # fulfilled: no longer open
    assert "safe" in a.ok("checkin", council, "safe", "--area", "block-4")
    a.ok("rollcall", council)
    sync(a, b, council)
    b.ok("checkin", council, "injured")
    sync(b, a, council)
    called = a.json("rollcall", council, "--show")
    assert called["answered"] == [{"name": "Bahram", "status": "injured"}]
    assert called["not_answered"] == ["Nasrin"]
    [raised] = a.json("alert", council, "air_raid", "--area", "block-9")
    assert (raised["kind"], raised["confidence"]) == ("air_raid", 0)
    sync(a, b, council)
    b.ok("alert", council, "--confirm", raised["id"][:8])
    sync(b, a, council)
    assert a.json("alert", council)[0]["confidence"] == 1
    a.ok("alert", council, "--retract", raised["id"][:8])
    assert a.json("alert", council) == []

    assert "unknown category" in a.fails("need", council, "bread", "1", "--area", "block-4")
    assert "out of range" in a.fails("need", council, "water", "0", "--area", "block-4", code=2)
    assert "-3" in a.fails("need", council, "water", "-3", "--area", "block-4", code=2)
    negative = ("need", "--area", "block-4", "--", council, "water", "-3")
    assert "out of range" in a.fails(*negative, code=2)
    assert "unknown area" in a.fails("need", council, "water", "1", "--area", "mars")
    assert "blood group" in a.fails(
        "need", council, "blood", "1", "--blood", "C+", "--area", "block-4", code=1
    )


def test_a_need_under_way_and_what_answers_it(council3: tuple[list[Node], bytes, Clock]) -> None:
    """A need that commitments cover is no longer open but is under way until delivered;
    its author's own needs carry each commitment's giver and how much is on its way."""
    (a, b, c), council, clock = council3
    n = a.aid.post_need(council, need(quantity=10))
    other = c.aid.post_need(council, need(quantity=3))
    o = b.aid.post_offer(council, offer(quantity=10))
    everyone([a, b, c])
    now = int(clock())
    assert a.aid.needs_under_way(council, now) == []
    [(mine, answers)] = a.aid.my_needs(council, now)
    assert (mine.id, answers) == (n, [])
    cid = c.aid.commit(council, n, o, 10)  # committed by a third member: b still gives
    everyone([a, b, c])
    assert [x.id for x in a.aid.open_needs(council, now)] == [other]
    [under] = a.aid.needs_under_way(council, now)
    assert (under.id, under.status) == (n, "committed")
    assert a.aid.needs_under_way(council, now, area="market") == []
    [(mine, [answer])] = a.aid.my_needs(council, now)
    assert mine.id == n
    assert (answer.commitment, answer.giver, answer.committed) == (cid, b.aid.core.me(council), 10)
    assert (answer.on_its_way, answer.delivered) == (0, 0)
    b.aid.dispatch(council, cid, 10)
    everyone([a, b, c])
    [(mine, [answer])] = a.aid.my_needs(council, now)
    assert (mine.status, answer.on_its_way) == ("in_transit", 10)
    assert c.aid.my_needs(council, now)[0][0].id == other  # each member sees their own
    a.aid.fulfil(council, 10, commitment=cid)
    everyone([a, b, c])
    assert a.aid.my_needs(council, now) == [] and a.aid.needs_under_way(council, now) == []
