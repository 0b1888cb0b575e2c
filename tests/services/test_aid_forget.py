"""Forgetting on purpose, on real profiles: once expired, needs, offers, notes, alerts
and check-ins leave the projected state, their rows and envelopes leave the database,
and no page of the decrypted database file (free pages included) nor the write-ahead
log holds their words any more. Sync and bundles do not bring them back, and a member
admitted afterwards takes in the rest of the history with no gap."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import apsw
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_aid import AREAS, need, offer

from conftest import T0, Clock, admit, council_of_three, everyone, make_node, send
from shora.domain.aid import kinds as ak
from shora.domain.aid.state import reduce_aid
from shora.domain.decisions.state import EventView
from shora.kernel import bundle, nip01, profile
from shora.node import Node
from shora.services.forgetting import (
    CHECKIN_KEEP_SECONDS,
    CLOSED_KEEP_SECONDS,
    Row,
    due,
)
from shora.sync.local import NodeEnvelopes

HOUR = 3600
WORDS = ("needle-words-4c1e", "offer-words-9b2d", "note-street-77aa", "alert-words-e5f0")
PASSPHRASE = "correct horse battery"


class _SpyFile(apsw.VFSFile):
    opened: ClassVar[list[tuple[str, _SpyFile]]] = []

    def __init__(self, vfs: str, name: apsw.URIFilename, flags: list[int]) -> None:
        super().__init__(vfs, name, flags)
        _SpyFile.opened.append((name.filename() if hasattr(name, "filename") else str(name), self))


class _Spy(apsw.VFS):
    """A VFS stacked on SQLite3 Multiple Ciphers': reading through it gives the pages
    as the cipher decrypts them, every page of the file, free ones included."""

    def __init__(self) -> None:
        super().__init__("shora-spy", base="")

    def xOpen(self, name: apsw.URIFilename | str | None, flags: list[int]) -> _SpyFile:
        return _SpyFile("", name, flags)  # type: ignore[arg-type]


_SPY = _Spy()


def decrypted_pages(home: Path) -> bytes:
    """Every page of a closed profile's database, decrypted with its key."""
    unlocked = profile.unlock(home, PASSPHRASE, allow_weak_kdf=True)
    key, path = unlocked.secrets.database_key, unlocked.database
    _SpyFile.opened.clear()
    db = apsw.Connection(str(path), vfs="shora-spy")
    try:
        db.pragma("cipher", "chacha20")
        db.pragma("kdf_iter", 1)
        db.pragma("hexkey", key.hex())
        db.execute("SELECT count(*) FROM events").fetchall()
        [main] = [f for n, f in _SpyFile.opened if n == str(path)]
        size, page = main.xFileSize(), 4096
        data = b"".join(main.xRead(page, offset) for offset in range(0, size, page))
        assert data.startswith(b"SQLite format 3\0")  # decrypted, so a search means something
        return data
    finally:
        db.close()


@pytest.fixture
def council3(tmp_path: Path) -> Iterator[tuple[list[Node], bytes, Clock]]:
    with council_of_three(tmp_path, AREAS) as made:
        yield made


def _story(nodes: list[Node], council: bytes) -> dict[str, bytes]:
    a, b, c = nodes
    ids = {
        "need": b.aid.post_need(council, need(quantity=3, what=WORDS[0], expires=T0 + HOUR)),
        "offer": c.aid.post_offer(council, offer(quantity=3, what=WORDS[1], expires=T0 + HOUR)),
    }
    everyone(nodes)
    ids["commit"] = a.aid.commit(council, ids["need"], ids["offer"], 2)
    everyone(nodes)
    ids["note"] = b.aid.add_note(council, ids["need"], WORDS[2])
    ids["alert"] = c.safety.alert(council, "gas_leak", "market", T0 + HOUR, WORDS[3])
    ids["checkin"] = a.safety.checkin(council, "injured", "block-4")
    everyone(nodes)
    return ids


