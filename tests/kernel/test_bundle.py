from __future__ import annotations

import hashlib
import io
import struct
import tracemalloc
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shora.errors import BundleDamaged, OversizedEvent
from shora.kernel.bundle import HEADER, BundleWriter, read_bundle, write_bundle
from shora.kernel.nip01 import MAX_ENVELOPE_BYTES

records_strategy = st.lists(st.binary(max_size=300), max_size=20)
fuzz_settings = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def bundle(records: list[bytes]) -> bytes:
    out = io.BytesIO()
    assert write_bundle(out, records) == len(records)
    return out.getvalue()


def compress(content: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3).compress(content)


def framed(records: list[bytes]) -> bytes:
    return b"".join(struct.pack(">I", len(r)) + r for r in records)


def trailer(count: int, digest_of: bytes) -> bytes:
    return b"\xff\xff\xff\xff" + struct.pack(">Q", count) + hashlib.sha256(digest_of).digest()


def drain(data: bytes, **limits: int) -> tuple[list[bytes], BundleDamaged | None]:
    """Reads a bundle to the end, asserting the contract: records, then BundleDamaged."""
    got: list[bytes] = []
    try:
        for record in read_bundle(io.BytesIO(data), **limits):
            got.append(record)
    except BundleDamaged as error:
        assert error.records_read == len(got)  # type: ignore[attr-defined]
        return got, error
    return got, None


SAMPLE = [b'{"kind":1}', b"", b"x" * 5000, bytes(range(256)) * 3, b"last"]


@given(records_strategy)
@settings(deadline=None)
def test_round_trip(records: list[bytes]) -> None:
    assert drain(bundle(records)) == (records, None)


def test_empty_bundle() -> None:
    assert drain(bundle([])) == ([], None)


def test_round_trip_through_a_file_with_maximal_records(tmp_path: Path) -> None:
    records = [b"a" * MAX_ENVELOPE_BYTES, b"{}", bytes(MAX_ENVELOPE_BYTES)]
    path = tmp_path / "council.shora"
    with path.open("wb") as f, BundleWriter(f) as writer:
        for record in records:
            writer.add(record)
    with path.open("rb") as f:
        assert list(read_bundle(f)) == records


def test_writer_rejects_oversized_record() -> None:
    with pytest.raises(OversizedEvent), BundleWriter(io.BytesIO()) as writer:
        writer.add(b"x" * (MAX_ENVELOPE_BYTES + 1))


def test_writer_leaves_no_trailer_after_an_exception() -> None:
    out = io.BytesIO()
    with pytest.raises(RuntimeError), BundleWriter(out) as writer:
        writer.add(b"{}")
        raise RuntimeError
    _, error = drain(out.getvalue())
    assert error is not None and "truncated" in str(error)


def test_truncation_at_every_offset_yields_a_prefix_then_damage() -> None:
    data = bundle(SAMPLE)
    for cut in range(len(data)):
        got, error = drain(data[:cut])
        assert error is not None and "truncated" in str(error), cut
        assert got == SAMPLE[: len(got)]


@given(records_strategy, st.data())
@settings(deadline=None)
def test_truncation_at_a_random_offset(records: list[bytes], data: st.DataObject) -> None:
    whole = bundle(records)
    cut = data.draw(st.integers(0, len(whole) - 1))
    got, error = drain(whole[:cut])
    assert error is not None and "truncated" in str(error)
    assert got == records[: len(got)]


@given(records_strategy, st.data())
@fuzz_settings
def test_byte_flips_yield_records_or_damage(records: list[bytes], data: st.DataObject) -> None:
    damaged = bytearray(bundle(records))
    for _ in range(data.draw(st.integers(1, 4))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] ^= data.draw(st.integers(1, 255))
    drain(bytes(damaged))


@given(st.binary(max_size=2000))
@fuzz_settings
def test_fuzz_arbitrary_file(data: bytes) -> None:
    drain(data)
    drain(b"\x28\xb5\x2f\xfd" + data)


