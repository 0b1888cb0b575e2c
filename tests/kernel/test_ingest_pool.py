"""Signatures checked on a pool of workers give the verdicts of checking in line."""

from __future__ import annotations

import base64
import random
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import admit, make_node
from shora.kernel import crypto, ingest, nip01
from shora.kernel.events import decrypt_content, seal_content
from shora.kernel.storage import compact
from shora.node import Node

PASSPHRASE = "correct horse battery"


class World(msgspec.Struct):
    template: Path  # a member's profile, closed, before the history below
    raws: list[bytes]  # the history it lacks: posts, a removal and its new epoch, more posts
    write_sk: bytes  # the first epoch's write key, to forge well-signed bad envelopes
    content_key: bytes  # and its content key, to seal an inner event again


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("pool")
    a, b, c, d = (make_node(root, n) for n in "abcd")
    council = a.councils.create("Council", "", "Ava")
    admit(a, b, council, "Bijan")
    admit(a, d, council, "Dara")
    admit(a, c, council, "Cima")
    held = set(c.bundles.envelopes())
    c.close()
    first = a.writing_epoch(council)
    for i in range(40):
        a.posts.post(council, f"before {i}")
    # A new epoch in the middle: what follows it is under a key the batch brings.
    a.membership.remove(council, a.find_member(council, "Dara"), emergency=True)
    for i in range(40):
        a.posts.post(council, f"after {i}")
    raws = [r for r in a.bundles.envelopes() if r not in held]
    assert len(raws) >= ingest.POOL_MIN
    yield World(root / "c", raws, first.write_sk, first.content_key)
    for node in (a, b, d):
        node.close()


def _forged(env: nip01.Envelope, write_sk: bytes, content: str) -> bytes:
    signer = crypto.WriteSigner(write_sk)
    return nip01.encode(nip01.sign_envelope(signer, env.created_at, env.kind, [], content))


def _mutate(raw: bytes, how: int, world: World) -> bytes:
    env = nip01.decode(raw)
    write_sk = world.write_sk
    if how == 0:  # a signature that does not verify
        return nip01.encode(msgspec.structs.replace(env, sig=env.sig[::-1]))
    if how == 1:  # an id that does not match
        return nip01.encode(msgspec.structs.replace(env, id=env.id[::-1]))
    if how == 2:  # well signed, content that does not decrypt
        blob = bytearray(base64.b64decode(env.content))
        blob[-1] ^= 1
        return _forged(env, write_sk, base64.b64encode(bytes(blob)).decode())
    if how == 3:  # well signed, content that is not base64
        return _forged(env, write_sk, "not base64!")
    if how == 4:  # not JSON
        return raw[: len(raw) // 2]
    if how == 5:  # the same envelope spelt with a space: other bytes, the same id
        return b"{ " + raw[1:]
    write_pk = crypto.WriteSigner(write_sk).public_key
    if how == 6 and env.pubkey == write_pk.hex():  # the same inner event sealed again
        plain = decrypt_content(env, world.content_key, write_pk)
        return _forged(env, write_sk, seal_content(world.content_key, write_pk, plain))
    return raw  # a duplicate


def _ingest(world: World, home: Path, batch: list[bytes], pooled: bool) -> tuple[object, ...]:
    shutil.copytree(world.template, home)
    with Node.open(home, PASSPHRASE, allow_weak_kdf=True) as node:
        node.ingestor.pooled = pooled
        report = node.bundles.import_envelopes(batch, heal=False)
        stored = node.store.rows("SELECT id, valid FROM events ORDER BY id")
        envelopes = node.store.rows("SELECT id, hint, sig, content FROM envelopes ORDER BY id")
        waiting = node.store.rows("SELECT envelope, raw FROM pending ORDER BY 1")
        held = node.store.rows("SELECT raw FROM held ORDER BY 1")
        return (
            report.accepted,
            report.duplicate,
            report.pending,
            report.held,
            report.early,
            sorted(report.refused.items()),
            stored,
            envelopes,
            waiting,
            held,
        )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rng=st.randoms(use_true_random=False))
def test_pooled_and_sequential_ingest_reach_the_same_verdicts(
    world: World, tmp_path_factory: pytest.TempPathFactory, rng: random.Random
) -> None:
    """Random batches of valid, invalid and repeated envelopes in random order (children
    before parents, posts before the grant of their key): the same report, rows, waits."""
    raws = world.raws
    batch = rng.sample(raws, rng.randint(ingest.POOL_MIN, len(raws)))
    for _ in range(rng.randint(0, 30)):
        bad = _mutate(rng.choice(raws), rng.randint(0, 7), world)
        batch.insert(rng.randint(0, len(batch)), bad)
    root = tmp_path_factory.mktemp("run")
    pooled = _ingest(world, root / "pooled", batch, True)
    sequential = _ingest(world, root / "sequential", batch, False)
    assert pooled == sequential


