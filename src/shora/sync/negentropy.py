"""Negentropy range-based set reconciliation, protocol version 1 (0x61), sans I/O.

This is the protocol NIP-77 wraps (docs/sync.md has the full description). Two
parties each hold a set of (timestamp, 32-byte id) items. The *initiator* (client)
calls :meth:`Negentropy.initiate` and sends the bytes; the *responder* (server)
answers each message with :meth:`Negentropy.reconcile`; the initiator feeds every
answer to :meth:`Negentropy.reconcile_client`, which returns the ids it has that the
server lacks (``have``), the ids the server has that it lacks (``need``) and the next
message, or ``None`` when reconciliation is complete.

Nothing here touches a socket, a clock or a random source: bytes in, bytes out.
Decoding is bounded and every malformed message raises :class:`NegentropyError`
(a :class:`~shora.errors.RemoteError`), never anything else.

Wire facts (hoytech/negentropy, docs/negentropy-protocol-v1.md):

- ``Message := version(0x61) Range*``; ranges are adjacent, the first starts at
  (0, empty id), and a missing tail is an implicit Skip to infinity.
- ``Range := Bound mode(Varint) payload``; mode 0 Skip (empty), 1 Fingerprint
  (16 bytes), 2 IdList (Varint count, then 32-byte ids).
- ``Bound := Varint(encoded timestamp) Varint(len) id-prefix[len]``; the infinity
  timestamp (2**64 - 1) is encoded as 0, others as 1 + (timestamp - previous
  timestamp in this message); omitted id bytes are zeros.
- Varint: base-128, most significant digit first, high bit set on all but the last.
- Fingerprint: ``SHA-256(sum of ids as little-endian ints mod 2**256, 32 bytes LE
  || Varint(count))[:16]``.

Splitting follows the reference implementations by default (16 buckets, an IdList
below 32 items, a 200-byte margin under the frame size limit) so our messages are byte
for byte the ones they send; see docs/sync.md for the one place where we deliberately
differ (the fingerprint of the remaining range when a frame fills up). How a side
splits the ranges it answers is its own choice in protocol version 1: ``buckets`` and
``idlist_below`` change it without changing the wire format, and Shora's own client
and relay use :data:`COMPACT_BUCKETS` / :data:`COMPACT_IDLIST_BELOW` (docs/sync.md §1.6).
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from shora.errors import InvalidInput, LocalError, RemoteError

PROTOCOL_VERSION = 0x61
ID_SIZE = 32
FINGERPRINT_SIZE = 16
INFINITY = 2**64 - 1
"""The reserved 'infinity' timestamp; items must use smaller timestamps."""

BUCKETS = 16
"""Fingerprint ranges a differing range is split into (the reference's choice)."""
IDLIST_BELOW = 2 * BUCKETS
"""A range with fewer items than this is sent as an IdList rather than split."""
COMPACT_BUCKETS = 8
COMPACT_IDLIST_BELOW = 8
"""The splitting Shora's client and relay use: about half the bytes of the reference's
for scattered differences, in as many round trips or one more (docs/sync.md §1.6)."""

MIN_FRAME_SIZE_LIMIT = 4096
FRAME_MARGIN = 200

MODE_SKIP = 0
MODE_FINGERPRINT = 1
MODE_IDLIST = 2

_MOD = 2**256
_MAX_VARINT_BYTES = 10  # 2**64 - 1 needs ten base-128 digits


class NegentropyError(RemoteError):
    """A Negentropy message from a peer is malformed or cannot be processed."""


class UnsupportedVersion(NegentropyError):
    """The peer speaks a Negentropy protocol version we do not (``version`` says which)."""

    def __init__(self, version: int) -> None:
        super().__init__(f"unsupported Negentropy protocol version 0x{version:02x}")
        self.version = version


class NegentropyStateError(LocalError):
    """The caller used a session out of turn (e.g. a server call on an initiator)."""


class ClientStep(NamedTuple):
    """What the initiator learns from one server message."""

    next_message: bytes | None
    """Bytes to send to the server, or None: reconciliation is complete."""
    have: list[bytes]
    """Ids we hold that the server lacks (to upload); each reported once per session."""
    need: list[bytes]
    """Ids the server holds that we lack (to download); each reported once per session."""


# --- varints ------------------------------------------------------------------------


def encode_varint(n: int) -> bytes:
    if n < 0:
        raise InvalidInput("a varint cannot be negative")
    digits = [n & 0x7F]
    n >>= 7
    while n:
        digits.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(digits))


