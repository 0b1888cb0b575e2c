"""Restricted visibility and private notes on real profiles: a need sealed to the
coordinators (or a role's holders) is unreadable on a non-recipient's device even with
direct access to its database; notes reach only the people handling a need; who may
set the areas and retract alerts; aid and safety events are leaves. Then the sealing
primitives and the visibility parser, with Hypothesis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from random import Random
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_aid import AREAS, need, offer
from test_aid_forget import decrypted_pages

from conftest import T0, Clock, admit, everyone, send, three_members
from shora.domain.aid import kinds as ak
from shora.domain.aid.state import OpenedNeed, OpenedNote, reduce_aid
from shora.domain.decisions.state import EventView
from shora.errors import InvalidInput, NotAllowed
from shora.kernel import crypto
from shora.kernel.membership import CouncilState, Member
from shora.node import Node
from shora.services import restricted

SECRET = "glargine-7f3a-secret"


@pytest.fixture
def council4(tmp_path: Path) -> Iterator[tuple[list[Node], bytes, Clock]]:
    """a (founder, so coordinator), b, c, d: everyone holding everything."""
    clock = Clock()
    (a, b, c), council = three_members(tmp_path, clock)
    from conftest import make_node

    d = make_node(tmp_path, "d")
    d.now = clock
    admit(a, d, council, "Dara")
    a.aid.set_areas(council, AREAS)
    everyone([a, b, c, d])
    yield [a, b, c, d], council, clock
    for node in (a, b, c, d):
        node.close()


def _every_value(node: Node) -> list[Any]:
    """Every value of every column of every table of a node's database."""
    tables = [t for (t,) in node.store.rows("SELECT name FROM sqlite_master WHERE type='table'")]
    return [v for t in tables for row in node.store.rows(f"SELECT * FROM {t}") for v in row]


def _holds(node: Node, marker: str) -> bool:
    needle = marker.encode()
    for v in _every_value(node):
        if isinstance(v, bytes | memoryview) and needle in bytes(v):
            return True
        if isinstance(v, str) and marker in v:
            return True
    return False


def _secret_need(visibility: str) -> ak.Need:
    medicine = ak.MedicineDetails("insulin glargine", "100 IU/ml", True)
    return need("medicine", 2, medicine=medicine, what=SECRET, visibility=visibility)


def test_a_coordinators_need_is_unreadable_to_other_members_even_in_their_database(
    council4: tuple[list[Node], bytes, Clock],
) -> None:
    (a, b, c, d), council, clock = council4
    nid = b.aid.post_need(council, _secret_need("coordinators"))
    everyone([a, b, c, d])
    now = int(clock())
    for reader in (a, b):  # the coordinator and the author
        item = reader.aid.state(council, now).needs[nid]
        assert item.body.what == SECRET and item.audience == "coordinators"
        assert item.recipients == {a_key(a, council), a_key(b, council)}
    seen = c.aid.state(council, now)
    assert nid not in seen.needs and seen.hidden[nid].audience == "coordinators"
    assert [h["visibility"] for h in _hidden_rows(c, council, now)] == ["coordinators"]
    # With the database open (its key, every epoch key): only ciphertext.
    assert not _holds(c, SECRET) and not _holds(d, SECRET)
    # The sealed body is there, and c's own X25519 key cannot open it.
    found = c.store.events.any_by_id(council, nid)
    assert found is not None
    body = found[5]
    sealed = msgspec.msgpack.decode(body, type=ak.SealedNeed).sealed
    assert a_key(c, council) not in sealed.recipients
    assert c.restricted.open_for_me(council, a_key(b, council), sealed, b"aid.need") is None
    # Matching on c's device does not see it; commitments need a recipient.
    o = c.aid.post_offer(council, offer("medicine", 5, medicine=_kept_cold()))
    everyone([a, b, c, d])
    with pytest.raises(NotAllowed):
        c.aid.commit(council, nid, o, 1)
    assert [x.need_id for x in a.aid.match(council, now).assignments] == [nid]
    cid = a.aid.commit(council, nid, o, 2)
    everyone([a, b, c, d])
    assert c.aid.state(council, now).offers[o].remaining == 3  # counted against the offer
    assert a.aid.state(council, now).needs[nid].remaining == 0
    c.aid.fulfil(council, 2, commitment=cid)  # the giver records the delivery
    everyone([a, b, c, d])
    assert b.aid.state(council, now).needs[nid].status == "fulfilled"
    home = d.home  # every page of d's decrypted database file, free ones included
    d.close()
    assert SECRET.encode() not in decrypted_pages(home)
    a.close()  # a recipient opens it in memory each time: never stored in the clear
    assert SECRET.encode() not in decrypted_pages(a.home)


def _kept_cold() -> ak.MedicineDetails:
    return ak.MedicineDetails("insulin glargine", "100 IU/ml", True, True)


def a_key(node: Node, council: bytes) -> bytes:
    return node.restricted.my_key(council)


def _hidden_rows(node: Node, council: bytes, now: int) -> list[dict[str, Any]]:
    return [{"visibility": h.audience} for h in node.aid.state(council, now).hidden.values()]


