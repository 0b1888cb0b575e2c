"""The encrypted SQLite database (SQLite3 Multiple Ciphers, ChaCha20-Poly1305).

The database key is random and lives in the sealed keystore, so the cipher's own
PBKDF2 is redundant: kdf_iter is 1. Temporary tables and indexes stay in memory;
the WAL is encrypted like the main file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import apsw

from shora.errors import ProfileError
from shora.i18n import _
from shora.kernel.storage.compact import pack

SCHEMA_VERSION = 7
WAL_CHECKPOINT_PAGES = 1000  # SQLite's default: the log is copied into the file past this
BULK_CHECKPOINT_PAGES = 16384  # during a bulk import (64 MiB of 4 KiB pages)
CACHE_KIB = 16384  # SQLite's page cache: what an idle node holds of its history
BULK_CACHE_KIB = 65536  # while a large import runs; given back when it ends
VACUUM_MAX_BYTES = 256 * 1024 * 1024  # compacted after a migration up to this size

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
-- An envelope's JSON is written again from its columns (storage/compact.py): `sig` and
-- `content` are the bytes the hex and base64 spell. A forgotten one keeps neither.
CREATE TABLE envelopes(
  id BLOB PRIMARY KEY, council BLOB NOT NULL, kind INT NOT NULL, created_at INT NOT NULL,
  pubkey BLOB NOT NULL, hint TEXT, sig BLOB NOT NULL, content BLOB NOT NULL
);
CREATE INDEX envelopes_council ON envelopes(council, created_at);
-- Covers the (created_at, id) pairs Negentropy reads for a filter by write key.
CREATE INDEX envelopes_author ON envelopes(pubkey, kind, created_at, id);
CREATE INDEX envelopes_hint ON envelopes(hint) WHERE hint IS NOT NULL;
-- An event's body is read from its envelope's content, decrypted: no second copy.
CREATE TABLE events(
  id BLOB PRIMARY KEY, council BLOB NOT NULL, envelope BLOB NOT NULL, author BLOB NOT NULL,
  kind TEXT NOT NULL, clock INT NOT NULL, time INT NOT NULL, parents BLOB NOT NULL,
  mset INT NOT NULL, epoch BLOB NOT NULL, ref BLOB, valid INT NOT NULL
);
-- Pages read newest first by (clock DESC, id): SQLite sorts the ties of a clock itself,
-- so the index holds no id (32 bytes an event).
CREATE INDEX events_order ON events(council, clock);
CREATE INDEX events_subject ON events(council, kind, ref);
CREATE INDEX events_author ON events(council, author);
-- An event's causal past, as its frontier: `ids`, the sorted ids of the state events
-- in it that are in no other's past there (`base` is always NULL since schema 7);
-- `digest` (SHA-256 of `ids`) finds a past again.
CREATE TABLE msets(
  id INTEGER PRIMARY KEY, council BLOB NOT NULL, ids BLOB NOT NULL, base INT, digest BLOB
);
CREATE INDEX msets_digest ON msets(council, digest);
CREATE TABLE heads(council BLOB NOT NULL, id BLOB NOT NULL, PRIMARY KEY(council, id))
  WITHOUT ROWID;
-- Events whose parents have not arrived: `author` for per-author quotas, `received`
-- (unix seconds) for the age limit.
CREATE TABLE pending(
  envelope BLOB PRIMARY KEY, council BLOB NOT NULL, raw BLOB NOT NULL,
  author BLOB NOT NULL DEFAULT x'', received INT NOT NULL DEFAULT 0
);
CREATE INDEX pending_author ON pending(council, author);
CREATE INDEX pending_received ON pending(received);
CREATE TABLE pending_parents(
  parent BLOB NOT NULL, envelope BLOB NOT NULL, PRIMARY KEY(parent, envelope)
) WITHOUT ROWID;
CREATE INDEX pending_parents_envelope ON pending_parents(envelope);
CREATE TABLE held(
  envelope BLOB PRIMARY KEY, write_pk BLOB NOT NULL, raw BLOB NOT NULL,
  received INT NOT NULL DEFAULT 0
);
CREATE INDEX held_key ON held(write_pk);
CREATE INDEX held_received ON held(received);
-- Events claiming a time ahead of this node's clock, applied when that time comes.
CREATE TABLE early(
  envelope BLOB PRIMARY KEY, council BLOB NOT NULL, author BLOB NOT NULL,
  not_before INT NOT NULL, raw BLOB NOT NULL
);
CREATE INDEX early_due ON early(not_before);
CREATE TABLE relays(council BLOB NOT NULL, url TEXT NOT NULL, added INT NOT NULL,
  PRIMARY KEY(council, url)) WITHOUT ROWID;
CREATE TABLE peers(
  address TEXT PRIMARY KEY, kind TEXT NOT NULL, last_contact INT, last_attempt INT,
  events_in INT NOT NULL DEFAULT 0, events_out INT NOT NULL DEFAULT 0,
  failures INT NOT NULL DEFAULT 0, last_error TEXT
) WITHOUT ROWID;
CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
-- What this device found when it checked an anonymous event's proof (a secret ballot's
-- ring signature): "" for good, else the reason; it depends only on the event's bytes.
CREATE TABLE verdicts(event BLOB PRIMARY KEY, verdict TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE members(
  council BLOB NOT NULL, key BLOB NOT NULL, name TEXT NOT NULL, kx BLOB NOT NULL,
  status TEXT NOT NULL, admitted_by BLOB NOT NULL, ended_by BLOB, roles TEXT NOT NULL,
  PRIMARY KEY(council, key)
) WITHOUT ROWID;
"""


