"""Mandates and revocations: credentials a federation verifies without reading the
base council's events. See docs/federation.md §1.

A credential is a payload (msgpack, bounded, typed) and the Ed25519 signatures of
a majority of the base council's roster over it. Pure: no store, no clock.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from shora.errors import BadSignature, InvalidInput, MalformedEvent, OversizedEvent
from shora.i18n import _
from shora.kernel import DECODE_ERRORS, crypto, tokens
from shora.kernel.kinds import MAX_MANDATE_BYTES

MAX_ROSTER = 150
MAX_ITEMS = 50
MANDATE_DOMAIN = b"shora/mandate/v1\x00"
REVOCATION_DOMAIN = b"shora/revocation/v1\x00"
MANDATE_PREFIX = "shora:mandate/"
REVOKE_PREFIX = "shora:revoke/"
MAX_CREDENTIAL_TEXT = 2 * MAX_MANDATE_BYTES  # base32 grows 8/5, plus grouping

Bytes16 = Annotated[bytes, msgspec.Meta(min_length=16, max_length=16)]
Bytes32 = Annotated[bytes, msgspec.Meta(min_length=32, max_length=32)]
Bytes64 = Annotated[bytes, msgspec.Meta(min_length=64, max_length=64)]
UnixTime = Annotated[int, msgspec.Meta(ge=0, lt=2**40)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Item(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    item: Short  # an agenda item, matched against a federation proposal's title
    vote: Short  # how to vote: yes, no, abstain, or an option's name


class Instructions(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(max_length=20_000)] = ""
    items: Annotated[list[Item], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(
        default_factory=list
    )


class Roster(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    keys: Annotated[list[Bytes32], msgspec.Meta(min_length=1, max_length=MAX_ROSTER)]
    threshold: Annotated[int, msgspec.Meta(ge=1, le=MAX_ROSTER)]


class Mandate(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    v: int
    federation: Bytes32
    base: Bytes32
    delegate: Bytes32  # the delegate's identity key in the federation
    start: UnixTime
    end: UnixTime
    instructions: Instructions
    roster: Roster  # the base council's roster as it signs this mandate
    nonce: Bytes16


class Revocation(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    v: int
    mandate: Bytes32  # the mandate's id
    base: Bytes32
    federation: Bytes32
    reason: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class Signature(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    key: Bytes32
    sig: Bytes64


class Credential(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    payload: Annotated[bytes, msgspec.Meta(max_length=MAX_MANDATE_BYTES)]
    signatures: Annotated[list[Signature], msgspec.Meta(max_length=MAX_ROSTER)]


_encoder = msgspec.msgpack.Encoder()


def make_roster(keys: list[bytes]) -> Roster:
    """A roster of these keys with a majority threshold."""
    ordered = sorted(set(keys))
    if not ordered or len(ordered) > MAX_ROSTER:
        raise InvalidInput(_("a roster has 1 to {n} members").format(n=MAX_ROSTER))
    return Roster(ordered, len(ordered) // 2 + 1)


SIGNATURE_BYTES = 100  # one msgpack-framed Signature, rounded up


def encode(payload: Mandate | Revocation) -> bytes:
    """The payload's bytes, if it and the signatures it needs fit one credential."""
    data = _encoder.encode(payload)
    needed = payload.roster.threshold if isinstance(payload, Mandate) else MAX_ROSTER // 2 + 1
    if len(data) + needed * SIGNATURE_BYTES + 16 > MAX_MANDATE_BYTES:
        raise InvalidInput(_("the mandate is too large: shorten the instructions"))
    return data


def payload_id(payload: bytes) -> bytes:
    return crypto.sha256(payload)


def _domain(payload: Mandate | Revocation) -> bytes:
    return MANDATE_DOMAIN if isinstance(payload, Mandate) else REVOCATION_DOMAIN


def sign_share(sign_sk: bytes, payload: bytes, is_mandate: bool) -> bytes:
    """One member's signature over a mandate's or revocation's bytes."""
    return crypto.sign(sign_sk, (MANDATE_DOMAIN if is_mandate else REVOCATION_DOMAIN) + payload)


def decode_mandate(payload: bytes) -> Mandate:
    try:
        mandate = tokens.decoder(Mandate).decode(payload)
    except DECODE_ERRORS as exc:
        raise MalformedEvent(f"mandate is malformed: {exc}") from exc
    if mandate.v != 1 or mandate.end <= mandate.start:
        raise MalformedEvent("mandate has an unknown version or an empty term")
    if mandate.roster.keys != sorted(set(mandate.roster.keys)):
        raise MalformedEvent("mandate's roster is not sorted or repeats a key")
    if mandate.roster.threshold != len(mandate.roster.keys) // 2 + 1:
        raise MalformedEvent("mandate's roster threshold is not a majority")
    return mandate


def decode_revocation(payload: bytes) -> Revocation:
    try:
        revocation = tokens.decoder(Revocation).decode(payload)
    except DECODE_ERRORS as exc:
        raise MalformedEvent(f"revocation is malformed: {exc}") from exc
    if revocation.v != 1:
        raise MalformedEvent("revocation has an unknown version")
    return revocation


def decode_credential(raw: bytes) -> Credential:
    if len(raw) > MAX_MANDATE_BYTES:
        raise OversizedEvent("credential is larger than 32 KiB")
    try:
        return tokens.decoder(Credential).decode(raw)
    except DECODE_ERRORS as exc:
        raise MalformedEvent(f"credential is malformed: {exc}") from exc


def check_signatures(credential: Credential, roster: Roster, is_mandate: bool) -> None:
    """Raise BadSignature unless a majority of the roster signed the payload."""
    allowed = set(roster.keys)
    domain = MANDATE_DOMAIN if is_mandate else REVOCATION_DOMAIN
    signers: set[bytes] = set()
    for s in credential.signatures:
        if s.key not in allowed or s.key in signers:
            continue
        crypto.verify(s.key, domain + credential.payload, s.sig)
        signers.add(s.key)
    if len(signers) < roster.threshold:
        raise BadSignature(
            f"signed by {len(signers)} of the {roster.threshold} roster members it needs"
        )


def assemble(payload: bytes, shares: dict[bytes, bytes]) -> bytes:
    """A credential from a payload and signatures by key (sorted, for equal bytes)."""
    return _encoder.encode(
        Credential(payload, [Signature(k, shares[k]) for k in sorted(shares)][:MAX_ROSTER])
    )


def to_text(credential: bytes, is_mandate: bool) -> str:
    return tokens.armor(credential, MANDATE_PREFIX if is_mandate else REVOKE_PREFIX)


def from_text(text: str, is_mandate: bool) -> bytes:
    """Credential bytes from text; raise InvalidInput if it is not one of this kind."""
    prefix = MANDATE_PREFIX if is_mandate else REVOKE_PREFIX
    what = "mandate" if is_mandate else "revocation"
    return tokens.dearmor(text.strip(), prefix, what, MAX_CREDENTIAL_TEXT)


def render_instructions(instructions: Instructions) -> str:
    """The canonical text of instructions, as a base council votes on them."""
    lines = [instructions.text.strip()]
    lines += [f"- {i.item.strip()} = {i.vote.strip()}" for i in instructions.items]
    return "\n".join(line for line in lines if line)


def parse_item(text: str) -> Item:
    item, sep, vote = text.partition("=")
    if not sep or not item.strip() or not vote.strip():
        raise InvalidInput(_("write an instruction as ITEM=VOTE"))
    return Item(item.strip()[:200], vote.strip()[:200])
