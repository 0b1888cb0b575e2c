"""The bundle reader walks zstd blocks: it must agree with the writer and with a plain
decompression for any record sizes, frame shapes and block kinds, and turn every
truncation or corruption into BundleDamaged."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import tracemalloc
from collections.abc import Callable

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_bundle import drain

from shora.kernel.bundle import HEADER, MAX_WINDOW_BYTES, read_bundle, write_bundle
from shora.kernel.nip01 import MAX_ENVELOPE_BYTES

BLOCK = zstandard.BLOCKSIZE_MAX


def bundle(records: list[bytes]) -> bytes:
    out = io.BytesIO()
    write_bundle(out, records)
    return out.getvalue()


def content(records: list[bytes]) -> bytes:
    """A bundle's decompressed bytes, built by hand from the format's description."""
    body = HEADER + b"".join(struct.pack(">I", len(r)) + r for r in records)
    digest = hashlib.sha256(body).digest()
    return body + b"\xff\xff\xff\xff" + struct.pack(">Q", len(records)) + digest


def plain_records(data: bytes) -> list[bytes]:
    """Parses a bundle decompressed in one call: the reference the reader must match."""
    decompressor = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW_BYTES)
    plain = decompressor.decompressobj().decompress(data)
    assert plain.startswith(HEADER)
    records, pos = [], len(HEADER)
    while (length := struct.unpack_from(">I", plain, pos)[0]) != 0xFFFFFFFF:
        records.append(plain[pos + 4 : pos + 4 + length])
        pos += 4 + length
    assert plain[pos + 44 :] == b""
    return records


def make_record(rng: random.Random, size: int, style: int) -> bytes:
    """Incompressible, text-like or constant bytes: raw, compressed and RLE blocks."""
    if style == 0:
        return rng.randbytes(size)
    if style == 1:
        return (rng.randbytes(size // 2 + 1).hex())[:size].encode()
    return bytes([rng.randrange(256)]) * size


sizes = st.one_of(
    st.integers(0, 40),
    st.integers(600, 1200),
    st.integers(20_000, 50_000),
    st.integers(MAX_ENVELOPE_BYTES - 8, MAX_ENVELOPE_BYTES),
)


@given(st.lists(st.tuples(sizes, st.integers(0, 2)), max_size=40), st.integers(0, 2**32))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_reader_agrees_with_writer_for_random_record_sizes(
    shape: list[tuple[int, int]], seed: int
) -> None:
    rng = random.Random(seed)
    records = [make_record(rng, size, style) for size, style in shape]
    data = bundle(records)
    assert drain(data) == (records, None)
    assert plain_records(data) == records


def test_empty_bundle_and_maximal_records() -> None:
    assert drain(bundle([])) == ([], None)
    rng = random.Random(1)
    records = [rng.randbytes(MAX_ENVELOPE_BYTES) for _ in range(5)] + [b""]
    assert drain(bundle(records)) == (records, None)


@pytest.mark.parametrize("shift", range(-9, 10))
def test_records_straddling_block_boundaries(shift: int) -> None:
    # Incompressible records, so each zstd block holds exactly 128 KiB of content: the
    # first three records end `shift` bytes from the first block's end, and records of
    # half a block keep every later boundary at the same place in its record, cutting a
    # length prefix or a record's first or last bytes.
    rng = random.Random(shift)
    third = BLOCK + shift - len(HEADER) - 3 * 4 - 2 * 43_000
    records = [rng.randbytes(n) for n in (43_000, 43_000, third)]
    records += [rng.randbytes(BLOCK // 2 - 4) for _ in range(6)]
    records += [rng.randbytes(rng.randrange(1, 3000)) for _ in range(100)]
    assert drain(bundle(records)) == (records, None)


def test_end_marker_and_trailer_straddling_a_block_boundary() -> None:
    # The 4-byte end marker and the 40-byte trailer after it, at every offset across the
    # end of the first block (its content is exactly 128 KiB of incompressible records).
    for shift in range(-60, 10):
        rng = random.Random(shift)
        third = BLOCK + shift - len(HEADER) - 3 * 4 - 2 * 43_000
        records = [rng.randbytes(n) for n in (43_000, 43_000, third)]
        assert drain(bundle(records)) == (records, None), shift


def frame(records: list[bytes], **kwargs: object) -> bytes:
    """The same content written by another zstd writer, with other frame parameters."""
    return zstandard.ZstdCompressor(**kwargs).compress(content(records))  # type: ignore[arg-type]


def flushed(records: list[bytes], checksum: bool = True) -> bytes:
    """One zstd block per record (a writer that flushes after each record)."""
    out = io.BytesIO()
    compressor = zstandard.ZstdCompressor(level=3, write_checksum=checksum)
    writer = compressor.stream_writer(out, closefd=False)
    plain = content(records)
    pos = len(HEADER)
    writer.write(plain[:pos])
    for record in records:
        writer.write(plain[pos : pos + 4 + len(record)])
        writer.flush(zstandard.FLUSH_BLOCK)
        pos += 4 + len(record)
    writer.write(plain[pos:])
    writer.flush(zstandard.FLUSH_FRAME)
    return out.getvalue()


SMALL = [b'{"kind":1}', b"", b"x" * 300, bytes(range(256)), b"\x00" * 700, b"last"]


@pytest.mark.parametrize(
    "make",
    [
        lambda r: frame(r, level=1),
        lambda r: frame(r, level=19, write_checksum=True),
        lambda r: frame(r, write_content_size=False),
        lambda r: frame(r, write_checksum=True, write_content_size=True),
        lambda r: flushed(r),
        lambda r: flushed(r, checksum=False),
    ],
)
def test_frames_of_other_writers(make: Callable[[list[bytes]], bytes]) -> None:
    rng = random.Random(2)
    records = SMALL + [make_record(rng, rng.randrange(50_000), i % 3) for i in range(12)]
    assert drain(make(records)) == (records, None)


@pytest.mark.parametrize("make", [bundle, flushed, lambda r: flushed(r, checksum=False)])
def test_truncation_at_every_offset_raises_bundle_damaged(
    make: Callable[[list[bytes]], bytes],
) -> None:
    whole = make(SMALL)
    for cut in range(len(whole)):
        got, error = drain(whole[:cut])
        assert error is not None and "truncated" in str(error), cut
        assert got == SMALL[: len(got)]


@given(st.data())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_corrupt_block_headers_yield_records_or_damage(data: st.DataObject) -> None:
    damaged = bytearray(flushed(SMALL, checksum=data.draw(st.booleans())))
    for _ in range(data.draw(st.integers(1, 3))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] ^= data.draw(st.integers(1, 255))
    drain(bytes(damaged))  # records, then BundleDamaged or the end: nothing else


def test_data_after_the_frame_of_a_many_block_bundle() -> None:
    records = [bytes([i]) * 1000 for i in range(20)]
    for tail in (b"\x00", zstandard.ZstdCompressor().compress(b"x")):
        got, error = drain(flushed(records) + tail)
        assert got == records and error is not None and "after its zstd frame" in str(error)


def test_reading_holds_a_bounded_step_not_the_bundle() -> None:
    rng = random.Random(3)
    records = [rng.randbytes(rng.randrange(500, 1500)) for _ in range(12_000)]
    data = bundle(records)
    assert len(data) > 10 * 2**20
    source = io.BytesIO(data)
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_bundle(source))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == len(records)
    assert peak < 2 * 2**20  # a 256 KiB read, a block or two, one record


def test_a_flip_in_the_last_block_is_found_by_the_bundle_checksum_after_its_records() -> None:
    # Incompressible records make raw blocks, which zstd does not check until the frame's
    # own checksum: the reader gives that checksum to the decoder only after the last
    # block's records are read and the bundle's trailer is checked.
    rng = random.Random(4)
    records = [rng.randbytes(1000) for _ in range(20)]
    damaged = bytearray(bundle(records))
    damaged[-100] ^= 1  # inside the last record
    got, error = drain(bytes(damaged))
    assert got[:-1] == records[:-1] and len(got) == len(records)
    assert error is not None and "checksum mismatch" in str(error)
