"""Signatures checked on a pool of workers give the verdicts of checking in line."""

from __future__ import annotations

import base64
import contextlib
import itertools
import os
import random
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import admit, make_node
from shora.kernel import ahead, checking, crypto, ingest, keys, nip01
from shora.kernel.events import decrypt_content, seal_content
from shora.kernel.storage import compact
from shora.node import Node
from shora.sync.local import NodeEnvelopes

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
    assert len(raws) >= ahead.POOL_MIN
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


def _ingest(
    world: World, home: Path, batch: list[bytes], pooled: bool, processes: bool = False
) -> tuple[object, ...]:
    shutil.copytree(world.template, home)
    with Node.open(home, PASSPHRASE, allow_weak_kdf=True) as node:
        node.ingestor.ahead.pooled = pooled
        node.ingestor.ahead.processes = processes
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
    world: World,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    rng: random.Random,
) -> None:
    """Random batches of valid, invalid and repeated envelopes in random order (children
    before parents, posts before the grant of their key): the same report, rows, waits,
    checked in line, on threads or by checking processes (in chunks of 8: the key of a
    later epoch is learned while chunks sent without it are being checked)."""
    monkeypatch.setattr(ahead, "PROCESSES_MIN", ahead.POOL_MIN)
    monkeypatch.setattr(ahead, "PROCESS_CHUNK", 8)
    raws = world.raws
    batch = rng.sample(raws, rng.randint(ahead.POOL_MIN, len(raws)))
    for _ in range(rng.randint(0, 30)):
        bad = _mutate(rng.choice(raws), rng.randint(0, 7), world)
        batch.insert(rng.randint(0, len(batch)), bad)
    root = tmp_path_factory.mktemp("run")
    pooled = _ingest(world, root / "pooled", batch, True)
    sequential = _ingest(world, root / "sequential", batch, False)
    assert pooled == sequential
    assert _ingest(world, root / "processes", batch, True, processes=True) == sequential


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
    monkeypatch.setattr(ahead, "POOL_CHUNK", 8)
    monkeypatch.setattr(ahead, "POOL_AHEAD", 3)
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
    monkeypatch.setattr(ahead, "POOL_CHUNK", 8)
    before = sys.getswitchinterval()
    assert before > checking.SWITCH_INTERVAL
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
    assert all(x == pytest.approx(checking.SWITCH_INTERVAL) for x in during)
    assert sys.getswitchinterval() == before
    assert "shora-checkpoint" not in {t.name for t in threading.enumerate()}
    with Node.open(home, PASSPHRASE, allow_weak_kdf=True) as node:
        assert node.store.one("SELECT count(*) FROM envelopes") == count


def _each(
    world: World, home: Path, batch: list[bytes], pooled: bool, processes: bool = False
) -> tuple[object, ...]:
    shutil.copytree(world.template, home)
    with Node.open(home, PASSPHRASE, allow_weak_kdf=True) as node:
        node.ingestor.ahead.pooled = pooled
        node.ingestor.ahead.processes = processes
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
    """A relay's batch of EVENTs (ingest_each) checked in small chunks by the checking
    processes of a burst, or on the thread pool: every envelope gets the answer, and the
    store the rows, of checking them in line."""
    rng = random.Random(seed)
    batch = rng.sample(world.raws, len(world.raws))
    for _ in range(20):
        bad = _mutate(rng.choice(world.raws), rng.randint(0, 7), world)
        batch.insert(rng.randint(0, len(batch)), bad)
    assert len(batch) > ahead.EACH_CHUNK * 2
    root = tmp_path_factory.mktemp("each")
    by_processes = _each(world, root / "processes", batch, True, processes=True)
    pooled = _each(world, root / "pooled", batch, True)
    sequential = _each(world, root / "sequential", batch, False)
    assert by_processes == pooled == sequential
    assert pooled[1] and any(not isinstance(v, bool) for v in pooled[0])


