"""Missing people on real profiles (PFIF model): records and notes written on different
nodes, the latest status, contact made, last known area, links between duplicates shown
both ways; bad input; and a property test that the reducer ignores delivery order."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import T0, Clock, council_of_three, everyone
from shora.domain.aid import kinds as ak
from shora.domain.care import kinds as ck
from shora.domain.decisions.state import EventView
from shora.domain.safety.missing import reduce_missing
from shora.errors import InvalidInput, NotFound
from shora.node import Node


@pytest.fixture
def council3(tmp_path: Path) -> Iterator[tuple[list[Node], bytes, Clock]]:
    with council_of_three(
        tmp_path, ak.Areas([ak.Area("block-4", "Block 4"), ak.Area("market", "Market")])
    ) as made:
        yield made


def test_records_notes_and_links(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, b, c), council, clock = council3
    leila = a.deadman_missing.add_person(
        council,
        ck.MissingPerson(
            full_name="لیلا احمدی",
            alternate_names=["Leila"],
            age_min=30,
            age_max=40,
            sex="female",
            description="green scarf",
            last_seen_area="block-4",
            last_seen=T0 - 3600,
        ),
    )
    # Someone else opened a record for the same person on another node.
    other = b.deadman_missing.add_person(council, ck.MissingPerson(full_name="Leila Ahmadi"))
    everyone([a, b, c])
    clock.t += 60
    b.deadman_missing.add_note(
        council, ck.MissingNote(person=leila, status="information_sought", text="anyone?")
    )
    everyone([a, b, c])
    clock.t += 60
    c.deadman_missing.add_note(
        council,
        ck.MissingNote(person=leila, status="believed_alive", last_known_area="market", found=True),
    )
    c.deadman_missing.add_note(council, ck.MissingNote(person=leila, linked_person=other))
    everyone([a, b, c])
    for node in (a, b, c):
        records = {p.id: p for p in node.deadman_missing.persons(council)}
        p = records[leila]
        assert (p.status, p.found, p.last_known_area, p.age) == (
            "believed_alive",
            True,
            "market",
            "30-40",
        )
        assert p.links == {other} and records[other].links == {leila}  # both ways
        assert [n.body.status for n in p.notes] == ["information_sought", "believed_alive", None]
        assert records[other].status is None and records[other].last_known_area is None
    assert a.deadman_missing.find_person(council, "leila") == leila  # an alternate name
    assert a.deadman_missing.find_person(council, "LEILA AHMADI") == other
    assert a.deadman_missing.find_person(council, leila.hex()[:8]) == leila
    # A note by the person themselves says they were found.
    note = a.deadman_missing.add_note(
        council, ck.MissingNote(person=other, status="is_note_author")
    )
    state = a.deadman_missing.missing_state(council)
    assert state.persons[other].found and state.persons[other].notes[-1].id == note


def test_bad_input(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, _b, _c), council, clock = council3
    p = a.deadman_missing.add_person(council, ck.MissingPerson(full_name="Reza"))
    with pytest.raises(InvalidInput, match="unknown area"):
        a.deadman_missing.add_person(
            council, ck.MissingPerson(full_name="X", last_seen_area="mars")
        )
    with pytest.raises(InvalidInput, match="age"):
        a.deadman_missing.add_person(
            council, ck.MissingPerson(full_name="X", age_min=40, age_max=30)
        )
    with pytest.raises(InvalidInput, match="future"):
        a.deadman_missing.add_person(
            council, ck.MissingPerson(full_name="X", last_seen=int(clock()) + 100)
        )
    with pytest.raises(NotFound):
        a.deadman_missing.add_note(council, ck.MissingNote(person=b"\x01" * 32, text="?"))
    with pytest.raises(InvalidInput, match="itself"):
        a.deadman_missing.add_note(council, ck.MissingNote(person=p, linked_person=p))
    with pytest.raises(NotFound):
        a.deadman_missing.add_note(council, ck.MissingNote(person=p, linked_person=b"\x01" * 32))
    with pytest.raises(InvalidInput, match="says something"):
        a.deadman_missing.add_note(council, ck.MissingNote(person=p))
    with pytest.raises(NotFound):
        a.deadman_missing.find_person(council, "Nobody")


# --- order independence -------------------------------------------------------------------


def _events() -> list[EventView]:
    ids = iter(bytes([i]) * 32 for i in range(1, 200))
    m, n = b"m" * 32, b"n" * 32
    out: list[EventView] = []

    def add(author: bytes, kind: str, body: object) -> bytes:
        i = next(ids)
        out.append(EventView(i, author, len(out) + 1, T0 * 1000, kind, body))
        return i

    p1 = add(m, "missing.person", ck.MissingPerson(full_name="A", last_seen_area="x"))
    p2 = add(n, "missing.person", ck.MissingPerson(full_name="A."))
    p3 = add(n, "missing.person", ck.MissingPerson(full_name="A b"))
    add(n, "missing.note", ck.MissingNote(person=p1, status="believed_missing"))
    add(m, "missing.note", ck.MissingNote(person=p1, status="believed_alive", found=True))
    add(m, "missing.note", ck.MissingNote(person=p1, text="seen", last_known_area="y"))
    add(m, "missing.note", ck.MissingNote(person=p2, linked_person=p1))
    add(m, "missing.note", ck.MissingNote(person=p3, linked_person=p2))
    add(m, "missing.note", ck.MissingNote(person=p3, linked_person=p3))  # itself: ignored
    add(m, "missing.note", ck.MissingNote(person=b"\x09" * 32, text="?"))  # unknown: ignored
    return out


def _summary(events: list[EventView]) -> object:
    s = reduce_missing(events)
    return (
        {
            k: (p.status, p.found, p.last_known_area, sorted(p.links), [x.id for x in p.notes])
            for k, p in s.persons.items()
        },
        s.ignored,
    )


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 4))
def test_missing_reducer_is_order_independent(rnd: random.Random, copies: int) -> None:
    events = _events()
    expected = _summary(events)
    shuffled = events + events[:copies]
    rnd.shuffle(shuffled)
    assert _summary(shuffled) == expected
    s = reduce_missing(shuffled)
    p1, p2, p3 = (events[i].id for i in range(3))
    assert (s.persons[p1].status, s.persons[p1].found, s.persons[p1].last_known_area) == (
        "believed_alive",
        True,
        "y",
    )
    assert s.persons[p1].links == {p2}
    assert s.persons[p2].links == {p1, p3}
    assert s.persons[p3].links == {p2}
    assert s.ignored == 2
