"""The checks ahead of ingest's sequential step: where each envelope's signatures are
checked and its content opened (in line, on the pool of threads, on checking processes:
kernel/checking.py), in which chunks, and how far ahead.

The sequential step (kernel/ingest.py) takes the chunks in the order the envelopes came,
each with what was found of it (`Checked`, or None where nothing was checked ahead), and
reaches the verdicts it would reach checking in line: what is checked ahead is a pure
function of the envelope's bytes and of the keys held when it was sent.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from shora.kernel import keys
from shora.kernel.checking import (
    Checked,
    Checkers,
    Found,
    Verifiers,
    precheck,
    quick_switches,
    verify_pool,
)

if TYPE_CHECKING:  # the pool is imported with its first large batch (a read needs none)
    from concurrent.futures import Future

POOL_MIN = 64  # a batch smaller than this is checked in line: a pool costs more than it saves
POOL_CHUNK = 128  # envelopes a worker checks at a time, ahead of the sequential step
POOL_AHEAD = 8  # chunks checked or being checked ahead of it at most
EACH_CHUNK = 32  # the same for a relay's batch (a few hundred): its sequential step starts sooner
EARLY_MAX = 64  # chunks of a relay's batch sent ahead at most (its max_batch / EACH_CHUNK)
PROCESSES_MIN = 2048  # an import of this many envelopes (or bytes) has them checked
PROCESSES_MIN_BYTES = 8 * 2**20
# by child processes (kernel/checking.py), one per core but one, the sequential step
# checking what they have not taken while it would wait: starting one costs 0.1-0.2 s
PROCESS_CHUNK = 256  # envelopes sent to a checking process at a time
CHUNK_BYTES = 2**20  # and at most this many bytes of envelopes in a chunk

Chunks = Generator[tuple[list[bytes], Sequence[Checked | None]], None, None]


class Ahead:
    """The checks ahead of one ingestor's sequential step. `epochs` gives the epochs
    held now (read as each chunk is sent); `verifier` is the ingestor's own cache."""

    def __init__(
        self, epochs: Callable[[], Mapping[bytes, keys.Epoch]], verifier: Verifiers
    ) -> None:
        self._epochs = epochs
        self._verifier = verifier
        self.pooled = True  # check a large batch's signatures on the pool (verify_pool)
        self.processes = True  # and a large import's on checking processes (Checkers)
        self._burst: Checkers | None = None  # those of a burst of uploads (of_batch)
        self._early = _Early()  # chunks of a relay's batch sent to them as it arrives

    # --- an import --------------------------------------------------------------

    def of_import(self, stream: Iterator[bytes], bulk: ExitStack) -> Chunks:
        """The chunks of an import's stream, checked ahead: in line when it is small (or
        on one core), by checking processes from PROCESSES_MIN envelopes (or bytes) on,
        on the pool between the two. What it starts ends with `bulk`."""
        head = next(_chunked(stream, PROCESSES_MIN, PROCESSES_MIN_BYTES), [])
        cores = os.cpu_count() or 1
        if not self.pooled or cores < 2 or len(head) < POOL_MIN:
            return _unchecked(_chunked(itertools.chain(head, stream), POOL_CHUNK))
        if self.processes and (
            len(head) >= PROCESSES_MIN or sum(map(len, head)) >= PROCESSES_MIN_BYTES
        ):
            checkers = bulk.enter_context(contextlib.closing(Checkers(cores - 1)))
            bulk.enter_context(_frozen_heap())
            return self._by_children(
                checkers, _chunked(itertools.chain(head, stream), PROCESS_CHUNK)
            )
        bulk.enter_context(quick_switches())
        return self._by_pool(_chunked(itertools.chain(head, stream), POOL_CHUNK))

    # --- a relay's batch ----------------------------------------------------------

    @contextmanager
    def of_batch(self, raws: Sequence[bytes]) -> Iterator[Chunks]:
        """The chunks of a relay's batch (EACH_CHUNK envelopes each), checked ahead from
        POOL_MIN of them on: by the checking processes of the burst of uploads it
        belongs to (`end_burst` ends them; the pool on a single core), those chunks sent
        as the batch arrived (`check_ahead`) taken as they were answered."""
        early, self._early = self._early, _Early()
        chunks = _chunked(raws, EACH_CHUNK)
        checked: Chunks
        if not self.pooled or len(raws) < POOL_MIN:
            checked = _unchecked(chunks)
        elif (checkers := self._burst_checkers()) is not None:
            checked = self._by_children(checkers, chunks, early.sent)
        else:
            checked = self._by_pool(chunks)
        try:
            yield checked
        finally:
            checked.close()
            for future in early.sent.values():  # sent ahead but cut otherwise here
                future.cancel()

    def check_ahead(self, raw: bytes) -> None:
        """An envelope of a relay's batch that `of_batch` will be given once the rest
        has come: from POOL_MIN of them on, the burst's checking processes start on each
        chunk of them as `of_batch` will cut it, so that the checks overlap the reading
        of the batch. A chunk cut otherwise (two connections' batches interleaved) is
        only checked twice."""
        if not self.pooled:
            return
        early = self._early
        early.count += 1
        full = early.chunker.add(raw)
        if full is not None:
            early.full.append(full)
        if early.count < POOL_MIN or not early.full:
            return
        checkers = self._burst_checkers()
        if checkers is not None and len(early.sent) < EARLY_MAX:
            checkers.set_epochs(self._epochs())
            for chunk in early.full:
                early.sent[tuple(chunk)] = checkers.submit(chunk)
        early.full = []

    def _burst_checkers(self) -> Checkers | None:
        """The checking processes of a burst of uploads (started with its first large
        batch, ended by `end_burst`), if this machine has a core to spare for them."""
        cores = os.cpu_count() or 1
        if not self.processes or cores < 2:
            return None
        if self._burst is None:
            self._burst = Checkers(cores - 1)
        return self._burst

    def end_burst(self) -> None:
        """End the checking processes of a burst of uploads (after it, and on close)."""
        burst, self._burst = self._burst, None
        if burst is not None:
            burst.close()

    # --- both ---------------------------------------------------------------------

    def _precheck(self, raws: list[bytes]) -> list[Checked | None]:
        """Run on a worker of the pool (kernel/checking.py's `precheck`)."""
        return precheck(raws, self._epochs(), self._verifier)

    def _ahead(
        self,
        submit: Callable[[list[bytes]], Future[Any]],
        chunks: Iterator[list[bytes]],
        finish: Callable[[list[bytes], Any], Sequence[Checked | None]] | None = None,
        lend: Callable[[], bool] | None = None,
    ) -> Chunks:
        """Each chunk with what the workers found of its envelopes, in order. At most
        POOL_AHEAD chunks are checked ahead of the sequential step (memory holds a few
        hundred opened envelopes), across the batches' commits, and the next chunk is
        read only when one is taken. `finish` turns a worker's answer into what it
        found (the sequential step's thread runs it); `lend` checks a chunk no worker
        has taken yet, on the sequential step's thread while it would wait (False if
        there was none)."""
        ahead: deque[tuple[list[bytes], Future[Any]]] = deque(
            (chunk, submit(chunk)) for chunk in itertools.islice(chunks, POOL_AHEAD)
        )
        try:
            while ahead:
                chunk, future = ahead.popleft()
                while lend is not None and not future.done() and lend():
                    pass
                found = future.result()
                more = next(chunks, None)
                if more is not None:
                    ahead.append((more, submit(more)))
                yield chunk, found if finish is None else finish(chunk, found)
        finally:
            for _, future in ahead:
                future.cancel()

    def _by_pool(self, chunks: Iterator[list[bytes]]) -> Chunks:
        """`_ahead` on the process's pool of threads (there is one: two cores or more)."""
        pool = verify_pool()
        assert pool is not None
        return self._ahead(lambda chunk: pool.submit(self._precheck, chunk), chunks)

    def _by_children(
        self,
        checkers: Checkers,
        chunks: Iterator[list[bytes]],
        early: dict[tuple[bytes, ...], Future[list[Found]]] | None = None,
    ) -> Chunks:
        """`_ahead` on checking processes: each chunk is sent with the epochs held when
        it is sent (a chunk sent before a welcome or grant brought its key has its
        inner signatures checked by the sequential step), and opened on the sequential
        step's thread from what they decoded and decrypted, without the signature checks
        they passed. A chunk found in `early` was sent before (`check_ahead`): its answer
        is taken."""
        checkers.set_epochs(self._epochs())
        early = early if early is not None else {}

        def submit(chunk: list[bytes]) -> Future[list[Found]]:
            checkers.set_epochs(self._epochs())
            sent = early.pop(tuple(chunk), None)
            return sent if sent is not None else checkers.submit(chunk)

        def finish(chunk: list[bytes], found: list[Found]) -> list[Checked | None]:
            return precheck(chunk, self._epochs(), self._verifier, found)

        def lend() -> bool:
            return checkers.lend(self._epochs(), self._verifier)

        return self._ahead(submit, chunks, finish, lend)