def test_an_envelope_is_stored_as_compact_pack_spells_it(world: World, tmp_path: Path) -> None:
    """The signature and content bytes the workers decoded are the columns compact.pack
    makes of the envelope's JSON, and the JSON written back is the envelope received."""
    shutil.copytree(world.template, tmp_path / "c")
    with Node.open(tmp_path / "c", PASSPHRASE, allow_weak_kdf=True) as node:
        report = node.bundles.import_envelopes(world.raws, heal=False)
        assert report.accepted == len(world.raws) and not report.refused
        for raw in world.raws:
            eid = bytes.fromhex(nip01.decode(raw).id)
            row = node.store.rows("SELECT hint, sig, content FROM envelopes WHERE id=?", (eid,))
            hint, sig, content = row[0]
            assert (bytes(sig), bytes(content)) == compact.pack(raw, hint)
            assert node.store.events.raw(eid) == raw


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pipelined_batches_reach_the_same_verdicts(
    world: World,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
) -> None:
    """Many small transactions, the workers checking the next batch's chunks while one is
    written and committed: the same report, rows and waits as one batch checked in line."""
    rng = random.Random(seed)
    batch = rng.sample(world.raws, len(world.raws))
    for _ in range(20):
        bad = _mutate(rng.choice(world.raws), rng.randint(0, 7), world)
        batch.insert(rng.randint(0, len(batch)), bad)
    root = tmp_path_factory.mktemp("pipelined")
    sequential = _ingest(world, root / "sequential", batch, False)
    monkeypatch.setattr(ingest, "BATCH", 24)
    monkeypatch.setattr(ingest, "FIRST_BATCH", 8)  # transactions of 8, 16, then 24
    monkeypatch.setattr(ingest, "POOL_CHUNK", 8)
    monkeypatch.setattr(ingest, "POOL_AHEAD", 3)
    pooled = _ingest(world, root / "pooled", batch, True)
    assert pooled == sequential


def test_a_pooled_bulk_import_gives_back_the_switch_interval_and_leaves_no_log(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a pooled import runs, a thread asks for the GIL after SWITCH_INTERVAL; once
    it is over, Python's interval is back, the log was copied into the database file and
    cut back to nothing, and the thread that copied it during the import is gone."""
    monkeypatch.setattr(ingest, "BATCH", 24)
    monkeypatch.setattr(ingest, "FIRST_BATCH", 8)
    monkeypatch.setattr(ingest, "POOL_CHUNK", 8)
    before = sys.getswitchinterval()
    assert before > ingest.SWITCH_INTERVAL
    during: list[float] = []
    home = tmp_path / "c"
    shutil.copytree(world.template, home)
    with Node.open(home, PASSPHRASE, allow_weak_kdf=True) as node:
        node.ingestor.progress = lambda _: during.append(sys.getswitchinterval())
        report = node.bundles.import_envelopes(world.raws, heal=False)
        assert report.accepted == len(world.raws) and not report.refused
        wal = Path(f"{node.store.path}-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        count = node.store.one("SELECT count(*) FROM envelopes")
    assert len(during) >= 3
    assert all(x == pytest.approx(ingest.SWITCH_INTERVAL) for x in during)
    assert sys.getswitchinterval() == before
    assert "shora-checkpoint" not in {t.name for t in threading.enumerate()}
    with Node.open(home, PASSPHRASE, allow_weak_kdf=True) as node:
        assert node.store.one("SELECT count(*) FROM envelopes") == count


def _each(world: World, home: Path, batch: list[bytes], pooled: bool) -> tuple[object, ...]:
    shutil.copytree(world.template, home)
    with Node.open(home, PASSPHRASE, allow_weak_kdf=True) as node:
        node.ingestor.pooled = pooled
        report, verdicts = node.ingestor.ingest_each(batch)
        return (
            [v if isinstance(v, bool) else (type(v).__name__, str(v)) for v in verdicts],
            report.accepted,
            report.duplicate,
            report.pending,
            report.early,
            node.store.rows("SELECT id, valid FROM events ORDER BY id"),
            node.store.rows("SELECT id FROM envelopes ORDER BY id"),
            node.store.rows("SELECT envelope, raw FROM pending ORDER BY 1"),
        )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_relays_batch_checked_on_the_pool_gets_the_same_answers(
    world: World, tmp_path_factory: pytest.TempPathFactory, seed: int
) -> None:
    """A relay's batch of EVENTs (ingest_each) checked on the pool in small chunks: every
    envelope gets the answer, and the store the rows, of checking them in line."""
    rng = random.Random(seed)
    batch = rng.sample(world.raws, len(world.raws))
    for _ in range(20):
        bad = _mutate(rng.choice(world.raws), rng.randint(0, 7), world)
        batch.insert(rng.randint(0, len(batch)), bad)
    assert len(batch) > ingest.EACH_CHUNK * 2
    root = tmp_path_factory.mktemp("each")
    pooled = _each(world, root / "pooled", batch, True)
    sequential = _each(world, root / "sequential", batch, False)
    assert pooled == sequential
    assert pooled[1] and any(not isinstance(v, bool) for v in pooled[0])
