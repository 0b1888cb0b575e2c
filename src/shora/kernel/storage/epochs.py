"""The key epochs this profile holds: the `epochs` table."""

from __future__ import annotations

from typing import Any

from shora.kernel.storage.database import Database


class Epochs:
    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self) -> list[tuple[Any, ...]]:
        """(write_pk, council, content_key, write_sk) of every epoch held."""
        return self.db.rows("SELECT * FROM epochs")

    def add(self, write_pk: bytes, council: bytes, content_key: bytes, write_sk: bytes) -> None:
        """Keep an epoch's keys (once)."""
        self.db.execute(
            "INSERT OR IGNORE INTO epochs VALUES(?,?,?,?)",
            (write_pk, council, content_key, write_sk),
        )

    def councils(self) -> list[bytes]:
        """The councils this profile holds a key of."""
        return [bytes(c) for (c,) in self.db.rows("SELECT DISTINCT council FROM epochs")]
