"""What waits: envelopes under a key not held yet (`held`), events whose parents have
not arrived and welcomes whose admission has not (`pending`, `pending_parents`), and
events dated ahead of this node's clock (`early`). The bounds are kernel/waiting.py's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shora.kernel.storage.database import Database


class Waiting:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- held ----------------------------------------------------------------------

    def held_last(self) -> int:
        """The rowid of the latest held envelope (0: none)."""
        return int(self.db.one("SELECT max(rowid) FROM held") or 0)

    def held_count(self) -> int:
        return int(self.db.one("SELECT count(*) FROM held") or 0)

    def hold(self, envelope: bytes, write_pk: bytes, raw: bytes, received: int) -> bool:
        """Keep an envelope until its key arrives; False if it was already kept."""
        self.db.execute(
            "INSERT OR IGNORE INTO held(envelope, write_pk, raw, received) VALUES(?,?,?,?)",
            (envelope, write_pk, raw, received),
        )
        return bool(self.db.db.changes())

    def take_held(self, write_pk: bytes, limit: int) -> list[tuple[int, bytes]]:
        """Remove and return up to `limit` (rowid, raw) held under a key, oldest first."""
        rows = self.db.rows(
            "SELECT rowid, raw FROM held WHERE write_pk=? ORDER BY rowid LIMIT ?", (write_pk, limit)
        )
        self.db.executemany("DELETE FROM held WHERE rowid=?", [(r[0],) for r in rows])
        return [(int(r[0]), bytes(r[1])) for r in rows]

    def held_keys(self) -> list[bytes]:
        return [bytes(k) for (k,) in self.db.rows("SELECT DISTINCT write_pk FROM held")]

    def held_keys_over(self, limit: int) -> list[bytes]:
        """The write keys with more than `limit` held envelopes."""
        rows = self.db.rows(
            "SELECT write_pk FROM held GROUP BY write_pk HAVING count(*) > ?", (limit,)
        )
        return [bytes(k) for (k,) in rows]

    def drop_held_beyond(self, keep: int, write_pk: bytes | None = None) -> list[int]:
        """Drop the held envelopes after the first `keep` (of one key, or of all);
        return their rowids."""
        if write_pk is None:
            rows = self.db.rows("SELECT rowid FROM held ORDER BY rowid LIMIT -1 OFFSET ?", (keep,))
        else:
            rows = self.db.rows(
                "SELECT rowid FROM held WHERE write_pk=? ORDER BY rowid LIMIT -1 OFFSET ?",
                (write_pk, keep),
            )
        rowids = [int(r[0]) for r in rows]
        self.db.executemany("DELETE FROM held WHERE rowid=?", [(r,) for r in rowids])
        return rowids

    # --- pending ------------------------------------------------------------------------

    def pending_count(self) -> int:
        return int(self.db.one("SELECT count(*) FROM pending") or 0)

    def is_pending(self, envelope: bytes) -> bool:
        return bool(self.db.one("SELECT 1 FROM pending WHERE envelope=?", (envelope,)))

    def pending_raw(self, envelope: bytes) -> bytes:
        return bytes(self.db.one("SELECT raw FROM pending WHERE envelope=?", (envelope,)))

    def pending_of(self, council: bytes, author: bytes) -> int:
        """How many envelopes of an author wait in `pending` in a council."""
        return int(
            self.db.one(
                "SELECT count(*) FROM pending WHERE council=? AND author=?", (council, author)
            )
        )

    def pending_outsiders(self) -> int:
        """How many envelopes waiting in `pending` are by someone not an active member."""
        return int(
            self.db.one(
                "SELECT count(*) FROM pending p WHERE NOT EXISTS (SELECT 1 FROM members m "
                "WHERE m.council = p.council AND m.key = p.author AND m.status = 'active')"
            )
        )

    def add_pending(
        self,
        envelope: bytes,
        council: bytes,
        author: bytes,
        raw: bytes,
        parents: list[bytes],
        received: int,
    ) -> None:
        """Keep an envelope until each of `parents` arrives."""
        self.db.execute(
            "INSERT INTO pending(envelope, council, raw, author, received) VALUES(?,?,?,?,?)",
            (envelope, council, raw, author, received),
        )
        self.db.executemany(
            "INSERT INTO pending_parents VALUES(?,?)", [(parent, envelope) for parent in parents]
        )

    def remove_pending(self, envelope: bytes) -> tuple[bytes, bytes] | None:
        """Take an envelope out of `pending`; its (council, author) if it was there."""
        row = self.db.rows("SELECT council, author FROM pending WHERE envelope=?", (envelope,))
        self.db.execute("DELETE FROM pending WHERE envelope=?", (envelope,))
        self.db.execute("DELETE FROM pending_parents WHERE envelope=?", (envelope,))
        return (bytes(row[0][0]), bytes(row[0][1])) if row else None

    def children(self, parent: bytes) -> list[tuple[Any, ...]]:
        """(envelope, raw) of what waits for `parent`."""
        return self.db.rows(
            "SELECT p.envelope, p.raw FROM pending_parents w JOIN pending p "
            "ON p.envelope = w.envelope WHERE w.parent=?",
            (parent,),
        )

    def parents_of(self, envelope: bytes) -> list[bytes]:
        """What a pending envelope waits for."""
        rows = self.db.rows("SELECT parent FROM pending_parents WHERE envelope=?", (envelope,))
        return [p for (p,) in rows]

    def awaited(self, parent: bytes) -> bool:
        """Whether anything waits for `parent`."""
        return bool(self.db.one("SELECT 1 FROM pending_parents WHERE parent=? LIMIT 1", (parent,)))

    def waiting_for(self, parent: bytes) -> list[bytes]:
        """The envelope ids of what waits for `parent`."""
        rows = self.db.rows("SELECT envelope FROM pending_parents WHERE parent=?", (parent,))
        return [bytes(r[0]) for r in rows]

    def welcome_waits(self, council: bytes) -> bool:
        """Whether an envelope under one of the council's write keys waits in `pending`
        (only welcomes wait under their write key as author)."""
        return bool(
            self.db.one(
                "SELECT 1 FROM epochs e JOIN pending p ON p.council = e.council AND p.author = "
                "e.write_pk WHERE e.council=? LIMIT 1",
                (council,),
            )
        )

    def missing_parents(self, councils: Sequence[bytes] | None) -> tuple[int, int]:
        """(events waiting for parents, distinct parents they wait for that are not
        stored), in these councils (None: all)."""
        where = "" if councils is None else f"AND p.council IN ({','.join('?' * len(councils))})"
        row = self.db.rows(
            "SELECT count(DISTINCT p.envelope), count(DISTINCT w.parent) FROM pending p "  # noqa: S608
            "JOIN pending_parents w ON w.envelope = p.envelope "
            f"WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = w.parent) {where}",
            tuple(councils or ()),
        )[0]
        return int(row[0]), int(row[1])

    # --- age --------------------------------------------------------------------------

    def any_older(self, cutoff: int) -> bool:
        """Whether something in `pending` or `held` arrived before `cutoff` (read only)."""
        return any(
            self.db.one(f"SELECT 1 FROM {table} WHERE received < ? LIMIT 1", (cutoff,))  # noqa: S608
            for table in ("pending", "held")
        )

    def drop_older(self, now: int, cutoff: int) -> tuple[int, int]:
        """Date the rows of before arrival times were kept (received 0) `now`, then drop
        what arrived before `cutoff`; (pending, held) rows dropped."""
        for table in ("pending", "held"):
            self.db.execute(
                f"UPDATE {table} SET received=? WHERE received=0",  # noqa: S608
                (now,),
            )
        old = [
            (bytes(r[0]),)
            for r in self.db.rows("SELECT envelope FROM pending WHERE received < ?", (cutoff,))
        ]
        self.db.executemany("DELETE FROM pending_parents WHERE envelope=?", old)
        self.db.executemany("DELETE FROM pending WHERE envelope=?", old)
        held = self.db.one("SELECT count(*) FROM held WHERE received < ?", (cutoff,))
        self.db.execute("DELETE FROM held WHERE received < ?", (cutoff,))
        return len(old), int(held)

    # --- early ------------------------------------------------------------------------

    def add_early(
        self, envelope: bytes, council: bytes, author: bytes, not_before: int, raw: bytes
    ) -> None:
        """Keep an event dated ahead until `not_before` (ms)."""
        self.db.execute(
            "INSERT OR IGNORE INTO early VALUES(?,?,?,?,?)",
            (envelope, council, author, not_before, raw),
        )

    def take_early(self, now_ms: int) -> list[bytes]:
        """The early envelopes whose time has come, taken out of the table."""
        with self.db.transaction():
            due = [
                bytes(r)
                for (r,) in self.db.rows(
                    "SELECT raw FROM early WHERE not_before <= ? ORDER BY not_before", (now_ms,)
                )
            ]
            self.db.execute("DELETE FROM early WHERE not_before <= ?", (now_ms,))
        return due

    def known(self, envelope: bytes) -> bool:
        """Whether the envelope is stored or waits here (for a key, parents, its time)."""
        return bool(
            self.db.one(
                "SELECT 1 FROM envelopes WHERE id=? UNION ALL SELECT 1 FROM held WHERE "
                "envelope=? UNION ALL SELECT 1 FROM pending WHERE envelope=? "
                "UNION ALL SELECT 1 FROM early WHERE envelope=?",
                (envelope, envelope, envelope, envelope),
            )
        )
