"""Take the screenshots of docs/screenshots anew from the browser walk.

    PYTHONPATH=src python scripts/screenshots.py [--into docs/screenshots]

Runs tests/web/test_web_walk.py (two `shora serve` nodes, a relay on loopback,
Chromium) with $SHORA_SCREENSHOTS pointing at the folder, so every page it photographs
(the call for help on the home page, a proposal's discussion, notifications, the
federation pages, the dispatch step, the rules with the time zone, the join request;
the new profile's page that asks to join, the home page's ballot buttons, the need's
form from "I need...", the match on the home page and a matched need on the list)
is saved in Persian at 360x740 and in English at 1280x800. Then each new PNG is
deflated again at the highest level, without its ancillary chunks, where that is
smaller, and checked to be under 150 KB. The older screenshots come from the browser
tests the README names.
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ["tests/web/test_web_walk.py"]
MOST_BYTES = 150 * 1024
SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    found, at = [], len(SIGNATURE)
    while at < len(data):
        (size,) = struct.unpack(">I", data[at : at + 4])
        found.append((data[at + 4 : at + 8], data[at + 8 : at + 8 + size]))
        at += 12 + size
    return found


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def smaller(data: bytes) -> bytes:
    """The same image, its pixels deflated at level 9 and only the chunks that draw it."""
    assert data.startswith(SIGNATURE), "not a PNG"
    chunks = _chunks(data)
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    kept = b"".join(_chunk(k, b) for k, b in chunks if k in (b"IHDR", b"PLTE", b"tRNS"))
    again = SIGNATURE + kept + _chunk(b"IDAT", zlib.compress(pixels, 9)) + _chunk(b"IEND", b"")
    return again if len(again) < len(data) else data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--into", type=Path, default=ROOT / "docs" / "screenshots")
    into = parser.parse_args().into.resolve()
    into.mkdir(parents=True, exist_ok=True)
    before = {p: p.stat().st_mtime for p in into.glob("*.png")}
    env = {**os.environ, "SHORA_SCREENSHOTS": str(into)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-m", "slow or not slow", *TESTS],
        cwd=ROOT,
        env=env,
        check=False,
    )
    if ran.returncode != 0:
        return ran.returncode
    too_big = []
    for path in sorted(into.glob("*.png")):
        if before.get(path) == path.stat().st_mtime:
            continue  # not taken by this run
        path.write_bytes(smaller(path.read_bytes()))
        size = path.stat().st_size
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {size:,} bytes")
        if size >= MOST_BYTES:
            too_big.append(path.name)
    if too_big:
        print(f"over {MOST_BYTES:,} bytes: {', '.join(too_big)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
