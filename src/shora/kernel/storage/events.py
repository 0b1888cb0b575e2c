"""The events of each council, their envelopes and heads: the `events`, `envelopes`,
`heads` and `msets` tables."""

from __future__ import annotations

from collections.abc import Iterable

from shora.kernel.storage.database import Database

# A stored event as readers fold it: (id, author, clock, time, kind, body).
EventRow = tuple[bytes, bytes, int, int, str, bytes]


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
