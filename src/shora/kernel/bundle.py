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
# A zstd block expands at most ~32768-fold (4 bytes of RLE block become 128 KiB), so
# feeding the decoder this many compressed bytes at a time yields at most ~8 MiB.
_STEP: Final = 256
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


class _Reader:
    """Parses one bundle, decompressing a bounded step at a time."""

    def __init__(self, fileobj: IO[bytes], max_total_bytes: int) -> None:
        decompressor = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW_BYTES)
        self._zstd = decompressor.decompressobj()
        self._file = fileobj
        self._buffer = bytearray()
        self._budget = max_total_bytes
        self.records_read = 0

    def _read(self, n: int) -> bytes:
        self._budget -= n
        if self._budget < 0:
            raise BundleDamaged(_("bundle decompresses to more than max_total_bytes"))
        while len(self._buffer) < n:
            chunk = b"" if self._zstd.eof else self._file.read(_STEP)
            if not chunk:
                raise BundleDamaged(_("bundle is truncated"))
            self._buffer += self._zstd.decompress(chunk)
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    def records(self, max_records: int) -> Iterator[bytes]:
        if self._read(len(HEADER)) != HEADER:
            raise BundleDamaged(_("not a Shora bundle (wrong magic or version)"))
        sha = hashlib.sha256(HEADER)
        while True:
            prefix = self._read(_LENGTH.size)
            (length,) = _LENGTH.unpack(prefix)
            if length == END_MARKER:
                break
            if length > MAX_ENVELOPE_BYTES:
                raise BundleDamaged(
                    _("bundle was altered: a record claims {length} bytes").format(
                        length=digits(str(length))
                    )
                )
            if self.records_read >= max_records:
                raise BundleDamaged(
                    _("bundle holds more than {max_records} records").format(
                        max_records=digits(str(max_records))
                    )
                )
            record = self._read(length)
            sha.update(prefix)
            sha.update(record)
            self.records_read += 1
            yield record
        count, digest = _TRAILER.unpack(self._read(_TRAILER.size))
        if count != self.records_read:
            raise BundleDamaged(
                _("bundle was altered: {read} records, not {count}").format(
                    read=digits(str(self.records_read)), count=digits(str(count))
                )
            )
        if digest != sha.digest():
            raise BundleDamaged(_("bundle was altered: checksum mismatch"))
        self._expect_end()

    def _expect_end(self) -> None:
        if self._buffer:
            raise BundleDamaged(_("bundle has data after its trailer"))
        while not self._zstd.eof:
            chunk = self._file.read(_STEP)
            if not chunk:
                raise BundleDamaged(_("bundle is truncated (zstd frame incomplete)"))
            if self._zstd.decompress(chunk):
                raise BundleDamaged(_("bundle has data after its trailer"))
        if self._zstd.unused_data or self._file.read(1):
            raise BundleDamaged(_("bundle has data after its zstd frame"))


def read_bundle(
    fileobj: IO[bytes], max_records: int = 10_000_000, max_total_bytes: int = 8 * 2**30
) -> Iterator[bytes]:
    """Yields each record of a bundle, raising BundleDamaged where damage is found."""
    reader = _Reader(fileobj, max_total_bytes)
    try:
        yield from reader.records(max_records)
    except BundleDamaged as error:
        error.records_read = reader.records_read
        raise
    except zstandard.ZstdError as error:
        message = _("bundle was altered or is not a Shora bundle (zstd: {error})")
        raise _damaged(message.format(error=error), reader.records_read) from error
