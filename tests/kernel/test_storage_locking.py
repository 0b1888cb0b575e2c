"""Two connections writing the same profile, as `shora post` does while `shora serve`
syncs it: a write transaction that read before the other committed must wait for the
lock and succeed, never fail with "database is locked"."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shora.kernel.storage.database import Database


@pytest.fixture
def connections(tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    """Two connections to the same encrypted database, as two processes have."""
    key, path = os.urandom(32), tmp_path / "profile.db"
    first = Database(path, key)
    second = Database(path, key)
    yield first, second
    first.close()
    second.close()


def test_a_transaction_that_reads_first_waits_for_the_other_writer(
    connections: tuple[Database, Database],
) -> None:
    first, second = connections
    writing = threading.Event()
    errors: list[BaseException] = []

    def other_writer() -> None:
        try:
            writing.set()
            with second.transaction():
                second.execute("INSERT INTO settings VALUES('other', 'b')")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=other_writer)
    with first.transaction():
        # A read first: with a deferred transaction this took a snapshot that the
        # other writer's commit would make stale, and the write below would fail.
        assert first.one("SELECT count(*) FROM settings") == 0
        thread.start()
        assert writing.wait(5)
        time.sleep(0.3)  # the other writer is now waiting for the lock, or has written
        first.execute("INSERT INTO settings VALUES('first', 'a')")
    thread.join(30)
    assert not thread.is_alive()
    assert errors == []
    assert sorted(r[0] for r in first.rows("SELECT key FROM settings")) == ["first", "other"]


def test_a_failed_transaction_rolls_back_and_releases_the_lock(
    connections: tuple[Database, Database],
) -> None:
    first, second = connections
    with pytest.raises(RuntimeError), first.transaction():
        first.execute("INSERT INTO settings VALUES('lost', 'a')")
        with first.transaction():  # a savepoint inside it
            first.execute("INSERT INTO settings VALUES('lost too', 'a')")
        raise RuntimeError("refused")
    assert not first.db.in_transaction
    with second.transaction():  # the lock is free at once
        second.execute("INSERT INTO settings VALUES('kept', 'b')")
    assert [r[0] for r in first.rows("SELECT key FROM settings")] == ["kept"]
    # A failed savepoint leaves the transaction around it to go on.
    with first.transaction():
        first.execute("INSERT INTO settings VALUES('outer', 'a')")
        with pytest.raises(RuntimeError), first.transaction():
            first.execute("INSERT INTO settings VALUES('inner', 'a')")
            raise RuntimeError("refused")
    assert sorted(r[0] for r in first.rows("SELECT key FROM settings")) == ["kept", "outer"]
