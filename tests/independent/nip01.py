"""NIP-01 event ids (https://github.com/nostr-protocol/nips/blob/master/01.md), with
string escaping written out by hand instead of any JSON library.

NIP-01: serialise [0, pubkey, created_at, kind, tags, content] as UTF-8 JSON with no
whitespace; in strings escape only LF, ", \\, CR, TAB, BS and FF (as \\n, \\", \\\\,
\\r, \\t, \\b, \\f) and write every other character verbatim.
"""

from __future__ import annotations

import hashlib

_ESCAPES = {
    0x0A: "\\n",
    0x22: '\\"',
    0x5C: "\\\\",
    0x0D: "\\r",
    0x09: "\\t",
    0x08: "\\b",
    0x0C: "\\f",
}


def json_string(s: str) -> str:
    out = ['"']
    for ch in s:
        out.append(_ESCAPES.get(ord(ch), ch))
    out.append('"')
    return "".join(out)


def serialize(pubkey: str, created_at: int, kind: int, tags: list[list[str]], content: str) -> str:
    if isinstance(created_at, bool) or isinstance(kind, bool):
        raise TypeError("created_at and kind are integers")
    tags_json = ",".join("[" + ",".join(json_string(i) for i in tag) + "]" for tag in tags)
    return (
        f"[0,{json_string(pubkey)},{int(created_at)},{int(kind)},[{tags_json}],"
        f"{json_string(content)}]"
    )


def event_id(pubkey: str, created_at: int, kind: int, tags: list[list[str]], content: str) -> str:
    data = serialize(pubkey, created_at, kind, tags, content).encode("utf-8")
    return hashlib.sha256(data).hexdigest()