@given(st.binary(max_size=2000))
@fuzz_settings
def test_fuzz_arbitrary_decompressed_content(content: bytes) -> None:
    drain(compress(HEADER + content), max_records=50, max_total_bytes=1500)


def test_huge_record_length_is_refused_without_allocating() -> None:
    data = compress(HEADER + framed([b"ok"]) + b"\xff\xff\xff\xfe" + b"x" * 100)
    tracemalloc.start()
    try:
        got, error = drain(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == [b"ok"] and error is not None and "altered" in str(error)
    assert peak < 20 * 2**20


def test_record_length_just_over_the_limit() -> None:
    length = struct.pack(">I", MAX_ENVELOPE_BYTES + 1)
    _, error = drain(compress(HEADER + length + b"x" * (MAX_ENVELOPE_BYTES + 1)))
    assert error is not None


@pytest.mark.parametrize(
    "header", [b"", b"SHORA-BUNDLE\x00\x02", b"SHORA-BUNDLF\x00\x01", b"\x00" * 14]
)
def test_wrong_magic_or_version(header: bytes) -> None:
    content = header + framed([b"{}"]) + trailer(1, header + framed([b"{}"]))
    _, error = drain(compress(content))
    assert error is not None and "not a Shora bundle" in str(error)


def test_not_zstd_at_all() -> None:
    got, error = drain(b'{"id": "not a bundle"}')
    assert got == [] and error is not None


@pytest.mark.parametrize(
    "garbage", [b"x", b"\x28\xb5\x2f", b"\x28\xb5\x2f\xfd", b"garbage" * 100, "second frame"]
)
def test_data_after_the_zstd_frame(garbage: bytes | str) -> None:
    tail = compress(b"more") if isinstance(garbage, str) else garbage
    assert isinstance(tail, bytes)
    got, error = drain(bundle(SAMPLE) + tail)
    assert got == SAMPLE and error is not None


def test_data_after_the_trailer_inside_the_frame() -> None:
    body = HEADER + framed(SAMPLE)
    got, error = drain(compress(body + trailer(len(SAMPLE), body) + b"\x00"))
    assert got == SAMPLE and error is not None and "after its trailer" in str(error)


def test_checksum_mismatch_says_altered() -> None:
    body = HEADER + framed(SAMPLE)
    got, error = drain(compress(body + trailer(len(SAMPLE), body + b"!")))
    assert got == SAMPLE and error is not None and "altered" in str(error)


def test_count_mismatch_says_altered() -> None:
    body = HEADER + framed(SAMPLE)
    got, error = drain(compress(body + trailer(len(SAMPLE) + 1, body)))
    assert got == SAMPLE and error is not None and "altered" in str(error)


def test_frame_needing_a_large_window_is_refused() -> None:
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=27)
    out = io.BytesIO()
    with zstandard.ZstdCompressor(compression_params=params).stream_writer(
        out, closefd=False
    ) as writer:
        writer.write(HEADER + framed([b"{}"]) + trailer(1, HEADER + framed([b"{}"])))
    _, error = drain(out.getvalue())
    assert error is not None and "zstd" in str(error)


def test_zstd_bomb_is_stopped_quickly() -> None:
    out = io.BytesIO()
    with zstandard.ZstdCompressor(level=10).stream_writer(out, closefd=False) as writer:
        writer.write(HEADER)
        zeros = bytes(2**20)
        for _ in range(200):
            writer.write(zeros)  # 200 MiB of empty records
    assert len(out.getvalue()) < 100_000
    tracemalloc.start()
    try:
        got, error = drain(out.getvalue(), max_total_bytes=2**16)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Stopped by the budget, not by reading 200 MiB (how long it takes is the benchmarks'
    # business: on a loaded machine the time says nothing).
    assert peak < 40 * 2**20
    assert error is not None and "max_total_bytes" in str(error)
    assert len(got) < 2**16 // 4


def test_max_records() -> None:
    got, error = drain(bundle([b"{}"] * 10), max_records=3)
    assert got == [b"{}"] * 3 and error is not None
    assert drain(bundle([b"{}"] * 3), max_records=3) == ([b"{}"] * 3, None)