class _Reader:
    """A bounded cursor over one received message."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def at_end(self) -> bool:
        return self._pos >= len(self._data)

    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, n: int) -> bytes:
        if n > self.remaining():
            raise NegentropyError("message ends in the middle of a field")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def varint(self) -> int:
        value = 0
        for _ in range(_MAX_VARINT_BYTES):
            if self._pos >= len(self._data):
                raise NegentropyError("message ends in the middle of a varint")
            byte = self._data[self._pos]
            self._pos += 1
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                if value > INFINITY:
                    raise NegentropyError("varint exceeds 64 bits")
                return value
        raise NegentropyError("varint longer than ten bytes")


# --- storage ------------------------------------------------------------------------


def fingerprint(id_sum: int, count: int) -> bytes:
    """The 16-byte fingerprint of a range whose ids add up to id_sum (mod 2**256)."""
    data = (id_sum % _MOD).to_bytes(32, "little") + encode_varint(count)
    return hashlib.sha256(data).digest()[:FINGERPRINT_SIZE]


class Storage:
    """Items (timestamp, 32-byte id) kept sorted, with O(1) range fingerprints.

    Sorted by timestamp, then id bytes. Prefix sums of the ids (as little-endian
    integers, mod 2**256) are rebuilt lazily after inserts, so any range's
    fingerprint is one subtraction and one SHA-256.
    """

    __slots__ = ("_ids", "_items", "_prefix")

    def __init__(self, items: Iterable[tuple[int, bytes]] = ()) -> None:
        self._items: list[tuple[int, bytes]] = []
        self._ids: dict[bytes, int] = {}
        self._prefix: list[int] | None = None
        for timestamp, item_id in items:
            self._admit(timestamp, item_id)
        self._items = sorted((ts, item_id) for item_id, ts in self._ids.items())

    def _admit(self, timestamp: int, item_id: bytes) -> bool:
        if not isinstance(timestamp, int) or not 0 <= timestamp < INFINITY:
            raise InvalidInput(f"timestamp must be an integer in [0, 2**64 - 1), not {timestamp!r}")
        if not isinstance(item_id, bytes) or len(item_id) != ID_SIZE:
            raise InvalidInput("an item id must be 32 bytes")
        known = self._ids.get(item_id)
        if known is not None:
            if known != timestamp:
                raise InvalidInput(f"id {item_id.hex()} is already stored with timestamp {known}")
            return False
        self._ids[item_id] = timestamp
        return True

    def insert(self, timestamp: int, item_id: bytes) -> bool:
        """Add one item; False if it was already there. O(n) list insertion."""
        if not self._admit(timestamp, item_id):
            return False
        bisect.insort(self._items, (timestamp, item_id))
        self._prefix = None
        return True

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        return iter(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._ids

    def timestamp_of(self, item_id: bytes) -> int | None:
        return self._ids.get(item_id)

    def item(self, index: int) -> tuple[int, bytes]:
        return self._items[index]

    def ids(self, begin: int, end: int) -> list[bytes]:
        return [item_id for _, item_id in self._items[begin:end]]

    def lower_bound(self, timestamp: int, id_prefix: bytes, begin: int, end: int) -> int:
        """Index of the first item in [begin, end) that is >= the bound, else end."""
        if timestamp >= INFINITY:
            return end
        key = (timestamp, id_prefix.ljust(ID_SIZE, b"\0"))
        return bisect.bisect_left(self._items, key, begin, end)

    def fingerprint(self, begin: int, end: int) -> bytes:
        prefix = self._prefix
        if prefix is None:
            prefix = self._prefix = _prefix_sums(self._items)
        return fingerprint(prefix[end] - prefix[begin], end - begin)


def _prefix_sums(items: list[tuple[int, bytes]]) -> list[int]:
    sums = [0] * (len(items) + 1)
    total = 0
    from_bytes = int.from_bytes
    for k, (_, item_id) in enumerate(items, 1):
        total = (total + from_bytes(item_id, "little")) % _MOD
        sums[k] = total
    return sums


# --- the protocol -------------------------------------------------------------------


class _Writer:
    """Builds one outgoing message; timestamps are delta-encoded within it."""

    __slots__ = ("_last_ts",)

    def __init__(self) -> None:
        self._last_ts = 0

    def bound(self, timestamp: int, id_prefix: bytes = b"") -> bytes:
        if timestamp >= INFINITY:
            self._last_ts = INFINITY
            encoded = encode_varint(0)
        else:
            # Bounds are written in ascending order; saturate as the reference does.
            encoded = encode_varint(max(timestamp - self._last_ts, 0) + 1)
            self._last_ts = timestamp
        return encoded + encode_varint(len(id_prefix)) + id_prefix


def _minimal_bound(prev: tuple[int, bytes], curr: tuple[int, bytes]) -> tuple[int, bytes]:
    """The shortest bound that sorts after prev and at or before curr."""
    if prev[0] != curr[0]:
        return curr[0], b""
    shared = 0
    for a, b in zip(prev[1], curr[1], strict=True):
        if a != b:
            break
        shared += 1
    return curr[0], curr[1][: shared + 1]


class Negentropy:
    """One reconciliation session over a :class:`Storage`, in either role.

    ``frame_size_limit`` (0 = none, else at least 4096) caps every message this
    side produces; work that does not fit is carried over to later rounds.
    ``buckets`` and ``idlist_below`` say how this side splits a range whose fingerprint
    differs: its items there as an IdList if fewer than ``idlist_below``, else that
    many Fingerprint ranges of equal item counts. The defaults are the reference
    implementations'; any values (``buckets`` >= 2, ``idlist_below`` >= ``buckets``)
    interoperate with any peer.
    """

    def __init__(
        self,
        storage: Storage,
        frame_size_limit: int = 0,
        *,
        buckets: int = BUCKETS,
        idlist_below: int = IDLIST_BELOW,
    ) -> None:
        if frame_size_limit != 0 and frame_size_limit < MIN_FRAME_SIZE_LIMIT:
            raise InvalidInput(f"frame_size_limit must be 0 or at least {MIN_FRAME_SIZE_LIMIT}")
        if buckets < 2:
            raise InvalidInput("buckets must be at least 2")
        if idlist_below < buckets:
            # A range of fewer items than buckets would leave buckets empty.
            raise InvalidInput("idlist_below must be at least buckets")
        self.storage = storage
        self.frame_size_limit = frame_size_limit
        self.buckets = buckets
        self.idlist_below = idlist_below
        self.is_initiator = False
        self.done = False
        self.rounds = 0
        """Messages processed so far by reconcile / reconcile_client."""
        self._reported: set[bytes] = set()

    def initiate(self) -> bytes:
        """The client's first message (covers the whole timestamp/id space)."""
        if self.is_initiator:
            raise NegentropyStateError("this session has already initiated")
        self.is_initiator = True
        writer = _Writer()
        return bytes([PROTOCOL_VERSION]) + self._split(
            writer, 0, len(self.storage), (INFINITY, b"")
        )

    def reconcile(self, message: bytes) -> bytes:
        """Server side: answer one client message (always with a message)."""
        if self.is_initiator:
            raise NegentropyStateError("an initiator must call reconcile_client")
        return self._process(message, None, None)

    def reconcile_client(self, message: bytes) -> ClientStep:
        """Client side: digest one server message; see :class:`ClientStep`."""
        if not self.is_initiator:
            raise NegentropyStateError("call initiate() before reconcile_client")
        if self.done:
            raise NegentropyStateError("this reconciliation is already complete")
        have: list[bytes] = []
        need: list[bytes] = []
        out = self._process(message, have, need)
        # Under a frame limit the "remaining range" can cover ranges already settled,
        # so the same id may come back in a later round: report each id once.
        reported = self._reported
        have = [i for i in have if i not in reported]
        need = [i for i in need if i not in reported]
        reported.update(have)
        reported.update(need)
        if len(out) == 1:
            self.done = True
            return ClientStep(None, have, need)
        return ClientStep(out, have, need)

    # --- internals ---

    def _exceeds(self, size: int) -> bool:
        return self.frame_size_limit != 0 and size > self.frame_size_limit - FRAME_MARGIN

    def _split(self, w: _Writer, lower: int, upper: int, upper_bound: tuple[int, bytes]) -> bytes:
        """Our ranges covering [lower, upper) up to upper_bound: an IdList or fingerprints."""
        storage = self.storage
        count = upper - lower
        if count < self.idlist_below:
            ids = storage.ids(lower, upper)
            return (
                w.bound(*upper_bound)
                + encode_varint(MODE_IDLIST)
                + encode_varint(count)
                + b"".join(ids)
            )
        parts: list[bytes] = []
        buckets = self.buckets
        per_bucket, extra = divmod(count, buckets)
        curr = lower
        for i in range(buckets):
            size = per_bucket + (1 if i < extra else 0)
            fp = storage.fingerprint(curr, curr + size)
            curr += size
            if curr == upper:
                bound = upper_bound
            else:
                bound = _minimal_bound(storage.item(curr - 1), storage.item(curr))
            parts.append(w.bound(*bound) + encode_varint(MODE_FINGERPRINT) + fp)
        return b"".join(parts)

    def _process(self, message: bytes, have: list[bytes] | None, need: list[bytes] | None) -> bytes:
        if not isinstance(message, bytes | bytearray | memoryview):
            raise NegentropyError("a Negentropy message must be bytes")
        reader = _Reader(bytes(message))
        if reader.at_end():
            raise NegentropyError("empty Negentropy message")
        version = reader.take(1)[0]
        if not 0x60 <= version <= 0x6F:
            raise NegentropyError(f"invalid Negentropy protocol version byte 0x{version:02x}")
        self.rounds += 1
        if version != PROTOCOL_VERSION:
            if self.is_initiator:
                raise UnsupportedVersion(version)
            return bytes([PROTOCOL_VERSION])  # tell the client which version we speak

        storage = self.storage
        n = len(storage)
        writer = _Writer()
        out = bytearray([PROTOCOL_VERSION])
        prev_bound: tuple[int, bytes] = (0, b"")
        prev_key: tuple[int, bytes] = (0, b"")
        prev_index = 0
        emitted_index = 0  # our index at the upper bound of the last range written to out
        skipping = False
        last_ts_in = 0

        while not reader.at_end():
            # decode the range's upper bound
            encoded_ts = reader.varint()
            ts = INFINITY if encoded_ts == 0 else min(last_ts_in + encoded_ts - 1, INFINITY)
            last_ts_in = ts
            prefix_len = reader.varint()
            if prefix_len > ID_SIZE:
                raise NegentropyError(f"bound id prefix of {prefix_len} bytes exceeds {ID_SIZE}")
            prefix = reader.take(prefix_len)
            key = (ts, b"" if ts == INFINITY else prefix.ljust(ID_SIZE, b"\0"))
            if key < prev_key:
                raise NegentropyError("ranges are not in ascending order")
            bound = (ts, prefix)
            mode = reader.varint()

            lower = prev_index
            upper = storage.lower_bound(ts, prefix, lower, n)
            piece = b""

            if mode == MODE_SKIP:
                skipping = True
            elif mode == MODE_FINGERPRINT:
                their_fp = reader.take(FINGERPRINT_SIZE)
                if their_fp == storage.fingerprint(lower, upper):
                    skipping = True
                else:
                    if skipping:
                        skipping = False
                        piece = writer.bound(*prev_bound) + encode_varint(MODE_SKIP)
                    piece += self._split(writer, lower, upper, bound)
            elif mode == MODE_IDLIST:
                count = reader.varint()
                if count * ID_SIZE > reader.remaining():
                    raise NegentropyError("IdList is longer than the message")
                their_ids = [reader.take(ID_SIZE) for _ in range(count)]
                if have is not None and need is not None:
                    ours = storage.ids(lower, upper)
                    theirs = set(their_ids)
                    have.extend(item_id for item_id in ours if item_id not in theirs)
                    mine = set(ours)
                    for item_id in dict.fromkeys(their_ids):  # in the peer's order, once
                        if item_id not in mine:
                            need.append(item_id)
                    skipping = True
                else:
                    if skipping:
                        skipping = False
                        out_skip = writer.bound(*prev_bound) + encode_varint(MODE_SKIP)
                    else:
                        out_skip = b""
                    ids: list[bytes] = []
                    end_bound = bound
                    for index in range(lower, upper):
                        if self._exceeds(len(out) + ID_SIZE * len(ids)):
                            end_bound = storage.item(index)  # full id: an exact bound
                            upper = index  # the rest goes into the remaining range
                            break
                        ids.append(storage.item(index)[1])
                    out += (
                        out_skip
                        + writer.bound(*end_bound)
                        + encode_varint(MODE_IDLIST)
                        + encode_varint(len(ids))
                        + b"".join(ids)
                    )
                    emitted_index = upper
            else:
                raise NegentropyError(f"unknown range mode {mode}")

            if self._exceeds(len(out) + len(piece)):
                # Frame full: one Fingerprint for everything from the last range we
                # wrote to infinity, so the peer splits it and we continue next round.
                out += (
                    writer.bound(INFINITY)
                    + encode_varint(MODE_FINGERPRINT)
                    + storage.fingerprint(emitted_index, n)
                )
                break
            if piece:
                out += piece
                emitted_index = upper

            prev_index = upper
            prev_bound = bound
            prev_key = key

        return bytes(out)