def test_a_burst_of_uploads_is_checked_by_processes_that_end_with_it(
    world: World, tmp_path: Path
) -> None:
    """A relay's large batches are checked by checking processes started with the first
    and kept for the next; the housekeeping after the burst ends them, and so does
    closing the node."""
    shutil.copytree(world.template, tmp_path / "c")
    spare = (os.cpu_count() or 1) > 1
    with Node.open(tmp_path / "c", PASSPHRASE, allow_weak_kdf=True) as node:
        view = NodeEnvelopes(node)
        assert all(ok for ok, _ in view.accept_many(world.raws))
        burst = node.ingestor.ahead._burst
        assert (burst is not None) == spare
        if burst is not None:
            assert burst._children and all(c.proc.poll() is None for c in burst._children)
        again = view.accept_many(world.raws)  # duplicates now
        assert all(ok and why.startswith("duplicate") for ok, why in again)
        assert node.ingestor.ahead._burst is burst  # the same processes for the next batch
        view.settle()
        assert node.ingestor.ahead._burst is None
        if burst is not None:
            assert all(c.proc.poll() is not None for c in burst._children)
        assert (
            node.store.one(
                "SELECT count(*) FROM envelopes WHERE id=?",
                (bytes.fromhex(nip01.decode(world.raws[-1]).id),),
            )
            == 1
        )
        node.ingestor.ingest_each(world.raws)  # a new burst, never settled
        unsettled = node.ingestor.ahead._burst
    assert node.ingestor.ahead._burst is None
    if unsettled is not None:
        assert all(c.proc.poll() is not None for c in unsettled._children)


def _epochs_of(world: World, tmp_path: Path) -> dict[bytes, keys.Epoch]:
    """The epochs the member whose profile is world.template holds after the history."""
    shutil.copytree(world.template, tmp_path / "held")
    with Node.open(tmp_path / "held", PASSPHRASE, allow_weak_kdf=True) as node:
        node.bundles.import_envelopes(world.raws, heal=False)
        return {e.write_pk: e for e in node.ingestor.keyring.all_epochs()}


