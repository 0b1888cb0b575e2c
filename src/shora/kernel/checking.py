"""Signature checks ahead of ingest's sequential step, on every core.

Two ways, both giving the verdicts the sequential step would reach checking in line:

- `verify_pool`: threads of this process. libsecp256k1 (coincurve) and libsodium (PyNaCl)
  let go of the GIL while they verify, but each envelope's decoding around them holds
  it, and the sequential step then waits for it: a relay's batch of a few hundred
  envelopes is checked there (no process to start).
- `Checkers`: child processes (`python -m shora.kernel.checking`), for a large import.
  Each is sent chunks of envelopes, with the epochs' keys held when it is sent them, and
  answers a `Found` per envelope: NOTHING (left to the sequential step), SIGNED (its
  NIP-01 id and BIP-340 signature verify; the envelope as decoded) or OPENED (also
  decrypted under the epoch this node holds for its write key and the inner signature
  verified; the content's bytes and the signed inner event too). The sequential step
  then decodes and checks the inner event itself, all but the signatures, which cost
  about two thirds of an event's ingest. A child that fails or cannot start leaves its
  chunks to the sequential step, which checks them in line.

The children live for one import. They hold the content keys of the epochs in memory
and write nothing anywhere: no file, no log (docs/security.md "Checking processes").
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, Final, NamedTuple

import msgspec

from shora.kernel import crypto, keys, nip01
from shora.kernel.events import (
    SHORA_KIND,
    Opened,
    check_inner_signature,
    open_content,
    open_inner,
)

if TYPE_CHECKING:  # imported with a large batch's first chunk (a read needs none of them)
    import queue
    from concurrent.futures import Future, ThreadPoolExecutor

SWITCH_INTERVAL = 200e-6
"""Seconds a thread waits for the GIL before it asks for it, during a pooled import
(Python's default is 5 ms): a worker back from a signature check waits that long while
the sequential step holds the GIL, and the cores idle meanwhile."""

NOTHING: Final = 0
SIGNED: Final = 1
OPENED: Final = 2
MAX_FRAME = 64 * 2**20
"""Bytes of one message between this process and a child at most (a chunk of envelopes
is a few hundred KiB; envelopes are at most nip01's limit each)."""
NICENESS = 10
"""How much lower a checking process's priority is than its parent's: the parent's
sequential step is the pipeline's narrowest part, and with a child per core the
scheduler would otherwise give it a third of a core's time less."""
CLOSE_SECONDS = 60.0  # a child that has not answered what it was sent by then is killed
CHILD_MODULE = "shora.kernel.checking"  # what a checking process runs (`main` below)
_LEN = 4


class Checked(msgspec.Struct):
    """What a worker found of one envelope. Each part is a pure function of the
    envelope's bytes (and of an epoch's keys, which never change once held), so the
    sequential step that uses them reaches the verdicts it would reach checking in line;
    a check that failed or was not run is left to that step, which runs it again and
    raises its error there, in the person's language, at the same point."""

    env: nip01.Envelope
    eid: bytes  # the envelope id, as bytes
    signed: bool = False  # the NIP-01 id and the BIP-340 signature verify
    epoch: keys.Epoch | None = None  # the epoch `opened` was decrypted under
    opened: Opened | None = None  # decrypted, inner signature and body checked


class Found(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    """A checking process's answer about one envelope."""

    verdict: int  # NOTHING, SIGNED or OPENED
    env: nip01.Envelope | None = None  # as decoded (SIGNED, OPENED)
    content: bytes = b""  # OPENED: the bytes env.content spells
    plain: bytes = b""  # OPENED: the signed inner event they seal under the epoch's key


class Verifiers:
    """BIP-340 verifiers by write key (hex), each key parsed once; at most MAX kept."""

    MAX = 10_000

    def __init__(self) -> None:
        self._held: dict[str, crypto.WriteVerifier] = {}

    def __call__(self, pubkey: str) -> crypto.WriteVerifier:
        verifier = self._held.get(pubkey)
        if verifier is None:
            verifier = crypto.WriteVerifier(bytes.fromhex(pubkey))
            if len(self._held) < self.MAX:
                self._held[pubkey] = verifier
        return verifier


def precheck(
    raws: list[bytes],
    epochs: Mapping[bytes, keys.Epoch],
    verifier: Callable[[str], crypto.WriteVerifier],
    found: list[Found] | None = None,
) -> list[Checked | None]:
    """Decode, check both signatures and decrypt each envelope, touching nothing but
    `verifier`'s cache and reading `epochs`. With `found` (a checking process's answers)
    what it decoded is not decoded again, nor the signatures it found good checked."""
    decode, fromhex = nip01.decode, bytes.fromhex
    out: list[Checked | None] = []
    for i, raw in enumerate(raws):
        answer = found[i] if found is not None else _UNCHECKED
        env = answer.env
        if env is None:
            try:
                env = decode(raw)
            except Exception:  # noqa: BLE001 - the sequential step raises it again
                out.append(None)
                continue
        eid = fromhex(env.id)
        checked = Checked(env, eid)
        out.append(checked)
        try:
            if answer.verdict == NOTHING and not _signed(env, eid, verifier):
                continue
            checked.signed = True
            epoch = _epoch_of(env, epochs)
            if epoch is None:
                continue
            pk, council = epoch.write_pk, epoch.council
            checked.opened = (
                open_inner(env, answer.plain, pk, council, _sha256, answer.content, True)
                if answer.verdict == OPENED
                else open_content(env, epoch.content_key, pk, council, _sha256)
            )
            checked.epoch = epoch
        except Exception:  # noqa: BLE001, S112 - left to the sequential step
            continue
    return out


def signatures(
    raws: list[bytes],
    epochs: Mapping[bytes, keys.Epoch],
    verifier: Callable[[str], crypto.WriteVerifier],
) -> list[Found]:
    """A checking process's answers: each envelope decoded, its signatures checked, its
    content decrypted. The parent checks everything else itself (precheck with them)."""
    out: list[Found] = []
    for raw in raws:
        try:
            env = nip01.decode(raw)
            if not _signed(env, bytes.fromhex(env.id), verifier):
                out.append(_UNCHECKED)
                continue
        except Exception:  # noqa: BLE001 - the parent raises it again
            out.append(_UNCHECKED)
            continue
        epoch = _epoch_of(env, epochs)
        opened = None
        if epoch is not None:
            with contextlib.suppress(Exception):  # the parent raises it again
                opened = check_inner_signature(env, epoch.content_key, epoch.write_pk)
        out.append(Found(SIGNED, env) if opened is None else Found(OPENED, env, *opened))
    return out


def _sha256(data: bytes) -> bytes:
    """hashlib's: libsodium's costs a few µs more a call, and lets go of the GIL, which
    the sequential step then waits to take back."""
    import hashlib  # here: OpenSSL's libcrypto is loaded by an import, not a read

    return hashlib.sha256(data).digest()


def _signed(
    env: nip01.Envelope, eid: bytes, verifier: Callable[[str], crypto.WriteVerifier]
) -> bool:
    """Whether the envelope's NIP-01 id is right (nip01.check_id's, hashed by hashlib);
    raises BadSignature if its BIP-340 signature does not verify."""
    for_id = nip01.serialize_for_id(env.pubkey, env.created_at, env.kind, env.tags, env.content)
    if _sha256(for_id) != eid:
        return False
    verifier(env.pubkey).verify(eid, bytes.fromhex(env.sig))
    return True


def _epoch_of(env: nip01.Envelope, epochs: Mapping[bytes, keys.Epoch]) -> keys.Epoch | None:
    """The epoch a Shora envelope is sealed under, if held (None for another kind)."""
    if env.kind != SHORA_KIND or env.tags:
        return None
    return epochs.get(bytes.fromhex(env.pubkey))


def verdicts_of(checked: list[Checked | None]) -> bytes:
    """What precheck found, a byte an envelope, as a checking process's verdicts."""
    return bytes(
        NOTHING if c is None or not c.signed else OPENED if c.opened is not None else SIGNED
        for c in checked
    )


def verdicts(found: list[Found]) -> bytes:
    return bytes(f.verdict for f in found)


# --- threads -----------------------------------------------------------------------

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_switching = [0, 0.0]  # pooled imports under way, and the switch interval before the first


def verify_pool() -> ThreadPoolExecutor | None:
    """The process's pool of signature checkers, one thread per core (None on one core)."""
    global _pool
    workers = os.cpu_count() or 1
    if workers < 2:
        return None
    with _pool_lock:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shora-verify")
        return _pool


@contextmanager
def quick_switches() -> Iterator[None]:
    """SWITCH_INTERVAL while a pooled import runs (any thread's), then Python's own."""
    with _pool_lock:
        if not _switching[0]:
            _switching[1] = sys.getswitchinterval()
            sys.setswitchinterval(min(SWITCH_INTERVAL, _switching[1]))
        _switching[0] += 1
    try:
        yield
    finally:
        with _pool_lock:
            _switching[0] -= 1
            if not _switching[0]:
                sys.setswitchinterval(_switching[1])


def _forget_pool() -> None:
    """A forked child has none of its parent's threads: it starts a pool of its own
    (and none of its imports: Python's switch interval is back)."""
    global _pool
    _pool = None
    if _switching[0]:
        sys.setswitchinterval(_switching[1])
        _switching[0] = 0


os.register_at_fork(after_in_child=_forget_pool)


# --- processes ---------------------------------------------------------------------


class _Request(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    epochs: list[tuple[bytes, bytes, bytes]] | None  # (write_pk, content_key, council), if new
    raws: list[bytes]


_encoder = msgspec.msgpack.Encoder()
_UNCHECKED = Found(NOTHING)


@functools.cache
def _decoder(kind: type[Any]) -> msgspec.msgpack.Decoder[Any]:
    """Made on first use (a few ms, the envelope's patterns compiled): a read command
    imports this module and starts no process."""
    return msgspec.msgpack.Decoder(kind)


def _read_frame(stream: IO[bytes]) -> bytes | None:
    """One length-prefixed message, or None at the end of the stream (or a torn one)."""
    head = stream.read(_LEN)
    if len(head) != _LEN:
        return None
    size = int.from_bytes(head, "little")
    if size > MAX_FRAME:
        return None
    body = stream.read(size)
    return body if len(body) == size else None


def _write_frame(stream: IO[bytes], body: bytes) -> None:
    stream.write(len(body).to_bytes(_LEN, "little"))
    stream.write(body)
    stream.flush()


class _Task(NamedTuple):
    raws: list[bytes]
    future: Future[list[Found]]


def _unanswered(task: _Task) -> None:
    """No answer: every envelope of the chunk is checked in line."""
    task.future.set_result([_UNCHECKED] * len(task.raws))


class _Child:
    """One checking process and two threads of this process that feed it: one sends it
    chunks, DEPTH ahead of its answers, so that it starts the next as soon as it
    answered one, whether or not the sequential step lets go of the GIL meanwhile; the
    other reads its answers (so neither side ever waits on a full pipe)."""

    DEPTH = 2

    def __init__(self, checkers: Checkers) -> None:
        import subprocess

        flags = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
        self.proc = subprocess.Popen(
            [sys.executable, *flags, "-m", CHILD_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._checkers = checkers
        self._sent = -1  # the version of the epochs it holds
        self._room = threading.Semaphore(self.DEPTH)
        self._waiting: deque[_Task | None] = deque()  # sent, not answered yet
        self._arrived = threading.Semaphore(0)
        self.broken = False
        self.threads = [
            threading.Thread(target=self._send, name="shora-checker", daemon=True),
            threading.Thread(target=self._read, name="shora-checker", daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _send(self) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        while True:
            self._room.acquire()
            task = self._checkers.work.get()
            if task is not None and not task.future.set_running_or_notify_cancel():
                self._room.release()  # cancelled: the import ended early
                continue
            if task is not None and not self.broken:
                try:
                    version, epochs = self._checkers.epochs()
                    fresh = epochs if version != self._sent else None
                    _write_frame(stdin, _encoder.encode(_Request(fresh, task.raws)))
                    self._sent = version
                except (OSError, ValueError):
                    self.broken = True  # a child that failed once is asked nothing more
            self._waiting.append(task)
            self._arrived.release()
            if task is None:
                return  # the end: close() put None

    def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        while True:
            self._arrived.acquire()
            task = self._waiting.popleft()
            if task is None:
                return
            answer = None
            if not self.broken:
                try:
                    body = _read_frame(stdout)
                    answer = None if body is None else _decoder(list[Found]).decode(body)
                except (OSError, ValueError, msgspec.DecodeError):
                    answer = None
            if answer is None or len(answer) != len(task.raws):
                self.broken = True
                _unanswered(task)
            else:
                task.future.set_result(answer)
            self._room.release()

    def close(self) -> None:
        """After close() put None in the queue: wait for the threads (the child answers
        what it was sent), then for the child to end."""
        import subprocess

        for thread in self.threads:
            thread.join(timeout=CLOSE_SECONDS)
        if any(thread.is_alive() for thread in self.threads):
            self.proc.kill()  # stuck: its pipes close, and the threads end
            for thread in self.threads:
                thread.join()
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()


class Checkers:
    """Child processes that check a large import's signatures, one per core, fed by
    threads of this process (which wait on the pipes, without the GIL), all taking
    chunks from one queue. Started at once; `close` ends them. The epochs' keys are sent
    with the next chunk each child is sent after `set_epochs` was called with more."""

    def __init__(self, count: int) -> None:
        import queue
        from concurrent.futures import Future

        self._future = Future
        self._empty = queue.Empty
        self.work: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._version = 0
        self._epochs: list[tuple[bytes, bytes, bytes]] = []
        self._count = -1  # how many epochs were set last
        self._children: list[_Child] = []
        for _ in range(count):
            try:
                self._children.append(_Child(self))
            except (OSError, ValueError, TypeError):  # no interpreter: checked in line then
                break

    def set_epochs(self, epochs: Mapping[bytes, keys.Epoch]) -> None:
        """The epochs held now: when there are more or fewer than last time (one was
        learned), the children are sent them with their next chunk. (A child lacking a
        key only leaves the inner checks of its envelopes to the sequential step.)"""
        if len(epochs) == self._count:
            return
        listed = [(e.write_pk, e.content_key, e.council) for e in epochs.values()]
        with self._lock:
            self._epochs, self._version = listed, self._version + 1
            self._count = len(listed)

    def epochs(self) -> tuple[int, list[tuple[bytes, bytes, bytes]]]:
        with self._lock:
            return self._version, self._epochs

    def submit(self, raws: list[bytes]) -> Future[list[Found]]:
        task = _Task(raws, self._future())
        if self._children:
            self.work.put(task)
        else:
            task.future.set_running_or_notify_cancel()
            _unanswered(task)
        return task.future

    def lend(
        self, epochs: Mapping[bytes, keys.Epoch], verifier: Callable[[str], crypto.WriteVerifier]
    ) -> bool:
        """Check, on the calling thread, the oldest chunk no child has taken yet (the
        sequential step would otherwise wait for a child's answer); False if none."""
        try:
            task = self.work.get_nowait()
        except self._empty:
            return False
        if task is None:  # closing
            self.work.put(None)
            return False
        if task.future.set_running_or_notify_cancel():
            task.future.set_result(signatures(task.raws, epochs, verifier))
        return True

    def close(self) -> None:
        for _ in self._children:
            self.work.put(None)
        for child in self._children:
            child.close()


def main() -> None:
    """A checking process: answers each chunk on standard input with its verdicts, until
    the stream ends. Reads and writes nothing else."""
    with contextlib.suppress(OSError, AttributeError):  # (not on every system)
        os.nice(NICENESS)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    epochs: dict[bytes, keys.Epoch] = {}
    verifier = Verifiers()

    while (body := _read_frame(stdin)) is not None:
        try:
            request = _decoder(_Request).decode(body)
        except msgspec.DecodeError:  # (ValidationError is one) not from Checkers: stop
            return
        if request.epochs is not None:
            epochs = {pk: keys.Epoch(council, pk, key, b"") for pk, key, council in request.epochs}
        _write_frame(stdout, _encoder.encode(signatures(request.raws, epochs, verifier)))


if __name__ == "__main__":
    main()
