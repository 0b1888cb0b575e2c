"""The inner event: what only members see, and its encryption into an envelope.

An inner event is the msgpack array [payload, signature]. The payload is itself
msgpack bytes (see InnerPayload); the member signs those exact bytes, and they are
verified as received — nothing is re-encoded to verify. The inner id is
SHA-256(payload), which parents refer to.

The envelope content is base64(0x02 || nonce(24) || XChaCha20-Poly1305 ciphertext)
under the epoch's content key, with associated data "shora/content/v2" || write key;
the plaintext is u32be(length) || signed inner event || zeros up to a size bucket, so a
relay learns the bucket, not what kind of event it carries (docs/protocol.md §2.1).
Version 1 (no padding, "shora/content/v1") is still read.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Callable
from typing import Annotated, Any

import msgspec

from shora.errors import BadSignature, MalformedEvent, OversizedEvent, UnknownKind, WrongEpoch
from shora.i18n import _, digits
from shora.kernel import DECODE_ERRORS, crypto, nip01

SHORA_KIND = 4040  # a council event, content encrypted under the epoch content key
WELCOME_KIND = 4041  # key delivery to an admitted newcomer (sealed box)

CONTENT_VERSION = 2
"""Written: padded to a size bucket. Version 1 (unpadded) is still read."""
MAX_PARENTS = 16
MAX_BODY_BYTES = 40 * 1024
MAX_PAYLOAD_BYTES = MAX_BODY_BYTES + 1024
SIGN_CONTEXT = b"shora/inner/v1\x00"
CONTENT_AD = b"shora/content/v2"
CONTENT_AD_V1 = b"shora/content/v1"
PAD_BUCKETS = (256, 512, 1024, 2048, 4096)
PAD_STEP = 4096
"""Padded plaintext sizes: the buckets, then multiples of PAD_STEP (at most 45,056 B
for the largest inner event, well within an envelope)."""
COUNCIL_CONTEXT = b"shora/council/v1"
_HINT = re.compile("[0-9a-f]{32}")

Bytes16 = Annotated[bytes, msgspec.Meta(min_length=16, max_length=16)]
Bytes32 = Annotated[bytes, msgspec.Meta(min_length=32, max_length=32)]
Bytes64 = Annotated[bytes, msgspec.Meta(min_length=64, max_length=64)]


class InnerPayload(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    v: Annotated[int, msgspec.Meta(ge=1, le=1)]
    council: Bytes32
    epoch: Bytes32  # the write key (x-only) of the epoch this event is encrypted under
    author: Bytes32  # the member's Ed25519 key for this council
    parents: Annotated[list[Bytes32], msgspec.Meta(max_length=MAX_PARENTS)]
    clock: Annotated[int, msgspec.Meta(ge=1, lt=2**53)]  # 1 + max(parent clocks)
    time: Annotated[int, msgspec.Meta(ge=0, lt=2**53)]  # author's claim, ms since epoch
    kind: Annotated[str, msgspec.Meta(pattern="^[a-z][a-z0-9_.]{0,39}$")]
    body: Annotated[bytes, msgspec.Meta(max_length=MAX_BODY_BYTES)]


class SignedInner(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    payload: Annotated[bytes, msgspec.Meta(max_length=MAX_PAYLOAD_BYTES)]
    sig: Bytes64


# --- the registry of event kinds -------------------------------------------------

_SCHEMAS: dict[str, type[msgspec.Struct]] = {}
_DECODERS: dict[str, msgspec.msgpack.Decoder[Any]] = {}
_REFS: dict[str, Callable[[Any], bytes | None]] = {}
# Kinds whose events writers never name as parents, so that a node may forget them
# entirely (envelope and body) without leaving a gap in anybody's history.
LEAF_KINDS: set[str] = set()
# Kinds written under a one-time author key, not a member's (secret ballots): the
# kernel takes them from any holder of an epoch key and the domain decides what they
# are worth (a ballot's ring signature proves membership without naming the member).
ANONYMOUS_KINDS: set[str] = set()

# Kinds named before their module is loaded: the callable registers the kind (and its
# module's others) when an event of it is first decoded, so a command that reads posts
# never builds the aid pipeline's schemas. Only the node defers kinds (`defer_kind`).
_DEFERRED: dict[str, Callable[[], None]] = {}
_LOADING = threading.RLock()
_encoder = msgspec.msgpack.Encoder()


def register_kind(
    kind: str,
    schema: type[msgspec.Struct],
    ref: Callable[[Any], bytes | None] | None = None,
    *,
    leaf: bool = False,
    anonymous: bool = False,
) -> None:
    """Domain modules add their kinds here; the envelope and inner format never change.

    `ref` names what an event is about (a thread, a proposal, a need), so that the
    store can index events by it and a domain can fold just one subject's events.
    A `leaf` kind never becomes a head, so no later event names it as a parent: it can
    be forgotten on purpose (docs/protocol.md §3.1). An `anonymous` kind is
    written under a one-time author key: its author need not be a member, and the
    kernel stores it as valid for the domain to judge (docs/ballot-secrecy.md §5).
    """
    if kind in _SCHEMAS and _SCHEMAS[kind] is not schema:
        raise ValueError(f"kind {kind} registered twice")
    _SCHEMAS[kind] = schema
    _DECODERS.pop(kind, None)  # made by the first decode_body: a node starts without them
    if ref is not None:
        _REFS[kind] = ref
    if leaf:
        LEAF_KINDS.add(kind)
    if anonymous:
        ANONYMOUS_KINDS.add(kind)


def defer_kind(kind: str, register: Callable[[], None]) -> None:
    """Name a kind that `register` adds to the registry on first use (it must register
    `kind`): what is decoded, and its ref and leaf flag, are exactly as if registered now.
    Its events are state-free content: a state kind, or a hook, is registered at once."""
    if kind not in _SCHEMAS:
        _DEFERRED[kind] = register


def _load(kind: str) -> None:
    with _LOADING:  # a server's threads may meet the same kind at once
        register = _DEFERRED.get(kind)
        if register is not None:
            register()
            for name in [k for k in _DEFERRED if k in _SCHEMAS]:
                del _DEFERRED[name]


def event_ref(kind: str, body: Any) -> bytes | None:
    if kind in _DEFERRED:
        _load(kind)
    ref = _REFS.get(kind)
    return ref(body) if ref is not None else None


def known_kinds() -> list[str]:
    """Every kind this node accepts, deferred ones registered first."""
    for kind in list(_DEFERRED):
        _load(kind)
    return sorted(_SCHEMAS)


def encode_body(body: msgspec.Struct) -> bytes:
    return _encoder.encode(body)


def decode_body(kind: str, body: bytes) -> Any:
    decoder = _DECODERS.get(kind)
    if decoder is None:
        decoder = _decoder_of(kind)
    try:
        return decoder.decode(body)
    except DECODE_ERRORS as exc:
        raise MalformedEvent(
            _("body of {kind} does not match its schema: {reason}").format(kind=kind, reason=exc)
        ) from exc


def _decoder_of(kind: str) -> msgspec.msgpack.Decoder[Any]:
    """The kind's decoder, made once, by one thread at a time: msgspec builds the type
    information of a schema's structs while it makes a decoder and may call back into
    Python midway (a type's __hash__), so another thread making a decoder that shares a
    struct could take that information half built and crash the process (the pool's
    workers decode bodies at once). A decoder is published only when whole."""
    with _LOADING:
        decoder = _DECODERS.get(kind)
        if decoder is None:
            if kind in _DEFERRED:
                _load(kind)
            schema = _SCHEMAS.get(kind)
            if schema is None:
                raise UnknownKind(_("unknown event kind {kind}").format(kind=repr(kind)))
            decoder = _DECODERS[kind] = msgspec.msgpack.Decoder(schema)
        return decoder


# --- encoding ----------------------------------------------------------------------

_payload_decoder = msgspec.msgpack.Decoder(InnerPayload)
_signed_decoder = msgspec.msgpack.Decoder(SignedInner)


def decode_payload(raw: bytes) -> InnerPayload:
    """Decode a payload read back from our own store (it was verified on the way in)."""
    return _payload_decoder.decode(raw)


def council_id_for(author: bytes, genesis_body: bytes) -> bytes:
    """A council's id binds its founder and its founding body: only one genesis fits it."""
    return crypto.sha256(COUNCIL_CONTEXT + author + genesis_body)


def encode_payload(payload: InnerPayload) -> bytes:
    raw = _encoder.encode(payload)
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise OversizedEvent(
            _("event payload of {size} bytes exceeds {limit}").format(
                size=digits(str(len(raw))), limit=digits(str(MAX_PAYLOAD_BYTES))
            )
        )
    return raw


def sign_payload(sign_sk: bytes, raw_payload: bytes) -> bytes:
    sig = crypto.sign(sign_sk, SIGN_CONTEXT + raw_payload)
    return _encoder.encode(SignedInner(raw_payload, sig))


def padded_size(n: int) -> int:
    """The bucket a plaintext of n bytes is padded to."""
    for bucket in PAD_BUCKETS:
        if n <= bucket:
            return bucket
    return -(-n // PAD_STEP) * PAD_STEP


def pad(signed_inner: bytes) -> bytes:
    framed = len(signed_inner).to_bytes(4, "big") + signed_inner
    return framed + bytes(padded_size(len(framed)) - len(framed))


def unpad(plain: bytes) -> bytes:
    """The signed inner event of a version-2 plaintext; the padding must be zeros."""
    n = int.from_bytes(plain[:4], "big")
    if len(plain) < 4 or n > len(plain) - 4:
        raise MalformedEvent(_("padded content is shorter than its stated length"))
    if plain[4 + n :].count(0) != len(plain) - 4 - n:
        raise MalformedEvent(_("content padding is not zeros"))
    return plain[4 : 4 + n]


def seal_content(content_key: bytes, write_pk: bytes, signed_inner: bytes) -> str:
    ct = crypto.aead_encrypt(content_key, pad(signed_inner), CONTENT_AD + write_pk)
    return base64.b64encode(bytes([CONTENT_VERSION]) + ct).decode("ascii")


class Opened(msgspec.Struct, frozen=True):
    """An envelope whose both signatures verified and whose content decrypted."""

    envelope: nip01.Envelope
    inner_id: bytes
    payload: InnerPayload
    raw_payload: bytes
    body: Any
    content: bytes = b""  # the bytes the envelope's base64 content spells (open_content)


def decode_base64(text: str) -> bytes:
    """Strict base64: one spelling per byte string, so one ciphertext has one envelope id."""
    try:
        blob = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedEvent(_("envelope content is not base64")) from exc
    if not canonical_base64(text, blob):
        raise MalformedEvent(_("envelope content is not canonical base64"))
    return blob


def canonical_base64(text: str, blob: bytes) -> bool:
    """Whether `text`, which strict base64 decoding (`validate=True`) turned into `blob`,
    is the one spelling of `blob`. Strict decoding already refuses characters outside
    the alphabet and misplaced padding; what it lets through is unpadded text or set
    bits in the last group's unused bits. Groups of 3 bytes spell 4 characters each on
    their own, so only the last group is spelled again (the whole text re-encoded
    costs a quarter of a large event's decoding)."""
    if len(text) != 4 * ((len(blob) + 2) // 3):
        return False
    rest = len(blob) % 3 or 3
    return not blob or base64.b64encode(blob[-rest:]).decode("ascii") == text[-4:]


def check_tags(envelope: nip01.Envelope) -> None:
    """Kind 4040 carries no tags; a welcome exactly one ["k", 32 hex digits]."""
    if envelope.kind == SHORA_KIND and envelope.tags:
        raise MalformedEvent(_("a council event carries no tags"))
    if envelope.kind == WELCOME_KIND:
        hint = envelope.tags[0] if len(envelope.tags) == 1 else []
        if len(hint) != 2 or hint[0] != "k" or not _HINT.fullmatch(hint[1]):
            raise MalformedEvent(
                _("a welcome carries exactly one tag {tag}").format(tag='["k", hint]')
            )


def decrypt_content(envelope: nip01.Envelope, content_key: bytes, write_pk: bytes) -> bytes:
    blob = decode_base64(envelope.content)
    if not blob or blob[0] not in (1, CONTENT_VERSION):
        raise MalformedEvent(_("unsupported content version"))
    return _decrypt(blob, content_key, write_pk)


def _decrypt(blob: bytes, content_key: bytes, write_pk: bytes) -> bytes:
    """The signed inner event in a content blob (its version byte, then the ciphertext)."""
    ad = (CONTENT_AD if blob[0] == CONTENT_VERSION else CONTENT_AD_V1) + write_pk
    plain = crypto.aead_decrypt(content_key, blob[1:], ad)
    if plain is None:
        raise WrongEpoch(_("content does not decrypt under this epoch's key"))
    return unpad(plain) if blob[0] == CONTENT_VERSION else plain


def open_content(
    envelope: nip01.Envelope,
    content_key: bytes,
    write_pk: bytes,
    council: bytes,
    digest: Callable[[bytes], bytes] = crypto.sha256,
    signature_checked: bool = False,
) -> Opened:
    """decrypt_content then open_inner, keeping the decoded content in the Opened (the
    store keeps those bytes, so they are not decoded from the JSON a second time).
    `signature_checked`: a checking process (kernel/checking.py) opened these very
    bytes under this very key and the inner signature verified, so it is not checked
    again; nothing else is skipped."""
    blob, plain = _decrypted(envelope, content_key, write_pk)
    return open_inner(envelope, plain, write_pk, council, digest, blob, signature_checked)


def _decrypted(
    envelope: nip01.Envelope, content_key: bytes, write_pk: bytes
) -> tuple[bytes, bytes]:
    """The bytes an envelope's content spells, and the signed inner event they seal."""
    blob = decode_base64(envelope.content)
    if not blob or blob[0] not in (1, CONTENT_VERSION):
        raise MalformedEvent(_("unsupported content version"))
    return blob, _decrypt(blob, content_key, write_pk)


def check_inner_signature(
    envelope: nip01.Envelope, content_key: bytes, write_pk: bytes
) -> tuple[bytes, bytes]:
    """Raise unless the envelope's content decrypts under this key to an inner event
    whose signature verifies under the author its payload names: the one check of
    open_inner that `signature_checked` skips (a checking process runs this). Returns
    the bytes the content spells and the signed inner event, for open_inner."""
    blob, plain = _decrypted(envelope, content_key, write_pk)
    signed = _signed_decoder.decode(plain)
    author = _payload_decoder.decode(signed.payload).author
    crypto.verify(author, SIGN_CONTEXT + signed.payload, signed.sig)
    return blob, plain


def open_inner(
    envelope: nip01.Envelope,
    plain: bytes,
    write_pk: bytes,
    council: bytes,
    digest: Callable[[bytes], bytes] = crypto.sha256,
    content: bytes = b"",
    signature_checked: bool = False,
) -> Opened:
    """Decode and verify the inner event of an already verified, decrypted envelope.
    `digest` is SHA-256 (the ingest's workers pass hashlib's, which a read never loads)."""
    try:
        signed = _signed_decoder.decode(plain)
    except DECODE_ERRORS as exc:
        raise MalformedEvent(_("inner event is malformed: {reason}").format(reason=exc)) from exc
    try:
        payload = _payload_decoder.decode(signed.payload)
    except DECODE_ERRORS as exc:
        raise MalformedEvent(_("inner payload is malformed: {reason}").format(reason=exc)) from exc
    if not signature_checked:
        crypto.verify(payload.author, SIGN_CONTEXT + signed.payload, signed.sig)
    if payload.epoch != write_pk:
        raise WrongEpoch(_("inner event names a different epoch than its envelope"))
    if payload.council != council:
        raise WrongEpoch(_("inner event belongs to another council"))
    if len(set(payload.parents)) != len(payload.parents):
        raise MalformedEvent(_("inner event lists a parent twice"))
    body = decode_body(payload.kind, payload.body)
    if payload.kind == "council.create":
        if payload.parents or council_id_for(payload.author, payload.body) != council:
            raise BadSignature(_("founding event does not match the council id"))
    elif not payload.parents:
        raise MalformedEvent(_("only the founding event may have no parents"))
    return Opened(envelope, digest(signed.payload), payload, signed.payload, body, content)


def stored_body(content: bytes, content_key: bytes, write_pk: bytes) -> bytes:
    """The body of an event this node stored, from its envelope's decoded content (the
    bytes the base64 spells): a node keeps no decrypted copy. Checked on the way in, so
    only decrypted and decoded here."""
    if not content:  # forgotten
        raise WrongEpoch(_("content does not decrypt under this epoch's key"))
    plain = _decrypt(content, content_key, write_pk)
    return _payload_decoder.decode(_signed_decoder.decode(plain).payload).body
