"""The event kinds of federation. See docs/federation.md.

In a base council (content): a delegate's request for a mandate, members'
signatures over it and over a revocation, and notices copied down from a
federation. In a federation: `mandate.end` (state: a recall or an expired mandate
ends a seat) and the upward and ratification flows (content).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from shora.domain.federation.mandates import Bytes64
from shora.kernel.events import Bytes32, register_kind
from shora.kernel.kinds import MAX_MANDATE_BYTES

Payload = Annotated[bytes, msgspec.Meta(max_length=MAX_MANDATE_BYTES)]
Title = Annotated[str, msgspec.Meta(max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=20_000)]
Count = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]


class MandateRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A delegate asks their base council to sign a mandate (`payload`)."""

    payload: Payload  # mandates.Mandate, as encoded
    federation_name: Title = ""
    instructions_proposal: Bytes32 | None = None  # a passed proposal with the same text


class MandateSign(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    request: Bytes32  # the mandate.request event
    sig: Bytes64  # the author's signature over the payload


class RevokeSign(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    mandate: Bytes32  # the mandate's id
    payload: Payload  # mandates.Revocation, as encoded (the same bytes on every node)
    sig: Bytes64


class Notice(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Something a federation said, copied into a base council by its delegate."""

    federation: Bytes32
    federation_name: Title
    kind: Literal["alert", "decision", "flag", "ratify"]
    title: Title
    text: Text
    source: Bytes32  # the event in the federation
    proposal: Bytes32 | None = None  # "ratify": the base council's own vote on it


class MandateEnd(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Ends a delegate's seat: by a revocation credential, or (without) at its end."""

    member: Bytes32
    new_epoch: Bytes32
    revocation: Payload | None = None  # a mandates.Credential over a Revocation


class Summary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    base: Bytes32
    summary: Payload  # the base council's de-identified summary, msgpack


class RatifyRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    proposal: Bytes32  # a federation proposal to put to the member councils


class Ratification(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    proposal: Bytes32
    base: Bytes32
    yes: Count
    no: Count
    members: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]  # the council's size


def register() -> None:
    """Register these kinds with the kernel: shora.node calls it once, from its
    KIND_MODULES; importing this module registers nothing."""
    register_kind("mandate.request", MandateRequest)
    register_kind("mandate.sign", MandateSign, ref=lambda body: body.request)
    register_kind("mandate.revoke_sign", RevokeSign, ref=lambda body: body.mandate)
    register_kind("federation.notice", Notice, ref=lambda body: body.source)
    register_kind("federation.summary", Summary, ref=lambda body: body.base)
    register_kind("federation.ratify", RatifyRequest, ref=lambda body: body.proposal)
    register_kind("federation.ratification", Ratification, ref=lambda body: body.proposal)
