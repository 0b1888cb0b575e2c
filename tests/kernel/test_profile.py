"""The profile at rest: nothing readable without the passphrase."""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FAST_KDF, admit, make_node, send
from shora.errors import ProfileError
from shora.kernel import crypto, keys, kinds, profile
from shora.kernel.events import stored_body
from shora.node import Node

SECRETS = [
    "Tannery workers council",
    "insulin for the old man at the end of the street",
    "کمیتهٔ محلهٔ نارمک",
    "نیاز فوری به انسولین",
    "Nasrin-the-nurse",
]


def _forms(text: str) -> list[bytes]:
    return [text.encode("utf-8"), text.encode("utf-16-le"), text.encode("utf-16-be")]


def _scan(home: Path) -> list[str]:
    found = []
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {s}" for s in SECRETS for f in _forms(s) if f in data]
    return found


def test_nothing_readable_on_disk(tmp_path: Path) -> None:
    a = make_node(tmp_path, "a")
    b = make_node(tmp_path, "b")
    council = a.councils.create(SECRETS[0], SECRETS[2], SECRETS[4])
    a.posts.post(council, SECRETS[1], title=SECRETS[3])
    admit(a, b, council, "someone")
    # While open (WAL and shared-memory files present) and after closing.
    files = {p.name for p in (tmp_path / "a").iterdir()}
    database = a.store.path
    assert database.name + "-wal" in files
    assert _scan(tmp_path) == []
    a.close()
    b.close()
    assert _scan(tmp_path) == []
    # Neither database file (the profile's and the spare) even looks like SQLite.
    for name in profile.DATABASE_FILES:
        assert not (tmp_path / "a" / name).read_bytes().startswith(b"SQLite format 3")


def test_wrong_passphrase_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "p"
    node = Node.create(home, "right passphrase", kdf_limits=FAST_KDF, allow_weak_kdf=True)
    node.councils.create("Council", "", "me")
    node.close()
    before = {p: hashlib.sha256(p.read_bytes()).digest() for p in home.iterdir()}
    with pytest.raises(ProfileError, match="wrong passphrase"):
        Node.open(home, "wrong passphrase", allow_weak_kdf=True)
    assert {p: hashlib.sha256(p.read_bytes()).digest() for p in home.iterdir()} == before
    reopened = Node.open(home, "right passphrase", allow_weak_kdf=True)
    assert [c.name for c in reopened.councils.all()] == ["Council"]
    reopened.close()


