"""A node: one unlocked profile, and every operation a person can do with it.

The CLI and (later) the web interface call this; it composes events, feeds them to
the same ingest pipeline as events from elsewhere, and reads the projection.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import msgspec

from shora.errors import (
    BundleDamaged,
    InvalidInput,
    NotAllowed,
    NotFound,
    RemoteError,
)
from shora.i18n import normalize_persian
from shora.kernel import bundle, crypto, keys, kinds, nip01, profile, tokens
from shora.kernel.events import (
    SHORA_KIND,
    WELCOME_KIND,
    InnerPayload,
    council_id_for,
    decode_body,
    encode_body,
    encode_payload,
    seal_content,
    sign_payload,
)
from shora.kernel.ingest import Ingestor, Report
from shora.kernel.membership import threshold
from shora.kernel.store import Store

CREATED_AT_GRANULARITY = 3600  # envelopes show relays the hour, not the second
MAX_PARENTS_WRITTEN = 8
DEFAULT_INVITE_SECONDS = 7 * 24 * 3600
GRANTS_PER_EVENT = 150


@dataclass(frozen=True, slots=True)
class CouncilInfo:
    id: bytes
    name: str
    description: str
    status: str  # member, joining, left, removed
    rules: kinds.Rules | None
    members: int
    events: int
    my_key: bytes | None


@dataclass(frozen=True, slots=True)
class MemberInfo:
    key: bytes
    name: str
    status: str  # active, removed, left
    roles: tuple[str, ...]
    me: bool


@dataclass(frozen=True, slots=True)
class LogEntry:
    id: bytes
    author: bytes
    author_name: str
    kind: str
    time: int  # ms, as the author claims
    clock: int
    valid: bool
    summary: str


@dataclass(frozen=True, slots=True)
class AdmitResult:
    admitted: bool
    supporters: int
    needed: int
    name: str


@dataclass(frozen=True, slots=True)
class _Identity:
    sign_pk: bytes
    sign_sk: bytes
    kx_pk: bytes
    name: str


class Node:
    def __init__(self, unlocked: profile.UnlockedProfile, now: Callable[[], float] = time.time):
        self.home = unlocked.home
        self.now = now
        self.store = Store(unlocked.database, unlocked.secrets.database_key)
        self.ingestor = Ingestor(self.store, unlocked.secrets.identity_key)

    @classmethod
    def open(cls, home: Path, passphrase: str, **kw: Any) -> Node:
        return cls(profile.unlock(home, passphrase), **kw)

    @classmethod
    def create(
        cls, home: Path, passphrase: str, *, kdf_limits: tuple[int, int] | None = None, **kw: Any
    ) -> Node:
        limits = kdf_limits or (crypto.KDF_OPSLIMIT, crypto.KDF_MEMLIMIT)
        return cls(profile.create(home, passphrase, *limits), **kw)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- lookups ---------------------------------------------------------------------

    def find_council(self, ref: str) -> bytes:
        """A council by name, or by its id or a prefix of it (at least 6 hex digits)."""
        return _find(self.store.rows("SELECT id, name FROM councils"), ref, "council")

    def find_member(self, council: bytes, ref: str) -> bytes:
        """A member by name, or by their key or a prefix of it (at least 6 hex digits)."""
        rows = self.store.rows("SELECT key, name FROM members WHERE council=?", (council,))
        return _find(rows, ref, "member")

    def _identity(self, council: bytes) -> _Identity:
        rows = self.store.rows(
            "SELECT sign_pk, sign_sk, kx_pk, name FROM identities WHERE council=?", (council,)
        )
        if not rows:
            raise NotFound("this profile has no identity in that council")
        sign_pk, sealed_sk, kx_pk, name = rows[0]
        return _Identity(sign_pk, self.ingestor.unseal_secret(sealed_sk), kx_pk, name)

    def _new_identity(self, council: bytes, name: str) -> _Identity:
        sign_pk, sign_sk = crypto.sign_keypair()
        kx_pk, kx_sk = crypto.kx_keypair()
        self.store.execute(
            "INSERT INTO identities VALUES(?,?,?,?,?,?)",
            (
                council,
                sign_pk,
                self.ingestor.seal_secret(sign_sk),
                kx_pk,
                self.ingestor.seal_secret(kx_sk),
                name,
            ),
        )
        return _Identity(sign_pk, sign_sk, kx_pk, name)

    # --- writing ----------------------------------------------------------------------

    def _envelope(self, epoch: keys.Epoch, kind: int, tags: list[list[str]], content: str) -> bytes:
        created = int(self.now()) // CREATED_AT_GRANULARITY * CREATED_AT_GRANULARITY
        env = nip01.sign_envelope(crypto.WriteSigner(epoch.write_sk), created, kind, tags, content)
        return nip01.encode(env)

    def _writing_epoch(self, council: bytes) -> keys.Epoch:
        final = self.ingestor.projection.final_state(council)
        held = {e.write_pk: e for e in self.ingestor.epochs_of(council)}
        if final.current_epoch in held:
            return held[final.current_epoch]
        usable = [w for w in final.epochs if w in held]
        if not usable:
            raise NotAllowed("this profile holds no key of this council yet")
        resolver = self.ingestor.projection.resolver(council)
        return held[max(usable, key=lambda w: resolver.events[final.epochs[w]].clock)]

    def _append(
        self, council: bytes, kind: str, body: msgspec.Struct, epoch: keys.Epoch | None = None
    ) -> bytes:
        """Compose, sign, encrypt and ingest one event; return its inner id."""
        raw, inner_id = self.compose(council, kind, body, epoch)
        try:
            self.ingestor.ingest_one(raw)
        except RemoteError as exc:
            raise NotAllowed(f"the council's rules do not allow this: {exc}") from exc
        return inner_id

    def compose(
        self, council: bytes, kind: str, body: msgspec.Struct, epoch: keys.Epoch | None = None
    ) -> tuple[bytes, bytes]:
        """Build the envelope of a new event on top of the current heads; store nothing."""
        me = self._identity(council)
        epoch = epoch or self._writing_epoch(council)
        heads = self.store.rows(
            "SELECT h.id, e.clock FROM heads h JOIN events e ON e.id = h.id WHERE h.council=? "
            "ORDER BY e.clock DESC, h.id LIMIT ?",
            (council, MAX_PARENTS_WRITTEN),
        )
        parents = sorted(h[0] for h in heads)
        clock = 1 + max((h[1] for h in heads), default=0)
        payload = InnerPayload(
            1,
            council,
            epoch.write_pk,
            me.sign_pk,
            parents,
            clock,
            int(self.now() * 1000),
            kind,
            encode_body(body),
        )
        raw_payload = encode_payload(payload)
        signed = sign_payload(me.sign_sk, raw_payload)
        content = seal_content(epoch.content_key, epoch.write_pk, signed)
        return self._envelope(epoch, SHORA_KIND, [], content), crypto.sha256(raw_payload)

    # --- councils ---------------------------------------------------------------------

    def create_council(
        self, name: str, description: str, founder_name: str, rules: kinds.Rules | None = None
    ) -> bytes:
        name, founder_name = normalize_persian(name), normalize_persian(founder_name)
        if not name or not founder_name:
            raise InvalidInput("a council needs a name, and its founder a name too")
        sign_pk, sign_sk = crypto.sign_keypair()
        kx_pk, kx_sk = crypto.kx_keypair()
        body = kinds.CouncilCreate(
            name,
            description,
            rules or kinds.Rules(),
            founder_name,
            kx_pk,
            crypto.random_bytes(16),
        )
        raw_body = encode_body(body)
        council = council_id_for(sign_pk, raw_body)
        epoch = keys.Epoch.generate(council)
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO councils(id, status, name, created) VALUES(?,?,?,?)",
                (council, "member", name, int(self.now())),
            )
            self.store.execute(
                "INSERT INTO identities VALUES(?,?,?,?,?,?)",
                (
                    council,
                    sign_pk,
                    self.ingestor.seal_secret(sign_sk),
                    kx_pk,
                    self.ingestor.seal_secret(kx_sk),
                    founder_name,
                ),
            )
            self.ingestor.learn_epoch(epoch)
            payload = InnerPayload(
                1,
                council,
                epoch.write_pk,
                sign_pk,
                [],
                1,
                int(self.now() * 1000),
                "council.create",
                raw_body,
            )
            raw_payload = encode_payload(payload)
            content = seal_content(
                epoch.content_key, epoch.write_pk, sign_payload(sign_sk, raw_payload)
            )
            self.ingestor.ingest_one(self._envelope(epoch, SHORA_KIND, [], content))
        return council

    def update_council(self, council: bytes, name: str | None, description: str | None) -> None:
        name = normalize_persian(name) if name is not None else None
        if name == "":
            raise InvalidInput("a council's name cannot be empty")
        self._append(council, "council.update", kinds.CouncilUpdate(name, description))

    def councils(self) -> list[CouncilInfo]:
        return [
            self.council(bytes(row[0]))
            for row in self.store.rows("SELECT id FROM councils ORDER BY created, id")
        ]

    def council(self, council: bytes) -> CouncilInfo:
        rows = self.store.rows(
            "SELECT name, description, status, rules FROM councils WHERE id=?", (council,)
        )
        if not rows:
            raise NotFound("no such council in this profile")
        name, description, status, rules = rows[0]
        members = self.store.one(
            "SELECT count(*) FROM members WHERE council=? AND status='active'", (council,)
        )
        events = self.store.one("SELECT count(*) FROM events WHERE council=?", (council,))
        me = self.store.one("SELECT sign_pk FROM identities WHERE council=?", (council,))
        return CouncilInfo(
            council,
            name,
            description,
            status,
            msgspec.msgpack.decode(rules, type=kinds.Rules) if rules else None,
            members,
            events,
            me,
        )

    def members(self, council: bytes) -> list[MemberInfo]:
        me = self.store.one("SELECT sign_pk FROM identities WHERE council=?", (council,))
        return [
            MemberInfo(key, name, status, tuple(r for r in roles.split(",") if r), key == me)
            for key, name, status, roles in self.store.rows(
                "SELECT key, name, status, roles FROM members WHERE council=? "
                "ORDER BY status, name, key",
                (council,),
            )
        ]

    # --- invitation, admission, removal ----------------------------------------------

    def invite(
        self, council: bytes, expires_in: int = DEFAULT_INVITE_SECONDS, reach: Iterable[str] = ()
    ) -> tokens.Invitation:
        if expires_in <= 0:
            raise InvalidInput("an invitation must expire in the future")
        secret = crypto.random_bytes(32)
        expires = int(self.now()) + expires_in
        self._append(council, "invite.create", kinds.InviteCreate(secret, expires))
        return tokens.Invitation(council, secret, expires, list(reach))

    def join(self, invitation: tokens.Invitation, name: str) -> bytes:
        """Prepare to join: a new identity for that council and a signed join request."""
        name = normalize_persian(name)
        if self.store.one("SELECT 1 FROM councils WHERE id=?", (invitation.council,)):
            raise InvalidInput("this profile already belongs to (or is joining) that council")
        if invitation.expires < int(self.now()):
            raise InvalidInput("this invitation has expired; ask for a new one")
        with self.store.transaction():
            me = self._new_identity(invitation.council, name)
            kx_sk = self.ingestor.unseal_secret(
                self.store.one(
                    "SELECT kx_sk FROM identities WHERE council=?", (invitation.council,)
                )
            )
            del kx_sk  # only stored; the welcome is opened by the ingestor
            request = tokens.make_join_request(
                invitation, me.sign_pk, me.sign_sk, me.kx_pk, name, int(self.now())
            )
            _, request_id = tokens.open_join_request(request)
            self.store.execute(
                "INSERT INTO councils(id, status, name, invitation, request, request_id, created) "
                "VALUES(?,?,?,?,?,?,?)",
                (
                    invitation.council,
                    "joining",
                    "",
                    tokens.invitation_uri(invitation),
                    request,
                    request_id,
                    int(self.now()),
                ),
            )
        return request

    def admit(self, request: bytes) -> AdmitResult:
        """Vouch for a join request; admit it (and send the welcome) once enough have."""
        payload, request_id = tokens.open_join_request(request)
        council = payload.council
        self._identity(council)
        final = self.ingestor.projection.final_state(council)
        invite = final.invites.get(payload.invite_id)
        if invite is None:
            raise NotFound(
                "this request answers an invitation this council never made "
                "(or it has not arrived here yet)"
            )
        if invite.used_by is not None:
            raise NotAllowed("that invitation has already been used")
        tokens.check_proof(payload, invite.secret)
        if payload.sign_pk in final.members:
            raise InvalidInput(f"{payload.name} is already a member")
        me = self._identity(council).sign_pk
        supporters = final.vouches.get(("admit", request_id), frozenset()) | {me}
        rules = final.rules
        needed = threshold(rules.admission, rules.admission_vouches, final)
        if len(supporters) < needed:
            self._append(council, "member.vouch", kinds.Vouch("admit", request_id, request))
            return AdmitResult(False, len(supporters), needed, payload.name)
        self._append(council, "member.admit", kinds.Admit(request))
        ring = self.ingestor.epochs_of(council)
        sealed = keys.seal_welcome(payload.kx_pk, council, request_id, ring)
        content = base64.b64encode(sealed).decode("ascii")
        tags = [["k", keys.welcome_hint(request_id)]]
        self.ingestor.ingest_one(
            self._envelope(self._writing_epoch(council), WELCOME_KIND, tags, content)
        )
        return AdmitResult(True, len(supporters), needed, payload.name)

    def remove(
        self, council: bytes, member: bytes, reason: str = "", emergency: bool = False
    ) -> AdmitResult:
        """Vouch for a removal; remove (with a new key epoch) once the rules allow it."""
        final = self.ingestor.projection.final_state(council)
        me = self._identity(council).sign_pk
        if member == me:
            raise InvalidInput("to leave a council yourself, use leave")
        if not final.is_active(member):
            raise NotFound("that person is not an active member")
        name = final.members[member].name
        rules = final.rules
        if emergency:
            if not set(final.members[me].roles) & set(rules.emergency_removal_roles):
                raise NotAllowed(
                    "only "
                    + ", ".join(rules.emergency_removal_roles)
                    + " may remove in an emergency"
                )
            needed, supporters = 1, 1
        else:
            needed = threshold(rules.removal, rules.removal_vouches, final, removal=True)
            supporters = len(final.vouches.get(("remove", member), frozenset()) | {me})
        if supporters < needed:
            self._append(council, "member.vouch", kinds.Vouch("remove", member, None, reason))
            return AdmitResult(False, supporters, needed, name)
        old = self._writing_epoch(council)
        new = keys.Epoch.generate(council)
        self.ingestor.learn_epoch(new)
        self._append(
            council,
            "member.remove",
            kinds.Remove(member, new.write_pk, reason, emergency),
            epoch=old,
        )
        self._grant(council, new, old)
        return AdmitResult(True, supporters, needed, name)

    def _grant(
        self,
        council: bytes,
        new: keys.Epoch,
        old: keys.Epoch,
        members: Iterable[bytes] | None = None,
    ) -> None:
        final = self.ingestor.projection.final_state(council)
        targets = sorted(members if members is not None else final.active_members())
        # Our own key is included, so another device of ours learns the epoch too.
        grants = [kinds.Grant(m, keys.seal_grant(final.members[m].kx, new)) for m in targets]
        for i in range(0, len(grants), GRANTS_PER_EVENT):
            chunk = grants[i : i + GRANTS_PER_EVENT]
            self._append(council, "epoch.grant", kinds.EpochGrant(new.write_pk, chunk), epoch=old)

    def leave(self, council: bytes, reason: str = "") -> None:
        self._append(council, "member.leave", kinds.Leave(reason))
        self.store.execute("UPDATE councils SET status='left' WHERE id=?", (council,))

    def heal_epochs(self, council: bytes) -> str | None:
        """Keep keys where they belong: rotate if a former member holds the current
        epoch, and grant every epoch we hold to active members who lack it.
        Returns what was done, or None. Several members healing at once is harmless."""
        final = self.ingestor.projection.final_state(council)
        me = self.store.one("SELECT sign_pk FROM identities WHERE council=?", (council,))
        if me is None or not final.is_active(me) or final.current_epoch is None:
            return None
        active = set(final.active_members())
        known = self.ingestor.projection.known_holders(council)
        done = None
        if known.get(final.current_epoch, set()) - active:
            old = self._writing_epoch(council)
            new = keys.Epoch.generate(council)
            self.ingestor.learn_epoch(new)
            self._append(council, "epoch.rotate", kinds.Rotate(new.write_pk), epoch=old)
            self._grant(council, new, old)
            known = self.ingestor.projection.known_holders(council)
            final = self.ingestor.projection.final_state(council)
            done = "rotated"
        by_creation = self.ingestor.projection.epochs_by_creation(
            council, self.ingestor.epochs_of(council)
        )
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
                carrier_epoch = self.ingestor.epoch(carrier)
                assert carrier_epoch is not None
                self._grant(council, epoch, carrier_epoch, members)
                done = done or "granted"
        return done

    # --- posts and the log -----------------------------------------------------------------

    def post(
        self, council: bytes, text: str, title: str | None = None, thread: bytes | None = None
    ) -> bytes:
        if not text.strip():
            raise InvalidInput("a post needs some text")
        if title is not None:
            return self._append(council, "post.announcement", kinds.Announcement(title, text))
        return self._append(council, "post.message", kinds.Message(text, thread))

    def posts(self, council: bytes, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        rows = self.store.rows(
            "SELECT p.id, p.kind, p.title, p.text, p.thread, p.time, m.name FROM posts p "
            "LEFT JOIN members m ON m.council=p.council AND m.key=p.author "
            "WHERE p.council=? AND p.valid=1 ORDER BY p.clock DESC, p.id LIMIT ? OFFSET ?",
            (council, limit, offset),
        )
        keys_ = ("id", "kind", "title", "text", "thread", "time", "author")
        return [dict(zip(keys_, row, strict=True)) for row in rows]

    def log(self, council: bytes, limit: int = 50, offset: int = 0) -> list[LogEntry]:
        """The council's events, newest first. The summary of a post is its text; of a
        membership event, the name it concerns."""
        rows = self.store.rows(
            "SELECT e.id, e.author, coalesce(m.name, ''), e.kind, e.time, e.clock, e.valid, "
            "coalesce(p.title || ' ' || p.text, ''), e.body FROM events e "
            "LEFT JOIN members m ON m.council=e.council AND m.key=e.author "
            "LEFT JOIN posts p ON p.id=e.id WHERE e.council=? "
            "ORDER BY e.clock DESC, e.id LIMIT ? OFFSET ?",
            (council, limit, offset),
        )
        names = {
            bytes(k): n
            for k, n in self.store.rows("SELECT key, name FROM members WHERE council=?", (council,))
        }
        return [
            LogEntry(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                bool(r[6]),
                (_state_summary(r[3], r[8], names) if r[3] in kinds.STATE_KINDS else r[7].strip())[
                    :80
                ],
            )
            for r in rows
        ]

    def state_digest(self, council: bytes) -> bytes:
        """Canonical bytes of the projected state: equal on every replica with equal events."""
        parts: list[Any] = [
            self.store.rows(
                "SELECT name, description, rules, current_epoch FROM councils WHERE id=?",
                (council,),
            ),
            self.store.rows(
                "SELECT key, name, kx, status, admitted_by, ended_by, roles "
                "FROM members WHERE council=? ORDER BY key",
                (council,),
            ),
            self.store.rows(
                "SELECT id, author, kind, title, text, thread, clock, time, valid "
                "FROM posts WHERE council=? ORDER BY id",
                (council,),
            ),
            self.store.rows("SELECT id, valid FROM events WHERE council=? ORDER BY id", (council,)),
        ]
        return msgspec.msgpack.encode(parts)

    # --- bundles ---------------------------------------------------------------------------

    def envelopes(self, council: bytes | None = None, since: int = 0) -> Iterator[bytes]:
        sql = "SELECT raw FROM envelopes WHERE created_at >= ?"
        params: tuple[Any, ...] = (since,)
        if council is not None:
            sql += " AND council=?"
            params += (council,)
        for (raw,) in self.store.rows(sql + " ORDER BY rowid", params):
            yield bytes(raw)

    def export_bundle(
        self,
        out: IO[bytes],
        council: bytes | None = None,
        since: int = 0,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        count = 0
        with bundle.BundleWriter(out) as writer:
            for raw in self.envelopes(council, since):
                writer.add(raw)
                count += 1
                if progress and count % 1000 == 0:
                    progress(1000)
        if progress:
            progress(count % 1000)
        return count

    def import_envelopes(self, raws: Iterable[bytes], heal: bool = True) -> Report:
        """Ingest envelopes from anywhere; then, unless told not to, heal key epochs."""
        report = self.ingestor.ingest(raws)
        self._after_import(report)
        if heal:
            for council in sorted(report.councils):
                if done := self.heal_epochs(council):
                    report.healed[council] = done
        return report

    def import_bundle(
        self, source: IO[bytes], progress: Callable[[int], None] | None = None
    ) -> tuple[Report, BundleDamaged | None]:
        """Apply every intact envelope of a bundle; say how it was damaged, if it was."""
        damage: BundleDamaged | None = None

        def records() -> Iterator[bytes]:
            nonlocal damage
            try:
                yield from bundle.read_bundle(source)
            except BundleDamaged as exc:
                damage = exc

        self.ingestor.progress = progress
        try:
            report = self.import_envelopes(records())
        finally:
            self.ingestor.progress = None
        return report, damage

    def _after_import(self, report: Report) -> None:
        for council in report.councils:
            me = self.store.one("SELECT sign_pk FROM identities WHERE council=?", (council,))
            final = self.ingestor.projection.final_state(council)
            member = final.members.get(me) if me else None
            status = self.store.one("SELECT status FROM councils WHERE id=?", (council,))
            if member is not None and member.ended_by is not None:
                new_status = "removed" if member.end == "removed" else "left"
            elif member is not None:
                new_status = "member"
            else:
                new_status = status
            if new_status != status:
                self.store.execute("UPDATE councils SET status=? WHERE id=?", (new_status, council))


def _state_summary(kind: str, raw_body: bytes, names: dict[bytes, str]) -> str:
    body = decode_body(kind, raw_body)
    if isinstance(body, kinds.CouncilCreate | kinds.CouncilUpdate):
        return body.name or ""
    if isinstance(body, kinds.Admit):
        return tokens.open_join_request(body.request)[0].name
    if isinstance(body, kinds.Remove):
        return names.get(body.member, body.member.hex()[:12])
    if isinstance(body, kinds.Vouch):
        if body.request is not None:
            return tokens.open_join_request(body.request)[0].name
        return names.get(body.subject, body.subject.hex()[:12])
    if isinstance(body, kinds.EpochGrant):
        return ", ".join(names.get(g.member, "?") for g in body.grants)
    return str(getattr(body, "reason", ""))


def _find(rows: list[tuple[Any, ...]], ref: str, what: str) -> bytes:
    """One row's id by (case-insensitive, normalised) name, or by an id prefix."""
    wanted = normalize_persian(ref).casefold()
    by_name = [key for key, name in rows if normalize_persian(name).casefold() == wanted]
    by_key = [key for key, _ in rows if len(wanted) >= 6 and key.hex().startswith(wanted)]
    found = by_name or by_key
    if len(found) == 1:
        return bytes(found[0])
    if not found:
        raise NotFound(f"no {what} named or numbered {ref!r} here")
    raise InvalidInput(f"{ref!r} names {len(found)} {what}s; give more of the id instead")