def test_a_role_need_reaches_only_the_role_holders_and_the_author(
    council4: tuple[list[Node], bytes, Clock],
) -> None:
    (a, b, c, d), council, clock = council4
    nid = b.aid.post_need(council, _secret_need("role:medical"))  # nobody holds it yet
    everyone([a, b, c, d])
    now = int(clock())
    assert b.aid.state(council, now).needs[nid].recipients == {a_key(b, council)}
    assert nid in a.aid.state(council, now).hidden  # a coordinator is not a medic
    assert not _holds(a, SECRET)


def test_a_need_marked_restricted_but_written_in_the_clear_does_not_count(
    council4: tuple[list[Node], bytes, Clock],
) -> None:
    (a, b, _c, _d), council, clock = council4
    leaked = b.append(council, "aid.need", _secret_need("coordinators"))
    send(b, a)
    st = a.aid.state(council, int(clock()))
    assert leaked not in st.needs and st.ignored == 1


def test_notes_reach_the_people_handling_the_need_only(
    council4: tuple[list[Node], bytes, Clock],
) -> None:
    (a, b, c, d), council, _clock = council4
    nid = b.aid.post_need(council, need(quantity=4))
    o = c.aid.post_offer(council, offer(quantity=4))
    everyone([a, b, c, d])
    with pytest.raises(NotAllowed):
        d.aid.add_note(council, nid, "not mine to handle")
    a.aid.commit(council, nid, o, 4)
    everyone([a, b, c, d])
    address = f"Street 9, house 14, {SECRET}"
    b.aid.add_note(council, nid, address)
    everyone([a, b, c, d])
    for reader in (a, b, c):  # coordinator and committer, author, offerer
        assert [n.text for n in reader.aid.notes(council, nid)] == [address]
    [hidden] = d.aid.notes(council, nid)
    assert hidden.text is None and a_key(d, council) not in hidden.recipients
    assert not _holds(d, SECRET)
    with pytest.raises(InvalidInput):
        b.aid.add_note(council, nid, "   ")


def test_areas_first_by_anyone_then_only_by_coordinators(tmp_path: Path) -> None:
    clock = Clock()
    (a, b, c), council = three_members(tmp_path, clock)
    try:
        b.aid.set_areas(council, AREAS)  # the first map: any member
        everyone([a, b, c])
        assert c.aid.areas(council) is not None
        smaller = ak.Areas([ak.Area("block-4", "Block 4")])
        with pytest.raises(NotAllowed, match="coordinator"):
            b.aid.set_areas(council, smaller)
        b.append(council, "aid.areas", smaller)  # around the writer's check
        everyone([a, b, c])
        for node in (a, b, c):
            known = node.aid.areas(council)
            assert known is not None and len(known.areas) == 3
        a.aid.set_areas(council, smaller)  # the coordinator may
        everyone([a, b, c])
        for node in (a, b, c):
            known = node.aid.areas(council)
            assert known is not None and known.ids == {"block-4"}
    finally:
        for node in (a, b, c):
            node.close()


def test_a_coordinator_may_retract_any_alert(council4: tuple[list[Node], bytes, Clock]) -> None:
    (a, b, c, d), council, clock = council4
    fire = b.safety.alert(council, "fire", "market")
    gas = b.safety.alert(council, "gas_leak", "market")
    everyone([a, b, c, d])
    with pytest.raises(NotAllowed):
        c.safety.retract_alert(council, fire)
    c.append(council, "safety.alert_retract", ak.AlertRetract(fire))  # forced: no effect
    a.safety.retract_alert(council, gas)
    everyone([a, b, c, d])
    for node in (a, b, c, d):
        assert [x.id for x in node.safety.alerts(council, int(clock()))] == [fire]


def test_aid_and_safety_events_never_become_heads(
    council4: tuple[list[Node], bytes, Clock],
) -> None:
    (a, b, _c, _d), council, _clock = council4
    before = a.store.rows("SELECT id FROM heads WHERE council=?", (council,))
    nid = a.aid.post_need(council, need())
    a.safety.checkin(council, "safe")
    a.safety.alert(council, "fire", "market")
    assert a.store.rows("SELECT id FROM heads WHERE council=?", (council,)) == before
    a.posts.post(council, "a post after them")
    parents = a.store.rows(
        "SELECT parents FROM events WHERE council=? AND kind='post.message'", (council,)
    )[0][0]
    assert nid not in [parents[i : i + 32] for i in range(0, len(parents), 32)]
    send(a, b)
    assert b.store.one("SELECT count(*) FROM pending") == 0


# --- the primitives ----------------------------------------------------------------------


def _state(keys: dict[bytes, bytes], gone: set[bytes]) -> CouncilState:
    members = {
        k: Member(k, k.hex()[:6], kx, b"\0" * 32, b"\1" * 32 if k in gone else None)
        for k, kx in keys.items()
    }
    return CouncilState(members=members)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.data())
