"""Key backups held by trusted members (docs/protocol.md §9.2).

A member leaves a backup of their keys in a council with k of n members they trust:
`deposit` seals it under a key that needs the Shamir-shared secret and the person's
passphrase, and writes one share sealed to each trusted member. After losing the
device, the person's new profile makes a recovery request (shora.services.recovery);
each trusted member who recognises them `release`s their share sealed to the new
profile; with k of them and the passphrase, `restore` puts the old keys back. Only
for a device lost or wiped: whoever seized a device holds the old keys too, and then
a recovery (a new key) is what shuts them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shora.domain.backup import kinds as bk
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import N_, _, digits
from shora.kernel import backup, crypto, keys, tokens
from shora.kernel.core import NodeCore
from shora.kernel.events import decode_body
from shora.kernel.profile import INSECURE_TEST_KDF as INSECURE_TEST_KDF  # for the interfaces

SHARE_PREFIX = "shora:share/"
MAX_SHARE_TEXT = 16_000
NO_BACKUP = N_("{name} left no backup with you")


@dataclass(frozen=True, slots=True)
class HeldShare:
    """A share of someone's key backup that this profile holds (their latest backup)."""

    owner: bytes  # the member's key when they made the backup
    name: str
    needed: int  # how many shares it takes
    shares: int  # how many trusted members hold one
    time: int  # ms, claimed time of the backup


class Claims(Protocol):
    """What backups need of recovery: whose place a recovery request names."""

    def claimed(self, council: bytes, claim: str) -> bytes: ...


class Backup:
    """Leaving a key backup with trusted members, releasing a share, restoring."""

    def __init__(self, core: NodeCore, claims: Claims) -> None:
        self.core = core
        self.claims = claims

    def deposit(
        self,
        council: bytes,
        trusted: list[bytes],
        threshold: int,
        passphrase: str,
        limits: tuple[int, int] = (crypto.KDF_OPSLIMIT, crypto.KDF_MEMLIMIT),
    ) -> bytes:
        """Back up this profile's keys in the council with `trusted` members, any
        `threshold` of whom (with the passphrase) can give them back."""
        me = self.core.identity(council)
        final = self.core.state(council)
        trusted = sorted(set(trusted))
        if me.sign_pk in trusted or not all(final.is_active(m) for m in trusted):
            raise InvalidInput(_("trusted members must be other active members"))
        if not 1 <= threshold <= len(trusted) <= backup.MAX_TRUSTED:
            raise InvalidInput(
                _("choose 1 to {n} trusted members, and at most as many shares needed").format(
                    n=digits(str(backup.MAX_TRUSTED))
                )
            )
        held = self.core.epochs_by_creation(council, self.core.epochs_of(council))
        sealed_kx = self.core.store.councils.kx_identity(council)
        assert sealed_kx is not None
        contents = backup.Contents(
            me.sign_sk,
            self.core.unseal_secret(sealed_kx[2]),
            me.name,
            [keys.epoch_keys(e) for e in held[-backup.MAX_RING :]],
        )
        kx = [final.members[m].kx for m in trusted]
        salt, ciphertext, boxes = backup.seal(
            council, me.sign_pk, contents, passphrase, threshold, kx, limits
        )
        shares = [bk.TrustedShare(m, box) for m, box in zip(trusted, boxes, strict=True)]
        body = bk.Deposit(threshold, salt, limits[0], limits[1], ciphertext, shares)
        return self.core.append(council, "backup.deposit", body)

    def release(self, signed: bytes) -> str:
        """Give the person a recovery request comes from our share of their backup,
        sealed to their new profile (text to send them)."""
        payload, _request_id = tokens.open_recovery_request(signed)
        council = payload.council
        me = self.core.identity(council)
        old = self.claims.claimed(council, payload.claim)
        name = self.core.state(council).members[old].name
        rows = self.core.store.events.valid_of_kinds_by(council, ["backup.deposit"], old)
        if not rows:
            raise NotFound(_(NO_BACKUP).format(name=name))
        _id, _author, _clock, _time, kind, raw = max(rows, key=lambda r: (r[2], r[0]))
        deposit = decode_body(kind, raw)
        assert isinstance(deposit, bk.Deposit)
        mine = [s for s in deposit.shares if s.member == me.sign_pk]
        sealed_kx = self.core.store.councils.kx_identity(council)
        if not mine or sealed_kx is None:
            raise NotFound(_(NO_BACKUP).format(name=name))
        kx_sk = self.core.unseal_secret(sealed_kx[2])
        share = backup.open_share(me.kx_pk, kx_sk, council, old, mine[0].box)
        if share is None:
            raise NotAllowed(_("your share of this backup does not open"))
        release = backup.Release(
            backup.RELEASE_CONTEXT,
            council,
            old,
            deposit.threshold,
            deposit.salt,
            deposit.opslimit,
            deposit.memlimit,
            deposit.ciphertext,
            *share,
        )
        return tokens.armor(backup.seal_release(payload.kx_pk, release), SHARE_PREFIX)

    def restore(self, texts: list[str], passphrase: str) -> bytes:
        """Put back the keys of a backup from enough released shares and the passphrase,
        on the profile whose recovery request they answer; returns the council."""
        found: list[backup.Release] = []
        for (
            council,
            _status,
            _rid,
            _sign_pk,
            kx_pk,
            sealed,
        ) in self.core.store.councils.welcome_identities():
            kx_sk = self.core.unseal_secret(sealed)
            for text in texts:
                raw = tokens.dearmor(text, SHARE_PREFIX, "backup share", MAX_SHARE_TEXT)
                release = backup.open_release(kx_pk, kx_sk, raw)
                if release is not None and release.council == bytes(council):
                    found.append(release)
        if not found:
            raise InvalidInput(_("these shares are for no recovery request of this profile"))
        contents = backup.restore(found, passphrase)
        council = found[0].council
        store = self.core.store
        with store.transaction():
            self.core.restore_identity(council, contents.sign_sk, contents.kx_sk, contents.name)
            for epoch in backup.ring_of(contents, council):
                self.core.learn_epoch(epoch)
            store.councils.set_status(council, "member")
        return council

    def held(self, council: bytes) -> list[HeldShare]:
        """The backups in this council that left a share with this profile (each
        member's latest only), by name."""
        me = self.core.identity(council).sign_pk
        final = self.core.state(council)
        latest: dict[bytes, tuple[int, bytes, int, bk.Deposit]] = {}
        for eid, author, clock, time, kind, raw in self.core.store.events.valid_of_kinds(
            council, ["backup.deposit"]
        ):
            deposit = decode_body(kind, raw)
            assert isinstance(deposit, bk.Deposit)
            if author not in latest or (clock, eid) > latest[author][:2]:
                latest[author] = (clock, eid, time, deposit)
        held = [
            HeldShare(
                author,
                final.members[author].name if author in final.members else author.hex()[:8],
                deposit.threshold,
                len(deposit.shares),
                time,
            )
            for author, (_clock, _eid, time, deposit) in latest.items()
            if any(s.member == me for s in deposit.shares)
        ]
        return sorted(held, key=lambda h: (h.name, h.owner))
