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

    sealed = node.restricted.seal_for(council, "coordinators", plaintext, b"aid.need")
    ...
    plain = node.restricted.open_for_me(council, author, sealed, b"aid.need")  # or None
"""

from __future__ import annotations

from collections.abc import Iterable

from shora.domain.aid.restricted import AUDIENCE_PATTERN as AUDIENCE_PATTERN
from shora.domain.aid.restricted import BOX_LEN as BOX_LEN
from shora.domain.aid.restricted import CONTEXT as CONTEXT
from shora.domain.aid.restricted import COORDINATOR as COORDINATOR
from shora.domain.aid.restricted import MAX_RECIPIENTS as MAX_RECIPIENTS
from shora.domain.aid.restricted import MAX_SEALED_BYTES as MAX_SEALED_BYTES
from shora.domain.aid.restricted import Audience as Audience
from shora.domain.aid.restricted import Box as Box
from shora.domain.aid.restricted import Opener as Opener
from shora.domain.aid.restricted import Sealed as Sealed
from shora.domain.aid.restricted import audience_members as audience_members
from shora.domain.aid.restricted import audience_role as audience_role
from shora.domain.aid.restricted import open_sealed as open_sealed
from shora.domain.aid.restricted import parse_audience as parse_audience
from shora.domain.aid.restricted import seal as seal
from shora.errors import NotAllowed, NotFound
from shora.i18n import _
from shora.kernel.core import NodeCore


class Restricted:
    """Content only some members can read, sealed and opened for this profile's member
    of a council; and who that member is."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core

    def my_key(self, council: bytes) -> bytes:
        """This profile's member key in that council (NotFound if it has none)."""
        me = self.core.me(council)
        if me is None:
            raise NotFound(_("this profile has no identity in that council"))
        return me

    def require_member(self, council: bytes) -> bytes:
        """This profile's member key, if it is an active member of that council."""
        me = self.my_key(council)
        if not self.core.state(council).is_active(me):
            raise NotAllowed(_("you are not a member of this council"))
        return me

    def seal_for(
        self,
        council: bytes,
        audience: str,
        plaintext: bytes,
        purpose: bytes,
        extra: Iterable[bytes] = (),
    ) -> Sealed:
        """Seal content written by this node's member to an audience of the council (as
        the council state stands now), the author included."""
        me = self.my_key(council)
        state = self.core.state(council)
        recipients = audience_members(state, audience, me, int(self.core.now() * 1000), extra)
        return seal(recipients, plaintext, purpose, council, me)

    def opener(self, council: bytes) -> Opener:
        """An opener for this node's member of the council; its secret key is unsealed
        once, and kept only as long as the opener."""
        found = self.core.store.councils.kx_identity(council)
        if found is None:
            return Opener(council, None, None)
        sign_pk, kx_pk, sealed_sk = found
        # The profile's key that unseals it is the ingestor's alone.
        return Opener(council, sign_pk, (kx_pk, self.core.unseal_secret(sealed_sk)))

    def open_for_me(
        self, council: bytes, author: bytes, sealed: Sealed, purpose: bytes
    ) -> bytes | None:
        """Open content sealed by `author`, if this node's member is a recipient."""
        return self.opener(council).open(sealed, purpose, author)
