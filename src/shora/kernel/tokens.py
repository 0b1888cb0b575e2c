"""Text forms of an invitation and of the join request sent back in reply.

Both travel out of band (read aloud, pasted in a messenger, shown as a QR code that
shora.ui.qr draws), so both are armored the same way: a version byte, the msgpack
body, and a 4-byte checksum (the first bytes of sha256 over the rest), all in unpadded
upper-case base32. Base32 survives any messenger and can be dictated; the checksum catches
typos before anything tries to decode the body.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from shora.errors import BadSignature, InvalidInput, MalformedEvent, OversizedEvent
from shora.i18n import N_, _, digits, normalize_persian
from shora.kernel import DECODE_ERRORS, crypto

ARMOR_VERSION = 1
CHECKSUM_LEN = 4
MAX_TEXT_CHARS = 4096  # invitations and join requests
MAX_JOIN_REQUEST_BYTES = 1024
MAX_REACH = 8
MAX_REACH_CHARS = 200
INVITE_PREFIX = "shora:invite/"
JOIN_PREFIX = "shora:join/"
INVITE_ID_DOMAIN = b"shora/invite/v1"
JOIN_DOMAIN = b"shora/join/v1"
RECOVER_PREFIX = "shora:recover/"
RECOVER_DOMAIN = b"shora/recover/v1"
MAX_CLAIM_CHARS = 80

Bytes16 = Annotated[bytes, msgspec.Meta(min_length=16, max_length=16)]
Bytes32 = Annotated[bytes, msgspec.Meta(min_length=32, max_length=32)]
Bytes64 = Annotated[bytes, msgspec.Meta(min_length=64, max_length=64)]
UnixTime = Annotated[int, msgspec.Meta(ge=0, lt=2**40)]
Reach = Annotated[str, msgspec.Meta(max_length=MAX_REACH_CHARS)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Invitation(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    council: Bytes32
    secret: Bytes32  # one-time; whoever holds it may ask to join
    expires: UnixTime
    reach: Annotated[list[Reach], msgspec.Meta(max_length=MAX_REACH)]


class JoinRequestPayload(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    v: Literal[1]
    council: Bytes32
    invite_id: Bytes16
    sign_pk: Bytes32
    kx_pk: Bytes32
    name: Name
    time: UnixTime
    proof: Bytes32


class _SignedJoin(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    payload: bytes
    signature: Bytes64


_encoder = msgspec.msgpack.Encoder()
_T = TypeVar("_T")
_DECODERS: dict[type[Any], msgspec.msgpack.Decoder[Any]] = {}


def decoder(schema: type[_T]) -> msgspec.msgpack.Decoder[_T]:
    """The msgpack decoder of `schema`, made on first use: made at import, the
    decoders of invitations, join and recovery requests and mandates cost every
    command's start, which reads none."""
    found = _DECODERS.get(schema)
    if found is None:
        found = _DECODERS[schema] = msgspec.msgpack.Decoder(schema)
    return found


# Phone keyboards set to Persian or Arabic type these digits; base32 only uses 2-7,
# the others are mapped too so the error is "not valid base32" rather than surprising.
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")

# What each armored text is called (the `what` its readers pass), for the catalogue.
TEXT_NAMES = (
    N_("invitation"),
    N_("join request"),
    N_("mandate"),
    N_("revocation"),
    N_("recovery request"),
    N_("backup share"),
)


class UnreadableText(InvalidInput):
    """Text that is no readable invitation, join request or credential.

    The message is in the current language; `english` keeps it in English, for code
    that sorts these errors by their words (the web's join pages).
    """

    def __init__(self, msgid: str, what: str = "", **values: int | str) -> None:
        self.english = msgid.format(what=what, **values)
        shown = {k: digits(str(v)) if isinstance(v, int) else v for k, v in values.items()}
        super().__init__(_(msgid).format(what=_(what) if what else what, **shown))


# --- shared armor ----------------------------------------------------------------


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def _armor(body: bytes) -> str:
    framed = bytes([ARMOR_VERSION]) + body
    return _b32(framed + crypto.sha256(framed)[:CHECKSUM_LEN])


def _dearmor(text: str, prefix: str, what: str, max_chars: int = MAX_TEXT_CHARS) -> bytes:
    """Undo _armor on text typed or pasted by a person; raise InvalidInput if it is bad."""
    if len(text) > max_chars:
        raise UnreadableText(N_("{what} is too long"), what)
    compact = "".join(text.split()).translate(_DIGITS)
    # upper() would turn some non-ASCII letters (ß, ﬀ) into valid base32 letters.
    if not compact.isascii():
        raise UnreadableText(N_("{what} is not valid base32"), what)
    compact = compact.upper()
    if compact.startswith(prefix.upper()):
        compact = compact[len(prefix) :]
    elif compact.startswith("SHORA:"):
        raise UnreadableText(N_("this is not a shora {what}"), what)
    compact = compact.replace("-", "")
    if not compact:
        raise UnreadableText(N_("{what} is empty"), what)
    try:
        raw = base64.b32decode(compact + "=" * (-len(compact) % 8))
    except (binascii.Error, ValueError) as exc:
        raise UnreadableText(N_("{what} is not valid base32"), what) from exc
    # The decoder ignores stray low bits in the last character; a typo there would
    # slip past the checksum, so insist on the one canonical spelling.
    if _b32(raw) != compact:
        raise UnreadableText(N_("{what} is not valid base32"), what)
    if len(raw) <= 1 + CHECKSUM_LEN:
        raise UnreadableText(N_("{what} is malformed: too short"), what)
    framed, checksum = raw[:-CHECKSUM_LEN], raw[-CHECKSUM_LEN:]
    if not crypto.equal(crypto.sha256(framed)[:CHECKSUM_LEN], checksum):
        raise UnreadableText(N_("checksum does not match: check for a typo"))
    if framed[0] != ARMOR_VERSION:
        raise UnreadableText(N_("unsupported {what} version {version}"), what, version=framed[0])
    return framed[1:]


