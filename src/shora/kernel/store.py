"""The encrypted SQLite database (SQLite3 Multiple Ciphers, ChaCha20-Poly1305).

The database key is random and lives in the sealed keystore, so the cipher's own
PBKDF2 is redundant: kdf_iter is 1. Temporary tables and indexes stay in memory;
the WAL is encrypted like the main file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import apsw

from shora.errors import ProfileError

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;
CREATE TABLE councils(
  id BLOB PRIMARY KEY, status TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '', rules BLOB, current_epoch BLOB,
  invitation BLOB, request BLOB, request_id BLOB, created INT NOT NULL
);
CREATE TABLE identities(
  council BLOB PRIMARY KEY, sign_pk BLOB NOT NULL, sign_sk BLOB NOT NULL,
  kx_pk BLOB NOT NULL, kx_sk BLOB NOT NULL, name TEXT NOT NULL
);
CREATE TABLE epochs(
  write_pk BLOB PRIMARY KEY, council BLOB NOT NULL, content_key BLOB NOT NULL,
  write_sk BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE envelopes(
  id BLOB PRIMARY KEY, council BLOB NOT NULL, kind INT NOT NULL, created_at INT NOT NULL,
  raw BLOB NOT NULL, pubkey BLOB NOT NULL, hint TEXT
);
CREATE INDEX envelopes_council ON envelopes(council, created_at);
-- Covers the (created_at, id) pairs Negentropy reads for a filter by write key.
CREATE INDEX envelopes_author ON envelopes(pubkey, kind, created_at, id);
CREATE INDEX envelopes_hint ON envelopes(hint) WHERE hint IS NOT NULL;
CREATE TABLE events(
  id BLOB PRIMARY KEY, council BLOB NOT NULL, envelope BLOB NOT NULL, author BLOB NOT NULL,
  kind TEXT NOT NULL, clock INT NOT NULL, time INT NOT NULL, parents BLOB NOT NULL,
  mset INT NOT NULL, epoch BLOB NOT NULL, ref BLOB, body BLOB, valid INT NOT NULL
);
CREATE INDEX events_order ON events(council, clock, id);
CREATE INDEX events_subject ON events(council, kind, ref);
CREATE INDEX events_author ON events(council, author);
CREATE TABLE msets(id INTEGER PRIMARY KEY, council BLOB NOT NULL, ids BLOB NOT NULL);
CREATE TABLE heads(council BLOB NOT NULL, id BLOB NOT NULL, PRIMARY KEY(council, id))
  WITHOUT ROWID;
CREATE TABLE pending(envelope BLOB PRIMARY KEY, council BLOB NOT NULL, raw BLOB NOT NULL);
CREATE TABLE pending_parents(
  parent BLOB NOT NULL, envelope BLOB NOT NULL, PRIMARY KEY(parent, envelope)
) WITHOUT ROWID;
CREATE INDEX pending_parents_envelope ON pending_parents(envelope);
CREATE TABLE held(envelope BLOB PRIMARY KEY, write_pk BLOB NOT NULL, raw BLOB NOT NULL);
CREATE INDEX held_key ON held(write_pk);
CREATE TABLE relays(council BLOB NOT NULL, url TEXT NOT NULL, added INT NOT NULL,
  PRIMARY KEY(council, url)) WITHOUT ROWID;
CREATE TABLE peers(
  address TEXT PRIMARY KEY, kind TEXT NOT NULL, last_contact INT, last_attempt INT,
  events_in INT NOT NULL DEFAULT 0, events_out INT NOT NULL DEFAULT 0,
  failures INT NOT NULL DEFAULT 0, last_error TEXT
) WITHOUT ROWID;
CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE members(
  council BLOB NOT NULL, key BLOB NOT NULL, name TEXT NOT NULL, kx BLOB NOT NULL,
  status TEXT NOT NULL, admitted_by BLOB NOT NULL, ended_by BLOB, roles TEXT NOT NULL,
  PRIMARY KEY(council, key)
) WITHOUT ROWID;
"""


class Store:
    """One open encrypted database. Not thread-safe: one Store per thread."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        new = not path.exists()
        self.db = apsw.Connection(str(path))
        self.db.pragma("cipher", "chacha20")
        self.db.pragma("kdf_iter", 1)
        self.db.pragma("hexkey", key.hex())
        try:
            self.db.pragma("temp_store", "MEMORY")
            # Ids are hashes, so inserts land all over the B-trees: a page cache of 64 MiB
            # (instead of 2 MiB) keeps decrypting and re-encrypting the same pages rare.
            self.db.pragma("cache_size", -65536)
            self.db.pragma("journal_mode", "WAL")
            self.db.pragma("synchronous", "NORMAL")
            self.db.pragma("foreign_keys", True)
            if new:
                with self.transaction():
                    self.db.execute(SCHEMA)
                    self.db.execute("INSERT INTO meta VALUES('schema', ?)", (SCHEMA_VERSION,))
            version = self.one("SELECT value FROM meta WHERE key='schema'")
        except apsw.NotADBError as exc:
            self.db.close()
            raise ProfileError(f"the database {path} cannot be opened with this key") from exc
        if version != SCHEMA_VERSION:
            raise ProfileError(f"database schema {version} is not supported by this version")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db:
            yield

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.db.execute(sql, params)

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self.db.executemany(sql, rows)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return list(self.db.execute(sql, params))

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        for row in self.db.execute(sql, params):
            return row[0]
        return None
