"""Bundle summaries: say what a node holds, so a courier carries only the difference.

A summary lists the write keys (and welcome hints) a node wants, and for each write
key and hour in which it holds envelopes, how many and a fingerprint of their ids.
Since envelopes show relays only the hour, the hour is the natural bucket. Whoever
holds a summary exports every envelope of the councils it concerns that falls in a
bucket the summary lacks or whose fingerprint differs. The summary shows no more than
a relay sees: write keys, active hours, counts.

File format: zstd frame of b"SHORA-SUMMARY\\x00" + version byte 1 + msgpack of
`Summary`. Limits: 4 MiB compressed, 40 MiB decompressed, 500,000 buckets. A
summary is decompressed a few hundred bytes at a time against that budget: the size
a frame declares is not trusted (a 32-byte frame may declare exabytes).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator
from typing import Annotated

import msgspec
import zstandard

from shora.errors import InvalidInput
from shora.i18n import _
from shora.kernel import DECODE_ERRORS
from shora.kernel.events import Bytes32
from shora.sync.local import NodeEnvelopes

MAGIC = b"SHORA-SUMMARY\x00\x01"
MAX_COMPRESSED = 4 * 2**20
MAX_DECOMPRESSED = 40 * 2**20
MAX_WINDOW = 8 * 2**20
_STEP = 256  # compressed bytes per step: at most ~8 MiB out (see kernel/bundle.py)
HOUR = 3600

Fingerprint = Annotated[bytes, msgspec.Meta(min_length=16, max_length=16)]


class Bucket(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    author: Bytes32
    hour: Annotated[int, msgspec.Meta(ge=0, lt=2**32)]
    count: Annotated[int, msgspec.Meta(ge=1)]
    fingerprint: Fingerprint


class Summary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    authors: Annotated[list[Bytes32], msgspec.Meta(max_length=10_000)]
    hints: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=100)
    ]
    buckets: Annotated[list[Bucket], msgspec.Meta(max_length=500_000)]


class SummaryError(InvalidInput):
    """The file is not a summary, or is damaged."""


def _buckets(
    view: NodeEnvelopes, authors: list[bytes]
) -> dict[tuple[bytes, int], tuple[int, bytes]]:
    ids: dict[tuple[bytes, int], list[bytes]] = defaultdict(list)
    if authors:
        for pubkey, created_at, eid in view.core.store.events.hours(authors):
            ids[(bytes(pubkey), int(created_at) // HOUR)].append(bytes(eid))
    return {key: (len(v), _fingerprint(v)) for key, v in ids.items()}


def _fingerprint(ids: list[bytes]) -> bytes:
    return hashlib.sha256(b"".join(sorted(ids))).digest()[:16]


def make_summary(view: NodeEnvelopes) -> bytes:
    """The summary of everything this node holds and wants."""
    authors = sorted(e.write_pk for e in view.core.ingestor.keyring.all_epochs())
    hints = sorted({h for f in view.filters() for h in f.get("#k", [])})
    buckets = [
        Bucket(author, hour, count, fp)
        for (author, hour), (count, fp) in sorted(_buckets(view, authors).items())
    ]
    body = MAGIC + msgspec.msgpack.encode(Summary(authors, hints, buckets))
    return zstandard.ZstdCompressor(level=10).compress(body)


def read_summary(data: bytes) -> Summary:
    if len(data) > MAX_COMPRESSED:
        raise SummaryError(_("this summary is larger than any summary can be"))
    try:
        body = _decompress(data)
    except zstandard.ZstdError as exc:
        raise SummaryError(
            _("this is not a Shora summary, or it is damaged ({reason})").format(reason=exc)
        ) from exc
    if not body.startswith(MAGIC):
        raise SummaryError(_("this is not a Shora summary (or of a newer version)"))
    try:
        return msgspec.msgpack.decode(memoryview(body)[len(MAGIC) :], type=Summary)
    except DECODE_ERRORS as exc:
        raise SummaryError(_("this summary is damaged: {reason}").format(reason=exc)) from exc


def _decompress(data: bytes) -> bytearray:
    """One zstd frame, streamed against MAX_DECOMPRESSED, with nothing after it."""
    stream = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW).decompressobj()
    body = bytearray()
    for start in range(0, len(data), _STEP):
        if stream.eof:
            raise SummaryError(_("this summary has data after its end"))
        body += stream.decompress(data[start : start + _STEP])
        if len(body) > MAX_DECOMPRESSED:
            raise SummaryError(_("this summary decompresses to more than any summary can be"))
    if not stream.eof:
        raise SummaryError(_("this summary is truncated"))
    if stream.unused_data:
        raise SummaryError(_("this summary has data after its end"))
    return body


def difference(view: NodeEnvelopes, summary: Summary) -> Iterator[bytes]:
    """Our envelopes that the summary's holder lacks (whole differing hours at least).

    It concerns the councils of the write keys the summary lists, and the councils
    that welcomed one of its join requests (their whole history: the newcomer has none).
    """
    store = view.core.store
    wanted = set(summary.authors)
    councils = {
        c
        for c in store.epochs.councils()
        if any(e.write_pk in wanted for e in view.core.ingestor.keyring.epochs_of(c))
    }
    if summary.hints:
        councils |= store.events.councils_with_hints(list(summary.hints))
    theirs = {(b.author, b.hour): (b.count, b.fingerprint) for b in summary.buckets}
    authors = sorted(e.write_pk for c in councils for e in view.core.ingestor.keyring.epochs_of(c))
    ours = _buckets(view, authors)
    for author, hour in sorted(key for key, value in ours.items() if theirs.get(key) != value):
        yield from store.events.raws_between(author, hour * HOUR, (hour + 1) * HOUR)