def armor(body: bytes, prefix: str) -> str:
    """Any small credential as text: prefix + base32 with a version and a checksum."""
    return prefix + _armor(body)


def dearmor(text: str, prefix: str, what: str, max_chars: int) -> bytes:
    """Undo `armor`; raise InvalidInput (with `what` in the message) if the text is bad."""
    return _dearmor(text, prefix, what, max_chars)


# --- invitations -------------------------------------------------------------------


def invite_id(secret: bytes) -> bytes:
    """The public name of an invitation: lets the inviter find the secret without revealing it."""
    if len(secret) != 32:
        raise InvalidInput(_("invitation secret must be 32 bytes"))
    return crypto.sha256(INVITE_ID_DOMAIN + secret)[:16]


def _encode_valid(obj: msgspec.Struct, decoder: msgspec.msgpack.Decoder[Any], what: str) -> bytes:
    """Encode obj, refusing values its own schema would reject on the other side."""
    data = _encoder.encode(obj)
    try:
        decoder.decode(data)
    except DECODE_ERRORS as exc:
        raise UnreadableText(N_("{what} is malformed: {reason}"), what, reason=str(exc)) from exc
    return data


def _invitation_b32(inv: Invitation) -> str:
    text = _armor(_encode_valid(inv, decoder(Invitation), "invitation"))
    if len(text) + len(text) // 5 > MAX_TEXT_CHARS:
        raise InvalidInput(_("invitation is too long to share as text"))
    return text


def invitation_text(inv: Invitation) -> str:
    """The invitation in blocks of five letters, e.g. "ABCDE-FGHIJ-...", to read aloud."""
    text = _invitation_b32(inv)
    return "-".join(text[i : i + 5] for i in range(0, len(text), 5))


def invitation_uri(inv: Invitation) -> str:
    return INVITE_PREFIX + _invitation_b32(inv)


def parse_invitation(text: str) -> Invitation:
    """Read an invitation as typed, pasted or scanned; raise InvalidInput if it is bad."""
    body = _dearmor(text, INVITE_PREFIX, "invitation")
    try:
        return decoder(Invitation).decode(body)
    except DECODE_ERRORS as exc:
        raise UnreadableText(
            N_("{what} is malformed: {reason}"), "invitation", reason=str(exc)
        ) from exc


# --- join requests -------------------------------------------------------------------


def _join_proof(secret: bytes, council: bytes, sign_pk: bytes, kx_pk: bytes) -> bytes:
    return crypto.keyed_hash(secret, JOIN_DOMAIN + council + sign_pk + kx_pk)


def _signed_message(payload_bytes: bytes) -> bytes:
    return JOIN_DOMAIN + b"\x00" + payload_bytes


def make_join_request(
    inv: Invitation, sign_pk: bytes, sign_sk: bytes, kx_pk: bytes, name: str, now: int
) -> bytes:
    """Ask to join the council of inv under the pseudonym name; return the signed bytes."""
    if not name.strip():
        raise InvalidInput(_("name must not be empty"))
    if len(sign_sk) != crypto.SIGN_SK_LEN or sign_sk[32:] != sign_pk:
        raise InvalidInput(_("signing secret key does not match the public key"))
    payload = JoinRequestPayload(
        v=1,
        council=inv.council,
        invite_id=invite_id(inv.secret),
        sign_pk=sign_pk,
        kx_pk=kx_pk,
        name=name,
        time=now,
        proof=_join_proof(inv.secret, inv.council, sign_pk, kx_pk),
    )
    payload_bytes = _encode_valid(payload, decoder(JoinRequestPayload), "join request")
    signature = crypto.sign(sign_sk, _signed_message(payload_bytes))
    signed = _encoder.encode(_SignedJoin(payload_bytes, signature))
    if len(signed) > MAX_JOIN_REQUEST_BYTES:
        raise InvalidInput(_("join request is too large"))
    return signed