def _compact_envelopes(db: apsw.Connection) -> None:
    """Schema 6: each envelope's JSON becomes its signature and content as bytes."""
    rows = db.execute(
        "SELECT rowid, id, council, kind, created_at, raw, pubkey, hint FROM envelopes "
        "ORDER BY rowid"
    )
    insert = (
        "INSERT INTO envelopes_6(rowid, id, council, kind, created_at, pubkey, hint, sig, "
        "content) VALUES(?,?,?,?,?,?,?,?,?)"
    )
    out: list[tuple[Any, ...]] = []
    for rowid, eid, council, kind, created_at, raw, pubkey, hint in rows:
        sig, content = pack(raw, hint) if raw else (b"", b"")
        out.append((rowid, eid, council, kind, created_at, pubkey, hint, sig, content))
        if len(out) == 1000:  # a large history is not held in memory at once
            db.executemany(insert, out)
            out.clear()
    db.executemany(insert, out)
    db.execute(
        "DROP TABLE envelopes; ALTER TABLE envelopes_6 RENAME TO envelopes;"
        "CREATE INDEX envelopes_council ON envelopes(council, created_at);"
        "CREATE INDEX envelopes_author ON envelopes(pubkey, kind, created_at, id);"
        "CREATE INDEX envelopes_hint ON envelopes(hint) WHERE hint IS NOT NULL;"
    )


