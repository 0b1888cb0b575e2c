"""The NIP-01 relay protocol as typed, bounded codecs: JSON text in, typed values out.

Client to relay::

    ["EVENT", <event>]                      ClientEvent
    ["REQ", <sub>, <filter>, ...]           Req (1 to MAX_FILTERS filters)
    ["CLOSE", <sub>]                        Close
    ["AUTH", <kind-22242 event>]            ClientAuth (NIP-42; checked by shora.sync.auth)

Relay to client::

    ["EVENT", <sub>, <event>]               RelayEvent
    ["OK", <event id>, <bool>, <message>]   Ok
    ["EOSE", <sub>]                         Eose
    ["CLOSED", <sub>, <message>]            Closed
    ["NOTICE", <message>]                   Notice
    ["AUTH", <challenge>]                   Auth (NIP-42; answered by shora.sync.auth)

The NIP-77 messages (NEG-OPEN, NEG-MSG, NEG-CLOSE, NEG-ERR) are ``shora.sync.nip77``'s;
the decoders here hand those verbs to it. Events are decoded with Shora's own strict
envelope schema (``shora.kernel.nip01``): relays of ours carry nothing else.

Every decoder takes text or bytes, refuses frames over ``max_bytes`` and raises only
:class:`ProtocolError` (a :class:`~shora.errors.RemoteError`) on bad input.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from shora.errors import RemoteError
from shora.kernel import nip01
from shora.sync import nip77
from shora.sync.negentropy import NegentropyError

MAX_FRAME_BYTES = 4 * 1024 * 1024
"""Default cap on one relay-protocol text (a NEG-MSG IdList of 60,000 ids fits)."""
MAX_FILTERS = 10
MAX_SUBSCRIPTION_ID = nip77.MAX_SUBSCRIPTION_ID
MAX_FILTER_KEYS = 1000
"""At most this many ids, and this many authors, in one filter."""
MAX_FILTER_KINDS = 20
MAX_FILTER_HINTS = 100
MAX_CHALLENGE = 16 * 1024
"""Longest AUTH challenge (a Shora relay's carries its proofs, shora.sync.auth)."""
MAX_TEXT = 2000
"""Longest NOTICE, CLOSED or OK message kept whole; longer ones are cut."""

Hex64 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
Kind = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Hint = Annotated[str, msgspec.Meta(max_length=64)]
Time = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class ProtocolError(RemoteError):
    """A relay-protocol message from a peer cannot be decoded or breaks a limit."""


class InvalidEvent(ProtocolError):
    """An EVENT whose event does not decode; ``event_id`` is its id if one could be read."""

    def __init__(self, message: str, event_id: str | None = None) -> None:
        super().__init__(message)
        self.event_id = event_id


class Filter(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A NIP-01 filter, restricted to the fields a relay of Shora envelopes needs."""

    ids: Annotated[list[Hex64], msgspec.Meta(max_length=MAX_FILTER_KEYS)] | None = None
    authors: Annotated[list[Hex64], msgspec.Meta(max_length=MAX_FILTER_KEYS)] | None = None
    kinds: Annotated[list[Kind], msgspec.Meta(max_length=MAX_FILTER_KINDS)] | None = None
    k: Annotated[list[Hint], msgspec.Meta(max_length=MAX_FILTER_HINTS)] | None = msgspec.field(
        default=None, name="#k"
    )
    since: Time | None = None
    until: Time | None = None
    limit: Time | None = None

    def as_dict(self) -> dict[str, Any]:
        """The filter as a JSON object (what a view's query methods take)."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out

    def matches(self, envelope: nip01.Envelope) -> bool:
        """Whether an event matches this filter (NIP-01; ``limit`` plays no part)."""
        if self.ids is not None and envelope.id not in self.ids:
            return False
        if self.authors is not None and envelope.pubkey not in self.authors:
            return False
        if self.kinds is not None and envelope.kind not in self.kinds:
            return False
        if self.k is not None and not any(
            len(t) > 1 and t[0] == "k" and t[1] in self.k for t in envelope.tags
        ):
            return False
        if self.since is not None and envelope.created_at < self.since:
            return False
        return self.until is None or envelope.created_at <= self.until


class ClientEvent(msgspec.Struct, frozen=True):
    envelope: nip01.Envelope
    raw: bytes


class ClientAuth(msgspec.Struct, frozen=True):
    raw: bytes
    """The kind-22242 event as sent (shora.sync.auth decodes and checks it)."""


class Req(msgspec.Struct, frozen=True):
    subscription_id: str
    filters: list[Filter]


class Close(msgspec.Struct, frozen=True):
    subscription_id: str


class RelayEvent(msgspec.Struct, frozen=True):
    subscription_id: str
    envelope: nip01.Envelope
    raw: bytes


class Ok(msgspec.Struct, frozen=True):
    event_id: str
    accepted: bool
    message: str

    @property
    def code(self) -> str:
        """The machine-readable prefix (``duplicate``, ``invalid``, ``rate-limited``, ...)."""
        return self.message.split(":", 1)[0].strip() if ":" in self.message else ""


class Eose(msgspec.Struct, frozen=True):
    subscription_id: str


class Closed(msgspec.Struct, frozen=True):
    subscription_id: str
    message: str


class Notice(msgspec.Struct, frozen=True):
    message: str


class Auth(msgspec.Struct, frozen=True):
    challenge: str


ClientMessage = (
    ClientEvent | ClientAuth | Req | Close | nip77.NegOpen | nip77.NegMsg | nip77.NegClose
)
RelayMessage = RelayEvent | Ok | Eose | Closed | Notice | Auth | nip77.NegMsg | nip77.NegErr

_DECODE_ERRORS = (msgspec.DecodeError, UnicodeError, RecursionError)
_array = msgspec.json.Decoder(list[msgspec.Raw])
_str = msgspec.json.Decoder(str)
_bool = msgspec.json.Decoder(bool)
_hex64 = msgspec.json.Decoder(Hex64)
_filter = msgspec.json.Decoder(Filter)
_encoder = msgspec.json.Encoder()


class _IdOnly(msgspec.Struct):
    id: Hex64


_id_only = msgspec.json.Decoder(_IdOnly)
_NIP77_VERBS = frozenset({"NEG-OPEN", "NEG-MSG", "NEG-CLOSE", "NEG-ERR"})


# --- filters ----------------------------------------------------------------------------


def decode_filter(data: bytes | str | dict[str, Any] | msgspec.Raw) -> Filter:
    """A filter from JSON text or an already parsed object; ProtocolError if unsupported."""
    try:
        if isinstance(data, dict):
            return msgspec.convert(data, Filter, strict=True)
        return _filter.decode(data)
    except msgspec.ValidationError as exc:
        raise ProtocolError(f"unsupported filter: {exc}") from exc
    except (*_DECODE_ERRORS, TypeError) as exc:
        raise ProtocolError(f"a filter must be a JSON object: {exc}") from exc


# --- decoding -----------------------------------------------------------------------------


def _split(text: str | bytes, max_bytes: int) -> tuple[str, list[msgspec.Raw]]:
    if not isinstance(text, str | bytes):
        raise ProtocolError("a relay-protocol message is text")
    if len(text) > max_bytes:
        raise ProtocolError(f"message of {len(text)} bytes exceeds the limit of {max_bytes}")
    try:
        items = _array.decode(text)
    except _DECODE_ERRORS as exc:
        raise ProtocolError(f"not a relay-protocol message (a JSON array): {exc}") from exc
    if not items:
        raise ProtocolError("empty relay-protocol message")
    return _text(items[0], "the message type", 32), items[1:]


def _text(raw: msgspec.Raw, what: str, limit: int | None = None) -> str:
    try:
        value = _str.decode(raw)
    except _DECODE_ERRORS as exc:
        raise ProtocolError(f"{what} must be a string") from exc
    if limit is not None and len(value) > limit:
        raise ProtocolError(f"{what} is longer than {limit} characters")
    return value


def _message(raw: msgspec.Raw, what: str) -> str:
    return _text(raw, what)[:MAX_TEXT]


def _sub(raw: msgspec.Raw) -> str:
    sub = _text(raw, "a subscription id", MAX_SUBSCRIPTION_ID)
    if not sub:
        raise ProtocolError("a subscription id cannot be empty")
    return sub


def _arity(verb: str, args: list[msgspec.Raw], n: int, what: str) -> None:
    if len(args) != n:
        raise ProtocolError(f"{verb} takes {what}, not {len(args)} values")


def _event(raw: msgspec.Raw) -> tuple[nip01.Envelope, bytes]:
    data = bytes(raw)
    try:
        return nip01.decode(data), data
    except RemoteError as exc:
        try:
            event_id: str | None = _id_only.decode(data).id
        except (*_DECODE_ERRORS, msgspec.ValidationError):
            event_id = None
        raise InvalidEvent(f"invalid event: {exc}", event_id) from exc


def _nip77(text: str | bytes, max_bytes: int) -> nip77.Nip77Message:
    try:
        message = nip77.parse(text, max_bytes=max_bytes)
    except NegentropyError as exc:
        raise ProtocolError(str(exc)) from exc
    assert message is not None  # only called for the four NIP-77 verbs
    return message


def decode_client(
    text: str | bytes, *, max_bytes: int = MAX_FRAME_BYTES, max_filters: int = MAX_FILTERS
) -> ClientMessage:
    """A message from a client to a relay. NEG-OPEN filters are left for the relay to
    check with :func:`decode_filter`, so it can answer NEG-ERR."""
    verb, args = _split(text, max_bytes)
    if verb == "EVENT":
        _arity(verb, args, 1, "one event")
        envelope, raw = _event(args[0])
        return ClientEvent(envelope, raw)
    if verb == "REQ":
        if not 2 <= len(args) <= max_filters + 1:
            raise ProtocolError(f"REQ takes a subscription id and 1 to {max_filters} filters")
        return Req(_sub(args[0]), [decode_filter(f) for f in args[1:]])
    if verb == "CLOSE":
        _arity(verb, args, 1, "a subscription id")
        return Close(_sub(args[0]))
    if verb == "AUTH":
        _arity(verb, args, 1, "one event")
        return ClientAuth(bytes(args[0]))
    if verb in _NIP77_VERBS - {"NEG-ERR"}:
        message = _nip77(text, max_bytes)
        assert not isinstance(message, nip77.NegErr)
        return message
    raise ProtocolError(f"unsupported message type {verb[:32]!r}")


def decode_relay(text: str | bytes, *, max_bytes: int = MAX_FRAME_BYTES) -> RelayMessage:
    """A message from a relay to a client."""
    verb, args = _split(text, max_bytes)
    if verb == "EVENT":
        _arity(verb, args, 2, "a subscription id and an event")
        sub = _sub(args[0])
        envelope, raw = _event(args[1])
        return RelayEvent(sub, envelope, raw)
    if verb == "OK":
        _arity(verb, args, 3, "an event id, a boolean and a message")
        try:
            event_id, accepted = _hex64.decode(args[0]), _bool.decode(args[1])
        except (*_DECODE_ERRORS, msgspec.ValidationError) as exc:
            raise ProtocolError(f"OK needs a 64-hex event id and a boolean: {exc}") from exc
        return Ok(event_id, accepted, _message(args[2], "an OK message"))
    if verb == "EOSE":
        _arity(verb, args, 1, "a subscription id")
        return Eose(_sub(args[0]))
    if verb == "CLOSED":
        _arity(verb, args, 2, "a subscription id and a message")
        return Closed(_sub(args[0]), _message(args[1], "a CLOSED message"))
    if verb == "NOTICE":
        _arity(verb, args, 1, "a message")
        return Notice(_message(args[0], "a NOTICE"))
    if verb == "AUTH":
        _arity(verb, args, 1, "a challenge")
        return Auth(_text(args[0], "an AUTH challenge", MAX_CHALLENGE))
    if verb in {"NEG-MSG", "NEG-ERR"}:
        message = _nip77(text, max_bytes)
        assert isinstance(message, nip77.NegMsg | nip77.NegErr)
        return message
    raise ProtocolError(f"unsupported message type {verb[:32]!r}")


# --- encoding -----------------------------------------------------------------------------


def _json(parts: list[Any]) -> str:
    return _encoder.encode(parts).decode()


def event(raw: bytes) -> str:
    """Client EVENT for one raw event (JSON bytes as stored, sent as they are)."""
    return _json(["EVENT", msgspec.Raw(raw)])


def req(subscription_id: str, filters: list[dict[str, Any]]) -> str:
    return _json(["REQ", subscription_id, *filters])


def close(subscription_id: str) -> str:
    return _json(["CLOSE", subscription_id])


def relay_event(subscription_id: str, raw: bytes) -> str:
    return _json(["EVENT", subscription_id, msgspec.Raw(raw)])


def ok(event_id: str, accepted: bool, message: str) -> str:
    return _json(["OK", event_id, accepted, message])


def eose(subscription_id: str) -> str:
    return _json(["EOSE", subscription_id])


def closed(subscription_id: str, message: str) -> str:
    return _json(["CLOSED", subscription_id, message])


def notice(message: str) -> str:
    return _json(["NOTICE", message])


def auth(challenge: str) -> str:
    """Relay AUTH (NIP-42): the challenge a client signs."""
    return _json(["AUTH", challenge])


def client_auth(raw: bytes) -> str:
    """Client AUTH (NIP-42): the signed kind-22242 event."""
    return _json(["AUTH", msgspec.Raw(raw)])
