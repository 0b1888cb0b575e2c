"""The ingest pipeline: from envelope bytes to the store and the projected state.

decode (bounded) → date (at most MAX_SKEW ahead) → NIP-01 id + BIP-340 signature →
epoch lookup (else wait, bounded, for the key: kernel/waiting.py) → decrypt → inner
signature over the bytes as received → typed body → causal delivery (parents first)
→ authorisation against the causal past → store → project.

An envelope refused at any step leaves the store untouched.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import msgspec

from shora.errors import (
    BadClock,
    FromTheFuture,
    MalformedEvent,
    NotAMember,
    RemoteError,
    TooManyWaiting,
    UnknownKind,
    WrongEpoch,
)
from shora.i18n import _, digits
from shora.kernel import keys, kinds, membership, nip01
from shora.kernel.ahead import Ahead
from shora.kernel.checking import Checked, Verifiers
from shora.kernel.events import (
    ANONYMOUS_KINDS,
    LEAF_KINDS,
    SHORA_KIND,
    WELCOME_KIND,
    Opened,
    check_tags,
    decode_base64,
    event_ref,
    open_content,
)
from shora.kernel.keyring import Keyring
from shora.kernel.projection import Projection
from shora.kernel.storage import Store
from shora.kernel.waiting import (
    MAX_PENDING,
    MAX_PENDING_PER_AUTHOR,
    MAX_WELCOMES_PER_HINT,
    MAX_WELCOMES_WAITING,
    Waiting,
    awaiting,
)

BATCH = 10_000  # events per transaction: fewer commits rewrite fewer index pages (ids
# are hashes: a batch dirties most pages of the id indexes, whatever its size)
FIRST_BATCH = 1000  # the first transactions of an import are smaller (1000, 2000, 4000,
# 8000, then BATCH): the log of the first commits is copied in while the next are checked
BATCH_BYTES = 16 * 2**20  # and at most this many bytes of envelopes in memory at once
MAX_SEEN = 100_000  # digests of the envelopes of one import kept to skip repeats
MAX_META = 20_000  # events whose (clock, causal past, time) are kept at hand; more are read
MAX_SKEW = 3600
"""Seconds an envelope may be dated after the receiver's clock (they show the hour)."""
_ids_encoder = msgspec.msgpack.Encoder()
_ids_decoder = msgspec.msgpack.Decoder(list[bytes])


class Report(msgspec.Struct):
    """What one ingest run did; `refused` maps a reason to how many envelopes had it."""

    accepted: int = 0
    duplicate: int = 0
    pending: int = 0  # waiting for earlier events (their parents)
    early: int = 0  # dated ahead of this node's clock: applied when that time comes
    held: int = 0  # waiting for a key this profile does not hold yet
    refused: dict[str, int] = msgspec.field(default_factory=dict)
    councils: set[bytes] = msgspec.field(default_factory=set)
    keys_learned: int = 0
    healed: dict[bytes, str] = msgspec.field(default_factory=dict)  # council -> rotated/granted

    def refuse(self, error: RemoteError) -> None:
        reason = type(error).__name__
        self.refused[reason] = self.refused.get(reason, 0) + 1


class _Meta(msgspec.Struct):
    clock: int
    mset: int
    is_state: bool
    time: int  # the claimed time (ms)


DEFAULT_SKEW_MINUTES = 10  # until a council's rules say otherwise
VOID_QUOTA = 64  # void events stored per ended member and council (docs/protocol.md §8)


class _Writes(msgspec.Struct):
    """Rows of accepted events, written with executemany once per batch: one SQL
    round trip per event costs about as much as verifying its signatures."""

    envelopes: list[tuple[Any, ...]] = msgspec.field(default_factory=list)
    events: list[tuple[Any, ...]] = msgspec.field(default_factory=list)
    envelope_ids: set[bytes] = msgspec.field(default_factory=set)
    heads: dict[tuple[bytes, bytes], bool] = msgspec.field(default_factory=dict)  # -> still a head


