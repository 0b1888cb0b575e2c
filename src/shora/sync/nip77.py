"""NIP-77: Negentropy messages on a Nostr relay connection, as pure functions.

A NIP-77 session is four JSON arrays on the relay's websocket, Negentropy payloads
hex-encoded (lowercase)::

    ["NEG-OPEN", <subscription id>, <filter>, <initial message hex>]   client -> relay
    ["NEG-MSG", <subscription id>, <message hex>]                      both ways
    ["NEG-CLOSE", <subscription id>]                                   client -> relay
    ["NEG-ERR", <subscription id>, <reason>]                           relay -> client

A reason is NIP-01 style, ``"<code>: <human text>"``; NIP-77 suggests the codes
``blocked`` (query too big) and ``closed`` (session timed out). After a NEG-ERR the
session is closed; a NEG-OPEN for an open subscription id replaces it.

:func:`parse` is bounded and raises only :class:`NegentropyError` on bad input; it
returns None for relay messages that are not NIP-77 (EVENT, OK, NOTICE, ...), so a
carrier can hand every text frame to it first.
"""

from __future__ import annotations

import binascii
from typing import Annotated, Any

import msgspec

from shora.errors import InvalidInput
from shora.sync.negentropy import NegentropyError

MAX_SUBSCRIPTION_ID = 64
"""NIP-01: a subscription id is a non-empty string of at most 64 characters."""
MAX_FRAME_BYTES = 16 * 1024 * 1024
"""Default cap on one NIP-77 JSON text (a full Negentropy IdList of 250,000 ids fits)."""

Filter = dict[str, Annotated[int, msgspec.Meta(ge=0)] | str | list[int | str]]
"""A NIP-01 filter: ids/authors/kinds/#x lists, since/until/limit, search."""

_raw_array = msgspec.json.Decoder(list[msgspec.Raw])
_str = msgspec.json.Decoder(str)
_filter = msgspec.json.Decoder(Filter)
_DECODE_ERRORS = (msgspec.DecodeError, UnicodeError, RecursionError)


class NegOpen(msgspec.Struct, frozen=True):
    subscription_id: str
    filter: Filter
    message: bytes


class NegMsg(msgspec.Struct, frozen=True):
    subscription_id: str
    message: bytes


class NegClose(msgspec.Struct, frozen=True):
    subscription_id: str


class NegErr(msgspec.Struct, frozen=True):
    subscription_id: str
    reason: str

    @property
    def code(self) -> str:
        """The machine-readable prefix of the reason (``blocked``, ``closed``, ...)."""
        return self.reason.split(":", 1)[0].strip()


Nip77Message = NegOpen | NegMsg | NegClose | NegErr


# --- building -----------------------------------------------------------------------


def _check_sub(subscription_id: str) -> str:
    if not isinstance(subscription_id, str) or not 0 < len(subscription_id) <= MAX_SUBSCRIPTION_ID:
        raise InvalidInput(f"a subscription id is 1 to {MAX_SUBSCRIPTION_ID} characters")
    return subscription_id


def encode(message: Nip77Message) -> str:
    """The JSON text of one NIP-77 message."""
    sub = _check_sub(message.subscription_id)
    parts: list[Any]
    if isinstance(message, NegOpen):
        parts = ["NEG-OPEN", sub, message.filter, message.message.hex()]
    elif isinstance(message, NegMsg):
        parts = ["NEG-MSG", sub, message.message.hex()]
    elif isinstance(message, NegClose):
        parts = ["NEG-CLOSE", sub]
    else:
        parts = ["NEG-ERR", sub, message.reason]
    try:
        return msgspec.json.encode(parts).decode()
    except (TypeError, msgspec.EncodeError) as exc:
        raise InvalidInput(f"cannot encode the NIP-77 message: {exc}") from exc


def neg_open(subscription_id: str, filter: Filter, message: bytes) -> str:
    return encode(NegOpen(subscription_id, filter, message))


def neg_msg(subscription_id: str, message: bytes) -> str:
    return encode(NegMsg(subscription_id, message))


def neg_close(subscription_id: str) -> str:
    return encode(NegClose(subscription_id))


def neg_err(subscription_id: str, reason: str) -> str:
    return encode(NegErr(subscription_id, reason))


# --- parsing ------------------------------------------------------------------------


def _decode_str(raw: msgspec.Raw, what: str) -> str:
    try:
        return _str.decode(raw)
    except _DECODE_ERRORS as exc:
        raise NegentropyError(f"NIP-77 {what} must be a string") from exc


def _sub(raw: msgspec.Raw) -> str:
    sub = _decode_str(raw, "subscription id")
    if not 0 < len(sub) <= MAX_SUBSCRIPTION_ID:
        raise NegentropyError(f"NIP-77 subscription id must be 1 to {MAX_SUBSCRIPTION_ID} chars")
    return sub


def _payload(raw: msgspec.Raw) -> bytes:
    # binascii, not a regular expression: a regex over megabytes of hex took hundreds
    # of MB; this takes the output's size, and the frame was size-checked before.
    text = _decode_str(raw, "payload")
    try:
        return binascii.a2b_hex(text)
    except (binascii.Error, ValueError) as exc:
        raise NegentropyError("NIP-77 payload is not hex") from exc


def parse(text: str | bytes, *, max_bytes: int = MAX_FRAME_BYTES) -> Nip77Message | None:
    """Parse one relay-protocol JSON text; None if it is not a NIP-77 message."""
    if len(text) > max_bytes:
        raise NegentropyError(f"message of {len(text)} bytes exceeds {max_bytes}")
    try:
        items = _raw_array.decode(text)
    except _DECODE_ERRORS as exc:
        raise NegentropyError(f"not a Nostr relay-protocol message: {exc}") from exc
    if not items:
        raise NegentropyError("empty relay-protocol message")
    verb = _decode_str(items[0], "message type")
    args = items[1:]
    if verb == "NEG-OPEN":
        if len(args) != 3:
            raise NegentropyError("NEG-OPEN takes a subscription id, a filter and a message")
        try:
            filt = _filter.decode(args[1])
        except _DECODE_ERRORS as exc:
            raise NegentropyError(f"NEG-OPEN filter is not a NIP-01 filter: {exc}") from exc
        return NegOpen(_sub(args[0]), filt, _payload(args[2]))
    if verb == "NEG-MSG":
        if len(args) != 2:
            raise NegentropyError("NEG-MSG takes a subscription id and a message")
        return NegMsg(_sub(args[0]), _payload(args[1]))
    if verb == "NEG-CLOSE":
        if len(args) != 1:
            raise NegentropyError("NEG-CLOSE takes a subscription id")
        return NegClose(_sub(args[0]))
    if verb == "NEG-ERR":
        # Early relays sent a fourth element (a record limit); it is ignored.
        if len(args) < 2:
            raise NegentropyError("NEG-ERR takes a subscription id and a reason")
        return NegErr(_sub(args[0]), _decode_str(args[1], "reason"))
    return None
