"""The councils a profile holds, its identity in each, and its settings: the
`councils`, `identities` and `settings` tables."""

from __future__ import annotations

from typing import Any

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

    def name(self, council: bytes) -> str | None:
        """The council's name as this profile knows it (None: no such council here)."""
        found = self.db.one("SELECT name FROM councils WHERE id=?", (council,))
        return str(found) if found is not None else None

    def add(
        self,
        council: bytes,
        status: str,
        name: str,
        created: int,
        invitation: str | None = None,
        request: bytes | None = None,
        request_id: bytes | None = None,
    ) -> None:
        """Record a council this profile founds ("member") or asks to join ("joining",
        with the invitation answered and the join request)."""
        self.db.execute(
            "INSERT INTO councils(id, status, name, invitation, request, request_id, created) "
            "VALUES(?,?,?,?,?,?,?)",
            (council, status, name, invitation, request, request_id, created),
        )

    def exists(self, council: bytes) -> bool:
        """Whether this profile holds that council (as a member, joining, or once)."""
        return self.db.one("SELECT 1 FROM councils WHERE id=?", (council,)) is not None

    def row(self, council: bytes) -> tuple[str, str, str, bytes | None] | None:
        """The council's name, description, this profile's status there and its encoded
        rules (None before they arrive); None if the profile does not hold it."""
        rows = self.db.rows(
            "SELECT name, description, status, rules FROM councils WHERE id=?", (council,)
        )
        if not rows:
            return None
        name, description, status, rules = rows[0]
        return name, description, status, rules

    def state_row(self, council: bytes) -> list[tuple[object, ...]]:
        """The projected columns of the council (for a digest of its state)."""
        return self.db.rows(
            "SELECT name, description, rules, current_epoch FROM councils WHERE id=?",
            (council,),
        )

    def expect_name(self, council: bytes, name: str) -> None:
        """Name a council this profile is joining, until its own events name it."""
        self.db.execute(
            "UPDATE councils SET name=? WHERE id=? AND status='joining' AND name=''",
            (name, council),
        )

    def pending_request(self, council: bytes) -> bytes | None:
        """This profile's join request to a council it is still waiting to enter."""
        found = self.db.one(
            "SELECT request FROM councils WHERE id=? AND status='joining'", (council,)
        )
        return bytes(found) if found is not None else None

    def names(self) -> list[tuple[Any, ...]]:
        """(id, name) of every council of this profile."""
        return self.db.rows("SELECT id, name FROM councils")

    def identity(self, council: bytes) -> tuple[Any, ...] | None:
        """(sign_pk, sealed sign_sk, kx_pk, name) of this profile's identity there."""
        rows = self.db.rows(
            "SELECT sign_pk, sign_sk, kx_pk, name FROM identities WHERE council=?", (council,)
        )
        return rows[0] if rows else None

    def kx_identity(self, council: bytes) -> tuple[Any, ...] | None:
        """(sign_pk, kx_pk, sealed kx_sk) of this profile's identity there."""
        rows = self.db.rows(
            "SELECT sign_pk, kx_pk, kx_sk FROM identities WHERE council=?", (council,)
        )
        return rows[0] if rows else None

    def add_identity(
        self,
        council: bytes,
        sign_pk: bytes,
        sealed_sign_sk: bytes,
        kx_pk: bytes,
        sealed_kx_sk: bytes,
        name: str,
    ) -> None:
        """Keep a member identity (its secret keys already sealed)."""
        self.db.execute(
            "INSERT INTO identities VALUES(?,?,?,?,?,?)",
            (council, sign_pk, sealed_sign_sk, kx_pk, sealed_kx_sk, name),
        )

    def welcome_identities(self) -> list[tuple[Any, ...]]:
        """(council, status, request_id, sign_pk, kx_pk, sealed kx_sk) of each council
        this profile has an identity in: what a welcome may be addressed to."""
        return self.db.rows(
            "SELECT c.id, c.status, c.request_id, i.sign_pk, i.kx_pk, i.kx_sk FROM councils c "
            "JOIN identities i ON i.council = c.id"
        )

    def request_id(self, council: bytes) -> bytes | None:
        """The id of this profile's join request to the council, if any."""
        found = self.db.one("SELECT request_id FROM councils WHERE id=?", (council,))
        return None if found is None else bytes(found)

    def set_state(
        self,
        council: bytes,
        name: str,
        description: str,
        rules: bytes,
        current_epoch: bytes | None,
    ) -> None:
        """Write the council's resolved name, description, rules and current epoch."""
        self.db.execute(
            "UPDATE councils SET name=?, description=?, rules=?, current_epoch=? WHERE id=?",
            (name, description, rules, current_epoch, council),
        )

    def status(self, council: bytes) -> str | None:
        """member, joining, left or removed."""
        found = self.db.one("SELECT status FROM councils WHERE id=?", (council,))
        return None if found is None else str(found)

    def set_status(self, council: bytes, status: str | None) -> None:
        self.db.execute("UPDATE councils SET status=? WHERE id=?", (status, council))

    def joining_requests(self) -> list[tuple[bytes, bytes]]:
        """(council, request id) of each council this profile asked to join."""
        rows = self.db.rows(
            "SELECT id, request_id FROM councils WHERE status='joining' AND request_id IS NOT NULL"
        )
        return [(bytes(c), bytes(r)) for c, r in rows]

    def current_epoch(self, council: bytes) -> bytes | None:
        found = self.db.one("SELECT current_epoch FROM councils WHERE id=?", (council,))
        return None if found is None else bytes(found)

    def replace_identity(
        self,
        council: bytes,
        sign_pk: bytes,
        sealed_sign_sk: bytes,
        kx_pk: bytes,
        sealed_kx_sk: bytes,
        name: str,
    ) -> None:
        """Put a restored identity (a key backup given back) in place of this profile's
        identity there, and forget the request it was waiting with."""
        self.db.execute(
            "UPDATE identities SET sign_pk=?, sign_sk=?, kx_pk=?, kx_sk=?, name=? WHERE council=?",
            (sign_pk, sealed_sign_sk, kx_pk, sealed_kx_sk, name, council),
        )
        self.db.execute("UPDATE councils SET request=NULL, request_id=NULL WHERE id=?", (council,))