class UnknownWriteKey(NotAMember):
    """Written under a write key this profile does not hold (yet)."""


class Ingestor:
    """Feeds envelopes into one profile's store. Keeps caches, so one per open store."""

    def __init__(
        self, store: Store, identity_key: bytes, now: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.now = now
        self._waiting = Waiting(store, lambda: self.now())
        self.keyring = Keyring(store, identity_key)  # the epochs held, our secrets sealed
        self._verifier = Verifiers()
        self._meta: dict[bytes, _Meta] = {}
        self._projection = Projection(store)
        self._writes = _Writes()
        # Ids a chunk of an import looked up at once and found not stored (_accept_chunk);
        # whatever is stored meanwhile leaves them.
        self._absent_envelopes: set[bytes] = set()
        self._absent_events: set[bytes] = set()
        self._pending: int = store.waiting.pending_count()
        self._data_version = self._version()
        self.progress: Callable[[int], None] | None = None
        # Where signatures are checked ahead of the sequential step, and how far.
        self.ahead = Ahead(lambda: self.keyring.held, self._verifier)

    # --- entry points ---------------------------------------------------------------

    def ingest(self, raws: Iterable[bytes], report: Report | None = None) -> Report:
        """Ingest many envelopes, streaming: at most BATCH envelopes or BATCH_BYTES are in
        memory at once. Those under a write key not held yet wait in the `held` table and
        are taken in as soon as a grant or welcome brings the key; an envelope repeated
        costs a hash, not a verification."""
        with ExitStack() as bulk:
            return self._ingest(raws, report or Report(), bulk)

    def _ingest(self, raws: Iterable[bytes], report: Report, bulk: ExitStack) -> Report:
        self.expire(force=False)
        self._waiting.start_import()
        stream = self._unrepeated(raws, report)
        checked = self.ahead.of_import(stream, bulk)
        batches = 0
        try:
            while self._batch(checked, report, bulk if not batches else None, batches):
                batches += 1
        finally:
            checked.close()
        with self._transaction():
            self._release_held(report)
            self.flush()
            dropped = self._waiting.trim_held()
        if dropped:  # over the held bounds once the import is over: refused after all
            report.held -= dropped
            reason = TooManyWaiting.__name__
            report.refused[reason] = report.refused.get(reason, 0) + dropped
        return report

    @staticmethod
    def _unrepeated(raws: Iterable[bytes], report: Report) -> Iterator[bytes]:
        """The envelopes not seen earlier in this import (a repeat costs a hash)."""
        import hashlib  # here: OpenSSL's libcrypto is loaded by an import, not a read

        seen: set[bytes] = set()
        blake2b = hashlib.blake2b
        for raw in raws:
            digest = blake2b(raw, digest_size=16).digest()
            if digest in seen:
                report.duplicate += 1
                continue
            if len(seen) >= MAX_SEEN:
                seen.clear()  # bounded memory; a later repeat costs one more look-up
            seen.add(digest)
            yield raw

    def expire(self, force: bool = True) -> int:
        """Drop what waited (for parents, a key, an admission) longer than waiting.MAX_AGE,
        and cut the waiting tables back to their bounds; how many envelopes left. Ingest
        runs it every waiting.EXPIRY_EVERY seconds; a node's housekeeping may call it."""
        dropped = self._waiting.expire(force)
        if dropped:
            self._pending = self.store.waiting.pending_count()
        return dropped

    def _release_held(self, report: Report) -> None:
        """Take in the held envelopes whose write key we now hold, a few at a time."""
        while True:
            ready = [k for k in self._waiting.held_keys() if k in self.keyring.held]
            if not ready:
                return
            for write_pk in ready:
                while True:
                    raws, new = self._waiting.take_held(write_pk)
                    if not raws:
                        break
                    report.held -= new
                    for raw in raws:
                        self._one(raw, report)

    def _hold_for_key(self, raw: bytes, report: Report) -> None:
        env = nip01.decode(raw)
        if self._waiting.hold(bytes.fromhex(env.id), bytes.fromhex(env.pubkey), raw):
            report.held += 1
        else:
            report.duplicate += 1

    def _batch(
        self,
        checked: Iterator[tuple[list[bytes], Sequence[Checked | None]]],
        report: Report,
        bulk: ExitStack | None,
        number: int = 0,
    ) -> bool:
        """One transaction of at most BATCH envelopes (or BATCH_BYTES), fewer for the
        first few (FIRST_BATCH): an interrupted import keeps every finished batch. False
        once the envelopes ran out. The pool goes on checking the next batch's
        signatures while this one is written and committed."""
        count = size = 0
        limit = min(BATCH, FIRST_BATCH << min(number, 8))
        with self._transaction():
            for chunk, found in checked:
                self._accept_chunk(chunk, found, report)
                count += len(chunk)
                size += sum(map(len, chunk))
                if count >= limit or size >= BATCH_BYTES:
                    if bulk is not None:  # a large import: the log is copied in less often
                        bulk.enter_context(self.store.bulk())
                    break
            self._release_welcomes(report.councils, report)
            self.flush()
        if self.progress is not None and count:
            self.progress(count)
        return count >= limit or size >= BATCH_BYTES

    def _accept_chunk(
        self, raws: list[bytes], checked: Sequence[Checked | None], report: Report
    ) -> None:
        """The sequential step of a chunk, in the order the envelopes came. What the
        workers opened is looked up in the store in two queries, not two per envelope."""
        self._look_up(checked)
        try:
            for raw, pre in zip(raws, checked, strict=True):
                learned = report.keys_learned
                self._one(raw, report, pre)
                # A welcome or grant just brought a key: what waited for it goes in now,
                # before the envelopes after it (its descendants, most likely), which
                # would otherwise all wait in `pending`.
                if report.keys_learned != learned:
                    self._release_held(report)
        finally:
            self._absent_envelopes = set()
            self._absent_events = set()

    def _look_up(self, checked: Sequence[Checked | None]) -> None:
        """Which envelopes and events the workers opened in a chunk are not stored yet,
        found in two queries (the caller empties the sets when the chunk is done)."""
        if len(checked) > 1 and any(checked):
            self._absent_envelopes = {c.eid for c in checked if c is not None}
            self._absent_envelopes -= self.store.events.stored_envelopes(
                list(self._absent_envelopes)
            )
            self._absent_events = {c.opened.inner_id for c in checked if c and c.opened}
            self._absent_events -= self.store.events.stored_events(list(self._absent_events))

    def ingest_one(self, raw: bytes) -> Report:
        """Ingest one envelope and raise the reason if it is refused."""
        report = Report()
        with self._transaction():
            env = nip01.decode(raw)
            self._check_date(env)
            self._dispatch(raw, report, env)
            self._release_welcomes(report.councils, report)
            self.flush()
        return report

    def ingest_each(self, raws: Sequence[bytes]) -> tuple[Report, list[RemoteError | bool]]:
        """Ingest envelopes uploaded one by one (a relay's EVENTs) in one transaction, as
        `ingest_one` would each: the Report of them all, and per envelope the error that
        refused it, or whether it was a duplicate. One refused envelope changes nothing
        for the others (every check comes before the first write); none is held for a
        key (UnknownWriteKey is its answer). A large batch has its signatures checked
        ahead in small chunks, so that the sequential step starts early
        (`Ahead.of_batch`)."""
        report = Report()
        verdicts: list[RemoteError | bool] = []
        with self.ahead.of_batch(raws) as checked, self._transaction():
            for chunk, found in checked:
                self._look_up(found)
                try:
                    for raw, pre in zip(chunk, found, strict=True):
                        verdicts.append(self._each(raw, report, pre))
                finally:
                    self._absent_envelopes = set()
                    self._absent_events = set()
            self._release_welcomes(report.councils, report)
            self.flush()
        return report, verdicts

    def _each(self, raw: bytes, report: Report, pre: Checked | None) -> RemoteError | bool:
        """One envelope of `ingest_each`: the error that refused it, or whether it was
        a duplicate."""
        duplicates = report.duplicate
        try:
            env = pre.env if pre is not None else nip01.decode(raw)
            self._check_date(env)
            self._dispatch(raw, report, env, pre)
        except RemoteError as exc:
            return exc
        return report.duplicate != duplicates

    def _check_date(self, env: nip01.Envelope) -> None:
        """Refuse an envelope dated more than MAX_SKEW after our clock: kept, it would
        sort after everything real, and syncs that page by date would skip past it."""
        created_at = env.created_at
        now = int(self.now())
        if created_at > now + MAX_SKEW:
            raise FromTheFuture(
                _(
                    "envelope dated {created_at}, more than {minutes} minutes after this "
                    "node's clock ({now}); check the sender's clock"
                ).format(
                    created_at=digits(str(created_at)),
                    minutes=digits(str(MAX_SKEW // 60)),
                    now=digits(str(now)),
                )
            )

    @property
    def projection(self) -> Projection:
        """The projection, its caches dropped first if another process wrote the store
        (say `shora post` while `shora serve` runs on the same profile)."""
        if self._version() != self._data_version:
            self._forget()
        return self._projection

    def _version(self) -> int:
        return self.store.data_version()

    def _forget(self) -> None:
        """Drop every cache; they are rebuilt from the store as needed."""
        self._writes = _Writes()
        self._absent_envelopes = set()
        self._absent_events = set()
        self._meta.clear()
        self._waiting.forget()
        self._projection = Projection(self.store)
        self._pending = self.store.waiting.pending_count()
        self.keyring.reload()
        self._data_version = self._version()

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """A transaction around several ingests (NodeCore.append_many): one commit; if it
        rolls back, the caches forget what they learnt in it."""
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """A transaction whose rollback also forgets what the caches learnt in it. The
        caches are checked once the transaction holds the write lock: another process
        may have committed until then."""
        try:
            with self.store.transaction():
                if self._version() != self._data_version:
                    self._forget()
                yield
        except BaseException:
            self._forget()
            raise

    def flush(self) -> None:
        """Write the buffered rows of accepted events (inside the caller's transaction)."""
        w = self._writes
        if w.envelopes:
            self.store.events.add_packed_envelopes(w.envelopes)
        if w.events:
            self.store.events.add_events(w.events)
        if w.heads:
            self.store.events.update_heads(
                [key for key, head in w.heads.items() if not head],
                [key for key, head in w.heads.items() if head],
            )
        self._writes = _Writes()
        if len(self._meta) > MAX_META:
            # Memory follows the members, not the history: every event is in the store
            # now, and a parent no longer at hand is read from there (the heads mostly).
            self._meta.clear()

    def _one(self, raw: bytes, report: Report, pre: Checked | None = None) -> None:
        # No savepoint per envelope: every check comes before the first write, so a
        # refused envelope has written nothing (a savepoint costs as much as a verify).
        try:
            # Decoded once: the date check and dispatch share it (or a worker did it).
            env = pre.env if pre is not None else nip01.decode(raw)
            self._check_date(env)
            self._dispatch(raw, report, env, pre)
        except UnknownWriteKey:
            try:
                self._hold_for_key(raw, report)
            except RemoteError as exc:
                report.refuse(exc)
        except RemoteError as exc:
            report.refuse(exc)

    def _dispatch(
        self, raw: bytes, report: Report, env: nip01.Envelope, pre: Checked | None = None
    ) -> None:
        eid = pre.eid if pre is not None else bytes.fromhex(env.id)
        if eid in self._writes.envelope_ids or (
            eid not in self._absent_envelopes and self.store.events.has_envelope(eid)
        ):
            report.duplicate += 1
            return
        if pre is None or not pre.signed:
            nip01.verify(env, self._verifier(env.pubkey))
        write_pk = bytes.fromhex(env.pubkey)
        check_tags(env)
        if env.kind == WELCOME_KIND:
            self._welcome(env, eid, raw, write_pk, report)
            return
        if env.kind != SHORA_KIND:
            raise UnknownKind(
                _("envelope kind {kind} is not a Shora kind").format(kind=digits(str(env.kind)))
            )
        epoch = self.keyring.held.get(write_pk)
        if epoch is None:
            raise UnknownWriteKey(_("written under a write key of no council held here"))
        if pre is not None and pre.opened is not None and pre.epoch is epoch:
            opened = pre.opened
        else:
            opened = open_content(env, epoch.content_key, write_pk, epoch.council)
        if self._has_event(opened.inner_id):
            report.duplicate += 1
            return
        final = self._projection.final_state(epoch.council)  # read once per envelope
        if self._too_early(opened, eid, raw, epoch.council, final):
            report.early += 1
            return
        parents = opened.payload.parents
        metas = [self._event_meta(p) for p in parents]
        if not all(metas):  # a parent not taken in yet
            missing = [p for p, meta in zip(parents, metas, strict=True) if meta is None]
            self._hold(eid, epoch.council, missing, raw, opened.payload.author)
            report.pending += 1
            return
        self._accept(opened, eid, raw, epoch.council, report, metas, final)
        self._release_waiting(opened.inner_id, report)

    def _has_event(self, inner_id: bytes) -> bool:
        """Whether this event is taken in (stored, or about to be with this batch)."""
        return inner_id in self._meta or (
            inner_id not in self._absent_events and self.store.events.has_event(inner_id)
        )

    # --- honest clocks --------------------------------------------------------------------

    def _too_early(
        self,
        opened: Opened,
        eid: bytes,
        raw: bytes,
        council: bytes,
        final: membership.CouncilState | None = None,  # the council's, if just read
    ) -> bool:
        """Hold an event that claims a time further ahead of our clock than the council's
        skew allows (docs/protocol.md §8): a fast clock must not end a vote or lapse an
        emergency action early. It is applied once our clock reaches its time."""
        rules = (final or self._projection.final_state(council)).rules
        skew = getattr(rules, "clock_skew_minutes", DEFAULT_SKEW_MINUTES) * 60_000
        not_before = opened.payload.time - skew
        if not_before <= int(self.now() * 1000):
            return False
        # No later than a parent already taken in: it claims nothing new (a writer whose
        # clock was set back writes at its parents' time, and must not wait for itself).
        metas = [self._event_meta(parent) for parent in opened.payload.parents]
        if any(m is not None and m.time >= opened.payload.time for m in metas):
            return False
        self.store.waiting.add_early(eid, council, opened.payload.author, not_before, raw)
        return True

    def take_due(self) -> list[bytes]:
        """The held early envelopes whose time has come, taken out of the table."""
        return self.store.waiting.take_early(int(self.now() * 1000))

    # --- causal delivery ----------------------------------------------------------------

    def _hold(
        self,
        eid: bytes,
        council: bytes,
        missing: list[bytes],
        raw: bytes,
        author: bytes | None = None,
    ) -> None:
        """Keep an event until its parents arrive, within the bounds of `pending`."""
        if self.store.waiting.is_pending(eid):
            return
        if author is None:
            author = self._author_of(raw)
        self._waiting.check_pending(
            self._pending, MAX_PENDING, council, author, MAX_PENDING_PER_AUTHOR
        )
        self._waiting.add_pending(eid, council, author, raw, missing)
        self._pending += 1

    def _author_of(self, raw: bytes) -> bytes:
        """The inner author of an envelope already opened once (its quota in `pending`)."""
        env = nip01.decode(raw)
        epoch = self.keyring.held[bytes.fromhex(env.pubkey)]
        return open_content(env, epoch.content_key, epoch.write_pk, epoch.council).payload.author

    def _release_waiting(self, arrived: bytes, report: Report) -> None:
        """Accept the events that waited for `arrived`, and those waiting for them."""
        queue = [arrived] if self._pending else []
        while queue:
            parent = queue.pop()
            waiting = self.store.waiting.children(parent)
            for eid, raw in waiting:
                parents = self.store.waiting.parents_of(eid)
                if any(self._event_meta(p) is None for p in parents):
                    continue
                self._waiting.remove_pending(eid)
                self._pending -= 1
                report.pending -= 1
                try:
                    with self.store.transaction():
                        env = nip01.decode(raw)
                        epoch = self.keyring.held[bytes.fromhex(env.pubkey)]
                        opened = open_content(env, epoch.content_key, epoch.write_pk, epoch.council)
                        if self._has_event(opened.inner_id):
                            # The same event sealed again in another envelope, both
                            # waiting for the same parents: it is stored once.
                            report.duplicate += 1
                            continue
                        self._accept(opened, eid, raw, epoch.council, report)
                except RemoteError as exc:
                    report.refuse(exc)
                    continue
                queue.append(opened.inner_id)

    def _release_welcomes(self, councils: Iterable[bytes], report: Report) -> None:
        """Store the welcomes that waited for an admission (or member) now known."""
        if not self._pending:
            return
        for council in sorted(councils):
            hints = self._waiting.hints(council)
            for eid in self._waiting.waiting_welcomes(council, hints):
                raw = self.store.waiting.pending_raw(eid)
                self._waiting.remove_pending(eid)
                self._pending -= 1
                report.pending -= 1
                self._one(raw, report)

    # --- acceptance --------------------------------------------------------------------

    def _event_meta(self, inner_id: bytes) -> _Meta | None:
        meta = self._meta.get(inner_id)
        if meta is None:
            row = self.store.events.meta(inner_id)
            if row is None:
                return None
            clock, mset, kind, claimed = row
            meta = _Meta(clock, mset, kind in kinds.STATE_KINDS, claimed)
            self._meta[inner_id] = meta
        return meta

    def _accept(
        self,
        opened: Opened,
        eid: bytes,
        raw: bytes,
        council: bytes,
        report: Report,
        metas: list[_Meta | None] | None = None,  # of its parents, if just looked up
        final: membership.CouncilState | None = None,  # the council's, if just read
    ) -> None:
        p = opened.payload
        if metas is None:
            metas = [self._event_meta(parent) for parent in p.parents]
        # One pass over the parents: the highest clock, a later time, one causal past.
        top = 0
        later = False
        shared = metas[0].mset if metas and metas[0] is not None else None
        for m in metas:
            if m is None:
                shared = None
                continue
            if m.clock > top:
                top = m.clock
            if p.time < m.time:
                later = True
            if m.is_state or m.mset != shared:
                shared = None
        expected_clock = 1 + top
        if p.clock != expected_clock:
            raise MalformedEvent(
                _("logical clock {clock} should be {expected}").format(
                    clock=digits(str(p.clock)), expected=digits(str(expected_clock))
                )
            )
        if later:
            raise BadClock(_("the event claims a time earlier than one of its parents"))
        resolver = self._projection.resolver(council)
        if final is None:
            final = self._projection.final_state(council)
        if shared is not None:
            # Usually every parent has the same causal past and none is a state event;
            # then so has this event, and its interned set and state are reused as is.
            ids = self._projection.mset(shared)
            causal = self._projection.causal(council, shared)
        else:
            shared = None
            ids = frozenset()
            for parent, meta in zip(p.parents, metas, strict=True):
                assert meta is not None
                ids = ids | self._projection.mset(meta.mset)
                if meta.is_state:
                    ids = ids | {parent}
            causal = resolver.state_of(ids)
        is_state = p.kind in kinds.STATE_KINDS
        anonymous = p.kind in ANONYMOUS_KINDS
        if p.kind != "council.create":
            if not anonymous and not causal.is_active(p.author):
                raise NotAMember(_("the author is not a member in the event's causal past"))
            if p.epoch not in causal.epochs:
                raise WrongEpoch(_("the event uses an epoch its causal past does not know"))
        elif resolver.events:
            raise MalformedEvent(_("a council has only one founding event"))
        if not anonymous:
            self._refuse_if_ended(council, p.author, p.kind, opened.inner_id, final)
        request = membership.prepare_request(opened.body) if is_state else None
        # State events are validated by the refresh below; content by the final state now.
        valid = (
            is_state
            or anonymous
            or self._projection.content_valid(final, p.author, opened.inner_id, ids)
        )
        mset_id = (
            shared
            if shared is not None
            else self._projection.intern(council, ids, (m.mset for m in metas if m is not None))
        )
        w = self._writes
        w.envelope_ids.add(eid)
        self._absent_envelopes.discard(eid)
        self._absent_events.discard(opened.inner_id)
        env = opened.envelope
        # The envelopes table's columns (compact.pack's), from the envelope as checked:
        # a council event has no tags, and its content was canonical base64.
        content = opened.content or decode_base64(env.content)
        sig = bytes.fromhex(env.sig)
        w.envelopes.append((eid, council, env.kind, env.created_at, p.epoch, None, sig, content))
        w.events.append(
            (
                opened.inner_id,
                council,
                eid,
                p.author,
                p.kind,
                p.clock,
                p.time,
                b"".join(p.parents),
                mset_id,
                p.epoch,
                event_ref(p.kind, opened.body),
                int(valid),
            ),
        )
        if p.kind not in LEAF_KINDS:  # a leaf is nobody's parent: the heads stay as they are
            heads = w.heads
            for parent in p.parents:
                # A parent that became a head in these rows was never written as one:
                # it leaves them, and no DELETE is sent for it (most parents, in a bulk
                # import); one from an earlier flush is deleted.
                key = (council, parent)
                if heads.get(key):
                    del heads[key]
                else:
                    heads[key] = False
            heads[(council, opened.inner_id)] = True
        self._meta[opened.inner_id] = _Meta(p.clock, mset_id, is_state, p.time)
        report.accepted += 1
        report.councils.add(council)
        if is_state:
            self.flush()  # the refresh below reads and updates the events table
            sev = membership.StateEvent(
                opened.inner_id,
                p.clock,
                p.author,
                p.kind,
                p.epoch,
                p.time,
                opened.body,
                ids,
                request,
            )
            resolver.add(sev)
            self._projection.refresh(council)
            self._grants(council, opened.body, report)

    def _refuse_if_ended(
        self,
        council: bytes,
        author: bytes,
        kind: str,
        inner_id: bytes,
        final: membership.CouncilState | None = None,
    ) -> None:
        """Refuse a new event by someone whose membership an effective ending we hold has
        ended, once VOID_QUOTA of theirs are stored: it would be void (strong removal),
        so storing more only serves a flood. Kept: an ending (it may be one of a mutual
        pair, which every replica needs), an event another event we hold or await names
        as a parent, and the first few, which members who had not yet seen the ending
        may have built on (refusing those would stall their events until the next sync)."""
        if final is None:
            final = self._projection.final_state(council)
        if author not in final.ends or final.is_active(author) or kind in membership.ENDINGS:
            return
        if self.store.waiting.awaited(inner_id):
            return
        if any(inner_id in final.acknowledged.get(end, ()) for end in final.ends[author]):
            return  # a leaf a recovery lists: it counts
        void = self.store.events.void_count(council, author)
        if void + sum(1 for row in self._writes.events if row[3] == author) >= VOID_QUOTA:
            raise NotAMember(_("the author's membership has ended; their new events are refused"))

    def _grants(self, council: bytes, body: Any, report: Report) -> None:
        """Learn an epoch granted to us. Whether the grant counts may change as events
        arrive, so every box for us is opened; a node writes only under the epoch the
        council's state names (`NodeCore.writing_epoch`), never a void one's."""
        if isinstance(body, kinds.EpochGrant):
            epoch = self.keyring.open_grant(council, body)
            if epoch is not None and self.keyring.learn(epoch):
                report.keys_learned += 1

    def _welcome(
        self, env: nip01.Envelope, eid: bytes, raw: bytes, write_pk: bytes, report: Report
    ) -> None:
        """Store a welcome (kind 4041) only if its hint is one this node can attribute
        (docs/protocol.md §8), or a ring envelope (its hint that of its own write key),
        at most MAX_WELCOMES_PER_HINT of them per hint: anyone holding an old write key
        could otherwise fill the store with them."""
        hint = env.tag("k") or ""
        epoch = self.keyring.held.get(write_pk)
        ring = False
        if epoch is None:
            epoch = self._open_welcome(env, write_pk, report)
            if epoch is None:
                raise UnknownWriteKey(_("a welcome for someone else, under an unknown write key"))
        else:
            ring = hint == keys.ring_hint(write_pk)
            if not ring and hint not in self._waiting.hints(epoch.council):
                self._await_admission(eid, epoch.council, write_pk, hint, raw, report)
                return
        if self._waiting.welcomes_of(hint) >= MAX_WELCOMES_PER_HINT:
            raise TooManyWaiting(
                _("this node already holds {n} welcomes with this hint").format(
                    n=digits(str(MAX_WELCOMES_PER_HINT))
                )
            )
        if ring:
            self._open_ring(env, epoch, report)
        self.store.events.add_envelope(
            (eid, epoch.council, env.kind, env.created_at, raw, write_pk, hint)
        )
        self._absent_envelopes.discard(eid)
        report.accepted += 1
        report.councils.add(epoch.council)

    def _open_ring(self, env: nip01.Envelope, epoch: keys.Epoch, report: Report) -> None:
        """A ring envelope (docs/protocol.md §6.3): the older epochs, sealed under the one
        it is written under. What it carries that this node lacks is learned; whoever
        holds the epoch could write one, as they could write a welcome."""
        ring = self.keyring.open_ring(env, epoch)
        if ring is None:
            raise WrongEpoch(_("a ring envelope that does not open under its own write key"))
        report.keys_learned += sum(self.keyring.learn(e) for e in ring)

    def _await_admission(
        self, eid: bytes, council: bytes, write_pk: bytes, hint: str, raw: bytes, report: Report
    ) -> None:
        """A welcome may arrive before the admission it answers: it waits in `pending`
        (at most MAX_WELCOMES_WAITING per write key), and is refused beyond."""
        if self.store.waiting.is_pending(eid):
            report.duplicate += 1
            return
        try:
            self._waiting.check_pending(
                self._pending, MAX_PENDING, council, write_pk, MAX_WELCOMES_WAITING
            )
        except TooManyWaiting as exc:
            raise TooManyWaiting(
                _(
                    "a welcome whose hint names no join request admitted in its council and no "
                    "member of it ({reason})"
                ).format(reason=exc)
            ) from exc
        self._waiting.add_pending(eid, council, write_pk, raw, [awaiting(hint)])
        self._pending += 1
        report.pending += 1

    def _open_welcome(
        self, env: nip01.Envelope, write_pk: bytes, report: Report
    ) -> keys.Epoch | None:
        """The epoch a welcome addressed to us is written under, its ring learnt."""
        ring = self.keyring.open_welcome(env, write_pk)
        if ring is None:
            return None
        report.keys_learned += sum(self.keyring.learn(e) for e in ring)
        return self.keyring.held[write_pk]

    # --- projection -------------------------------------------------------------------


def decode_ids(blob: bytes) -> list[bytes]:
    return [blob[i : i + 32] for i in range(0, len(blob), 32)]