def test_a_checking_process_answers_what_checking_here_finds(world: World, tmp_path: Path) -> None:
    """A checking process's verdict on each envelope, good, bad or under a key it was not
    sent, is the one `signatures` reaches in this process; and an envelope it found good
    is opened here, without its signatures checked again, as precheck opens it."""
    rng = random.Random(7)
    batch = list(world.raws)
    for how in range(8):
        for _ in range(3):
            batch.insert(rng.randint(0, len(batch)), _mutate(rng.choice(world.raws), how, world))
    epochs = _epochs_of(world, tmp_path)
    some = dict(itertools.islice(epochs.items(), len(epochs) // 2))  # the rest not sent
    verifiers: dict[str, crypto.WriteVerifier] = {}

    def verifier(pk: str) -> crypto.WriteVerifier:
        return verifiers.setdefault(pk, crypto.WriteVerifier(bytes.fromhex(pk)))

    with contextlib.closing(checking.Checkers(2)) as checkers:
        checkers.set_epochs(some)
        answers = [checkers.submit(batch[i : i + 16]) for i in range(0, len(batch), 16)]
        found = [x for f in answers for x in f.result(timeout=60)]
    assert found == checking.signatures(batch, some, verifier)
    verdicts = checking.verdicts(found)
    assert {checking.NOTHING, checking.SIGNED, checking.OPENED} <= set(verdicts)
    here = checking.precheck(batch, some, verifier)
    # what it found good, precheck finds good too (it may find more wrong, later)
    assert all(v <= w for v, w in zip(checking.verdicts_of(here), verdicts, strict=True))
    reopened = checking.precheck(batch, some, verifier, found)
    for a, b in zip(here, reopened, strict=True):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert (a.eid, a.signed, a.opened) == (b.eid, b.signed, b.opened)


def test_a_large_import_is_checked_by_processes_that_end_with_it(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import of PROCESSES_MIN envelopes or more has its envelopes checked by child
    processes, one per core but one (their answers are used: most envelopes come back
    opened), which are gone when the import is over. (Here the sequential step lends
    no hand, which it does while it would wait for them.)"""
    monkeypatch.setattr(ahead, "PROCESSES_MIN", ahead.POOL_MIN)
    monkeypatch.setattr(ahead, "PROCESS_CHUNK", 8)
    answered: list[Future[list[checking.Found]]] = []
    made: list[checking.Checkers] = []
    submit, start = checking.Checkers.submit, checking.Checkers.__init__

    def spy_submit(self: checking.Checkers, raws: list[bytes]) -> Future[list[checking.Found]]:
        answered.append(submit(self, raws))
        return answered[-1]

    def spy_start(self: checking.Checkers, count: int) -> None:
        start(self, count)
        made.append(self)

    monkeypatch.setattr(checking.Checkers, "submit", spy_submit)
    monkeypatch.setattr(checking.Checkers, "__init__", spy_start)
    monkeypatch.setattr(checking.Checkers, "lend", lambda *_: False)  # children answer all
    shutil.copytree(world.template, tmp_path / "c")
    with Node.open(tmp_path / "c", PASSPHRASE, allow_weak_kdf=True) as node:
        report = node.bundles.import_envelopes(world.raws, heal=False)
        assert report.accepted == len(world.raws) and not report.refused
    (checkers,) = made
    assert len(checkers._children) == max(1, (os.cpu_count() or 1) - 1)
    assert all(c.proc.poll() is not None for c in checkers._children)
    verdicts = checking.verdicts([x for f in answered for x in f.result(timeout=0)])
    assert len(verdicts) == len(world.raws)
    assert verdicts.count(checking.OPENED) > len(verdicts) // 2
    assert checking.NOTHING not in verdicts


def test_a_child_that_cannot_start_leaves_the_checks_to_the_sequential_step(
    world: World, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No checking process to be had (here, its module missing): every envelope is
    checked in line, with the verdicts of an import that never tried."""
    monkeypatch.setattr(checking, "CHILD_MODULE", "shora.kernel.no_such_module")
    with contextlib.closing(checking.Checkers(2)) as checkers:
        assert checking.verdicts(checkers.submit(world.raws[:5]).result(timeout=60)) == bytes(5)
    monkeypatch.setattr(ahead, "PROCESSES_MIN", ahead.POOL_MIN)
    batch = [*world.raws, _mutate(world.raws[-1], 0, world)]
    root = tmp_path_factory.mktemp("nochild")
    tried = _ingest(world, root / "tried", batch, True, processes=True)
    assert tried == _ingest(world, root / "line", batch, False)


@settings(max_examples=15, deadline=None)
@given(data=st.lists(st.binary(max_size=64), max_size=4), raw=st.booleans())
def test_a_checking_process_given_anything_stops_without_answering_it(
    data: list[bytes], raw: bool
) -> None:
    """Bytes that are not Checkers' messages (torn, oversized, not msgpack, the wrong
    shape) end a checking process: it answers nothing it cannot read, and exits."""
    if raw:
        stream = b"".join(data)
    else:  # well framed, badly formed
        stream = b"".join(len(d).to_bytes(4, "little") + d for d in data)
    stream += (checking.MAX_FRAME + 1).to_bytes(4, "little")
    flags = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
    done = subprocess.run(
        [sys.executable, *flags, "-m", checking.CHILD_MODULE],
        input=stream,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout
    while out:  # only whole answers, to requests it could read
        size = int.from_bytes(out[:4], "little")
        assert len(out) >= 4 + size
        out = out[4 + size :]


def test_a_batch_checked_as_it_arrives_gets_the_same_answers(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay hands each EVENT to `check_ahead` as it arrives: full chunks go to the
    checking processes at once and `ingest_each` takes their answers instead of sending
    them again. The answers are those of checking in line, and so they are when what
    was sent ahead was cut otherwise (another order: nothing of it is used)."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("no core to spare for a checking process on this machine")
    sent: list[int] = []
    submit = checking.Checkers.submit

    def spy(self: checking.Checkers, raws: list[bytes]) -> Future[list[checking.Found]]:
        sent.append(len(raws))
        return submit(self, raws)

    monkeypatch.setattr(checking.Checkers, "submit", spy)
    batch = list(world.raws)
    sequential = _each(world, tmp_path / "sequential", batch, False)
    for name, arriving in (("same", batch), ("other", batch[::-1])):
        shutil.copytree(world.template, tmp_path / name)
        with Node.open(tmp_path / name, PASSPHRASE, allow_weak_kdf=True) as node:
            sent.clear()
            for raw in arriving:
                node.ingestor.ahead.check_ahead(raw)
            before = len(sent)
            _, verdicts = node.ingestor.ingest_each(batch)
            assert before == len(batch) // ahead.EACH_CHUNK  # the full chunks, at once
            if name == "same":  # only the last, partial chunk is sent by ingest_each
                tail = len(batch) % ahead.EACH_CHUNK
                assert sent[before:] == ([tail] if tail else [])
            else:
                assert len(sent) - before == -(-len(batch) // ahead.EACH_CHUNK)
            answers = [v if isinstance(v, bool) else (type(v).__name__, str(v)) for v in verdicts]
            assert answers == sequential[0]
            assert node.store.rows("SELECT id, valid FROM events ORDER BY id") == sequential[5]