def test_profile_errors(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no profile"):
        profile.unlock(tmp_path / "none", "whatever passphrase")
    profile.create(tmp_path / "p", "long enough", *FAST_KDF, allow_weak_kdf=True)
    with pytest.raises(ProfileError, match="already exists"):
        profile.create(tmp_path / "p", "long enough", *FAST_KDF, allow_weak_kdf=True)
    with pytest.raises(ProfileError, match="at least"):
        profile.create(tmp_path / "q", "short", *FAST_KDF, allow_weak_kdf=True)
    (tmp_path / "p" / "keystore").write_bytes(b"\x93garbage")
    with pytest.raises(ProfileError, match="damaged"):
        profile.unlock(tmp_path / "p", "long enough", allow_weak_kdf=True)


def test_default_kdf_is_libsodium_moderate_or_stronger() -> None:
    import nacl.pwhash

    from shora.kernel import crypto

    assert crypto.KDF_OPSLIMIT >= nacl.pwhash.argon2id.OPSLIMIT_MODERATE
    assert crypto.KDF_MEMLIMIT >= nacl.pwhash.argon2id.MEMLIMIT_MODERATE


def test_each_council_gets_its_own_identity(tmp_path: Path) -> None:
    a = make_node(tmp_path, "a")
    one = a.councils.create("One", "", "same name")
    two = a.councils.create("Two", "", "same name")
    assert a.councils.get(one).my_key != a.councils.get(two).my_key
    a.close()


@settings(max_examples=200, deadline=None)
@given(blob=st.binary(max_size=600))
def test_fuzz_keystore(tmp_path_factory: pytest.TempPathFactory, blob: bytes) -> None:
    """A damaged keystore is a clear ProfileError, never a crash."""
    home = tmp_path_factory.mktemp("ks")
    (home / "keystore").write_bytes(blob)
    with pytest.raises(ProfileError):
        profile.unlock(home, "any passphrase at all")


@settings(max_examples=300, deadline=None)
@given(blob=st.binary(max_size=400))
def test_fuzz_key_boxes(blob: bytes) -> None:
    """Grant and welcome boxes that are not for us (or not boxes at all) open to None."""
    kx_pk, kx_sk = crypto.kx_keypair()
    assert keys.open_grant(kx_pk, kx_sk, b"\0" * 32, blob) is None
    assert keys.open_welcome(kx_pk, kx_sk, b"\0" * 32, b"\0" * 32, blob) is None
    sealed = crypto.seal(kx_pk, blob)  # well sealed to us, but garbage inside
    assert keys.open_grant(kx_pk, kx_sk, b"\0" * 32, sealed) is None
    assert keys.open_welcome(kx_pk, kx_sk, b"\0" * 32, b"\0" * 32, sealed) is None


def test_welcome_box_encoding() -> None:
    """A welcome is encoded from tuples: the bytes of the WelcomeBox struct, and they
    open to the same ring."""
    council, request_id = b"c" * 32, b"r" * 32
    ring = [keys.Epoch.generate(council) for _ in range(3)]
    kx_pk, kx_sk = crypto.kx_keypair()
    sealed = keys.seal_welcome(kx_pk, council, request_id, ring)
    box = keys.WelcomeBox(
        keys.WELCOME_CONTEXT, council, request_id, [keys.epoch_keys(e) for e in ring]
    )
    assert crypto.unseal(kx_pk, kx_sk, sealed) == msgspec.msgpack.encode(box)
    assert keys.open_welcome(kx_pk, kx_sk, council, request_id, sealed) == ring


def schema_5_tables(node: Node) -> None:
    """Give a profile the events and envelopes tables of schema 5: each event with its
    decrypted body, each envelope as its JSON (empty when forgotten)."""
    db = node.store.db
    raws = {
        bytes(i): node.store.events.raw(bytes(i)) for (i,) in db.execute("SELECT id FROM envelopes")
    }
    bodies = {
        bytes(i): stored_body(content, key, epoch)
        for i, content, epoch, key in db.execute(
            "SELECT e.id, v.content, e.epoch, k.content_key FROM events e "
            "JOIN envelopes v ON v.id = e.envelope JOIN epochs k ON k.write_pk = e.epoch"
        )
    }
    db.execute(
        "CREATE TABLE old_envelopes(id BLOB PRIMARY KEY, council BLOB NOT NULL, "
        "kind INT NOT NULL, created_at INT NOT NULL, raw BLOB NOT NULL, pubkey BLOB NOT NULL, "
        "hint TEXT);"
        "INSERT INTO old_envelopes(rowid, id, council, kind, created_at, raw, pubkey, hint) "
        "SELECT rowid, id, council, kind, created_at, x'', pubkey, hint FROM envelopes;"
        "CREATE TABLE old_events(id BLOB PRIMARY KEY, council BLOB NOT NULL, "
        "envelope BLOB NOT NULL, author BLOB NOT NULL, kind TEXT NOT NULL, clock INT NOT NULL, "
        "time INT NOT NULL, parents BLOB NOT NULL, mset INT NOT NULL, epoch BLOB NOT NULL, "
        "ref BLOB, body BLOB, valid INT NOT NULL);"
        "INSERT INTO old_events(rowid, id, council, envelope, author, kind, clock, time, "
        "parents, mset, epoch, ref, valid) SELECT rowid, id, council, envelope, author, kind, "
        "clock, time, parents, mset, epoch, ref, valid FROM events;"
        "DROP TABLE envelopes; DROP TABLE events;"
        "ALTER TABLE old_envelopes RENAME TO envelopes; ALTER TABLE old_events RENAME TO events;"
        "CREATE INDEX envelopes_council ON envelopes(council, created_at);"
        "CREATE INDEX envelopes_author ON envelopes(pubkey, kind, created_at, id);"
        "CREATE INDEX envelopes_hint ON envelopes(hint) WHERE hint IS NOT NULL;"
        "CREATE INDEX events_order ON events(council, clock, id);"
        "CREATE INDEX events_subject ON events(council, kind, ref);"
        "CREATE INDEX events_author ON events(council, author);"
    )
    db.executemany("UPDATE envelopes SET raw=? WHERE id=?", [(r, i) for i, r in raws.items()])
    db.executemany("UPDATE events SET body=? WHERE id=?", [(b, i) for i, b in bodies.items()])


def test_a_profile_of_schema_5_keeps_no_second_copy_of_its_envelopes(tmp_path: Path) -> None:
    """Schema 5 kept each event's decrypted body and each envelope's JSON: opened by
    this version, the bodies go (read from the envelopes), the envelopes are kept as
    bytes and read back as the very same JSON, and a forgotten one stays forgotten."""
    node = make_node(tmp_path, "five")
    council = node.councils.create("Block 4", "", "Nasrin")
    node.posts.post(council, "water at six")
    node.posts.post(council, "bread at seven")
    home, digest = node.home, node.councils.state_digest(council)
    ids = [bytes(i) for (i,) in node.store.rows("SELECT id FROM envelopes")]
    before = {i: node.store.events.raw(i) for i in ids}
    schema_5_tables(node)
    forgotten = crypto.random_bytes(32)  # an envelope whose event was forgotten
    node.store.execute(
        "INSERT INTO envelopes VALUES(?, ?, 4040, 0, x'', ?, NULL)",
        (forgotten, council, crypto.random_bytes(32)),
    )
    before[forgotten] = b""
    node.store.execute("UPDATE meta SET value=5 WHERE key='schema'")
    assert node.store.one("SELECT count(*) FROM events WHERE body IS NOT NULL") >= 3
    node.close()
    reopened = Node.open(home, "correct horse battery", allow_weak_kdf=True)
    store = reopened.store
    columns = [r[1] for r in store.rows("PRAGMA table_info(events)")]
    assert "body" not in columns
    assert "raw" not in [r[1] for r in store.rows("PRAGMA table_info(envelopes)")]
    assert {i: store.events.raw(i) for i in before} == before
    assert reopened.councils.state_digest(council) == digest
    assert [p["text"] for p in reopened.posts.posts(council)] == ["bread at seven", "water at six"]
    reopened.posts.post(council, "and the generator until nine")
    assert len(reopened.posts.posts(council)) == 3
    reopened.close()


def test_a_profile_of_the_first_schema_is_migrated_and_loses_nothing(tmp_path: Path) -> None:
    """An old profile (schema 1: no author or age columns, no table of early events)
    opens with this version: it is brought up to date, keeps every event, and every
    council is resolved anew under this version's rules."""
    from shora.kernel.storage import database as store_module

    node = make_node(tmp_path, "old")
    council = node.councils.create("Block 4", "", "Nasrin")
    node.posts.post(council, "water at six")
    home, digest = node.home, node.councils.state_digest(council)
    schema_5_tables(node)
    db = node.store.db
    db.execute("DROP TABLE early; DROP INDEX pending_author; DROP INDEX msets_digest")
    db.execute("DROP TABLE verdicts")
    db.execute("CREATE TABLE old_msets AS SELECT id, council, ids FROM msets")
    db.execute("DROP TABLE msets; ALTER TABLE old_msets RENAME TO msets")
    for table, columns in (
        ("pending", "envelope, council, raw"),
        ("held", "envelope, write_pk, raw"),
    ):
        db.execute(f"CREATE TABLE old_{table} AS SELECT {columns} FROM {table}")
        db.execute(f"DROP TABLE {table}")
        db.execute(f"ALTER TABLE old_{table} RENAME TO {table}")
    db.execute("UPDATE meta SET value=1 WHERE key='schema'")
    # What an older version's resolution left in the tables is resolved anew.
    db.execute("UPDATE events SET valid=0; UPDATE members SET status='removed'")
    node.close()
    reopened = Node.open(home, "correct horse battery", allow_weak_kdf=True)
    assert reopened.store.one("SELECT value FROM meta WHERE key='schema'") == (
        store_module.SCHEMA_VERSION
    )
    assert reopened.councils.state_digest(council) == digest
    assert [p["text"] for p in reopened.posts.posts(council)] == ["water at six"]
    assert reopened.store.one("SELECT count(*) FROM early") == 0
    # The old whole sets were read and written again as frontiers; so is a new event's.
    assert reopened.store.one("SELECT count(*) FROM msets WHERE base IS NOT NULL") == 0
    reopened.posts.post(council, "and bread at seven")
    assert "and bread at seven" in [p["text"] for p in reopened.posts.posts(council)]
    reopened.membership.invite(council)
    reopened.membership.invite(council)  # its past is the first invite's plus that invite
    assert reopened.store.one("SELECT max(length(ids)) FROM msets") == 32
    reopened.close()


def _whole_sets(node: Node, council: bytes) -> None:
    """Store a council's causal pasts as schema 5 did: each the whole set of its state
    events, as the ids it adds to the set stored just before when that is a subset."""
    resolver = node.ingestor.projection.resolver(council)
    rows = node.store.rows("SELECT id, ids FROM msets WHERE council=? ORDER BY id", (council,))
    before: frozenset[bytes] | None = None
    for mset_id, blob in rows:
        front = {bytes(blob)[i : i + 32] for i in range(0, len(blob), 32)}
        whole = resolver.closure(front)
        digest = crypto.sha256(b"".join(sorted(whole)))
        if before is not None and before <= whole:
            added, base = b"".join(sorted(whole - before)), mset_id - 1
        else:
            added, base = b"".join(sorted(whole)), None
        node.store.execute(
            "UPDATE msets SET ids=?, base=?, digest=? WHERE id=?", (added, base, digest, mset_id)
        )
        before = whole


def test_a_profile_of_whole_causal_pasts_is_migrated_to_frontiers(tmp_path: Path) -> None:
    """A profile of schema 5 (each causal past stored as the whole set of its state
    events, or as what it adds to another) opens with this version: every past is
    written again as its frontier, and the council's state, its members and every
    event's validity are what they were."""
    a, b, c, d = (make_node(tmp_path, n) for n in "abcd")
    council = a.councils.create("Block 4", "", "Nasrin", kinds.Rules(removal="member"))
    for node, name in ((b, "Babak"), (c, "Cyrus"), (d, "Dara")):
        admit(a, node, council, name)
    c.posts.post(council, "the pumps at noon")
    send(c, a)
    assert a.membership.remove(council, c.me(council) or b"", "informer").admitted
    c.posts.post(council, "concurrent with the removal: void")
    send(c, a)
    a.posts.post(council, "water at six")
    assert a.store.one("SELECT count(*) FROM events WHERE valid=0")
    home, digest = a.home, a.councils.state_digest(council)
    valid = a.store.rows("SELECT id, valid FROM events ORDER BY id")
    members = a.store.members.state_rows(council)
    _whole_sets(a, council)
    assert a.store.one("SELECT count(*) FROM msets WHERE base IS NOT NULL")
    schema_5_tables(a)
    a.store.execute("UPDATE meta SET value=5 WHERE key='schema'")
    a.store.execute("UPDATE events SET valid=0; UPDATE members SET status='removed'")
    for node in (a, b, c, d):
        node.close()
    reopened = Node.open(home, "correct horse battery", allow_weak_kdf=True)
    assert reopened.store.migrated_from == 5
    assert reopened.councils.state_digest(council) == digest
    assert reopened.store.rows("SELECT id, valid FROM events ORDER BY id") == valid
    assert reopened.store.members.state_rows(council) == members
    assert reopened.store.one("SELECT count(*) FROM msets WHERE base IS NOT NULL") == 0
    assert reopened.store.one("SELECT max(length(ids)) FROM msets") == 32
    reopened.close()
    # Opened again, it reads the frontiers as they are and answers the same.
    again = Node.open(home, "correct horse battery", allow_weak_kdf=True)
    assert again.store.migrated_from is None
    assert again.councils.state_digest(council) == digest
    assert again.store.rows("SELECT id, valid FROM events ORDER BY id") == valid
    again.close()


def test_a_profile_of_a_newer_schema_is_refused_clearly(tmp_path: Path) -> None:
    node = make_node(tmp_path, "new")
    node.store.execute("UPDATE meta SET value=99 WHERE key='schema'")
    home = node.home
    node.close()
    with pytest.raises(ProfileError, match="newer"):
        Node.open(home, "correct horse battery", allow_weak_kdf=True)
