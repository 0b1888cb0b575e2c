"""The skills register and dead-man timers on real profiles: visibility for coordinators,
withdrawal, latest entry wins; timers that check-ins reset, overdue members, one alert
per expiry even when two nodes notice at once; and property tests that both reducers
give the same state for any delivery order, duplicates included."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import T0, Clock, council_of_three, everyone
from shora.domain.aid import kinds as ak
from shora.domain.care import kinds as ck
from shora.domain.care.skills import reduce_skills, visible_to
from shora.domain.decisions.state import EventView
from shora.domain.safety.deadman import reduce_deadman
from shora.errors import InvalidInput, NotFound
from shora.node import Node
from shora.services import restricted
from shora.services.decisions import _me
from shora.services.forgetting import CHECKIN_KEEP_SECONDS
from shora.sync.runner import Server

HOUR = 3600


@pytest.fixture
def council3(tmp_path: Path) -> Iterator[tuple[list[Node], bytes, Clock]]:
    with council_of_three(tmp_path, ak.Areas([ak.Area("block-4", "Block 4")])) as made:
        yield made


def test_skills_register_and_visibility(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, b, c), council, clock = council3
    ka, kb, kc = (_me(n, council) for n in (a, b, c))
    b.care.set_skills(council, ["nurse", "driver", "nurse"], "Persian, Kurdish")
    c.care.set_skills(council, ["cook"])
    everyone([a, b, c])
    c.care.set_skills(council, ["doctor"], "", "coordinators")  # replaces "cook"
    everyone([a, b, c])
    now = int(clock())
    # The founder, a, holds the coordinator role: a and c see c's entry, b nothing of c.
    assert b.care.coordinators(council, now) == {ka}
    for node, sees_c in ((a, True), (b, False), (c, True)):
        seen = {e.member: e.skills for e in node.care.skills(council, now)}
        assert seen[kb] == ("nurse", "driver")  # the register's order, each once
        assert seen.get(kc) == (("doctor",) if sees_c else None)
    # Sealed, not just filtered: b's own device cannot read it.
    assert kc not in b.care.skill_entries(council)
    [sealed] = b.store.events.valid_where("kind=?", ("skill.sealed",))
    assert b"doctor" not in sealed[5]
    assert [e.member for e in a.care.skills(council, now, skill="driver")] == [kb]
    # The latest entry wins; a withdrawal leaves the register.
    clock.t += 60
    b.care.set_skills(council, ["cook"])
    everyone([a, b, c])
    assert a.care.skill_entries(council)[kb].skills == ("cook",)
    b.care.withdraw_skills(council)
    everyone([a, b, c])
    assert kb not in c.care.skill_entries(council)
    with pytest.raises(NotFound):
        b.care.withdraw_skills(council)
    with pytest.raises(InvalidInput, match="unknown skill"):
        a.care.set_skills(council, ["astronaut"])
    with pytest.raises(InvalidInput):
        a.care.set_skills(council, [])


def test_coordinators_only_entries_follow_the_role() -> None:
    """The pure rule: coordinators and the member see a coordinators-only entry."""
    state_events = [
        EventView(
            b"\x01" * 32, b"m" * 32, 1, 0, "skill.set", ck.SkillSet(["doctor"], "", "coordinators")
        ),
        EventView(b"\x02" * 32, b"n" * 32, 2, 0, "skill.set", ck.SkillSet(["cook"])),
    ]
    entries = reduce_skills(state_events, {b"m" * 32, b"n" * 32}).values()
    coordinator, other = b"k" * 32, b"o" * 32
    assert [e.member for e in visible_to(entries, coordinator, {coordinator})] == [
        b"m" * 32,
        b"n" * 32,
    ]
    assert [e.member for e in visible_to(entries, other, {coordinator})] == [b"n" * 32]
    assert [e.member for e in visible_to(entries, b"m" * 32, set())] == [b"m" * 32, b"n" * 32]
    # Removed members leave the register.
    assert list(reduce_skills(state_events, {b"n" * 32})) == [b"n" * 32]
    # A sealed entry this viewer could not open hides the member's earlier entries.
    box = restricted.Box(b"k" * 32, b"\0" * restricted.BOX_LEN)
    hidden = ck.SkillSealed(restricted.Sealed([box], b"\0" * 64))
    later = EventView(b"\x03" * 32, b"n" * 32, 3, 0, "skill.sealed", hidden)
    assert list(reduce_skills([*state_events, later], {b"m" * 32, b"n" * 32})) == [b"m" * 32]


def test_deadman_timer_checkins_overdue_and_one_alert(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    (a, b, c), council, clock = council3
    ka, kb, kc = (_me(n, council) for n in (a, b, c))
    timer = c.deadman_missing.set_deadman(council, 2, [ka, kb])
    everyone([a, b, c])
    clock.t += HOUR
    c.safety.checkin(council, "safe")  # resets: now due two hours from here
    everyone([a, b, c])
    clock.t += 90 * 60
    assert a.deadman_missing.overdue(council, int(clock())) == []
    assert [t.member for t in a.deadman_missing.naming_me(council)] == [kc]
    assert c.deadman_missing.naming_me(council) == []
    clock.t += HOUR
    [late] = a.deadman_missing.overdue(council, int(clock()))
    assert (late.member, late.timer, late.contacts, late.alert) == (
        kc,
        timer,
        tuple(sorted([ka, kb])),
        None,
    )
    assert c.deadman_missing.raise_alerts(council) == []  # c's own node does not alert about c
    # a and b notice at the same time, each offline: two alerts for one expiry.
    first = a.deadman_missing.raise_alerts(council)
    second = b.deadman_missing.raise_alerts(council)
    assert len(first) == len(second) == 1
    assert a.deadman_missing.raise_alerts(council) == []  # idempotent on one node
    everyone([a, b, c])
    for node in (a, b, c):
        state = node.deadman_missing.deadman_state(council)
        assert state.timers[kc].alert == min(first + second, key=lambda i: _order(node, council, i))
        assert len(state.timers[kc].covering) == 2 and state.ignored == 0  # one counts
        assert node.deadman_missing.raise_alerts(council) == []
    # A check-in starts a new period: no longer overdue; the next expiry gets its own alert.
    c.safety.checkin(council, "injured")
    everyone([a, b, c])
    assert b.deadman_missing.overdue(council, int(clock())) == []
    clock.t += 2 * HOUR
    assert len(b.deadman_missing.raise_alerts(council)) == 1
    # Cleared: nothing runs.
    c.deadman_missing.clear_deadman(council)
    everyone([a, b, c])
    assert a.deadman_missing.overdue(council, int(clock()) + 100 * HOUR) == []
    with pytest.raises(NotFound):
        c.deadman_missing.clear_deadman(council)


def _order(node: Node, council: bytes, event: bytes) -> tuple[int, bytes]:
    row = node.store.one("SELECT clock FROM events WHERE id=?", (event,))
    assert row is not None
    return (int(row), event)


def test_deadman_input_is_checked(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, b, _c), council, _clock = council3
    ka, kb = _me(a, council), _me(b, council)
    with pytest.raises(InvalidInput, match="yourself"):
        a.deadman_missing.set_deadman(council, 2, [ka])
    with pytest.raises(NotFound, match="active member"):
        a.deadman_missing.set_deadman(council, 2, [b"\x05" * 32])
    with pytest.raises(InvalidInput, match="hours"):
        a.deadman_missing.set_deadman(council, 0, [kb])
    with pytest.raises(InvalidInput):
        a.deadman_missing.set_deadman(council, 2, [])
    assert a.deadman_missing.find_active_member(council, "bahram") == kb
    assert a.deadman_missing.find_active_member(council, kb.hex()[:8]) == kb
    with pytest.raises(NotFound):
        a.deadman_missing.find_active_member(council, "Nobody")


# --- order independence -------------------------------------------------------------------


def _ids() -> Iterator[bytes]:
    return iter(bytes([i]) * 32 for i in range(1, 250))


def _deadman_events() -> tuple[list[EventView], frozenset[bytes]]:
    ids = _ids()
    m, n, o = b"m" * 32, b"n" * 32, b"o" * 32
    out: list[EventView] = []

    def add(author: bytes, kind: str, body: object, hours: float) -> bytes:
        i = next(ids)
        out.append(EventView(i, author, len(out) + 1, int((T0 + hours * HOUR) * 1000), kind, body))
        return i

    s1 = add(m, "safety.deadman_set", ck.DeadmanSet(3, [n, o, b"x" * 32]), 0)
    add(m, "safety.checkin", ak.Checkin("safe"), 1)  # the deadline is now at 4 h
    add(n, "safety.deadman_alert", ck.DeadmanAlert(m, s1, T0), 2)  # too early: ignored
    add(n, "safety.deadman_alert", ck.DeadmanAlert(m, s1, T0 + HOUR), 4)  # counts
    add(o, "safety.deadman_alert", ck.DeadmanAlert(m, s1, T0 + HOUR), 4.5)  # duplicate
    add(o, "safety.deadman_alert", ck.DeadmanAlert(n, s1, T0 + HOUR), 5)  # not n's timer
    add(o, "safety.deadman_alert", ck.DeadmanAlert(m, s1, T0 - HOUR), 5)  # before the set
    # Written by a node that had not seen the check-in: valid, but the check-in moved
    # the deadline past it, so it covers nothing now.
    add(n, "safety.deadman_alert", ck.DeadmanAlert(m, s1, T0), 3.5)
    add(n, "safety.deadman_set", ck.DeadmanSet(1, [m]), 0)
    add(n, "safety.deadman_clear", ck.DeadmanClear(), 0.5)
    add(o, "safety.deadman_set", ck.DeadmanSet(5, [m]), 0)
    add(o, "safety.checkin", ak.Checkin("need_help"), -1)  # before the set: no reset
    return out, frozenset({m, n, o})


def _deadman_summary(events: list[EventView], members: frozenset[bytes]) -> object:
    s = reduce_deadman(events, members)
    return (sorted(s.timers.items()), [a.id for a in s.alerts], s.ignored)


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 4))
def test_deadman_reducer_is_order_independent(rnd: random.Random, copies: int) -> None:
    events, members = _deadman_events()
    expected = _deadman_summary(events, members)
    shuffled = events + events[:copies]
    rnd.shuffle(shuffled)
    assert _deadman_summary(shuffled, members) == expected
    s = reduce_deadman(shuffled, members)
    m, n, o = b"m" * 32, b"n" * 32, b"o" * 32
    assert sorted(s.timers) == [m, o]  # n cleared theirs
    assert s.timers[m].contacts == (n, o)  # x is not a member
    assert s.timers[m].since == events[1].id
    assert [a.id for a in s.timers[m].covering] == [events[3].id, events[4].id]
    assert s.timers[m].alert == events[3].id
    assert s.timers[o].since == events[10].id
    assert s.ignored == 3 and len(s.alerts) == 3
    assert s.timers[m].overdue(T0 + 4 * HOUR) and not s.timers[m].overdue(T0 + 4 * HOUR - 1)
    # The check-in is forgotten a week later: the deadline moves back to 3 h, and the
    # alert that counted still does (no second alarm for the same silence).
    forgotten = reduce_deadman([e for e in shuffled if e.kind != "safety.checkin"], members)
    assert forgotten.timers[m].deadline == (T0 + 3 * HOUR) * 1000
    assert forgotten.timers[m].alert == events[3].id


def test_longest_timer_is_shorter_than_the_time_check_ins_are_kept() -> None:
    assert ck.MAX_DEADMAN_HOURS * HOUR < CHECKIN_KEEP_SECONDS


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["set", "withdraw"]), st.sampled_from([b"m", b"n"]), st.integers(1, 40)
        ),
        max_size=12,
    ),
    st.randoms(use_true_random=False),
)
def test_skills_reducer_is_order_independent(
    steps: list[tuple[str, bytes, int]], rnd: random.Random
) -> None:
    events = []
    for i, (what, who, clock) in enumerate(steps, start=1):
        body: object = (
            ck.SkillSet([ck.SKILLS[clock % len(ck.SKILLS)]])
            if what == "set"
            else ck.SkillWithdraw()
        )
        events.append(EventView(i.to_bytes(32, "big"), who * 32, clock, 0, f"skill.{what}", body))
    members = frozenset({b"m" * 32, b"n" * 32})
    expected = reduce_skills(events, members)
    doubled = events + events[: len(events) // 2]
    rnd.shuffle(doubled)
    assert reduce_skills(doubled, members) == expected
    for member, entry in expected.items():
        mine = [e for e in events if e.author == member]
        latest = max(mine, key=lambda e: e.order)
        assert latest.kind == "skill.set" and entry.event == latest.id


def test_a_running_node_raises_the_alert_once(council3: tuple[list[Node], bytes, Clock]) -> None:
    """`shora serve` passes raise_all_alerts to the sync loop: after each round the node
    alerts for the timers that ran out, once per expiry however many rounds it runs."""
    (a, b, c), council, clock = council3
    kc = _me(c, council)
    c.deadman_missing.set_deadman(council, 1, [_me(a, council)])
    everyone([a, b, c])
    clock.t += 2 * HOUR
    server = Server(a, interval=0.01, after_round=a.deadman_missing.raise_all_alerts)

    async def three_rounds() -> None:
        running = asyncio.create_task(server.run())
        while server.rounds < 3:
            await asyncio.sleep(0.01)
        server.stopping.set()
        await running

    asyncio.run(three_rounds())
    state = a.deadman_missing.deadman_state(council)
    assert state.timers[kc].alert is not None and len(state.alerts) == 1
