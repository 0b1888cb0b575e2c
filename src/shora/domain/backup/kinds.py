"""The event a member leaves their key backup in: the ciphertext and one sealed share
per trusted member. Content, not state: it changes no one's standing."""

from __future__ import annotations

from typing import Annotated

import msgspec

from shora.kernel.backup import MAX_CIPHERTEXT, MAX_TRUSTED
from shora.kernel.events import Bytes32, register_kind


class TrustedShare(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    member: Bytes32
    box: Annotated[bytes, msgspec.Meta(max_length=256)]  # sealed to the member's X25519 key


class Deposit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    threshold: Annotated[int, msgspec.Meta(ge=1, le=MAX_TRUSTED)]
    salt: Annotated[bytes, msgspec.Meta(min_length=16, max_length=16)]
    opslimit: Annotated[int, msgspec.Meta(ge=1, le=2**32)]
    memlimit: Annotated[int, msgspec.Meta(ge=8192, le=2**32)]
    ciphertext: Annotated[bytes, msgspec.Meta(max_length=MAX_CIPHERTEXT)]
    shares: Annotated[list[TrustedShare], msgspec.Meta(min_length=1, max_length=MAX_TRUSTED)]


def register() -> None:
    register_kind("backup.deposit", Deposit)
