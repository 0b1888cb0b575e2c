"""Memory stays bounded whatever a file or a sync message holds.

Each hostile input is written to a file and read by a separate process (the `shora`
command, or the relay-protocol decoder), whose peak resident memory is measured with
wait4 and compared with the same command on an honest, empty input: the difference
stays under MEMORY_CEILING (docs/security.md, "Resource limits"), and the process
ends with a one-line error, never a traceback or MemoryError.
"""

from __future__ import annotations

import os
import resource
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import shora
from conftest import make_node
from shora.kernel import bundle, crypto, nip01
from shora.kernel import profile as keystore
from shora.kernel.events import SHORA_KIND
from shora.kernel.waiting import MAX_HELD_PER_KEY

MEMORY_CEILING = 200 * 2**20
"""Bytes of peak RSS allowed above the same command's on an honest, empty input."""
SRC = Path(shora.__file__).resolve().parents[1]
CLI = "import sys; from shora.cli.main import main; sys.argv[0] = 'shora'; main()"
NEG = (
    "import sys; from shora.sync import messages\n"
    "try:\n"
    "    print(type(messages.decode_relay(open(sys.argv[1], 'rb').read())).__name__)\n"
    "except messages.ProtocolError as exc:\n"
    "    print('refused:', str(exc)[:80]); sys.exit(1)\n"
)


def _run(args: list[str], tmp: Path) -> tuple[int, str, int]:
    """Run `python args` in its own process; (exit code, output, peak RSS in bytes)."""
    out = tmp / "out.txt"

    def limit() -> None:  # a bug here must not take the machine down with it
        resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))

    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "SHORA_PASSPHRASE": "correct horse battery",
        keystore.INSECURE_TEST_KDF_ENV: keystore.INSECURE_TEST_KDF_CONSENT,
    }
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=limit,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, out.read_text(errors="replace"), usage.ru_maxrss * 1024


def _clean(output: str) -> None:
    for bad in ("Traceback", "MemoryError", "Unexpected error"):
        assert bad not in output, output


def _bundle(path: Path, records: object) -> Path:
    with path.open("wb") as f:
        bundle.write_bundle(f, records)  # type: ignore[arg-type]
    return path


def _stranger(n: int) -> list[bytes]:
    _, secret = crypto.write_keypair()
    signer = crypto.WriteSigner(secret)
    return [
        nip01.encode(nip01.sign_envelope(signer, 1_700_000_000, SHORA_KIND, [], f"AQ{i:06d}"))
        for i in range(n)
    ]


def _zstd_rle(declared: int, blocks: int, last: bool, single_segment: bool = False) -> bytes:
    """A zstd frame declaring `declared` bytes of content, made of RLE blocks of 128 KiB:
    four bytes each, so a few KiB claim gigabytes."""
    descriptor = 0xC0 | (0x20 if single_segment else 0)  # 8-byte content size
    frame = struct.pack("<I", 0xFD2FB528) + bytes([descriptor])
    if not single_segment:
        frame += bytes([13 << 3])  # window 8 MiB
    frame += struct.pack("<Q", declared)
    for i in range(blocks):
        header = (128 * 1024) << 3 | 1 << 1 | int(last and i == blocks - 1)
        frame += struct.pack("<I", header)[:3] + b"\0"
    return frame


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("memory")
    node = make_node(root, "p")
    node.councils.create("Council", "", "Ava")
    node.close()
    return root / "p"


def _cli(profile: Path, tmp: Path, *args: str) -> tuple[int, str, int]:
    return _run(["-c", CLI, "--home", str(profile), *args], tmp)


@pytest.mark.slow  # a process per hostile input, its peak memory measured
def test_hostile_files_and_messages_stay_within_the_memory_ceiling(
    profile: Path, tmp_path: Path
) -> None:
    empty = _bundle(tmp_path / "empty.bundle", [])
    code, output, baseline = _cli(profile, tmp_path, "bundle", "import", str(empty))
    assert code == 0, output

    # One foreign envelope repeated: a tiny file, hundreds of MB decompressed.
    one = _stranger(1)[0]
    repeat = _bundle(tmp_path / "repeat.bundle", (one for _ in range(300_000)))
    assert repeat.stat().st_size < 200_000
    code, output, peak = _cli(profile, tmp_path, "bundle", "import", "--json", str(repeat))
    assert code == 0 and '"duplicate":299999' in output.replace(" ", ""), output
    assert peak - baseline < MEMORY_CEILING, (peak - baseline) >> 20

    # Many envelopes under a key nobody holds: they wait in the store, not in memory,
    # and no more than the bound for one key stays.
    stranger = _bundle(tmp_path / "stranger.bundle", _stranger(MAX_HELD_PER_KEY + 2000))
    code, output, peak = _cli(profile, tmp_path, "bundle", "import", "--json", str(stranger))
    assert code == 0 and f'"held":{MAX_HELD_PER_KEY}' in output.replace(" ", ""), output
    assert peak - baseline < MEMORY_CEILING, (peak - baseline) >> 20

    # A summary that is a zstd bomb declaring a huge size, and a 29-byte one declaring
    # 2**60 bytes in a single segment: clear errors, bounded memory.
    out = str(tmp_path / "out.bundle")
    for name, data in (
        ("bomb.summary", _zstd_rle(2**50, 4000, last=True)),
        ("tiny.summary", _zstd_rle(2**60, 4, last=False, single_segment=True)),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        code, output, peak = _cli(
            profile, tmp_path, "bundle", "export", "--for", str(path), "-o", out
        )
        assert code == 1 and "summary" in output, output
        _clean(output)
        assert peak - baseline < MEMORY_CEILING, (name, (peak - baseline) >> 20)
    assert len((tmp_path / "tiny.summary").read_bytes()) <= 32

    # A NEG-MSG of 3.8 MB of hex, and one just over the frame limit.
    for size, expected in ((3_800_000, "NegMsg"), (5 * 2**20, "refused")):
        path = tmp_path / "neg.txt"
        path.write_text('["NEG-MSG","s",' + '"' + "61" * (size // 2) + '"]')
        code, output, peak = _run(["-c", NEG, str(path)], tmp_path)
        assert output.startswith(expected), output
        _clean(output)
        assert peak - baseline < MEMORY_CEILING, (size, (peak - baseline) >> 20)
