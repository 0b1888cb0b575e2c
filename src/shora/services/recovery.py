"""Getting back in: taking one's own place in a council again under a new key, after a
wipe, a lost phone or a new device (docs/protocol.md §9.1; the pages: docs/web.md,
"Getting back in").

The person's new profile makes a recovery request naming the council and who they were
(a name or the first digits of the old key, as they remember it); it travels like a
join request (text, link, QR code). Members open it, see who asks to replace whom, and
vouch; the member whose vouch completes the council's recovery rule writes
`member.recover`, which passes the place (name, roles) to the new key, ends the old key
as a removal would, starts a new key epoch, and sends the new key the key ring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import msgspec

from shora.errors import InvalidInput, NotAllowed, NotFound, RemoteError
from shora.i18n import N_, _, digits, normalize_persian
from shora.kernel import keys, kinds, tokens
from shora.kernel.core import NodeCore
from shora.kernel.events import LEAF_KINDS
from shora.kernel.membership import recovery_threshold

# For the interfaces: the text forms of a recovery request.
from shora.kernel.tokens import RecoveryRequestPayload as RecoveryRequestPayload
from shora.kernel.tokens import open_recovery_request as open_recovery_request
from shora.kernel.tokens import parse_recovery_request_text as parse_recovery_request_text
from shora.kernel.tokens import recovery_request_text as recovery_request_text
from shora.services.joining import LINK_BASE, MAX_LINK_CHARS
from shora.services.membership import ALREADY_JOINED, AdmitResult

NOBODY_CLAIMED = N_("no active member of this council is {claim}")
SEVERAL_CLAIMED = N_("{claim} names {n} members; ask for the first digits of the old key")


class Keys(Protocol):
    """What recovery needs of the membership service: ending with a new epoch, welcomes."""

    def end_with_new_epoch(
        self, council: bytes, kind: str, body: Callable[[bytes], msgspec.Struct]
    ) -> bytes: ...

    def welcome(self, council: bytes, kx_pk: bytes, request_id: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class RecoveryRequest:
    """A recovery request as a voucher sees it: who asks to replace whom."""

    council: bytes
    claim: str  # who the person says they were, as they typed it
    new_key: bytes
    time: int  # unix seconds, as the request claims
    old_key: bytes
    name: str  # the member whose place it asks for
    roles: tuple[str, ...]
    supporters: int  # members backing it so far (not counting you)
    needed: int
    vouched: bool  # you already vouched for it
    mine: bool  # the request asks for your own place


def recovery_request_link(signed: bytes) -> str:
    """The recovery request as a link to a member's page (token in the fragment)."""
    return f"{LINK_BASE}/recover#{tokens.recovery_request_text(signed)}"


def read_recovery_request(text: str) -> bytes:
    """A recovery request as a link, a fragment or text; InvalidInput if it is bad."""
    if len(text) > MAX_LINK_CHARS:
        raise InvalidInput(_("That text is too long to be a recovery request."))
    text = text.strip()
    if "#" in text:
        text = text.split("#", 1)[1]
    return tokens.parse_recovery_request_text(text.partition("?")[0])


class Recovery:
    """Recovery requests: making one on a new profile, and vouching for one."""

    def __init__(self, core: NodeCore, membership: Keys) -> None:
        self.core = core
        self.membership = membership

    # --- on the new profile --------------------------------------------------------------

    def ask(self, council: bytes, claim: str) -> bytes:
        """A new identity for the council and a signed request to take the place of the
        member `claim` names; the profile waits for the council's keys as a joiner does."""
        claim = normalize_persian(claim)
        if self.core.store.councils.exists(council):
            raise InvalidInput(_(ALREADY_JOINED))
        now = int(self.core.now())
        with self.core.store.transaction():
            me = self.core.new_identity(council, claim[:64] or "?")
            request = tokens.make_recovery_request(
                council, me.sign_pk, me.sign_sk, me.kx_pk, claim, now
            )
            # The welcome answers the new key's welcome back (docs/protocol.md §9.1): the
            # hint every replica can attribute once the new key is a member.
            self.core.store.councils.add(
                council, "joining", "", now, None, request, keys.return_id(me.sign_pk)
            )
        return request

    def pending(self, council: bytes) -> bytes | None:
        """This profile's recovery request to a council it waits to re-enter, if any."""
        raw = self.core.store.councils.pending_request(council)
        if raw is None:
            return None
        try:
            tokens.open_recovery_request(raw)
        except RemoteError:  # a join request: the join pages show it
            return None
        return raw

    # --- on a member's profile -----------------------------------------------------------

    def open(self, signed: bytes) -> RecoveryRequest:
        """Who asks to replace whom, and how far the council's rule is met."""
        payload, _request_id = tokens.open_recovery_request(signed)
        council = payload.council
        me = self.core.identity(council).sign_pk  # NotFound: not one of our councils
        final = self.core.state(council)
        old = self.claimed(council, payload.claim)
        member = final.members[old]
        if payload.sign_pk in final.members:
            raise InvalidInput(_("that new key is already a member of this council"))
        backers = final.vouches.get(("recover", old + payload.sign_pk), frozenset())
        now_ms = int(self.core.now() * 1000)
        return RecoveryRequest(
            council,
            payload.claim,
            payload.sign_pk,
            payload.time,
            old,
            member.name,
            final.roles_of(old, now_ms),
            len(backers),
            recovery_threshold(final),
            me in backers,
            me == old,
        )

    def vouch(self, signed: bytes, reason: str = "") -> AdmitResult:
        """Vouch that the person asking is the member they say; once enough members have,
        their place passes to the new key (and the new key is sent the council's keys)."""
        asked = self.open(signed)
        council = asked.council
        final = self.core.state(council)
        if final.rules.federation:
            raise NotAllowed(
                _("a federation seats a delegate on a new mandate: recovery is for councils")
            )
        if asked.mine:
            raise NotAllowed(_("you cannot vouch for someone to take your own place"))
        supporters = asked.supporters + (0 if asked.vouched else 1)
        if supporters < asked.needed:
            if not asked.vouched:
                body = kinds.Vouch("recover", asked.old_key, signed, reason)
                self.core.append(council, "member.vouch", body)
            return AdmitResult(False, supporters, asked.needed, asked.name)
        payload, _request_id = tokens.open_recovery_request(signed)
        # The old key's leaves are in no event's causal past: listing them keeps them
        # the member's (their offers, commitments, check-ins), as the council saw them.
        leaves = sorted(
            bytes(eid)
            for eid, kind, _mset in self.core.store.events.of_author(council, asked.old_key)
            if kind in LEAF_KINDS
        )[: kinds.MAX_ACKNOWLEDGED]
        self.membership.end_with_new_epoch(
            council,
            "member.recover",
            lambda epoch: kinds.Recover(signed, asked.old_key, epoch, leaves, reason),
        )
        self.membership.welcome(council, payload.kx_pk, keys.return_id(payload.sign_pk))
        return AdmitResult(True, supporters, asked.needed, asked.name)

    def claimed(self, council: bytes, claim: str) -> bytes:
        """The active member a claim names (their name, or their key's first digits)."""
        final = self.core.state(council)
        found = [
            key
            for key in final.active_members()
            if tokens.claim_names(claim, key, final.members[key].name)
        ]
        if not found:
            raise NotFound(_(NOBODY_CLAIMED).format(claim=repr(claim)))
        if len(found) > 1:
            raise InvalidInput(
                _(SEVERAL_CLAIMED).format(claim=repr(claim), n=digits(str(len(found))))
            )
        return found[0]