def test_expired_records_leave_the_state_the_rows_and_every_page(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    (a, b, c), council, clock = council3
    ids = _story([a, b, c], council)
    home = a.home
    # The only copy of each body is its envelope's ciphertext (the events table keeps
    # no decrypted one): a piece of each is looked for in every page.
    pieces = [
        bytes(
            a.store.one(
                "SELECT v.content FROM envelopes v JOIN events e ON e.envelope = v.id WHERE e.id=?",
                (eid,),
            )
        )[25:89]
        for eid in ids.values()
    ]
    a.close()
    before = decrypted_pages(home)
    assert all(p in before for p in pieces)  # the scan finds what is there
    assert not any(w.encode() in before for w in WORDS)  # and no body in the clear
    a = Node.open(home, PASSPHRASE, allow_weak_kdf=True, now=clock)
    try:
        assert a.forgetting.forget_expired(T0).total == 0  # nothing has expired yet
        clock.t = T0 + CHECKIN_KEEP_SECONDS + 1
        done = a.forgetting.forget_expired(int(clock()))
        assert done.kinds == {
            "aid.need": 1,
            "aid.offer": 1,
            "aid.commit": 1,
            "aid.note": 1,
            "safety.alert": 1,
            "safety.checkin": 1,
        }
        st = a.aid.state(council, int(clock()))
        assert not (st.needs or st.offers or st.commitments or st.notes)
        assert a.safety.alerts(council, 0, active_only=False) == []
        for eid in ids.values():
            assert a.store.one("SELECT count(*) FROM events WHERE id=?", (eid,)) == 0
        emptied = a.store.one("SELECT count(*) FROM envelopes WHERE length(content)=0")
        assert emptied == 6
        wal = Path(str(a.store.path) + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and truncated
        assert a.forgetting.forget_expired(int(clock())).total == 0  # idempotent
        a.posts.post(council, "life goes on")  # the history still grows
    finally:
        a.close()
    after = decrypted_pages(home)
    for word in WORDS:
        assert word.encode() not in after, word
    assert not any(p in after for p in pieces)
    for path in home.iterdir():  # nor in any other file of the profile, as stored
        if path.is_file():
            assert not any(w.encode() in path.read_bytes() for w in WORDS)


def test_forgotten_events_are_not_fetched_again_nor_sent(
    council3: tuple[list[Node], bytes, Clock], tmp_path: Path
) -> None:
    (a, b, c), council, clock = council3
    ids = _story([a, b, c], council)
    envelopes = {
        bytes(e) for (e,) in a.store.rows("SELECT envelope FROM events WHERE kind LIKE 'aid.%'")
    }
    clock.t = T0 + 2 * HOUR
    assert a.forgetting.forget_expired(int(clock())).kinds["aid.need"] == 1
    view = NodeEnvelopes(a)
    gone = [
        e
        for e in envelopes
        if a.store.one("SELECT length(content) FROM envelopes WHERE id=?", (e,)) == 0
    ]
    assert len(gone) == 4  # need, offer, commitment, note
    assert view.lacking(gone) == []  # held, as far as sync is concerned
    assert view.get(gone) == []  # but never sent
    assert all(view.items({"ids": [e.hex() for e in gone]}))
    report = a.bundles.import_envelopes(
        b.bundles.envelopes()
    )  # b still has them: nothing comes back
    assert report.accepted == 0
    assert a.aid.state(council, int(clock())).needs == {}
    buf = io.BytesIO()
    a.bundles.export_bundle(buf)
    buf.seek(0)
    carried = {bytes.fromhex(nip01.decode(r).id) for r in bundle.read_bundle(buf)}
    assert not carried & set(gone)
    # Someone admitted now gets the history without the forgotten records, and no gap.
    d = make_node(tmp_path, "d")
    d.now = clock
    try:
        admit(a, d, council, "Dara")
        send(a, d)
        assert d.store.one("SELECT count(*) FROM pending") == 0
        assert ids["need"] not in d.aid.state(council, int(clock())).needs
        d.posts.post(council, "hello")
        send(d, b)
        assert b.store.one("SELECT count(*) FROM pending") == 0
    finally:
        d.close()


def test_a_live_offer_keeps_the_commitments_that_used_it(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    (a, b, c), council, clock = council3
    n = b.aid.post_need(council, need(quantity=2, expires=T0 + HOUR))
    o = c.aid.post_offer(council, offer(quantity=5))  # no expiry
    lone = b.aid.post_need(council, need("food", 1, expires=T0 + HOUR))
    everyone([a, b, c])
    a.aid.commit(council, n, o, 2)
    clock.t = T0 + 2 * HOUR
    done = a.forgetting.forget_expired(int(clock()))
    assert done.kinds == {"aid.need": 1}  # only the lone need
    st = a.aid.state(council, int(clock()))
    assert lone not in st.needs and n in st.needs
    assert st.offers[o].remaining == 3  # the commitment still counts


def test_check_ins_are_kept_for_a_week(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, _b, _c), council, clock = council3
    a.safety.checkin(council, "safe", "block-4")
    clock.t = T0 + CHECKIN_KEEP_SECONDS - 1
    assert a.forgetting.forget_expired(int(clock())).total == 0
    clock.t += 1
    assert a.forgetting.forget_expired(int(clock())).kinds == {"safety.checkin": 1}


def test_a_sealed_need_is_forgotten_by_those_who_cannot_read_it(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    (a, b, c), council, _clock = council3
    body = need(quantity=1, expires=T0 + HOUR, visibility="coordinators")
    nid = b.aid.post_need(council, body)
    everyone([a, b, c])
    assert nid in c.aid.state(council, T0).hidden
    assert c.forgetting.forget_expired(T0 + HOUR).kinds == {"aid.need_sealed": 1}
    assert c.aid.state(council, T0).hidden == {}


def test_a_delivered_need_and_its_address_go_a_week_after_the_delivery(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    (a, b, c), council, clock = council3
    n = b.aid.post_need(council, need(quantity=2))  # no expiry
    o = c.aid.post_offer(council, offer(quantity=2))
    withdrawn = c.aid.post_offer(council, offer("food", 1))
    everyone([a, b, c])
    cid = a.aid.commit(council, n, o, 2)
    everyone([a, b, c])
    b.aid.add_note(council, n, WORDS[2])
    clock.t = T0 + 3 * HOUR
    c.aid.fulfil(council, 2, commitment=cid)
    c.aid.cancel(council, withdrawn, "gone")
    everyone([a, b, c])
    assert a.aid.state(council, int(clock())).needs[n].status == "fulfilled"
    clock.t = T0 + 3 * HOUR + CLOSED_KEEP_SECONDS - 1
    assert a.forgetting.forget_expired(int(clock())).total == 0  # kept for a week after closing
    clock.t += 1
    done = a.forgetting.forget_expired(int(clock()))
    assert done.kinds == {
        "aid.need": 1,
        "aid.offer": 2,
        "aid.commit": 1,
        "aid.fulfil": 1,
        "aid.note": 1,
        "aid.cancel": 1,
    }
    assert a.aid.state(council, int(clock())).needs == {}


# --- what forgetting may never change -------------------------------------------------


@st.composite
def _histories(draw: st.DrawFn) -> tuple[list[EventView], int]:
    """Needs and offers (water, with or without expiry), commitments, deliveries and
    cancellations between them, in any amounts."""
    ids = iter(bytes([i]) * 32 for i in range(1, 250))
    alice, bob = b"\x01" * 32, b"\x02" * 32
    out: list[EventView] = []

    def add(kind: str, body: object, author: bytes = alice) -> bytes:
        i = next(ids)
        out.append(EventView(i, author, 2, T0 * 1000 + draw(st.integers(0, 10**7)), kind, body))
        return i

    expiry = st.none() | st.integers(T0, T0 + 4 * HOUR)
    needs = [
        add("aid.need", need(quantity=draw(st.integers(1, 5)), expires=draw(expiry)))
        for _ in range(draw(st.integers(1, 4)))
    ]
    offers = [
        add("aid.offer", offer(quantity=draw(st.integers(1, 5)), expires=draw(expiry)), bob)
        for _ in range(draw(st.integers(1, 4)))
    ]
    commits = []
    for _ in range(draw(st.integers(0, 6))):
        n, o = draw(st.sampled_from(needs)), draw(st.sampled_from(offers))
        commits.append(add("aid.commit", ak.Commit(n, o, draw(st.integers(1, 5)))))
    for _ in range(draw(st.integers(0, 4))):
        if commits and draw(st.booleans()):
            add("aid.fulfil", ak.Fulfil(draw(st.sampled_from(commits)), None, 1))
        else:
            add("aid.fulfil", ak.Fulfil(None, draw(st.sampled_from(needs)), 1))
    for target in draw(st.lists(st.sampled_from(needs + offers), max_size=2, unique=True)):
        add("aid.cancel", ak.Cancel(target), alice if target in needs else bob)
    return out, draw(st.integers(T0, T0 + 10 * 24 * HOUR))


def _items(events: list[EventView], now: int) -> dict[bytes, tuple[int, int, int, str]]:
    s = reduce_aid(events, now)
    return {
        i.id: (i.committed, i.fulfilled, i.remaining, i.status)
        for i in (*s.needs.values(), *s.offers.values())
    }


@settings(max_examples=300, deadline=None)
@given(_histories())
def test_forgetting_never_changes_what_is_left(history: tuple[list[EventView], int]) -> None:
    events, now = history
    st_before = reduce_aid(events, now)
    closed = {
        i.id: i.closed_at
        for i in (*st_before.needs.values(), *st_before.offers.values())
        if i.closed_at is not None
    }
    rows = [Row(e.id, e.id, e.kind, e.time, e.clock, e.body) for e in events]
    gone = due(rows, now, closed)
    before, after = _items(events, now), _items([e for e in events if e.id not in gone], now)
    assert set(after) == set(before) - gone
    for item, state in after.items():
        assert state == before[item]  # whatever is kept looks exactly as it did
    for item in set(before) & gone:  # and only what is over went
        body = next(e.body for e in events if e.id == item)
        expired = body.expires is not None and body.expires <= now
        assert expired or before[item][3] in ("fulfilled", "cancelled", "duplicate", "committed")
