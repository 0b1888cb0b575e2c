"""Content only some members can read: sealed to their X25519 keys inside an event that
every member of the epoch can decrypt. See docs/security.md, "Restricted content".

An event is encrypted under the council's epoch key, which every member holds. For
content meant for a few (a need only coordinators may see, a private note for the
people handling a need, a skill shown to coordinators only), the body carries a
`Sealed` instead of the content:

* a random 32-byte content key;
* the content, XChaCha20-Poly1305 under that key, with associated data binding it to
  its purpose, council and author (so it cannot be moved into another event);
* one libsodium sealed box of the content key per recipient, to the recipient's X25519
  key as the council state knows it (``members[key].kx``).

Who is a recipient is decided by the writer, from the council state it sees: the author
always, plus the holders of a role (`audience`). Members who are not recipients store and
sync the ciphertext and learn only who the recipients are, the author, and the size.

Typical use::

    sealed = restricted.seal_for(node, council, "coordinators", plaintext, b"aid.need")
    ...
    plain = restricted.open_for_me(node, council, author, sealed, b"aid.need")  # or None
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated

import msgspec

from shora.errors import InvalidInput, NotFound
from shora.i18n import _
from shora.kernel import crypto
from shora.kernel.core import NodeCore
from shora.kernel.events import Bytes32
from shora.kernel.membership import CouncilState

if TYPE_CHECKING:
    from shora.node import Node

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


# --- on a node -------------------------------------------------------------------------


def seal_for(
    node: Node,
    council: bytes,
    audience: str,
    plaintext: bytes,
    purpose: bytes,
    extra: Iterable[bytes] = (),
) -> Sealed:
    """Seal content written by this node's member to an audience of the council (as the
    council state stands now), the author included."""
    me = my_key(node, council)
    state = node.ingestor.projection.final_state(council)
    recipients = audience_members(state, audience, me, int(node.now() * 1000), extra)
    return seal(recipients, plaintext, purpose, council, me)


def my_key(node: Node, council: bytes) -> bytes:
    me = node.store.one("SELECT sign_pk FROM identities WHERE council=?", (council,))
    if me is None:
        raise NotFound(_("this profile has no identity in that council"))
    return bytes(me)


class Opener:
    """Opens sealed content for this node's member of one council; the secret key is
    unsealed once per opener, and kept only as long as the opener."""

    def __init__(self, node: Node, council: bytes) -> None:
        self.council = council
        rows = node.store.rows(
            "SELECT sign_pk, kx_pk, kx_sk FROM identities WHERE council=?", (council,)
        )
        self.member: bytes | None = None
        self._kx: tuple[bytes, bytes] | None = None
        if rows:
            sign_pk, kx_pk, sealed_sk = rows[0]
            self.member = bytes(sign_pk)
            self._kx = (bytes(kx_pk), node.ingestor.unseal_secret(bytes(sealed_sk)))

    def open(self, sealed: Sealed, purpose: bytes, author: bytes) -> bytes | None:
        if self.member is None or self._kx is None:
            return None
        return open_sealed(sealed, self.member, *self._kx, purpose, self.council, author)


def open_for_me(
    node: Node, council: bytes, author: bytes, sealed: Sealed, purpose: bytes
) -> bytes | None:
    """Open content sealed by `author`, if this node's member is a recipient."""
    return Opener(node, council).open(sealed, purpose, author)


class Restricted:
    """Content only some members can read."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core
