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

    def valid_of_kinds(
        self, council: bytes, kinds: Iterable[str], author: bytes | None = None
    ) -> list[tuple[bytes, bytes, int, int, str, Any]]:
        """The valid events of these kinds (of one author, if given) as (id, author,
        clock, time, kind, body), in no particular order: readers sort by clock."""
        wanted = tuple(kinds)
        marks = ",".join("?" * len(wanted))
        sql = (
            "SELECT id, author, clock, time, kind, body FROM events "  # noqa: S608
            f"WHERE valid=1 AND council=? AND kind IN ({marks})"
        )
        params: tuple[Any, ...] = (council, *wanted)
        if author is not None:
            sql += " AND author=?"
            params += (author,)
        return [
            (bytes(i), bytes(a), c, t, k, body) for i, a, c, t, k, body in self.db.rows(sql, params)
        ]

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
