"""The events of each council, their envelopes and heads: the `events`, `envelopes`,
`heads` and `msets` tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from shora.kernel.storage.database import Database

# A stored event as readers fold it: (id, author, clock, time, kind, body).
EventRow = tuple[bytes, bytes, int, int, str, bytes]
_VALID = "SELECT id, author, clock, time, kind, body FROM events WHERE valid=1 AND "


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
        sql = (
            "SELECT id, author, clock, time, kind, body FROM events "
            "WHERE valid=1 AND council=? AND kind=?"
        )
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
        return [
            (bytes(i), bytes(a), int(c), int(t), str(k), bytes(b))
            for i, a, c, t, k, b in self.db.rows(sql, tuple(params))
        ]

    def _valid(self, where: str, params: tuple[Any, ...]) -> list[EventRow]:
        rows = self.db.rows(_VALID + where, params)
        return [(bytes(i), bytes(a), c, t, k, body) for i, a, c, t, k, body in rows]

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
        author's name)."""
        return self.db.rows(
            "SELECT e.id, e.kind, e.body, e.time, m.name FROM events e "
            "LEFT JOIN members m ON m.council=e.council AND m.key=e.author "
            "WHERE e.council=? AND e.kind IN ('post.announcement', 'post.message') "
            "AND e.valid=1 ORDER BY e.clock DESC, e.id LIMIT ? OFFSET ?",
            (council, limit, offset),
        )

    def log(self, council: bytes, limit: int, offset: int) -> list[tuple[Any, ...]]:
        """The council's events, newest first: (id, author, author's name or '', kind,
        time, clock, valid, body)."""
        return self.db.rows(
            "SELECT e.id, e.author, coalesce(m.name, ''), e.kind, e.time, e.clock, e.valid, "
            "e.body FROM events e "
            "LEFT JOIN members m ON m.council=e.council AND m.key=e.author "
            "WHERE e.council=? ORDER BY e.clock DESC, e.id LIMIT ? OFFSET ?",
            (council, limit, offset),
        )

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
        """The events of these kinds still holding their body (not forgotten), valid or
        not, as (id, envelope, kind, time, clock, body)."""
        wanted = tuple(kinds)
        marks = ",".join("?" * len(wanted))
        rows = self.db.rows(
            "SELECT id, envelope, kind, time, clock, body FROM events "  # noqa: S608
            f"WHERE council=? AND body IS NOT NULL AND kind IN ({marks})",
            (council, *wanted),
        )
        return [(bytes(i), bytes(e), k, t, c, bytes(b)) for i, e, k, t, c, b in rows]

    def parents_after(self, council: bytes, clock: int) -> list[bytes]:
        """The parents column (ids of 32 bytes, joined) of each event of a clock above
        this one."""
        rows = self.db.rows(
            "SELECT parents FROM events WHERE council=? AND clock > ?", (council, clock)
        )
        return [bytes(r[0]) for r in rows]

    def erase(self, events: list[tuple[bytes, bytes]]) -> None:
        """Forget events for good: each (id, envelope) loses its row, and its envelope
        its ciphertext (keeping id, hour and write key, so sync counts it as held). The
        freed pages are overwritten with zeros."""
        self.db.execute("PRAGMA secure_delete=ON")  # freed bytes are overwritten with zeros
        with self.db.transaction():
            self.db.executemany("DELETE FROM events WHERE id=?", [(i,) for i, _e in events])
            self.db.executemany(
                "UPDATE envelopes SET raw=x'' WHERE id=?", [(e,) for _i, e in events]
            )

    def truncate_wal(self) -> None:
        """Checkpoint the write-ahead log and truncate it, so no old copy of an erased
        page stays in it."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