class _Early:
    """A relay's batch as it arrives (Ahead.check_ahead): how many envelopes, the chunks
    they are cut into as `of_batch` will cut them, full chunks not sent yet, and those
    sent to be checked. (A plain class: a read command makes no dataclass,
    tests/cli/test_startup.py.)"""

    __slots__ = ("chunker", "count", "full", "sent")

    def __init__(self) -> None:
        self.count = 0
        self.chunker = _Chunker(EACH_CHUNK)
        self.full: list[list[bytes]] = []
        self.sent: dict[tuple[bytes, ...], Future[list[Found]]] = {}


class _Chunker:
    """Envelopes cut into lists of `size`, or fewer making `limit` bytes, as they come:
    the one rule of `_chunked` and of `Ahead.check_ahead`, which must cut a relay's
    batch as `of_batch` will."""

    __slots__ = ("chunk", "limit", "size", "total")

    def __init__(self, size: int, limit: int = CHUNK_BYTES) -> None:
        self.size, self.limit = size, limit
        self.chunk: list[bytes] = []
        self.total = 0

    def add(self, raw: bytes) -> list[bytes] | None:
        """The chunk `raw` fills, if it fills one."""
        self.chunk.append(raw)
        self.total += len(raw)
        if len(self.chunk) < self.size and self.total < self.limit:
            return None
        full, self.chunk, self.total = self.chunk, [], 0
        return full


def _chunked(raws: Iterable[bytes], size: int, limit: int = CHUNK_BYTES) -> Iterator[list[bytes]]:
    """Lists of `size` envelopes, or fewer making `limit` bytes (POOL_AHEAD chunks are
    in memory at once, whatever the envelopes' size). Each list is taken from `raws`
    only as it is asked for."""
    chunker = _Chunker(size, limit)
    for raw in raws:
        full = chunker.add(raw)
        if full is not None:
            yield full
    if chunker.chunk:
        yield chunker.chunk


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """The objects alive when a large import starts (the node's caches, its projection)
    are left out of the garbage collector's passes until it ends: the import's own
    allocations start a pass every few hundred objects, and each pass of the oldest
    generation walked that whole heap again. What the import allocates is collected
    as before."""
    import gc

    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _unchecked(chunks: Iterator[list[bytes]]) -> Chunks:
    """Chunks checked in line by the sequential step (no pool)."""
    for chunk in chunks:
        yield chunk, [None] * len(chunk)
