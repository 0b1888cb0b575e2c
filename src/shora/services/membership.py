"""What members do to membership: invite, join, admit, vouch, remove, leave, and
keeping key epochs where they belong.

Membership works on keys and epochs, below what other capabilities need of a node: it
seals welcomes and grants itself, so it uses the core's identities and epochs
(`core.identity`, `core.writing_epoch`, `core.envelope`, `core.learn_epoch`)."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec

from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import N_, _, normalize_persian
from shora.kernel import crypto, keys, kinds, tokens
from shora.kernel.core import NodeCore
from shora.kernel.events import WELCOME_KIND
from shora.kernel.membership import threshold
from shora.kernel.tokens import Invitation as Invitation  # for the interfaces
from shora.services.rings import Rings

DEFAULT_INVITE_SECONDS = 7 * 24 * 3600
GRANTS_PER_EVENT = 1000  # 24 bytes a box: about 32 kB of envelope
# Refusals of `join` that the join page words its own way (shora.web.areas.joining).
ALREADY_JOINED = N_("this profile already belongs to (or is joining) that council")
INVITATION_EXPIRED = N_("this invitation has expired; ask for a new one")


@dataclass(frozen=True, slots=True)
class AdmitResult:
    admitted: bool
    supporters: int
    needed: int
    name: str


class Membership:
    """Invitations, admissions, removals, leaving, and the council's key epochs."""

    def __init__(self, core: NodeCore, check_emergency_removal: Callable[[bytes], None]) -> None:
        self.core = core
        # Governance's limits on emergency powers: refuses a removal they forbid.
        self.check_emergency_removal = check_emergency_removal
        self.rings = Rings(core)

    # --- invitation, admission, removal ----------------------------------------------

    def invite(
        self, council: bytes, expires_in: int = DEFAULT_INVITE_SECONDS, reach: Iterable[str] = ()
    ) -> tokens.Invitation:
        """A new invitation to the council, valid once, for `expires_in` seconds; `reach`
        says where the newcomer can reach the council (relay addresses)."""
        if expires_in <= 0:
            raise InvalidInput(_("an invitation must expire in the future"))
        secret = crypto.random_bytes(32)
        expires = int(self.core.now()) + expires_in
        self.core.append(council, "invite.create", kinds.InviteCreate(secret, expires))
        return tokens.Invitation(council, secret, expires, list(reach))

    def join(self, invitation: tokens.Invitation, name: str) -> bytes:
        """Prepare to join: a new identity for that council and a signed join request."""
        name = normalize_persian(name)
        if self.core.store.councils.exists(invitation.council):
            raise InvalidInput(_(ALREADY_JOINED))
        if invitation.expires < int(self.core.now()):
            raise InvalidInput(_(INVITATION_EXPIRED))
        with self.core.store.transaction():
            # The new identity's exchange key is only stored: the ingestor opens the welcome.
            me = self.core.new_identity(invitation.council, name)
            request = tokens.make_join_request(
                invitation, me.sign_pk, me.sign_sk, me.kx_pk, name, int(self.core.now())
            )
            _payload, request_id = tokens.open_join_request(request)
            self.core.store.councils.add(
                invitation.council,
                "joining",
                "",
                int(self.core.now()),
                tokens.invitation_uri(invitation),
                request,
                request_id,
            )
        return request

    def admit(self, request: bytes, mandate: bytes | None = None) -> AdmitResult:
        """Vouch for a join request; admit it (and send the welcome) once enough have.
        In a federation the admission carries the delegate's mandate credential."""
        payload, request_id = tokens.open_join_request(request)
        council = payload.council
        self.core.identity(council)
        final = self.core.state(council)
        invite = final.invites.get(payload.invite_id)
        if invite is None:
            raise NotFound(
                _(
                    "this request answers an invitation this council never made "
                    "(or it has not arrived here yet)"
                )
            )
        if invite.used_by is not None:
            raise NotAllowed(_("that invitation has already been used"))
        tokens.check_proof(payload, invite.secret)
        if payload.sign_pk in final.members:
            raise InvalidInput(_("{name} is already a member").format(name=payload.name))
        me = self.core.identity(council).sign_pk
        supporters = final.vouches.get(("admit", request_id), frozenset()) | {me}
        rules = final.rules
        needed = threshold(rules.admission, rules.admission_vouches, final)
        if len(supporters) < needed:
            self.core.append(council, "member.vouch", kinds.Vouch("admit", request_id, request))
            return AdmitResult(False, len(supporters), needed, payload.name)
        self.core.append(council, "member.admit", kinds.Admit(request, mandate))
        self._welcome(council, payload.kx_pk, request_id)
        return AdmitResult(True, len(supporters), needed, payload.name)

    def welcome(self, council: bytes, kx_pk: bytes, request_id: bytes) -> None:
        """Seal every epoch we hold to a key (a recovered member's), outside the history."""
        self._welcome(council, kx_pk, request_id)

    def _welcome(self, council: bytes, kx_pk: bytes, request_id: bytes) -> None:
        """Seal the current epoch, and every one we hold that no ring envelope under it
        carries, to a member, outside the history (kind 4041, docs/protocol.md §6.3)."""
        epoch = self.core.writing_epoch(council)
        ring = self.core.epochs_of(council)
        reach = self.rings.reach(epoch, ring)
        rest = [e for e in ring if e.write_pk not in reach]
        sealed = keys.seal_welcome(kx_pk, council, request_id, rest)
        content = base64.b64encode(sealed).decode("ascii")
        tags = [["k", keys.welcome_hint(request_id)]]
        self.core.ingest_raw(self.core.envelope(epoch, WELCOME_KIND, tags, content))

    def welcome_back(self, council: bytes) -> int:
        """Give the key ring to members whose removal was undone (an emergency action not
        ratified) and who lack the current epoch: grants alone would reach them inside
        a history they cannot read yet. Returns how many were welcomed back."""
        final = self.core.state(council)
        if final.current_epoch is None:
            return 0
        back = {
            e.member
            for e in final.emergencies.values()
            if e.status in ("lapsed", "rejected") and final.is_active(e.member)
        }
        if not back:  # mostly: the holders walk every grant the council ever made
            return 0
        back -= self.core.known_holders(council).get(final.current_epoch, set())
        for member in sorted(back):
            self._welcome(council, final.members[member].kx, keys.return_id(member))
        return len(back)

    def remove(
        self, council: bytes, member: bytes, reason: str = "", emergency: bool = False
    ) -> AdmitResult:
        """Vouch for a removal; remove (with a new key epoch) once the rules allow it."""
        final = self.core.state(council)
        me = self.core.identity(council).sign_pk
        if member == me:
            raise InvalidInput(_("to leave a council yourself, use leave"))
        if not final.is_active(member):
            raise NotFound(_("that person is not an active member"))
        name = final.members[member].name
        rules = final.rules
        if emergency:
            now_ms = int(self.core.now() * 1000)
            if not set(final.roles_of(me, now_ms)) & set(rules.emergency_removal_roles):
                raise NotAllowed(
                    _("only {roles} may remove in an emergency").format(
                        roles=", ".join(rules.emergency_removal_roles)
                    )
                )
            # The council's limits on emergency powers, checked before anything is
            # written (the fold would refuse it; its grants would be wasted).
            self.check_emergency_removal(council)
            needed, supporters = 1, 1
        else:
            needed = threshold(rules.removal, rules.removal_vouches, final, removal=True)
            supporters = len(final.vouches.get(("remove", member), frozenset()) | {me})
        if supporters < needed:
            self.core.append(council, "member.vouch", kinds.Vouch("remove", member, None, reason))
            return AdmitResult(False, supporters, needed, name)
        self.end_with_new_epoch(
            council, "member.remove", lambda epoch: kinds.Remove(member, epoch, reason, emergency)
        )
        return AdmitResult(True, supporters, needed, name)

    def end_with_new_epoch(
        self, council: bytes, kind: str, body: Callable[[bytes], msgspec.Struct]
    ) -> bytes:
        """Write an event that ends someone's membership and starts a new key epoch
        (its write key given to `body`), then grant the epoch to the remaining members."""
        old = self.core.writing_epoch(council)
        new = keys.Epoch.generate(council)
        self.core.learn_epoch(new)
        event = self.core.append(council, kind, body(new.write_pk), epoch=old)
        self._grant(council, new, old)
        return event

    def _grant(
        self,
        council: bytes,
        new: keys.Epoch,
        old: keys.Epoch,
        members: Iterable[bytes] | None = None,
    ) -> None:
        final = self.core.state(council)
        targets = sorted(members if members is not None else final.active_members())
        # Our own key is included, so another device of ours learns the epoch too.
        for i in range(0, len(targets), GRANTS_PER_EVENT):
            chunk = [(m, final.members[m].kx) for m in targets[i : i + GRANTS_PER_EVENT]]
            g = keys.seal_grants(new, chunk)
            if not g.boxes:
                continue  # only keys of low order: nobody to grant to
            body = kinds.EpochGrant(new.write_pk, eph=g.eph, sealed=g.sealed, boxes=g.boxes)
            self.core.append(council, "epoch.grant", body, epoch=old)

    def leave(self, council: bytes, reason: str = "") -> None:
        """Leave the council for good (the members learn it from the event)."""
        self.core.append(council, "member.leave", kinds.Leave(reason))
        self.core.store.councils.set_status(council, "left")

    def heal_epochs(self, council: bytes) -> str | None:
        """Keep keys where they belong: rotate if a former member holds the current
        epoch, and grant every epoch we hold to active members who lack it.
        Returns what was done, or None. Several members healing at once is harmless."""
        final = self.core.state(council)
        me = self.core.me(council)
        if me is None or not final.is_active(me) or final.current_epoch is None:
            return None
        active = set(final.active_members())
        known = self.core.known_holders(council)
        done = None
        if final.current_epoch not in {e.write_pk for e in self.core.epochs_of(council)}:
            return None  # we wait for the newest key ourselves; the others heal
        if known.get(final.current_epoch, set()) - active:
            old = self.core.writing_epoch(council)
            new = keys.Epoch.generate(council)
            self.core.learn_epoch(new)
            self.core.append(council, "epoch.rotate", kinds.Rotate(new.write_pk), epoch=old)
            self._grant(council, new, old)
            known = self.core.known_holders(council)
            final = self.core.state(council)
            done = "rotated"
        by_creation = self.core.epochs_by_creation(council, self.core.epochs_of(council))
        needy: set[bytes] = set()
        for epoch in by_creation:
            missing = active - known.get(epoch.write_pk, set())
            # Each grant travels under the newest epoch its recipients can already read
            # and that the council's state still knows (a void removal's epoch is not).
            carriers: dict[bytes, list[bytes]] = {}
            for member in sorted(missing):
                readable = [
                    e
                    for e in by_creation
                    if member in known.get(e.write_pk, set()) and e.write_pk in final.epochs
                ]
                if readable:
                    carriers.setdefault(readable[-1].write_pk, []).append(member)
            for carrier, members in carriers.items():
                carrier_epoch = self.core.epoch(carrier)
                assert carrier_epoch is not None
                self._grant(council, epoch, carrier_epoch, members)
                needy.update(members)
                done = done or "granted"
        # The grants are in the history, which a member who lacks an epoch may be unable
        # to read up to them (a newcomer admitted while someone was removed): the ring
        # goes to them outside the history too, as a welcome does (docs/protocol.md §6.3).
        for member in sorted(needy):
            self._welcome(council, final.members[member].kx, keys.return_id(member))
        return done

    def invitation_is_live(self, invitation: tokens.Invitation) -> bool:
        """Whether `invitation` is one this member's council made and nobody has used
        yet, its secret right and not expired (community mode: an invitation counts as
        the right to make a profile on the node one of its members uses)."""
        council = invitation.council
        if not self.core.store.councils.exists(council):
            return False
        final = self.core.state(council)
        me = self.core.me(council)
        if me is None or me not in final.members:
            return False
        invite = final.invites.get(tokens.invite_id(invitation.secret))
        return (
            invite is not None
            and invite.used_by is None
            and hmac.compare_digest(invite.secret, invitation.secret)
            and invite.expires >= int(self.core.now())
        )
