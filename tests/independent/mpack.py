"""MessagePack, as docs/protocol.md uses it: a strict decoder for any valid encoding
of the types Shora uses, and the canonical encoder the spec describes ("maps keyed by
field name in the order listed, byte strings as bin, integers in their shortest form").

Decoded types: nil → None, bool, int, float, str → str, bin → bytes, array → list,
map → dict (insertion order = wire order). ext types are refused.
"""

from __future__ import annotations

import struct
from typing import Any


class DecodeError(ValueError):
    pass


def unpackb(data: bytes) -> Any:
    """Decode exactly one object; trailing bytes are an error."""
    obj, pos = _decode(data, 0, 0)
    if pos != len(data):
        raise DecodeError(f"{len(data) - pos} trailing bytes")
    return obj


def _take(data: bytes, pos: int, n: int) -> tuple[bytes, int]:
    if pos + n > len(data):
        raise DecodeError("truncated")
    return data[pos : pos + n], pos + n


def _uint(data: bytes, pos: int, n: int) -> tuple[int, int]:
    raw, pos = _take(data, pos, n)
    return int.from_bytes(raw, "big"), pos


def _decode(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if depth > 32:
        raise DecodeError("nested too deeply")
    raw, pos = _take(data, pos, 1)
    b = raw[0]
    if b <= 0x7F:
        return b, pos
    if b >= 0xE0:
        return b - 0x100, pos
    if 0x80 <= b <= 0x8F:
        return _map(data, pos, b & 0x0F, depth)
    if 0x90 <= b <= 0x9F:
        return _array(data, pos, b & 0x0F, depth)
    if 0xA0 <= b <= 0xBF:
        return _str(data, pos, b & 0x1F)
    if b == 0xC0:
        return None, pos
    if b in (0xC2, 0xC3):
        return b == 0xC3, pos
    if b in (0xC4, 0xC5, 0xC6):
        n, pos = _uint(data, pos, 1 << (b - 0xC4))
        return _take(data, pos, n)
    if b == 0xCA:
        raw, pos = _take(data, pos, 4)
        return struct.unpack(">f", raw)[0], pos
    if b == 0xCB:
        raw, pos = _take(data, pos, 8)
        return struct.unpack(">d", raw)[0], pos
    if 0xCC <= b <= 0xCF:
        return _uint(data, pos, 1 << (b - 0xCC))
    if 0xD0 <= b <= 0xD3:
        raw, pos = _take(data, pos, 1 << (b - 0xD0))
        return int.from_bytes(raw, "big", signed=True), pos
    if 0xD9 <= b <= 0xDB:
        n, pos = _uint(data, pos, 1 << (b - 0xD9))
        return _str(data, pos, n)
    if b in (0xDC, 0xDD):
        n, pos = _uint(data, pos, 2 if b == 0xDC else 4)
        return _array(data, pos, n, depth)
    if b in (0xDE, 0xDF):
        n, pos = _uint(data, pos, 2 if b == 0xDE else 4)
        return _map(data, pos, n, depth)
    raise DecodeError(f"unsupported type byte 0x{b:02x}")


def _str(data: bytes, pos: int, n: int) -> tuple[str, int]:
    raw, pos = _take(data, pos, n)
    try:
        return raw.decode("utf-8"), pos
    except UnicodeDecodeError as exc:
        raise DecodeError("str is not UTF-8") from exc


def _array(data: bytes, pos: int, n: int, depth: int) -> tuple[list[Any], int]:
    out = []
    for _ in range(n):
        item, pos = _decode(data, pos, depth + 1)
        out.append(item)
    return out, pos


def _map(data: bytes, pos: int, n: int, depth: int) -> tuple[dict[Any, Any], int]:
    out: dict[Any, Any] = {}
    for _ in range(n):
        key, pos = _decode(data, pos, depth + 1)
        if not isinstance(key, str | int | bytes) or isinstance(key, bool):
            raise DecodeError("unsupported map key")
        if key in out:
            raise DecodeError(f"duplicate map key {key!r}")
        out[key], pos = _decode(data, pos, depth + 1)
    return out, pos


# --- the canonical encoding ------------------------------------------------------------


def _header(n: int, fix: int | None, fix_max: int, codes: tuple[int, int, int]) -> bytes:
    if fix is not None and n <= fix_max:
        return bytes([fix | n])
    for code, width in zip(codes, (1, 2, 4), strict=True):
        if code and n < 1 << (8 * width):
            return bytes([code]) + n.to_bytes(width, "big")
    raise ValueError("too long")


def packb(obj: Any) -> bytes:
    """The shortest encoding, maps in their dict order: what the spec says writers emit."""
    if obj is None:
        return b"\xc0"
    if obj is True:
        return b"\xc3"
    if obj is False:
        return b"\xc2"
    if isinstance(obj, int):
        if 0 <= obj <= 0x7F:
            return bytes([obj])
        if -32 <= obj < 0:
            return bytes([obj + 0x100])
        if obj > 0:
            for code, width in ((0xCC, 1), (0xCD, 2), (0xCE, 4), (0xCF, 8)):
                if obj < 1 << (8 * width):
                    return bytes([code]) + obj.to_bytes(width, "big")
        for code, width in ((0xD0, 1), (0xD1, 2), (0xD2, 4), (0xD3, 8)):
            if -(1 << (8 * width - 1)) <= obj:
                return bytes([code]) + obj.to_bytes(width, "big", signed=True)
        raise ValueError("integer out of range")
    if isinstance(obj, bytes):
        return _header(len(obj), None, 0, (0xC4, 0xC5, 0xC6)) + obj
    if isinstance(obj, str):
        raw = obj.encode("utf-8")
        return _header(len(raw), 0xA0, 31, (0xD9, 0xDA, 0xDB)) + raw
    if isinstance(obj, list):
        return _header(len(obj), 0x90, 15, (0, 0xDC, 0xDD)) + b"".join(map(packb, obj))
    if isinstance(obj, dict):
        head = _header(len(obj), 0x80, 15, (0, 0xDE, 0xDF))
        return head + b"".join(packb(k) + packb(v) for k, v in obj.items())
    raise TypeError(f"cannot encode {type(obj).__name__}")