# Each step takes a profile from the version before it to its own; applied in order.
MIGRATIONS: dict[int, str] = {
    2: """
ALTER TABLE pending ADD COLUMN author BLOB NOT NULL DEFAULT x'';
ALTER TABLE pending ADD COLUMN received INT NOT NULL DEFAULT 0;
CREATE INDEX pending_author ON pending(council, author);
ALTER TABLE held ADD COLUMN received INT NOT NULL DEFAULT 0;
CREATE TABLE early(
  envelope BLOB PRIMARY KEY, council BLOB NOT NULL, author BLOB NOT NULL,
  not_before INT NOT NULL, raw BLOB NOT NULL
);
CREATE INDEX early_due ON early(not_before);
""",
    # Expiry finds the old waiting rows without reading their (large) raw column.
    3: """
CREATE INDEX pending_received ON pending(received);
CREATE INDEX held_received ON held(received);
""",
    # Each causal past was stored whole (quadratic in the history) and found again by
    # reading every stored set; now as a delta on a base, found by its digest. Sets
    # stored before stay whole, with no digest: a set met again is stored once more.
    4: """
ALTER TABLE msets ADD COLUMN base INT;
ALTER TABLE msets ADD COLUMN digest BLOB;
CREATE INDEX msets_digest ON msets(council, digest);
""",
    # A secret ballot's ring signature is checked once per device, not once per command.
    5: """
CREATE TABLE verdicts(event BLOB PRIMARY KEY, verdict TEXT NOT NULL) WITHOUT ROWID;
""",
    # No second copy of what an envelope holds: events lose their decrypted body (read
    # from the envelope's content), envelopes keep signature and content as bytes
    # instead of their JSON, and the events' order index no id (no query ordered by
    # it). Row numbers are kept (sync marks count them). The envelopes are converted
    # by _compact_envelopes, after this SQL.
    6: """
CREATE TABLE events_6(
  id BLOB PRIMARY KEY, council BLOB NOT NULL, envelope BLOB NOT NULL, author BLOB NOT NULL,
  kind TEXT NOT NULL, clock INT NOT NULL, time INT NOT NULL, parents BLOB NOT NULL,
  mset INT NOT NULL, epoch BLOB NOT NULL, ref BLOB, valid INT NOT NULL
);
INSERT INTO events_6(rowid, id, council, envelope, author, kind, clock, time, parents, mset,
  epoch, ref, valid)
  SELECT rowid, id, council, envelope, author, kind, clock, time, parents, mset, epoch, ref,
  valid FROM events ORDER BY rowid;
DROP TABLE events;
ALTER TABLE events_6 RENAME TO events;
CREATE INDEX events_order ON events(council, clock);
CREATE INDEX events_subject ON events(council, kind, ref);
CREATE INDEX events_author ON events(council, author);
CREATE TABLE envelopes_6(
  id BLOB PRIMARY KEY, council BLOB NOT NULL, kind INT NOT NULL, created_at INT NOT NULL,
  pubkey BLOB NOT NULL, hint TEXT, sig BLOB NOT NULL, content BLOB NOT NULL
);
""",
    # Each causal past is stored as its frontier (its latest state events), not as the
    # whole set of its state events: the projection reads the older sets and writes
    # each again as its frontier when it resolves the councils anew after migrating.
    7: """
-- No change to the tables: what their rows mean (kernel/projection.py, _rewrite_msets).
""",
}
# Run after a step's SQL, in the same transaction; a step with one rebuilds tables, and
# the file is compacted after it.
AFTER: dict[int, Callable[[apsw.Connection], None]] = {6: _compact_envelopes}


def _connect(path: Path, key: bytes) -> apsw.Connection:
    db = apsw.Connection(str(path))
    db.pragma("cipher", "chacha20")
    db.pragma("kdf_iter", 1)
    db.pragma("hexkey", key.hex())
    return db


