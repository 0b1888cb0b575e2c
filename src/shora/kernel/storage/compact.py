"""An envelope as the `envelopes` table keeps it: its signature and content as bytes,
beside the columns that already hold its id, write key, hour, kind and hint.

The JSON of a NIP-01 event spells the id and the write key in hex a second time, the
signature in hex and the content in base64: a third more bytes than they are. The
table keeps each once, as bytes, and spells the JSON again when an envelope leaves
(sync, bundles). The id and signature cover the fields, not the JSON's spacing or
order, so the envelope written back is the same envelope."""

from __future__ import annotations

import base64
import binascii

from shora.kernel import nip01
from shora.kernel.events import canonical_base64


def tags_for(hint: str | None) -> list[list[str]]:
    """A council event carries no tags, a welcome exactly ["k", hint] (events.check_tags)."""
    return [] if hint is None else [["k", hint]]


def pack(raw: bytes, hint: str | None) -> tuple[bytes, bytes | str]:
    """(signature, content) of a stored envelope's JSON. The content is kept as the bytes
    its base64 spells; content that is not canonical base64 (a welcome for somebody
    else is not opened here) stays as text, which spells itself. A council event's
    ingest does not come here: its worker decoded the same two columns already
    (events.open_content, Events.add_packed_envelopes)."""
    env = nip01.decode(raw)
    if env.tags != tags_for(hint):
        raise ValueError("an envelope's tags are other than its hint column says")
    content: bytes | str = env.content
    try:
        blob = base64.b64decode(env.content, validate=True)
    except (binascii.Error, ValueError):
        pass
    else:
        if canonical_base64(env.content, blob):
            content = blob
    return bytes.fromhex(env.sig), content


def unpack(
    eid: bytes,
    pubkey: bytes,
    created_at: int,
    kind: int,
    hint: str | None,
    sig: bytes,
    content: bytes | str,
) -> bytes:
    """The envelope's JSON, written again from its columns (b"" if it was forgotten)."""
    if not content:
        return b""
    text = content if isinstance(content, str) else base64.b64encode(content).decode("ascii")
    env = nip01.Envelope(eid.hex(), pubkey.hex(), created_at, kind, tags_for(hint), text, sig.hex())
    return nip01.encode(env)
