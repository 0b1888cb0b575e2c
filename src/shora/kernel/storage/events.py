"""The events of each council, their envelopes and heads: the `events`, `envelopes`,
`heads` and `msets` tables."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shora.kernel.storage.database import Database


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
