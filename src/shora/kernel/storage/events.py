"""The events of each council, their envelopes and heads: the `events`, `envelopes`,
`heads` and `msets` tables."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from shora.kernel.events import stored_body
from shora.kernel.storage.compact import pack, unpack
from shora.kernel.storage.database import Database

# A stored event as readers fold it: (id, author, clock, time, kind, body).
EventRow = tuple[bytes, bytes, int, int, str, bytes]


def _body_of(table: str) -> str:
    """Three columns in place of a body: the event's envelope content, its epoch and
    that epoch's content key (`_body` decrypts them). Subqueries, so that a condition
    on the events table's own columns reads as it is written."""
    return (
        f"(SELECT v.content FROM envelopes v WHERE v.id={table}.envelope), {table}.epoch, "  # noqa: S608
        f"(SELECT k.content_key FROM epochs k WHERE k.write_pk={table}.epoch)"
    )


_BODY = _body_of("events")
_EVENT = f"SELECT id, author, clock, time, kind, {_BODY} FROM events "  # noqa: S608
_VALID = _EVENT + "WHERE valid=1 AND "
# An envelope's columns, in the order compact.unpack takes them.
_ENVELOPE = "id, pubkey, created_at, kind, hint, sig, content"


def _body(content: bytes, epoch: bytes, key: bytes) -> bytes:
    return stored_body(content, key, epoch)


def _row(r: Sequence[Any]) -> EventRow:
    """An EventRow from (id, author, clock, time, kind, content, epoch, key)."""
    return (bytes(r[0]), bytes(r[1]), int(r[2]), int(r[3]), str(r[4]), _body(*r[5:8]))


