"""Where a node syncs: the `relays` and `peers` tables, and the proxy and what was
learned of each relay (no NIP-77, its page floor), kept as settings."""

from __future__ import annotations

from typing import Any

from shora.kernel.storage.database import Database


class Network:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add_relay(self, council: bytes, url: str, added: int) -> None:
        self.db.execute("INSERT OR IGNORE INTO relays VALUES(?,?,?)", (council, url, added))

    def remove_relay(self, council: bytes, url: str) -> bool:
        """Forget a relay of a council; False if it was not on the list."""
        known = self.db.one("SELECT 1 FROM relays WHERE council=? AND url=?", (council, url))
        self.db.execute("DELETE FROM relays WHERE council=? AND url=?", (council, url))
        return bool(known)

    def relays(self, council: bytes | None = None) -> list[tuple[bytes, str]]:
        """(council, url) of every relay (of one council), by url."""
        if council is None:
            rows = self.db.rows("SELECT council, url FROM relays ORDER BY url, council")
        else:
            rows = self.db.rows(
                "SELECT council, url FROM relays WHERE council=? ORDER BY url", (council,)
            )
        return [(bytes(c), str(u)) for c, u in rows]

    def proxy(self) -> str | None:
        value = self.db.one("SELECT value FROM settings WHERE key='proxy'")
        return str(value) if value else None

    def set_proxy(self, url: str | None) -> None:
        if url is None:
            self.db.execute("DELETE FROM settings WHERE key='proxy'")
        else:
            self.db.execute("INSERT OR REPLACE INTO settings VALUES('proxy', ?)", (url,))

    def no_nip77_since(self, url: str) -> int | None:
        """When the relay was last found without NIP-77 (unix seconds), if it was."""
        found = self.db.one("SELECT value FROM settings WHERE key=?", (f"no-nip77 {url}",))
        return None if found is None else int(found)

    def note_nip77(self, url: str, speaks: bool, now: int) -> None:
        key = f"no-nip77 {url}"
        if speaks:
            self.db.execute("DELETE FROM settings WHERE key=?", (key,))
        else:
            self.db.execute("INSERT OR REPLACE INTO settings VALUES(?, ?)", (key, str(now)))

    def relay_floor(self, url: str) -> int:
        found = self.db.one("SELECT value FROM settings WHERE key=?", (f"floor {url}",))
        return int(found) if found is not None else 0

    def note_relay_floor(self, url: str, floor: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO settings VALUES(?, ?)", (f"floor {url}", str(floor))
        )

    def peers(self) -> list[tuple[Any, ...]]:
        """(address, kind, last_contact, last_attempt, events_in, events_out, failures,
        last_error) of every peer, relays first."""
        return self.db.rows(
            "SELECT address, kind, last_contact, last_attempt, events_in, events_out, "
            "failures, last_error FROM peers ORDER BY kind DESC, address"
        )

    def record(
        self, address: str, kind: str, received: int, sent: int, error: str | None, now: int
    ) -> None:
        """Note one attempt with a peer: its traffic, or the error that ended it."""
        self.db.execute("INSERT OR IGNORE INTO peers(address, kind) VALUES(?,?)", (address, kind))
        if error is None:
            self.db.execute(
                "UPDATE peers SET last_contact=?, last_attempt=?, events_in=events_in+?, "
                "events_out=events_out+?, failures=0, last_error=NULL WHERE address=?",
                (now, now, received, sent, address),
            )
        else:
            self.db.execute(
                "UPDATE peers SET last_attempt=?, failures=failures+1, last_error=? "
                "WHERE address=?",
                (now, error, address),
            )
