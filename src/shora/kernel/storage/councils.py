"""The councils a profile holds, its identity in each, and its settings: the
`councils`, `identities` and `settings` tables."""

from __future__ import annotations

from shora.kernel.storage.database import Database


class Councils:
    def __init__(self, db: Database) -> None:
        self.db = db

    def my_key(self, council: bytes) -> bytes | None:
        """This profile's member key in that council, if it has an identity there."""
        found = self.db.one("SELECT sign_pk FROM identities WHERE council=?", (council,))
        return bytes(found) if found is not None else None

    def ids(self, status: str | None = None) -> list[bytes]:
        """The councils of this profile, oldest first (only those of that status)."""
        if status is None:
            rows = self.db.rows("SELECT id FROM councils ORDER BY created, id")
        else:
            rows = self.db.rows(
                "SELECT id FROM councils WHERE status=? ORDER BY created, id", (status,)
            )
        return [bytes(r[0]) for r in rows]

    def setting(self, key: str) -> str | None:
        value = self.db.one("SELECT value FROM settings WHERE key=?", (key,))
        return str(value) if value is not None else None

    def set_setting(self, key: str, value: str | None) -> None:
        """Keep a setting (None forgets it)."""
        if value is None:
            self.db.execute("DELETE FROM settings WHERE key=?", (key,))
        else:
            self.db.execute("INSERT OR REPLACE INTO settings VALUES(?, ?)", (key, value))

    def kx_identity(self, council: bytes) -> tuple[bytes, bytes, bytes] | None:
        """This profile's member key in that council, its X25519 public key and its
        X25519 secret key as stored (sealed under the profile's key); None if none."""
        rows = self.db.rows(
            "SELECT sign_pk, kx_pk, kx_sk FROM identities WHERE council=?", (council,)
        )
        if not rows:
            return None
        sign_pk, kx_pk, sealed_sk = rows[0]
        return bytes(sign_pk), bytes(kx_pk), bytes(sealed_sk)
