"""Content only some members can read, sealed to their X25519 keys: the pure part
(sealing, opening with keys in hand, who an audience is in a council state). The
node's side, which finds this profile's keys, is `shora.services.restricted`; the
construction is described there and in docs/security.md, "Restricted content"."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated

import msgspec

from shora.errors import InvalidInput
from shora.i18n import _
from shora.kernel import crypto
from shora.kernel.events import Bytes32
from shora.kernel.membership import CouncilState

CONTEXT = b"shora/restricted/v1\x00"
MAX_RECIPIENTS = 200
MAX_SEALED_BYTES = 16 * 1024
BOX_LEN = crypto.KEY_LEN + crypto.SEAL_OVERHEAD
COORDINATOR = "coordinator"
# "council" (everyone), "coordinators" (holders of the coordinator role), or
# "role:NAME" (holders of a named role: a sub-committee such as role:medical).
AUDIENCE_PATTERN = r"^(council|coordinators|role:[a-z][a-z0-9_-]{0,31})$"
Audience = Annotated[str, msgspec.Meta(pattern=AUDIENCE_PATTERN)]
_AUDIENCE = re.compile(AUDIENCE_PATTERN)


class Box(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    """The content key sealed to one recipient (member signing key, sealed box)."""

    member: Bytes32
    box: Annotated[bytes, msgspec.Meta(min_length=BOX_LEN, max_length=BOX_LEN)]


class Sealed(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Content readable only by the members named in `boxes`."""

    boxes: Annotated[list[Box], msgspec.Meta(min_length=1, max_length=MAX_RECIPIENTS)]
    ciphertext: Annotated[
        bytes,
        msgspec.Meta(
            min_length=crypto.NONCE_LEN + crypto.AEAD_TAG_LEN, max_length=MAX_SEALED_BYTES
        ),
    ]

    @property
    def recipients(self) -> frozenset[bytes]:
        return frozenset(b.member for b in self.boxes)


def _ad(purpose: bytes, council: bytes, author: bytes) -> bytes:
    return CONTEXT + purpose + b"\x00" + council + author


def parse_audience(text: str) -> str:
    """A visibility as people type it: council, coordinators, or role:NAME."""
    value = text.strip().lower()
    if not _AUDIENCE.fullmatch(value):
        raise InvalidInput(
            _(
                "visibility is council, coordinators or role:NAME (role:medical, say), not {value}"
            ).format(value=text)
        )
    return value


def audience_role(audience: str) -> str | None:
    """The role whose holders an audience names (None for the whole council)."""
    if audience == "council":
        return None
    if audience == "coordinators":
        return COORDINATOR
    return audience.removeprefix("role:")


def audience_members(
    state: CouncilState, audience: str, author: bytes, at_ms: int, extra: Iterable[bytes] = ()
) -> dict[bytes, bytes]:
    """The recipients (member key -> X25519 key) of an audience in a council state:
    the author, the role's holders at `at_ms`, and `extra` members, all active."""
    role = audience_role(audience)
    keys = {author, *extra}
    keys |= state.role_holders(role, at_ms) if role is not None else set(state.active_members())
    return {k: state.members[k].kx for k in sorted(keys) if state.is_active(k)}


def seal(
    recipients: Mapping[bytes, bytes],
    plaintext: bytes,
    purpose: bytes,
    council: bytes,
    author: bytes,
) -> Sealed:
    """Encrypt `plaintext` to the members in `recipients` (member key -> X25519 key)."""
    if not recipients:
        raise InvalidInput(_("there is nobody to seal this to"))
    if len(recipients) > MAX_RECIPIENTS:
        raise InvalidInput(
            _("at most {n} people can be given restricted content").format(n=MAX_RECIPIENTS)
        )
    key = crypto.random_bytes(crypto.KEY_LEN)
    ciphertext = crypto.aead_encrypt(key, plaintext, _ad(purpose, council, author))
    if len(ciphertext) > MAX_SEALED_BYTES:
        raise InvalidInput(_("this is too long to seal"))
    boxes = [Box(member, crypto.seal(kx, key)) for member, kx in sorted(recipients.items())]
    return Sealed(boxes, ciphertext)


def open_sealed(
    sealed: Sealed,
    member: bytes,
    kx_pk: bytes,
    kx_sk: bytes,
    purpose: bytes,
    council: bytes,
    author: bytes,
) -> bytes | None:
    """The plaintext if `member` is a recipient and everything authenticates, else None."""
    for box in sealed.boxes:
        if box.member != member:
            continue
        key = crypto.unseal(kx_pk, kx_sk, box.box)
        if key is None or len(key) != crypto.KEY_LEN:
            return None
        return crypto.aead_decrypt(key, sealed.ciphertext, _ad(purpose, council, author))
    return None


class Opener:
    """Opens sealed content for one member of one council, with its X25519 key pair
    (None: this profile has no identity there, and opens nothing)."""

    def __init__(
        self, council: bytes, member: bytes | None, kx: tuple[bytes, bytes] | None
    ) -> None:
        self.council = council
        self.member = member
        self._kx = kx

    def open(self, sealed: Sealed, purpose: bytes, author: bytes) -> bytes | None:
        if self.member is None or self._kx is None:
            return None
        return open_sealed(sealed, self.member, *self._kx, purpose, self.council, author)
