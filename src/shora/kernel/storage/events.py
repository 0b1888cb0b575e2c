"""The events of each council, their envelopes and heads: the `events`, `envelopes`,
`heads` and `msets` tables."""

from __future__ import annotations

from collections.abc import Iterable

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
