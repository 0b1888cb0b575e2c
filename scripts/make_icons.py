"""Draw the web app's icons (src/shora/web/static/icons/*.png) with the standard library.

A round table of the council seen from above: a ring of seats around a table, white on
Shora's blue. Run it after changing the drawing; the PNGs are committed and shipped.

    python scripts/make_icons.py
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "shora" / "web" / "static" / "icons"
BLUE = (0x0B, 0x4F, 0x8A)
WHITE = (0xFF, 0xFF, 0xFF)


def png(size: int, pixels: bytearray) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\0" + bytes(pixels[y * size * 3 : (y + 1) * size * 3]) for y in range(size))
    head = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", head)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def draw(size: int, *, maskable: bool) -> bytes:
    """White shapes on blue; a maskable icon keeps them inside the central 80% circle."""
    pixels = bytearray(BLUE * (size * size))
    c = size / 2
    scale = 0.8 if maskable else 1.0
    table = 0.2 * size * scale
    ring = 0.34 * size * scale
    seat = 0.075 * size * scale
    seats = [
        (c + ring * math.cos(a), c + ring * math.sin(a))
        for a in (2 * math.pi * k / 7 - math.pi / 2 for k in range(7))
    ]
    for y in range(size):
        for x in range(size):
            px, py = x + 0.5, y + 0.5
            inside = math.hypot(px - c, py - c) <= table
            inside = inside or any(math.hypot(px - sx, py - sy) <= seat for sx, sy in seats)
            if inside:
                i = (y * size + x) * 3
                pixels[i : i + 3] = bytes(WHITE)
    return png(size, pixels)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("icon-maskable-512.png", 512, True),
        ("apple-touch-icon.png", 180, False),
    ):
        (OUT / name).write_bytes(draw(size, maskable=maskable))
        print(name, (OUT / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
