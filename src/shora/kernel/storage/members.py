"""The members of each council as the projection left them: the `members` table."""

from __future__ import annotations

from typing import Any

from shora.kernel.storage.database import Database


class Members:
    def __init__(self, db: Database) -> None:
        self.db = db
        # The keys `replace` wrote in each council since `take_written` last took them
        # (this connection's writes): the welcome hints learn the new members from them
        # rather than counting every member on each admission.
        self._written: dict[bytes, set[bytes]] = {}

    def names(self, council: bytes) -> dict[bytes, str]:
        """Every member's name, present or past, by key."""
        rows = self.db.rows("SELECT key, name FROM members WHERE council=?", (council,))
        return {bytes(key): str(name) for key, name in rows}

    def active_count(self, council: bytes) -> int:
        """How many active members the council has."""
        return int(
            self.db.one(
                "SELECT count(*) FROM members WHERE council=? AND status='active'", (council,)
            )
        )

    def listed(self, council: bytes) -> list[tuple[bytes, str, str, str]]:
        """Every member, present or past: (key, name, status, roles column), by status
        then name."""
        rows = self.db.rows(
            "SELECT key, name, status, roles FROM members WHERE council=? "
            "ORDER BY status, name, key",
            (council,),
        )
        return [(bytes(k), str(n), str(s), str(r)) for k, n, s, r in rows]

    def state_rows(self, council: bytes) -> list[tuple[object, ...]]:
        """The projected columns of every member, by key (for a digest of the state)."""
        return self.db.rows(
            "SELECT key, name, kx, status, admitted_by, ended_by, roles "
            "FROM members WHERE council=? ORDER BY key",
            (council,),
        )

    def is_active(self, council: bytes, key: bytes) -> bool:
        """Whether the key is an active member of the council."""
        return bool(
            self.db.one(
                "SELECT 1 FROM members WHERE council=? AND key=? AND status='active'",
                (council, key),
            )
        )

    def count(self, council: bytes) -> int:
        """How many members, present or past, the council has."""
        return int(self.db.one("SELECT count(*) FROM members WHERE council=?", (council,)))

    def keys(self, council: bytes) -> list[bytes]:
        """Every member's key, present or past."""
        rows = self.db.rows("SELECT key FROM members WHERE council=?", (council,))
        return [bytes(k) for (k,) in rows]

    def replace(
        self, council: bytes, rows: list[tuple[Any, ...]], gone: list[bytes] | None
    ) -> None:
        """Write changed member rows; with `gone` None, every row of the council is
        rewritten, else the members whose keys it lists are removed."""
        if gone is None:
            self.db.execute("DELETE FROM members WHERE council=?", (council,))
        else:
            self.db.executemany(
                "DELETE FROM members WHERE council=? AND key=?", [(council, k) for k in gone]
            )
        self.db.executemany("INSERT OR REPLACE INTO members VALUES(?,?,?,?,?,?,?,?)", rows)
        if rows:
            self._written.setdefault(council, set()).update(bytes(r[1]) for r in rows)

    def has(self, council: bytes, key: bytes) -> bool:
        """Whether the key is a member of the council, present or past."""
        found = self.db.one("SELECT 1 FROM members WHERE council=? AND key=?", (council, key))
        return found is not None

    def take_written(self, council: bytes) -> set[bytes]:
        """The keys `replace` wrote in the council (added or changed, perhaps removed or
        rolled back since) since this was last called; forgets them."""
        return self._written.pop(council, set())