class _Checkpointer:
    """Copies the log into the database file on a connection and thread of its own
    while a bulk import goes on (PASSIVE: it never blocks the import's writes), after
    each of its commits. The copying and syncing wait on the disk with the GIL
    released, so they overlap the import instead of all following it."""

    def __init__(self, path: Path, key: bytes) -> None:
        self._db = _connect(path, key)
        self._poked = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="shora-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """A transaction was committed: there is log to copy."""
        self._poked.set()

    def close(self) -> None:
        self._stop = True
        self._poked.set()
        self._thread.join()
        self._db.close()

    def _run(self) -> None:
        while True:
            self._poked.wait()
            self._poked.clear()
            if self._stop:
                return
            try:
                self._db.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_PASSIVE)
            except apsw.Error:  # busy or interrupted: the end of the import copies it
                continue


class Database:
    """One open encrypted database. Not thread-safe: one Store per thread."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self.migrated_from: int | None = None
        self._bulk = 0
        self._key = key  # a bulk import's checkpointer opens a connection of its own
        self._checkpointer: _Checkpointer | None = None
        new = not path.exists()
        self.db = _connect(path, key)
        try:
            self.db.pragma("temp_store", "MEMORY")
            # Ids are hashes, so inserts land all over the B-trees: a page cache of 16 MiB
            # (instead of 2 MiB) keeps decrypting and re-encrypting the same pages rare;
            # a large import gets 64 MiB while it runs (bulk).
            self.db.pragma("cache_size", -CACHE_KIB)
            self.db.pragma("journal_mode", "WAL")
            self.db.pragma("synchronous", "NORMAL")
            self.db.pragma("foreign_keys", True)
            # Another process on the same profile (`shora post` while `shora serve` syncs)
            # may hold the write lock for a moment: wait for it rather than fail at once.
            self.db.set_busy_timeout(10_000)
            if new:
                with self.transaction():
                    self.db.execute(SCHEMA)
                    self.db.execute("INSERT INTO meta VALUES('schema', ?)", (SCHEMA_VERSION,))
            version = self.one("SELECT value FROM meta WHERE key='schema'")
        except apsw.NotADBError as exc:
            self.db.close()
            raise ProfileError(
                _("the database {path} cannot be opened with this key").format(path=path)
            ) from exc
        if isinstance(version, int) and version < SCHEMA_VERSION:
            self._migrate(version)
        elif version != SCHEMA_VERSION:
            self.db.close()
            raise ProfileError(
                _(
                    "database schema {version} is newer than this version of Shora supports: "
                    "install a newer Shora to open this profile"
                ).format(version=version)
            )

    def _migrate(self, version: int) -> None:
        """Bring an older profile up to date in one transaction: nothing is lost. The
        caller re-projects every council (`migrated_from`): the rules of resolution
        may have changed with the schema."""
        self.migrated_from = version
        with self.transaction():
            rebuilt = False
            for step in range(version + 1, SCHEMA_VERSION + 1):
                self.db.execute(MIGRATIONS[step])
                if step in AFTER:
                    AFTER[step](self.db)
                    rebuilt = True
            self.db.execute("UPDATE meta SET value=? WHERE key='schema'", (SCHEMA_VERSION,))
        if rebuilt and self.path.stat().st_size <= VACUUM_MAX_BYTES:
            # The old tables' pages are free now: give them back to the device. VACUUM
            # copies the database through memory (temporary tables stay there, never in
            # an unencrypted file), so a larger profile keeps them for its next writes.
            self.db.execute("VACUUM")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A transaction, or a savepoint inside the one already open. The outermost one
        takes the write lock as it begins (BEGIN IMMEDIATE): a transaction that read
        first and then wrote after another process (`shora serve` syncing the same
        profile) had committed would fail at once with "database is locked", since
        waiting cannot make its snapshot current; taken first, the lock is waited for
        (the busy timeout) and the reads see the newest state."""
        if self.db.in_transaction:
            with self.db:
                yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            with self.db:
                yield
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        if self._checkpointer is not None:
            self._checkpointer.poke()

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

    def version(self) -> tuple[int, int]:
        """Changes since this connection opened and SQLite's data_version (which moves
        when another connection commits): equal while the database is unchanged."""
        return self.db.total_changes(), int(self.one("PRAGMA data_version"))

    def data_version(self) -> int:
        """Changes when another connection commits to the file (caches are then stale)."""
        return int(self.one("PRAGMA data_version"))

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Many transactions in a row (an import of thousands of events): the write-ahead
        log is copied into the database file every BULK_CHECKPOINT_PAGES pages instead of
        after each commit, then once at the end. Ids are hashes, so every batch dirties
        pages all over the indexes; copied once per batch, the same pages were decrypted
        and re-encrypted again and again. What is stored is the same. Meanwhile another
        thread copies what each commit wrote (_Checkpointer), so that the end has only
        the last commits' pages to copy."""
        self._bulk += 1
        if self._bulk == 1:
            self.db.wal_autocheckpoint(BULK_CHECKPOINT_PAGES)
            self.db.pragma("cache_size", -BULK_CACHE_KIB)
            try:
                self._checkpointer = _Checkpointer(self.path, self._key)
            except apsw.Error:  # no second connection: the end of the import copies it all
                self._checkpointer = None
        try:
            yield
        finally:
            self._bulk -= 1
            if self._bulk == 0:
                if self._checkpointer is not None:
                    self._checkpointer.close()
                    self._checkpointer = None
                self.db.wal_autocheckpoint(WAL_CHECKPOINT_PAGES)
                self.db.pragma("cache_size", -CACHE_KIB)  # frees the pages beyond it
                # Copy the log in and cut it back to nothing, so a large import leaves no
                # 64 MiB log on a phone's storage; if another process is reading, copy
                # what it can now and let SQLite finish later.
                try:
                    self.db.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_TRUNCATE)
                except apsw.BusyError:
                    self.db.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_PASSIVE)
