"""Bundles: a compressed, self-verifying file of Nostr envelopes, carried on a USB stick.

Format, version 1
-----------------
The file is exactly one zstd frame (RFC 8878), with nothing before or after it.
Its decompressed content is, in order:

    header   b"SHORA-BUNDLE\\x00" (13 bytes of magic), then the version byte 0x01
    records  zero or more of: a length (4 bytes, unsigned big-endian, at most
             nip01.MAX_ENVELOPE_BYTES), then that many bytes, the UTF-8 JSON of one
             NIP-01 event
    end      the end marker 0xFFFFFFFF (4 bytes, where a length would be), then the
             record count (8 bytes, unsigned big-endian), then the SHA-256 (32 bytes)
             of every decompressed byte before the end marker, magic included

Nothing follows the SHA-256, neither inside the frame nor after it. Writers use zstd
level 10 with the frame content checksum on. Readers accept any single valid frame
whose window is at most MAX_WINDOW_BYTES. Records are not interpreted here: each
envelope carries its own id and signature, which nip01 checks on import.

Reading streams: each record is yielded as soon as it is read, and BundleDamaged
(with records_read set) is raised only when the damage is reached, so the records
before it can still be salvaged. For any input, read_bundle yields records or raises
BundleDamaged, nothing else (errors of the file object itself aside).

Reading costs little next to importing: the reader follows the frame's block headers
and hands the decoder one whole zstd block at a time (at most 128 KiB decompressed,
whatever the block's compressed size), slices records out of each block by offset and
hashes each block's consumed bytes in one update. It holds at most a 256 KiB read of the
file, a block or two and one record; past anything the block walk does not expect, the
decoder gets 256 bytes at a time, at most ~8 MiB a step (benchmarks/bundle.py measures
reading against raw decompression).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, Final

import zstandard

from shora.errors import BundleDamaged, OversizedEvent
from shora.i18n import _, digits
from shora.kernel.nip01 import MAX_ENVELOPE_BYTES

MAGIC: Final = b"SHORA-BUNDLE\x00"
VERSION: Final = 1
HEADER: Final = MAGIC + bytes([VERSION])
END_MARKER: Final = 0xFFFFFFFF
LEVEL: Final = 10
MAX_WINDOW_BYTES: Final = 8 * 2**20
# Input outside the block walk (see _Input): a zstd block expands at most ~32768-fold
# (4 bytes of RLE block become 128 KiB), so feeding the decoder this many compressed
# bytes at a time yields at most ~8 MiB.
_STEP: Final = 256
_READ: Final = 2**18  # bytes read from the file at a time (two full blocks)
_ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"
_FRAME_HEADER_MIN: Final = 6
_FRAME_HEADER_MAX: Final = 18
_BLOCK_HEADER: Final = 3
_RLE_BLOCK: Final = 1
_RESERVED_BLOCK: Final = 3
_FRAME_HEADER, _BLOCKS, _STEPS = range(3)
_LENGTH = struct.Struct(">I")
_TRAILER = struct.Struct(">Q32s")


def _damaged(message: str, records_read: int) -> BundleDamaged:
    error = BundleDamaged(message)
    error.records_read = records_read
    return error


class BundleWriter:
    """Writes one bundle; the trailer is written when the with-block ends without error."""

    def __init__(self, fileobj: IO[bytes]) -> None:
        compressor = zstandard.ZstdCompressor(level=LEVEL, write_checksum=True)
        self._zstd = compressor.stream_writer(fileobj, closefd=False)
        self._sha = hashlib.sha256(HEADER)
        self._zstd.write(HEADER)
        self.count = 0

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # On error the frame is left unfinished, so a partial file reads as truncated.
        if exc_type is None:
            trailer = _TRAILER.pack(self.count, self._sha.digest())
            self._zstd.write(_LENGTH.pack(END_MARKER) + trailer)
            self._zstd.flush(zstandard.FLUSH_FRAME)

    def add(self, record: bytes) -> None:
        if len(record) > MAX_ENVELOPE_BYTES:
            raise OversizedEvent(
                _("record of {size} bytes exceeds {limit}").format(
                    size=digits(str(len(record))), limit=digits(str(MAX_ENVELOPE_BYTES))
                )
            )
        framed = _LENGTH.pack(len(record)) + record
        self._sha.update(framed)
        self._zstd.write(framed)
        self.count += 1


def write_bundle(fileobj: IO[bytes], records: Iterable[bytes]) -> int:
    """Writes records as one bundle and returns how many there were."""
    with BundleWriter(fileobj) as writer:
        for record in records:
            writer.add(record)
    return writer.count


class _Input:
    """Feeds a bundle's compressed bytes to the decoder, one zstd block at a time.

    A zstd block decompresses to at most BLOCKSIZE_MAX (128 KiB) bytes, so walking the
    frame's block headers (RFC 8878, 3.1.1.2) lets each step take a whole block, however
    large its compressed size, with a bound on what the step can decompress to. Anything
    the walk does not expect (not a zstd frame, a reserved block type, a file cut short
    inside a header) ends it: the rest of the file then goes to the decoder _STEP bytes
    at a time, as every byte did before, and the decoder judges it. So does whatever
    follows the last block (the frame's checksum, and any data after the frame), so that
    the last block's records are read, and the bundle's own trailer checked, before
    zstd's checksum is.
    """

    def __init__(self, fileobj: IO[bytes]) -> None:
        self._file = fileobj
        self._data = b""
        self._pos = 0
        self._stage = _FRAME_HEADER

    def _have(self, n: int) -> bool:
        """Reads ahead until n unconsumed bytes are at hand; False if the file ends first."""
        if len(self._data) - self._pos >= n:
            return True
        parts = [self._data[self._pos :]]
        have = len(parts[0])
        while have < n:
            chunk = self._file.read(max(_READ, n - have))
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        self._data = b"".join(parts)
        self._pos = 0
        return have >= n

    def _take(self, n: int) -> bytes:
        start = self._pos
        self._pos = start + n
        return self._data[start : self._pos]

    def next(self) -> bytes:
        """The next step of input for the decoder; empty at the end of the file."""
        if self._stage == _FRAME_HEADER:
            self._stage = _STEPS
            if self._have(_FRAME_HEADER_MAX) or self._have(_FRAME_HEADER_MIN):
                header = self._data[self._pos : self._pos + _FRAME_HEADER_MAX]
                try:
                    size = zstandard.frame_header_size(header)
                except zstandard.ZstdError:
                    size = 0
                if header[:4] == _ZSTD_MAGIC and 0 < size <= len(header):
                    self._stage = _BLOCKS
                    return self._take(size)
        elif self._stage == _BLOCKS:
            if self._have(_BLOCK_HEADER):
                data, pos = self._data, self._pos
                bits = data[pos] | data[pos + 1] << 8 | data[pos + 2] << 16
                kind, size = bits >> 1 & 3, bits >> 3
                stored = 1 if kind == _RLE_BLOCK else size
                whole = _BLOCK_HEADER + stored
                valid = kind != _RESERVED_BLOCK and size <= zstandard.BLOCKSIZE_MAX
                if valid and self._have(whole):
                    if bits & 1:  # the last block: the frame's checksum, if any, follows
                        self._stage = _STEPS
                    return self._take(whole)
            self._stage = _STEPS
        if self._pos < len(self._data):
            return self._take(min(_STEP, len(self._data) - self._pos))
        return self._file.read(_STEP)

    def left_over(self) -> bool:
        """True if the file holds any byte not yet given to the decoder."""
        return self._pos < len(self._data) or bool(self._file.read(1))


class _Reader:
    """Parses one bundle, decompressing a bounded step at a time.

    Decompressed bytes are parsed in place; those before the read position are hashed
    and dropped each time more are decompressed, so the checksum takes large spans.
    """

    def __init__(self, fileobj: IO[bytes], max_total_bytes: int) -> None:
        decompressor = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW_BYTES)
        self._zstd = decompressor.decompressobj()
        self._input = _Input(fileobj)
        self._data = b""
        self._pos = 0
        self._sha = hashlib.sha256()
        self._budget = max_total_bytes

    def _fill(self, n: int) -> None:
        """Decompresses until n bytes lie after the read position."""
        data, pos = self._data, self._pos
        self._sha.update(memoryview(data)[:pos])
        parts = [data[pos:]]
        have = len(data) - pos
        while have < n:
            chunk = b"" if self._zstd.eof else self._input.next()
            if not chunk:
                raise BundleDamaged(_("bundle is truncated"))
            out = self._zstd.decompress(chunk)
            parts.append(out)
            have += len(out)
        self._data = b"".join(parts)
        self._pos = 0

    def _read(self, n: int) -> bytes:
        self._budget -= n
        if self._budget < 0:
            raise BundleDamaged(_("bundle decompresses to more than max_total_bytes"))
        if len(self._data) - self._pos < n:
            self._fill(n)
        start = self._pos
        self._pos = start + n
        return self._data[start : self._pos]

    def records(self, max_records: int) -> Iterator[bytes]:
        """Yields each record; BundleDamaged (with records_read) where damage is found."""
        count = 0  # records yielded
        try:
            if self._read(len(HEADER)) != HEADER:
                raise BundleDamaged(_("not a Shora bundle (wrong magic or version)"))
            unpack = _LENGTH.unpack_from
            prefix = _LENGTH.size
            # The loop works on locals, written back to self before anything reads them.
            data, pos, budget = self._data, self._pos, self._budget
            while True:
                budget -= prefix
                if budget < 0:
                    raise BundleDamaged(_("bundle decompresses to more than max_total_bytes"))
                if len(data) - pos < prefix:
                    self._pos = pos
                    self._fill(prefix)
                    data, pos = self._data, 0
                (length,) = unpack(data, pos)
                if length == END_MARKER:
                    self._sha.update(memoryview(data)[:pos])
                    checksum = self._sha.digest()  # before _fill hashes the end marker
                    self._data, self._pos, self._budget = data, pos + prefix, budget
                    break
                pos += prefix
                if length > MAX_ENVELOPE_BYTES:
                    raise BundleDamaged(
                        _("bundle was altered: a record claims {length} bytes").format(
                            length=digits(str(length))
                        )
                    )
                if count >= max_records:
                    raise BundleDamaged(
                        _("bundle holds more than {max_records} records").format(
                            max_records=digits(str(max_records))
                        )
                    )
                budget -= length
                if budget < 0:
                    raise BundleDamaged(_("bundle decompresses to more than max_total_bytes"))
                end = pos + length
                if end > len(data):
                    self._pos = pos
                    self._fill(length)
                    data, pos, end = self._data, 0, length
                record = data[pos:end]
                pos = end
                count += 1
                yield record
            written, digest = _TRAILER.unpack(self._read(_TRAILER.size))
            if written != count:
                raise BundleDamaged(
                    _("bundle was altered: {read} records, not {count}").format(
                        read=digits(str(count)), count=digits(str(written))
                    )
                )
            if digest != checksum:
                raise BundleDamaged(_("bundle was altered: checksum mismatch"))
            self._expect_end()
        except BundleDamaged as error:
            error.records_read = count
            raise
        except zstandard.ZstdError as error:
            message = _("bundle was altered or is not a Shora bundle (zstd: {error})")
            raise _damaged(message.format(error=error), count) from error

    def _expect_end(self) -> None:
        if self._pos < len(self._data):
            raise BundleDamaged(_("bundle has data after its trailer"))
        while not self._zstd.eof:
            chunk = self._input.next()
            if not chunk:
                raise BundleDamaged(_("bundle is truncated (zstd frame incomplete)"))
            if self._zstd.decompress(chunk):
                raise BundleDamaged(_("bundle has data after its trailer"))
        if self._zstd.unused_data or self._input.left_over():
            raise BundleDamaged(_("bundle has data after its zstd frame"))


def read_bundle(
    fileobj: IO[bytes], max_records: int = 10_000_000, max_total_bytes: int = 8 * 2**30
) -> Iterator[bytes]:
    """Yields each record of a bundle, raising BundleDamaged where damage is found.

    Nothing is read before the first record is asked for."""
    return _Reader(fileobj, max_total_bytes).records(max_records)