class Events:
    def __init__(self, db: Database) -> None:
        self.db = db

    def valid_ids(self, council: bytes, kinds: Iterable[str]) -> list[bytes]:
        """The ids of the valid events of these kinds, in the order they were stored."""
        wanted = tuple(kinds)
        marks = ",".join("?" * len(wanted))
        rows = self.db.rows(
            f"SELECT id FROM events WHERE council=? AND valid=1 AND kind IN ({marks})"  # noqa: S608
            " ORDER BY rowid",
            (council, *wanted),
        )
        return [bytes(r[0]) for r in rows]

    def valid_of_kind(
        self,
        council: bytes,
        kind: str,
        ref: bytes | None = None,
        *,
        order: str = "",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[EventRow]:
        """The valid events of one kind (about `ref`, if given). `order`: "" as the
        index gives them, "clock" oldest first, "newest" newest first. Ordered by
        `+clock`, not `clock`: a plain column lets SQLite walk the whole council in
        clock order instead of using the (council, kind, ref) index."""
        sql = _VALID + "council=? AND kind=?"
        params: list[object] = [council, kind]
        if ref is not None:
            sql += " AND ref=?"
            params.append(ref)
        sql += {"": "", "clock": " ORDER BY +clock, id", "newest": " ORDER BY +clock DESC, id"}[
            order
        ]
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return [_row(r) for r in self.db.rows(sql, tuple(params))]

    def _valid(self, where: str, params: tuple[Any, ...]) -> list[EventRow]:
        return [_row(r) for r in self.db.rows(_VALID + where, params)]

    def valid_of_kinds(self, council: bytes, kinds: Sequence[str]) -> list[EventRow]:
        """The valid events of these kinds (in the order the index gives them)."""
        marks = ",".join("?" * len(kinds))
        return self._valid(f"council=? AND kind IN ({marks})", (council, *kinds))

    def valid_on(self, council: bytes, kinds: Sequence[str], ref: bytes) -> list[EventRow]:
        """The valid events of these kinds about `ref` (the events_subject index)."""
        marks = ",".join("?" * len(kinds))
        return self._valid(f"council=? AND kind IN ({marks}) AND ref=?", (council, *kinds, ref))

    def valid_on_any(self, council: bytes, kind: str, refs: Sequence[bytes]) -> list[EventRow]:
        """The valid events of one kind about any of `refs`."""
        marks = ",".join("?" * len(refs))
        return self._valid(f"council=? AND kind=? AND ref IN ({marks})", (council, kind, *refs))

    def valid_event(self, council: bytes, kinds: Sequence[str], event: bytes) -> EventRow | None:
        """One valid event of these kinds in that council, by id."""
        marks = ",".join("?" * len(kinds))
        found = self._valid(f"council=? AND kind IN ({marks}) AND id=?", (council, *kinds, event))
        return found[0] if found else None

    def valid_by_id(self, event: bytes) -> EventRow | None:
        """One valid event by id, of any kind and council."""
        found = self._valid("id=?", (event,))
        return found[0] if found else None

    def valid_ids_any_order(self, council: bytes, kinds: Sequence[str]) -> list[bytes]:
        """The ids of the valid events of these kinds, in no particular order (to find
        one by a prefix of its id)."""
        marks = ",".join("?" * len(kinds))
        rows = self.db.rows(
            f"SELECT id FROM events WHERE council=? AND kind IN ({marks}) AND valid=1",  # noqa: S608
            (council, *kinds),
        )
        return [bytes(r[0]) for r in rows]

    def valid_authors(
        self, council: bytes, kinds: Sequence[str], only: bytes | None = None
    ) -> dict[bytes, bytes]:
        """The author of each valid event of these kinds (only that one, if given)."""
        marks = ",".join("?" * len(kinds))
        where = f"council=? AND kind IN ({marks})" + (" AND id=?" if only else "")
        params = (council, *kinds, *([only] if only else []))
        rows = self.db.rows(f"SELECT id, author FROM events WHERE valid=1 AND {where}", params)  # noqa: S608
        return {bytes(i): bytes(a) for i, a in rows}

    def valid_kind(self, council: bytes, event: bytes) -> str | None:
        """The kind of a valid event of that council, if there is one with that id."""
        kind = self.db.one(
            "SELECT kind FROM events WHERE valid=1 AND council=? AND id=?", (council, event)
        )
        return str(kind) if kind is not None else None

    def last_row(self, council: bytes) -> int:
        """The highest local row number of the council's events (0: none yet); an event
        stored later has a higher one, whatever its clock."""
        top = self.db.one("SELECT MAX(rowid) FROM events WHERE council=?", (council,))
        return int(top or 0)

    def count_valid_since(
        self, council: bytes, kinds: Sequence[str], after_row: int, not_by: bytes | None
    ) -> int:
        """How many valid events of these kinds were stored after that row number,
        written by anyone but `not_by`."""
        marks = ",".join("?" * len(kinds))
        found = self.db.one(
            f"SELECT COUNT(*) FROM events WHERE valid=1 AND council=? AND kind IN ({marks})"  # noqa: S608
            " AND rowid>? AND author IS NOT ?",
            (council, *kinds, after_row, not_by),
        )
        return int(found or 0)

    def ids_since(self, council: bytes, kind: str, after_row: int) -> set[bytes]:
        """The ids of the events of one kind (valid or not) stored after that row number."""
        rows = self.db.rows(
            "SELECT id FROM events WHERE council=? AND kind=? AND rowid>?",
            (council, kind, after_row),
        )
        return {bytes(r[0]) for r in rows}

    def valid_where(self, condition: str, params: tuple[Any, ...]) -> list[EventRow]:
        """The valid events matching a fixed condition on the events table's columns
        (with ? for every value), for readers that have no named query of their own yet."""
        return self._valid(condition, params)

    def count(self, council: bytes) -> int:
        """How many events of the council this node holds (valid or void)."""
        return int(self.db.one("SELECT count(*) FROM events WHERE council=?", (council,)))

    def all_valid_ids(self, council: bytes) -> list[tuple[object, ...]]:
        """The ids of the council's valid events, by id (for a digest of the state)."""
        return self.db.rows(
            "SELECT id FROM events WHERE council=? AND valid=1 ORDER BY id", (council,)
        )

    def posts(self, council: bytes, limit: int, offset: int) -> list[tuple[Any, ...]]:
        """Valid announcements and messages, newest first: (id, kind, body, time,
        author's name). The page is chosen first, then only its envelopes are read."""
        rows = self.db.rows(
            f"SELECT e.id, e.kind, e.time, m.name, {_body_of('e')} FROM (SELECT rowid AS r "  # noqa: S608
            "FROM events WHERE council=? AND kind IN ('post.announcement', 'post.message') "
            "AND valid=1 ORDER BY clock DESC, id LIMIT ? OFFSET ?) page "
            "JOIN events e ON e.rowid = page.r "
            "LEFT JOIN members m ON m.council=e.council AND m.key=e.author "
            "ORDER BY e.clock DESC, e.id",
            (council, limit, offset),
        )
        return [(i, k, _body(*body), t, name) for i, k, t, name, *body in rows]

    def log(self, council: bytes, limit: int, offset: int) -> list[tuple[Any, ...]]:
        """The council's events, newest first: (id, author, author's name or '', kind,
        time, clock, valid, body). The page is chosen first, then only its envelopes
        are read."""
        rows = self.db.rows(
            "SELECT e.id, e.author, coalesce(m.name, ''), e.kind, e.time, e.clock, e.valid, "  # noqa: S608
            f"{_body_of('e')} FROM (SELECT rowid AS r FROM events WHERE council=? "
            "ORDER BY clock DESC, id LIMIT ? OFFSET ?) page JOIN events e ON e.rowid = page.r "
            "LEFT JOIN members m ON m.council=e.council AND m.key=e.author "
            "ORDER BY e.clock DESC, e.id",
            (council, limit, offset),
        )
        return [(*r[:7], _body(*r[7:])) for r in rows]

    # --- ingest: envelopes, events and heads -----------------------------------------

    def has_envelope(self, eid: bytes) -> bool:
        """Whether an envelope with this id is stored (forgotten ones too)."""
        return bool(self.db.one("SELECT 1 FROM envelopes WHERE id=?", (eid,)))

    def has_event(self, inner_id: bytes) -> bool:
        """Whether an event with this inner id is stored."""
        return bool(self.db.one("SELECT 1 FROM events WHERE id=?", (inner_id,)))

    def meta(self, inner_id: bytes) -> tuple[Any, ...] | None:
        """(clock, mset, kind, time) of a stored event, or None."""
        rows = self.db.rows("SELECT clock, mset, kind, time FROM events WHERE id=?", (inner_id,))
        return rows[0] if rows else None

    def add_envelopes(self, rows: list[tuple[Any, ...]]) -> None:
        """Store envelope rows (id, council, kind, created_at, raw, pubkey, hint); the
        JSON is kept as its signature and content (compact.pack)."""
        self.db.executemany(
            "INSERT INTO envelopes VALUES(?,?,?,?,?,?,?,?)",
            [(i, c, k, t, pk, hint, *pack(raw, hint)) for i, c, k, t, raw, pk, hint in rows],
        )

    def add_envelope(self, row: tuple[Any, ...]) -> None:
        """Store one envelope row (a welcome: no event of its own)."""
        self.add_envelopes([row])

    def add_events(self, rows: list[tuple[Any, ...]]) -> None:
        """Store event rows, in the column order of the events table."""
        self.db.executemany("INSERT INTO events VALUES(?,?,?,?,?,?,?,?,?,?,?,?)", rows)

    def update_heads(
        self, dropped: list[tuple[bytes, bytes]], added: list[tuple[bytes, bytes]]
    ) -> None:
        """Remove the (council, id) heads that got children; add the new ones."""
        self.db.executemany("DELETE FROM heads WHERE council=? AND id=?", dropped)
        self.db.executemany("INSERT OR IGNORE INTO heads VALUES(?,?)", added)

    def heads(self, council: bytes, limit: int) -> list[tuple[Any, ...]]:
        """(id, clock, time) of the council's latest heads, highest clock first."""
        return self.db.rows(
            "SELECT h.id, e.clock, e.time FROM heads h JOIN events e ON e.id = h.id "
            "WHERE h.council=? ORDER BY e.clock DESC, h.id LIMIT ?",
            (council, limit),
        )

    def void_count(self, council: bytes, author: bytes) -> int:
        """How many void events of this author the council holds."""
        return int(
            self.db.one(
                "SELECT count(*) FROM events WHERE council=? AND author=? AND valid=0",
                (council, author),
            )
        )

    def welcomes_with_hint(self, hint: str) -> int:
        """How many welcomes with this hint are stored."""
        return int(self.db.one("SELECT count(*) FROM envelopes WHERE hint=?", (hint,)) or 0)

    def contents_with_hint(self, hint: str) -> list[bytes]:
        """The content (as bytes) of each stored welcome or ring envelope with this hint."""
        rows = self.db.rows("SELECT content FROM envelopes WHERE hint=?", (hint,))
        return [bytes(c) for (c,) in rows if isinstance(c, bytes)]

    def last_admission(self, council: bytes) -> int:
        """The rowid of the council's last stored admission (0: none). Admissions have
        no ref: naming it (NULL) puts the rowid next in the index, so this is one seek
        rather than a walk over every admission."""
        return int(
            self.db.one(
                "SELECT max(rowid) FROM events"
                " WHERE council=? AND kind='member.admit' AND ref IS NULL",
                (council,),
            )
            or 0
        )

    def admissions_after(self, council: bytes, rowid: int) -> list[bytes]:
        """The bodies of the council's admissions stored after that rowid (a range of
        the index, as in `last_admission`)."""
        rows = self.db.rows(
            f"SELECT {_BODY} FROM events WHERE council=? AND kind='member.admit'"  # noqa: S608
            " AND ref IS NULL AND rowid>?",
            (council, rowid),
        )
        return [_body(*r) for r in rows]

    # --- the projection: causal pasts, state events, validity -----------------------

    def mset(self, mset_id: int) -> tuple[bytes, int | None, bytes]:
        """(ids, base set, council) of a stored causal past: since schema 7 the ids of
        its frontier and no base; before, the ids it adds to its base (none: whole)."""
        row = self.db.rows("SELECT ids, base, council FROM msets WHERE id=?", (mset_id,))[0]
        return bytes(row[0]), row[1], bytes(row[2])

    def mset_by_digest(self, council: bytes, digest: bytes) -> int | None:
        """The id of the stored causal past with this digest, if any."""
        found = self.db.one("SELECT id FROM msets WHERE council=? AND digest=?", (council, digest))
        return None if found is None else int(found)

    def add_mset(self, council: bytes, ids: bytes, base: int | None, digest: bytes) -> int:
        """Store a causal past (its frontier's sorted ids, no base); its id."""
        self.db.execute(
            "INSERT INTO msets(council, ids, base, digest) VALUES(?,?,?,?)",
            (council, ids, base, digest),
        )
        return int(self.db.db.last_insert_rowid())

    def state_events(self, council: bytes, kinds: tuple[str, ...]) -> list[tuple[Any, ...]]:
        """(id, clock, author, kind, time, mset, body, epoch) of the council's events of
        these (state) kinds, in causal order."""
        marks = ",".join("?" * len(kinds))
        rows = self.db.rows(
            f"SELECT id, clock, author, kind, time, mset, {_BODY} FROM events "  # noqa: S608
            f"WHERE council=? AND kind IN ({marks}) ORDER BY clock, id",
            (council, *kinds),
        )
        return [(*r[:6], _body(*r[6:]), r[7]) for r in rows]

    def set_validity(self, updates: list[tuple[int, bytes]]) -> None:
        """Mark events valid (1) or void (0): (valid, id) pairs."""
        self.db.executemany("UPDATE events SET valid=? WHERE id=?", updates)

    def of_author(self, council: bytes, author: bytes) -> list[tuple[Any, ...]]:
        """(id, kind, mset) of every event of an author in a council."""
        return self.db.rows(
            "SELECT id, kind, mset FROM events WHERE council=? AND author=?", (council, author)
        )

    def mset_of(self, inner_id: bytes) -> int | None:
        """The causal past (mset id) of a stored event."""
        found = self.db.one("SELECT mset FROM events WHERE id=?", (inner_id,))
        return None if found is None else int(found)

    def parents(self, inner_id: bytes) -> bytes | None:
        """The concatenated parent ids of a stored event."""
        found = self.db.one("SELECT parents FROM events WHERE id=?", (inner_id,))
        return None if found is None else bytes(found)

    # --- envelopes as sync and bundles read them --------------------------------------

    def raws(self, council: bytes | None = None, since: int = 0) -> Iterator[bytes]:
        """The raw envelopes held (not forgotten), in the order stored."""
        sql = f"SELECT {_ENVELOPE} FROM envelopes WHERE created_at >= ? AND length(content) > 0"  # noqa: S608
        params: tuple[Any, ...] = (since,)
        if council is not None:
            sql += " AND council=?"
            params += (council,)
        for row in self.db.rows(sql + " ORDER BY rowid", params):
            yield unpack(*row)

    def raw(self, eid: bytes) -> bytes | None:
        """One envelope's raw bytes (empty if forgotten), or None."""
        rows = self.db.rows(f"SELECT {_ENVELOPE} FROM envelopes WHERE id=?", (eid,))  # noqa: S608
        return unpack(*rows[0]) if rows else None

    def last_created(self, write_pk: bytes, kind: int) -> int | None:
        """The latest created_at of an envelope of this write key and kind."""
        found = self.db.one(
            "SELECT max(created_at) FROM envelopes WHERE pubkey=? AND kind=?", (write_pk, kind)
        )
        return None if found is None else int(found)

    def items(self, flt: Mapping[str, Any]) -> list[tuple[int, bytes]]:
        """(created_at, id) of every envelope matching a NIP-01 filter."""
        where, params = _where(flt)
        rows = self.db.rows(
            f"SELECT created_at, id FROM envelopes WHERE {where}",  # noqa: S608
            params,
        )
        return [(int(ts), bytes(eid)) for ts, eid in rows]

    def query(self, flt: Mapping[str, Any], limit: int) -> list[bytes]:
        """Raw envelopes matching a NIP-01 filter, newest first, at most `limit`."""
        where, params = _where(flt)
        rows = self.db.rows(
            f"SELECT {_ENVELOPE} FROM envelopes WHERE {where} AND length(content) > 0 "  # noqa: S608
            "ORDER BY created_at DESC, id LIMIT ?",
            (*params, limit),
        )
        return [unpack(*r) for r in rows]

    def hours(self, authors: list[bytes]) -> list[tuple[Any, ...]]:
        """(pubkey, created_at, id) of every envelope of these write keys."""
        marks = ",".join("?" * len(authors))
        return self.db.rows(
            f"SELECT pubkey, created_at, id FROM envelopes WHERE pubkey IN ({marks})",  # noqa: S608
            tuple(authors),
        )

    def councils_with_hints(self, hints: list[str]) -> set[bytes]:
        """The councils holding a welcome with one of these hints."""
        marks = ",".join("?" * len(hints))
        return {
            bytes(c)
            for (c,) in self.db.rows(
                f"SELECT DISTINCT council FROM envelopes WHERE hint IN ({marks})",  # noqa: S608
                tuple(hints),
            )
        }

    def raws_between(self, author: bytes, start: int, end: int) -> list[bytes]:
        """The held envelopes of a write key dated in [start, end)."""
        return [
            unpack(*r)
            for r in self.db.rows(
                f"SELECT {_ENVELOPE} FROM envelopes WHERE pubkey=? AND created_at >= ? "  # noqa: S608
                "AND created_at < ? AND length(content) > 0",
                (author, start, end),
            )
        ]

    def last_rowid(self) -> int:
        """The rowid of the latest stored envelope (0: none)."""
        return int(self.db.one("SELECT max(rowid) FROM envelopes") or 0)

    def own_after(
        self, mark: int, top: int, welcome_kind: int, limit: int
    ) -> list[tuple[Any, ...]]:
        """(rowid, council, raw) of the envelopes stored in (mark, top] that this profile
        wrote (an event by one of its identities, or a welcome), at most `limit`."""
        rows = self.db.rows(
            "SELECT v.rowid, v.council, v.id, v.pubkey, v.created_at, v.kind, v.hint, v.sig, "
            "v.content FROM envelopes v WHERE v.rowid > ? "
            "AND v.rowid <= ? AND length(v.content) > 0 AND (v.kind = ? OR EXISTS (SELECT 1 "
            "FROM events e JOIN identities i ON i.council = e.council AND i.sign_pk = e.author "
            "WHERE e.envelope = v.id)) ORDER BY v.rowid LIMIT ?",
            (mark, top, welcome_kind, limit),
        )
        return [(rowid, council, unpack(*r)) for rowid, council, *r in rows]

    def valid_of_kinds_by(
        self, council: bytes, kinds: Sequence[str], author: bytes
    ) -> list[EventRow]:
        """The valid events of these kinds written by one author."""
        marks = ",".join("?" * len(kinds))
        return self._valid(
            f"council=? AND kind IN ({marks}) AND author=?", (council, *kinds, author)
        )

    def with_body_of_kinds(
        self, council: bytes, kinds: Iterable[str]
    ) -> list[tuple[bytes, bytes, str, int, int, bytes]]:
        """The events of these kinds (not forgotten: a forgotten one has no row), valid
        or not, as (id, envelope, kind, time, clock, body)."""
        wanted = tuple(kinds)
        marks = ",".join("?" * len(wanted))
        rows = self.db.rows(
            f"SELECT id, envelope, kind, time, clock, {_BODY} FROM events "  # noqa: S608
            f"WHERE council=? AND kind IN ({marks})",
            (council, *wanted),
        )
        return [(bytes(i), bytes(e), k, t, c, _body(*b)) for i, e, k, t, c, *b in rows]

    def parents_after(self, council: bytes, clock: int) -> list[bytes]:
        """The parents column (ids of 32 bytes, joined) of each event of a clock above
        this one."""
        rows = self.db.rows(
            "SELECT parents FROM events WHERE council=? AND clock > ?", (council, clock)
        )
        return [bytes(r[0]) for r in rows]

    def erase(self, events: list[tuple[bytes, bytes]]) -> None:
        """Forget events for good: each (id, envelope) loses its row, and its envelope
        its ciphertext, the only copy of its body (keeping id, hour and write key, so
        sync counts it as held). The freed pages are overwritten with zeros."""
        self.db.execute("PRAGMA secure_delete=ON")  # freed bytes are overwritten with zeros
        with self.db.transaction():
            self.db.executemany("DELETE FROM events WHERE id=?", [(i,) for i, _e in events])
            self.db.executemany(
                "UPDATE envelopes SET sig=x'', content=x'' WHERE id=?",
                [(e,) for _i, e in events],
            )

    def truncate_wal(self) -> None:
        """Checkpoint the write-ahead log and truncate it, so no old copy of an erased
        page stays in it."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def verdicts(self, ids: Sequence[bytes]) -> dict[bytes, str]:
        """The kept verdicts of these events' proofs ("" good, else the reason)."""
        found: dict[bytes, str] = {}
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            marks = ",".join("?" * len(part))
            rows = self.db.rows(
                f"SELECT event, verdict FROM verdicts WHERE event IN ({marks})",  # noqa: S608
                tuple(part),
            )
            found.update((bytes(r[0]), str(r[1])) for r in rows)
        return found

    def keep_verdicts(self, verdicts: Mapping[bytes, str]) -> None:
        """Keep what checking these events' proofs found: it never changes."""
        with self.db.transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO verdicts(event, verdict) VALUES(?, ?)",
                list(verdicts.items()),
            )

    def any_by_id(self, council: bytes, event: bytes) -> EventRow | None:
        """One event of a council by id, valid or not (a state handler reading a
        causal past: validity is decided later)."""
        rows = self.db.rows(_EVENT + "WHERE council=? AND id=?", (council, event))
        return None if not rows else _row(rows[0])

    def any_on(self, council: bytes, kinds: Sequence[str], ref: bytes) -> list[EventRow]:
        """The events of these kinds about `ref`, valid or not, oldest first."""
        marks = ",".join("?" * len(kinds))
        rows = self.db.rows(
            _EVENT + f"WHERE council=? AND kind IN ({marks}) AND ref=? ORDER BY +clock, id",
            (council, *kinds, ref),
        )
        return [_row(r) for r in rows]

    def clock_and_parents(self, inner_id: bytes) -> tuple[int, bytes] | None:
        """(clock, the concatenated parent ids) of a stored event, or None."""
        rows = self.db.rows("SELECT clock, parents FROM events WHERE id=?", (inner_id,))
        return (int(rows[0][0]), bytes(rows[0][1] or b"")) if rows else None

    def stored_envelopes(self, ids: Sequence[bytes]) -> set[bytes]:
        """Which of these envelope ids are stored (forgotten ones too): one look-up for a
        chunk of an import instead of one per envelope."""
        return self._stored("envelopes", ids)

    def stored_events(self, ids: Sequence[bytes]) -> set[bytes]:
        """Which of these inner ids are stored events."""
        return self._stored("events", ids)

    def _stored(self, table: str, ids: Sequence[bytes]) -> set[bytes]:
        found: set[bytes] = set()
        for start in range(0, len(ids), 500):
            part = tuple(ids[start : start + 500])
            marks = ",".join("?" * len(part))
            rows = self.db.rows(f"SELECT id FROM {table} WHERE id IN ({marks})", part)  # noqa: S608
            found.update(bytes(r[0]) for r in rows)
        return found

    def mset_ids(self, council: bytes) -> list[int]:
        """The ids of a council's stored causal pasts, oldest first."""
        rows = self.db.rows("SELECT id FROM msets WHERE council=? ORDER BY id", (council,))
        return [int(r[0]) for r in rows]

    def rewrite_mset(self, mset_id: int, ids: bytes, digest: bytes) -> None:
        """Store a causal past again as its frontier (a profile older than schema 7)."""
        self.db.execute(
            "UPDATE msets SET ids=?, base=NULL, digest=? WHERE id=?", (ids, digest, mset_id)
        )

    def add_packed_envelopes(self, rows: list[tuple[Any, ...]]) -> None:
        """Store envelope rows already in the table's column order (id, council, kind,
        created_at, pubkey, hint, sig, content): the ingest took the signature and the
        content's bytes from the envelope it checked (compact.pack's columns), so its
        JSON is not decoded again here."""
        self.db.executemany("INSERT INTO envelopes VALUES(?,?,?,?,?,?,?,?)", rows)


def _where(flt: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """SQL for a NIP-01 filter over the envelopes table (already validated by its decoder)."""
    clauses: list[str] = []
    params: list[Any] = []

    def any_of(column: str, values: list[Any]) -> None:
        clauses.append(f"{column} IN ({','.join('?' * len(values))})" if values else "0")
        params.extend(values)

    if "ids" in flt:
        any_of("id", [bytes.fromhex(i) for i in flt["ids"]])
    if "authors" in flt:
        any_of("pubkey", [bytes.fromhex(a) for a in flt["authors"]])
    if "kinds" in flt:
        any_of("kind", list(flt["kinds"]))
    if "#k" in flt:
        any_of("hint", list(flt["#k"]))
    if "since" in flt:
        clauses.append("created_at >= ?")
        params.append(int(flt["since"]))
    if "until" in flt:
        clauses.append("created_at <= ?")
        params.append(int(flt["until"]))
    return (" AND ".join(clauses) or "1"), tuple(params)
