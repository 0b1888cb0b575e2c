"""The core of a node: an unlocked profile, lookups, and composing events.

Everything a node writes is composed here and fed to the same ingest pipeline as
events from elsewhere, so a node never stores what it would refuse from a peer.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Self

import msgspec

from shora.errors import (
    InvalidInput,
    NotAllowed,
    NotFound,
    RemoteError,
)
from shora.i18n import N_, _, normalize_persian
from shora.kernel import crypto, keys, nip01, profile
from shora.kernel.events import (
    ANONYMOUS_KINDS,
    SHORA_KIND,
    InnerPayload,
    encode_body,
    encode_payload,
    seal_content,
    sign_payload,
)
from shora.kernel.ingest import Ingestor, Report
from shora.kernel.membership import CouncilState
from shora.kernel.storage import Store

CREATED_AT_GRANULARITY = 3600  # envelopes show relays the hour, not the second
MAX_PARENTS_WRITTEN = 8


class _Identity(msgspec.Struct, frozen=True):
    sign_pk: bytes
    sign_sk: bytes
    kx_pk: bytes
    name: str


class NodeCore:
    """An open profile: its store, the ingest pipeline, and composing events."""

    def __init__(self, unlocked: profile.UnlockedProfile, now: Callable[[], float] = time.time):
        self.home = unlocked.home
        self.now = now
        self._unlocked = unlocked
        self.database = unlocked.database
        """The database file this profile opened (of its two: kernel/profile.py)."""
        with profile.private_files():  # the database, its WAL and shm file: 0600 at birth
            self.store = Store(unlocked.database, unlocked.secrets.database_key)
        self.ingestor = Ingestor(self.store, unlocked.secrets.identity_key, lambda: self.now())
        self.housekeeper: Callable[[Report], None] | None = None
        """What time asks after an import batch (the node's `housekeeping.after_import`):
        sync calls it once per batch through this hook, never per event."""
        self.unsettled: set[bytes] = set()
        """Councils of envelopes taken in one at a time whose housekeeping is still due."""
        if self.store.migrated_from is not None:
            self._reproject()

    def _reproject(self) -> None:
        """Resolve every council anew (after a migration): each member's standing and
        each event's validity follow the rules of this version."""
        with self.store.transaction():
            for council in self.store.councils.ids():
                if self.ingestor.projection.resolver(council).events:
                    self.ingestor.projection.refresh(council)

    @classmethod
    def open(cls, home: Path, passphrase: str, *, allow_weak_kdf: bool = False, **kw: Any) -> Self:
        """Unlock and open; a keystore below the KDF floor only with allow_weak_kdf (tests)."""
        return cls(profile.unlock(home, passphrase, allow_weak_kdf=allow_weak_kdf), **kw)

    @classmethod
    def create(
        cls,
        home: Path,
        passphrase: str,
        *,
        kdf_limits: tuple[int, int] | None = None,
        allow_weak_kdf: bool = False,
        **kw: Any,
    ) -> Self:
        """A new profile; kdf_limits below the floor need allow_weak_kdf (tests only)."""
        limits = kdf_limits or (crypto.KDF_OPSLIMIT, crypto.KDF_MEMLIMIT)
        return cls(profile.create(home, passphrase, *limits, allow_weak_kdf=allow_weak_kdf), **kw)

    def close(self) -> None:
        """Close the database and zero the profile's keys."""
        self.ingestor.ahead.end_burst()
        self.store.close()
        self._unlocked.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- what services read ----------------------------------------------------------

    def me(self, council: bytes) -> bytes | None:
        """This profile's member key in that council, if it has an identity there."""
        return self.store.councils.my_key(council)

    def state(self, council: bytes) -> CouncilState:
        """The council's resolved state after every event this node holds."""
        return self.ingestor.projection.final_state(council)

    def causal_state(self, council: bytes, event: bytes) -> CouncilState:
        """The council's state as the author of `event` saw it (its causal past)."""
        return self.ingestor.projection.causal_state(council, event)

    def causal_members(self, council: bytes, event: bytes) -> frozenset[bytes]:
        """The active members in the causal past of `event`."""
        return self.ingestor.projection.causal_members(council, event)

    def ancestors(self, event: bytes) -> set[bytes]:
        """The ids of every event in the causal past of `event`."""
        return self.ingestor.projection.ancestors(event)

    # --- keys and epochs (for the membership service) ------------------------------------

    def epochs_of(self, council: bytes) -> list[keys.Epoch]:
        """The key epochs this profile holds for the council."""
        return self.ingestor.keyring.epochs_of(council)

    def epoch(self, write_pk: bytes) -> keys.Epoch | None:
        """The epoch of that write key, if this profile holds it."""
        return self.ingestor.keyring.epoch(write_pk)

    def epochs_by_creation(self, council: bytes, held: list[keys.Epoch]) -> list[keys.Epoch]:
        """The held epochs, oldest first (by the events that made them)."""
        return self.ingestor.projection.epochs_by_creation(council, held)

    def learn_epoch(self, epoch: keys.Epoch) -> bool:
        """Keep an epoch's keys (sealed under the profile's key); False if known."""
        return self.ingestor.keyring.learn(epoch)

    def known_holders(self, council: bytes) -> dict[bytes, set[bytes]]:
        """For each epoch's write key, the members known to hold it."""
        return self.ingestor.projection.known_holders(council)

    def unseal_secret(self, sealed: bytes) -> bytes:
        """A member secret key sealed under the profile's key, opened."""
        return self.ingestor.keyring.unseal_secret(sealed)

    def open_sealed(self, council: bytes, sealed: bytes) -> bytes | None:
        """A sealed box addressed to this profile's exchange key in that council, opened
        (None if it is not for us): a teller's shares of a ballot key, for one."""
        me = self.store.councils.kx_identity(council)
        if me is None:
            return None
        _sign_pk, kx_pk, sealed_kx = me
        return crypto.unseal(kx_pk, self.unseal_secret(sealed_kx), sealed)

    def ingest_raw(self, raw: bytes) -> Report:
        """Ingest one envelope this node made itself (no housekeeping)."""
        return self.ingestor.ingest_one(raw)

    def expire_waiting(self) -> int:
        """Drop what has waited too long for its parents or its key."""
        return self.ingestor.expire(force=False)

    def report_progress(self, progress: Callable[[int], None] | None) -> None:
        """Call `progress(n)` as each batch of n envelopes is taken in (None: stop)."""
        self.ingestor.progress = progress

    # --- taking envelopes in -------------------------------------------------------------

    def take_in(self, raws: Iterable[bytes]) -> Report:
        """Ingest envelopes from anywhere (and those held as dated ahead whose time has
        come), and note this profile's standing in each council they concern. What time
        asks afterwards (housekeeping) is the caller's."""
        report = self.ingestor.ingest(itertools.chain(self.ingestor.take_due(), raws))
        self.note_standing(report)
        return report

    def note_standing(self, report: Report) -> None:
        """After events came in: this profile's status in each council they concern
        (member, or removed or left once its membership ended)."""
        for council in report.councils:
            me = self.store.councils.my_key(council)
            final = self.ingestor.projection.final_state(council)
            member = final.members.get(me) if me else None
            status = self.store.councils.status(council)
            new_status: str | None
            if member is not None and member.ended_by is not None:
                new_status = "removed" if member.end == "removed" else "left"
            elif member is not None:
                new_status = "member"
            else:
                new_status = status
            if new_status != status:
                self.store.councils.set_status(council, new_status)

    def project_all(self) -> None:
        """Resolve every council's state now (the first projection of a large council
        takes seconds: better while the person waits for the unlock anyway)."""
        for council in self.store.councils.ids():
            self.ingestor.projection.final_state(council)

    # --- lookups ---------------------------------------------------------------------

    def find_council(self, ref: str) -> bytes:
        """A council by name, or by its id or a prefix of it (at least 6 hex digits)."""
        return _find(self.store.councils.names(), ref, NO_COUNCIL, SEVERAL_COUNCILS)

    def find_member(self, council: bytes, ref: str) -> bytes:
        """A member by name, or by their key or a prefix of it (at least 6 hex digits)."""
        rows = list(self.store.members.names(council).items())
        try:
            return _find(rows, ref, NO_MEMBER, SEVERAL_MEMBERS)
        except InvalidInput:
            # A recovered member's old key keeps their name: the one holding it now wins.
            final = self.state(council)
            return _find(
                [r for r in rows if final.is_active(r[0])], ref, NO_MEMBER, SEVERAL_MEMBERS
            )

    def identity(self, council: bytes) -> _Identity:
        row = self.store.councils.identity(council)
        if row is None:
            raise NotFound(_("this profile has no identity in that council"))
        sign_pk, sealed_sk, kx_pk, name = row
        return _Identity(sign_pk, self.ingestor.keyring.unseal_secret(sealed_sk), kx_pk, name)

    def new_identity(self, council: bytes, name: str) -> _Identity:
        sign_pk, sign_sk = crypto.sign_keypair()
        kx_pk, kx_sk = crypto.kx_keypair()
        self.store_identity(council, sign_pk, sign_sk, kx_pk, kx_sk, name)
        return _Identity(sign_pk, sign_sk, kx_pk, name)

    def store_identity(
        self,
        council: bytes,
        sign_pk: bytes,
        sign_sk: bytes,
        kx_pk: bytes,
        kx_sk: bytes,
        name: str,
    ) -> None:
        """Keep a member identity, its secret keys sealed under the profile's key."""
        self.store.councils.add_identity(
            council,
            sign_pk,
            self.ingestor.keyring.seal_secret(sign_sk),
            kx_pk,
            self.ingestor.keyring.seal_secret(kx_sk),
            name,
        )

    def restore_identity(self, council: bytes, sign_sk: bytes, kx_sk: bytes, name: str) -> bytes:
        """Put back a member identity from its secret keys (a key backup given back) in
        place of this profile's identity there; returns its key."""
        sign_pk, kx_pk = sign_sk[32:], crypto.kx_public_key(kx_sk)
        self.store.councils.replace_identity(
            council,
            sign_pk,
            self.ingestor.keyring.seal_secret(sign_sk),
            kx_pk,
            self.ingestor.keyring.seal_secret(kx_sk),
            name,
        )
        return sign_pk

    # --- writing ----------------------------------------------------------------------

    def envelope(self, epoch: keys.Epoch, kind: int, tags: list[list[str]], content: str) -> bytes:
        created = int(self.now()) // CREATED_AT_GRANULARITY * CREATED_AT_GRANULARITY
        env = nip01.sign_envelope(crypto.WriteSigner(epoch.write_sk), created, kind, tags, content)
        return nip01.encode(env)

    def writing_epoch(self, council: bytes) -> keys.Epoch:
        final = self.ingestor.projection.final_state(council)
        current = self.ingestor.keyring.epoch(final.current_epoch) if final.current_epoch else None
        if current is not None and current.council == council:
            return current
        held = {e.write_pk: e for e in self.ingestor.keyring.epochs_of(council)}
        if not any(w in held for w in final.epochs):
            raise NotAllowed(_("this profile holds no key of this council yet"))
        # Writing under an older epoch would let whoever was removed since read it.
        raise NotAllowed(
            _(
                "this profile does not hold the council's newest key yet: "
                "sync with another member, then try again"
            )
        )

    def append(
        self, council: bytes, kind: str, body: msgspec.Struct, epoch: keys.Epoch | None = None
    ) -> bytes:
        """Compose, sign, encrypt and ingest one event; return its inner id."""
        raw, inner_id = self.compose(council, kind, body, epoch)
        try:
            self.ingestor.ingest_one(raw)
        except RemoteError as exc:
            raise NotAllowed(
                _("the council's rules do not allow this: {reason}").format(reason=exc)
            ) from exc
        return inner_id

    def append_many(self, council: bytes, items: list[tuple[str, msgspec.Struct]]) -> list[bytes]:
        """Append several events, each on top of the one before, in one transaction:
        all of them are stored or, if one is refused, none; their inner ids in order."""
        with self.ingestor.transaction():
            return [self.append(council, kind, body) for kind, body in items]

    def compose(
        self, council: bytes, kind: str, body: msgspec.Struct, epoch: keys.Epoch | None = None
    ) -> tuple[bytes, bytes]:
        """Build the envelope of a new event on top of the current heads; store nothing."""
        me = self.identity(council)
        epoch = epoch or self.writing_epoch(council)
        heads = self.store.events.heads(council, MAX_PARENTS_WRITTEN)
        parents = sorted(h[0] for h in heads)
        clock = 1 + max((h[1] for h in heads), default=0)
        # Never before a parent's claimed time (a parent may come from a clock a little
        # ahead of ours, within the council's skew): receivers refuse that.
        not_before = max((h[2] for h in heads), default=0)
        return self.seal_event(
            council,
            epoch,
            me.sign_pk,
            me.sign_sk,
            parents,
            clock,
            kind,
            encode_body(body),
            not_before,
        )

    def append_anonymous(
        self, council: bytes, kind: str, body: msgspec.Struct, delay_ms: int = 0
    ) -> bytes:
        """Compose an event of an anonymous kind under a fresh one-time author key
        (thrown away at once), so its inner signature names no member; ingest it now,
        or with `delay_ms` > 0 keep it back until then (claimed time included), so its
        time and its upload say less about when it was written. Returns its inner id."""
        if kind not in ANONYMOUS_KINDS:
            raise ValueError("not an anonymous kind")
        one_pk, one_sk = crypto.sign_keypair()
        epoch = self.writing_epoch(council)
        heads = self.store.events.heads(council, MAX_PARENTS_WRITTEN)
        parents = sorted(h[0] for h in heads)
        clock = 1 + max((h[1] for h in heads), default=0)
        release = int(self.now() * 1000) + max(0, delay_ms)
        not_before = max([release, *(h[2] for h in heads)])
        payload = InnerPayload(
            1, council, epoch.write_pk, one_pk, parents, clock, not_before, kind, encode_body(body)
        )
        raw_payload = encode_payload(payload)
        content = seal_content(epoch.content_key, epoch.write_pk, sign_payload(one_sk, raw_payload))
        created = not_before // 1000 // CREATED_AT_GRANULARITY * CREATED_AT_GRANULARITY
        env = nip01.sign_envelope(
            crypto.WriteSigner(epoch.write_sk), created, SHORA_KIND, [], content
        )
        raw, inner_id = nip01.encode(env), crypto.sha256(raw_payload)
        if delay_ms > 0:
            self.store.waiting.add_early(bytes.fromhex(env.id), council, one_pk, not_before, raw)
            return inner_id
        try:
            self.ingestor.ingest_one(raw)
        except RemoteError as exc:
            raise NotAllowed(
                _("the council's rules do not allow this: {reason}").format(reason=exc)
            ) from exc
        return inner_id

    def seal_event(
        self,
        council: bytes,
        epoch: keys.Epoch,
        author: bytes,
        author_sk: bytes,
        parents: list[bytes],
        clock: int,
        kind: str,
        raw_body: bytes,
        not_before: int = 0,
    ) -> tuple[bytes, bytes]:
        """Sign an inner event, encrypt it under the epoch, wrap it in an envelope;
        return (envelope, inner id)."""
        payload = InnerPayload(
            1,
            council,
            epoch.write_pk,
            author,
            parents,
            clock,
            max(int(self.now() * 1000), not_before),
            kind,
            raw_body,
        )
        raw_payload = encode_payload(payload)
        signed = sign_payload(author_sk, raw_payload)
        content = seal_content(epoch.content_key, epoch.write_pk, signed)
        return self.envelope(epoch, SHORA_KIND, [], content), crypto.sha256(raw_payload)


NO_COUNCIL = N_("no council named or numbered {ref} here")
NO_MEMBER = N_("no member named or numbered {ref} here")
SEVERAL_COUNCILS = N_("{ref} names {n} councils; give more of the id instead")
SEVERAL_MEMBERS = N_("{ref} names {n} members; give more of the id instead")


def _find(rows: list[tuple[Any, ...]], ref: str, missing: str, several: str) -> bytes:
    """One row's id by (case-insensitive, normalised) name, or by an id prefix."""
    wanted = normalize_persian(ref).casefold()
    by_name = [key for key, name in rows if normalize_persian(name).casefold() == wanted]
    by_key = [key for key, _name in rows if len(wanted) >= 6 and key.hex().startswith(wanted)]
    found = by_name or by_key
    if len(found) == 1:
        return bytes(found[0])
    if not found:
        raise NotFound(_(missing).format(ref=repr(ref)))
    raise InvalidInput(_(several).format(ref=repr(ref), n=len(found)))