def test_sealed_content_opens_for_recipients_only(n: int, data: st.DataObject) -> None:
    people = [(crypto.sign_keypair()[0], *crypto.kx_keypair()) for _ in range(n + 1)]
    chosen = data.draw(st.sets(st.integers(0, n), min_size=1))
    plain = data.draw(st.binary(max_size=300))
    council, author = b"c" * 32, people[0][0]
    sealed = restricted.seal(
        {people[i][0]: people[i][1] for i in chosen}, plain, b"t", council, author
    )
    wire = msgspec.msgpack.decode(msgspec.msgpack.encode(sealed), type=restricted.Sealed)
    for i, (member, kx_pk, kx_sk) in enumerate(people):
        got = restricted.open_sealed(wire, member, kx_pk, kx_sk, b"t", council, author)
        assert got == (plain if i in chosen else None)
        if i in chosen:  # bound to its purpose, council and author
            assert restricted.open_sealed(wire, member, kx_pk, kx_sk, b"u", council, author) is None
            assert (
                restricted.open_sealed(wire, member, kx_pk, kx_sk, b"t", council, b"x" * 32) is None
            )


def test_audience_members_are_active_and_include_the_author() -> None:
    keys = {bytes([i]) * 32: crypto.kx_keypair()[0] for i in range(1, 5)}
    one, two, three, four = sorted(keys)
    state = _state(keys, gone={three})
    from shora.kernel.membership import Term

    state.terms["coordinator"] = (Term(two, 0, 2**62, b"x" * 32), Term(three, 0, 2**62, b"y" * 32))
    got = restricted.audience_members(state, "coordinators", one, 1000)
    assert set(got) == {one, two}  # three was removed: never a recipient again
    assert set(restricted.audience_members(state, "role:medical", four, 1000)) == {four}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_visibility_parser_accepts_only_the_three_forms(text: str) -> None:
    try:
        value = restricted.parse_audience(text)
    except InvalidInput:
        return
    assert value in ("council", "coordinators") or value.startswith("role:")
    assert msgspec.json.decode(msgspec.json.encode(value), type=restricted.Audience) == value


@pytest.mark.parametrize("good", ["council", " Coordinators ", "role:medical", "role:first-aid"])
def test_visibility_parser_examples(good: str) -> None:
    assert restricted.parse_audience(good) == good.strip().lower()


@pytest.mark.parametrize("bad", ["", "everyone", "role:", "role:Medical!", "role:9x"])
def test_visibility_parser_refuses(bad: str) -> None:
    with pytest.raises(InvalidInput):
        restricted.parse_audience(bad)


# --- the reducer with sealed needs, for readers and non-readers ---------------------------


def _sealed_events(readable: bool) -> list[EventView]:
    """A history with a sealed need, seen by a recipient (opened) or not (as written)."""
    alice, bob, carol = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
    sealed = restricted.Sealed([restricted.Box(alice, b"k" * restricted.BOX_LEN)], b"c" * 64)
    inner = need("blood", 2, blood="A-", visibility="coordinators")
    outer = ak.SealedNeed("coordinators", sealed)
    note_outer = ak.Note(b"\x10" * 32, sealed)
    ids = iter(bytes([i]) * 32 for i in range(0x10, 0x40))
    out: list[EventView] = []

    def add(author: bytes, kind: str, body: object, time: int = 0) -> bytes:
        i = next(ids)
        out.append(EventView(i, author, 3, T0 * 1000 + time, kind, body))
        return i

    n = add(alice, "aid.need_sealed", OpenedNeed(outer, inner) if readable else outer)
    o = add(carol, "aid.offer", offer("blood", 3, blood="O-"))
    add(carol, "aid.commit", ak.Commit(n, o, 1))  # carol is no recipient: ignored
    c = add(alice, "aid.commit", ak.Commit(n, o, 2), time=5)
    add(bob, "aid.fulfil", ak.Fulfil(c, None, 2), time=1)  # earlier time, still after c
    add(alice, "aid.note", OpenedNote(note_outer, "door 3") if readable else note_outer)
    return out


def _view(events: list[EventView]) -> object:
    s = reduce_aid(events, T0)
    return (
        {k: (v.committed, v.fulfilled, v.status) for k, v in s.needs.items()},
        {k: h.committed for k, h in s.hidden.items()},
        {k: (v.committed, v.remaining) for k, v in s.offers.items()},
        {k: (v.quantity, v.fulfilled) for k, v in s.commitments.items()},
        {k: [n.text for n in v] for k, v in s.notes.items()},
    )


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.booleans())
def test_sealed_needs_reduce_the_same_in_any_order(rnd: Random, readable: bool) -> None:
    events = _sealed_events(readable)
    expected = _view(events)
    shuffled = events + events[:2]
    rnd.shuffle(shuffled)
    assert _view(shuffled) == expected
    needs, hidden, offers, commitments, notes = expected  # type: ignore[misc]
    assert offers == {bytes([0x11]) * 32: (2, 1)}  # the same on both sides of the seal
    assert list(commitments.values()) == [(2, 2)]
    if readable:
        assert list(needs.values()) == [(2, 2, "fulfilled")] and hidden == {}
        assert list(notes.values()) == [["door 3"]]
    else:
        assert needs == {} and list(hidden.values()) == [2]
        assert list(notes.values()) == [[None]]
