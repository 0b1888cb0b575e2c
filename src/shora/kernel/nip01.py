"""The envelope: a standard Nostr event (NIP-01), as relays and carriers see it.

Decoding is typed and bounded: an envelope is at most MAX_ENVELOPE_BYTES of JSON,
every field has a type and a limit, and the id and BIP-340 signature are checked
before anything else looks at the content.
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

from shora.errors import BadSignature, MalformedEvent, OversizedEvent
from shora.i18n import _, digits
from shora.kernel import DECODE_ERRORS, crypto

MAX_ENVELOPE_BYTES = 64 * 1024
MAX_TAGS = 8
MAX_TAG_ITEMS = 4
MAX_TAG_ITEM_LEN = 256

Hex64 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
Hex128 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{128}$")]
TagItem = Annotated[str, msgspec.Meta(max_length=MAX_TAG_ITEM_LEN)]
Tag = Annotated[list[TagItem], msgspec.Meta(min_length=1, max_length=MAX_TAG_ITEMS)]


class Envelope(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A NIP-01 event. Field order is the wire order used by most relays."""

    id: Hex64
    pubkey: Hex64
    created_at: Annotated[int, msgspec.Meta(ge=0, lt=2**40)]
    kind: Annotated[int, msgspec.Meta(ge=0, le=65535)]
    tags: Annotated[list[Tag], msgspec.Meta(max_length=MAX_TAGS)]
    content: Annotated[str, msgspec.Meta(max_length=MAX_ENVELOPE_BYTES)]
    sig: Hex128

    def tag(self, name: str) -> str | None:
        for t in self.tags:
            if t[0] == name and len(t) > 1:
                return t[1]
        return None


_decoder = msgspec.json.Decoder(Envelope)
_encoder = msgspec.json.Encoder()
_NEEDS_SLOW_ESCAPE = re.compile(r"[\x00-\x07\x0b\x0e-\x1f\x7f]")
_NIP01_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NIP01_ESCAPES.update({"\b": "\\b", "\f": "\\f"})


def _nip01_string(s: str) -> str:
    """NIP-01: escape only the seven listed characters; all others verbatim."""
    return '"' + "".join(_NIP01_ESCAPES.get(c, c) for c in s) + '"'


def serialize_for_id(
    pubkey: str, created_at: int, kind: int, tags: list[list[str]], content: str
) -> bytes:
    """The exact bytes NIP-01 hashes to make an event id."""
    # msgspec escapes exactly NIP-01's set when no other control character occurs; it
    # writes those as \u00XX, so output without "\u" had none (a quick byte search: the
    # regular expression over the strings costs as much as the encoding).
    fast = _encoder.encode([0, pubkey, created_at, kind, tags, content])
    if b"\\u" not in fast:
        return fast
    strings = [pubkey, content, *(item for tag in tags for item in tag)]
    if not any(_NEEDS_SLOW_ESCAPE.search(s) for s in strings):
        return fast
    tags_s = "[" + ",".join("[" + ",".join(_nip01_string(i) for i in t) + "]" for t in tags) + "]"
    body = f"[0,{_nip01_string(pubkey)},{created_at},{kind},{tags_s},{_nip01_string(content)}]"
    return body.encode()


def event_id(pubkey: str, created_at: int, kind: int, tags: list[list[str]], content: str) -> str:
    return crypto.sha256(serialize_for_id(pubkey, created_at, kind, tags, content)).hex()


def sign_envelope(
    signer: crypto.WriteSigner, created_at: int, kind: int, tags: list[list[str]], content: str
) -> Envelope:
    pubkey = signer.public_key.hex()
    eid = event_id(pubkey, created_at, kind, tags, content)
    sig = signer.sign(bytes.fromhex(eid)).hex()
    return Envelope(eid, pubkey, created_at, kind, tags, content, sig)


def encode(envelope: Envelope) -> bytes:
    return _encoder.encode(envelope)


def decode(raw: bytes) -> Envelope:
    """Decode and bound-check an envelope; does not verify it."""
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise OversizedEvent(
            _("envelope of {size} bytes exceeds {limit}").format(
                size=digits(str(len(raw))), limit=digits(str(MAX_ENVELOPE_BYTES))
            )
        )
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise MalformedEvent(
            _("envelope does not match the schema: {reason}").format(reason=exc)
        ) from exc
    except DECODE_ERRORS as exc:
        raise MalformedEvent(_("envelope is not valid JSON: {reason}").format(reason=exc)) from exc


def check_id(envelope: Envelope) -> None:
    expected = event_id(
        envelope.pubkey, envelope.created_at, envelope.kind, envelope.tags, envelope.content
    )
    if expected != envelope.id:
        raise BadSignature(_("envelope id does not match its content"))


def verify(envelope: Envelope, verifier: crypto.WriteVerifier | None = None) -> None:
    """Check the NIP-01 id and the BIP-340 signature; raise BadSignature if either fails."""
    check_id(envelope)
    (verifier or crypto.WriteVerifier(bytes.fromhex(envelope.pubkey))).verify(
        bytes.fromhex(envelope.id), bytes.fromhex(envelope.sig)
    )
