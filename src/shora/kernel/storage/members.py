"""The members of each council as the projection left them: the `members` table."""

from __future__ import annotations

from shora.kernel.storage.database import Database


class Members:
    def __init__(self, db: Database) -> None:
        self.db = db

    def names(self, council: bytes) -> dict[bytes, str]:
        """Every member's name, present or past, by key."""
        rows = self.db.rows("SELECT key, name FROM members WHERE council=?", (council,))
        return {bytes(key): str(name) for key, name in rows}