def open_join_request(signed: bytes) -> tuple[JoinRequestPayload, bytes]:
    """Decode and verify a join request; return (payload, request id).

    The signature is checked over the payload bytes as received: re-encoding could
    differ byte for byte from what was signed.
    """
    if len(signed) > MAX_JOIN_REQUEST_BYTES:
        raise OversizedEvent(_("join request is larger than 1 KiB"))
    try:
        outer = decoder(_SignedJoin).decode(signed)
        payload = decoder(JoinRequestPayload).decode(outer.payload)
    except DECODE_ERRORS as exc:
        raise MalformedEvent(
            _("{what} is malformed: {reason}").format(what=_("join request"), reason=exc)
        ) from exc
    if not payload.name.strip():
        raise MalformedEvent(_("join request has an empty name"))
    crypto.verify(payload.sign_pk, _signed_message(outer.payload), outer.signature)
    return payload, crypto.sha256(outer.payload)


def stored_request_id(signed: bytes) -> bytes:
    """The id of a join request read back from this node's own store: it was decoded
    and its signature checked on the way in (`open_join_request`), so only its payload
    is hashed here (a signature check per admission made a council's welcome hints cost
    one Ed25519 verification per member on every import)."""
    return crypto.sha256(decoder(_SignedJoin).decode(signed).payload)


def check_proof(payload: JoinRequestPayload, secret: bytes) -> None:
    """Raise BadSignature unless the request proves knowledge of the invitation secret."""
    if len(secret) != 32 or not crypto.equal(payload.invite_id, invite_id(secret)):
        raise BadSignature(_("join request is not for this invitation"))
    expected = _join_proof(secret, payload.council, payload.sign_pk, payload.kx_pk)
    if not crypto.equal(expected, payload.proof):
        raise BadSignature(_("join request proof does not match the invitation"))


def join_request_text(signed: bytes) -> str:
    if len(signed) > MAX_JOIN_REQUEST_BYTES:
        raise InvalidInput(_("join request is larger than 1 KiB"))
    return JOIN_PREFIX + _armor(signed)


def parse_join_request_text(text: str) -> bytes:
    """Return the signed join request bytes; open them with open_join_request."""
    return _dearmor(text, JOIN_PREFIX, "join request")


# --- recovery requests ---------------------------------------------------------------


class RecoveryRequestPayload(
    msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True
):
    """A person asking to take their own place again under a new key (docs/protocol.md
    §7.1): `claim` is who they were, as they remember it (a name or a key's first digits)."""

    v: Literal[1]
    council: Bytes32
    sign_pk: Bytes32
    kx_pk: Bytes32
    claim: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CLAIM_CHARS)]
    time: UnixTime


def make_recovery_request(
    council: bytes, sign_pk: bytes, sign_sk: bytes, kx_pk: bytes, claim: str, now: int
) -> bytes:
    """Ask to take the place of the member `claim` names, under a new key; signed bytes."""
    claim = claim.strip()
    if not claim:
        raise InvalidInput(_("say which member you were: their name or their key"))
    if len(sign_sk) != crypto.SIGN_SK_LEN or sign_sk[32:] != sign_pk:
        raise InvalidInput(_("signing secret key does not match the public key"))
    payload = RecoveryRequestPayload(1, council, sign_pk, kx_pk, claim, now)
    payload_bytes = _encode_valid(payload, decoder(RecoveryRequestPayload), "recovery request")
    signature = crypto.sign(sign_sk, RECOVER_DOMAIN + b"\x00" + payload_bytes)
    signed = _encoder.encode(_SignedJoin(payload_bytes, signature))
    if len(signed) > MAX_JOIN_REQUEST_BYTES:
        raise InvalidInput(_("recovery request is too large"))
    return signed


def open_recovery_request(signed: bytes) -> tuple[RecoveryRequestPayload, bytes]:
    """Decode and verify a recovery request; return (payload, request id), the id
    H(payload bytes as received)."""
    if len(signed) > MAX_JOIN_REQUEST_BYTES:
        raise OversizedEvent(_("recovery request is larger than 1 KiB"))
    try:
        outer = decoder(_SignedJoin).decode(signed)
        payload = decoder(RecoveryRequestPayload).decode(outer.payload)
    except DECODE_ERRORS as exc:
        raise MalformedEvent(
            _("{what} is malformed: {reason}").format(what=_("recovery request"), reason=exc)
        ) from exc
    if not payload.claim.strip():
        raise MalformedEvent(_("recovery request names nobody"))
    crypto.verify(payload.sign_pk, RECOVER_DOMAIN + b"\x00" + outer.payload, outer.signature)
    return payload, crypto.sha256(outer.payload)


def recovery_request_text(signed: bytes) -> str:
    if len(signed) > MAX_JOIN_REQUEST_BYTES:
        raise InvalidInput(_("recovery request is larger than 1 KiB"))
    return RECOVER_PREFIX + _armor(signed)


def parse_recovery_request_text(text: str) -> bytes:
    """Return the signed recovery request bytes; open them with open_recovery_request."""
    return _dearmor(text, RECOVER_PREFIX, "recovery request")


def claim_names(claim: str, key: bytes, name: str) -> bool:
    """Whether a recovery request's claim names this member: their name (Persian letters
    normalised, case ignored) or at least 6 leading hex digits of their key."""
    wanted = normalize_persian(claim.strip()).casefold()
    if wanted == normalize_persian(name).casefold():
        return True
    return len(wanted) >= 6 and key.hex().startswith(wanted)
