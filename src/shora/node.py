"""A node: one unlocked profile, and every operation a person can do with it.

The CLI and (later) the web interface call this; it composes events, feeds them to
the same ingest pipeline as events from elsewhere, and reads the projection.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import msgspec

import shora.domain.aid.kinds  # registers the aid and safety kinds with the kernel
import shora.domain.care.kinds  # stocks, skills, dead-man timers, missing people
import shora.domain.decisions.kinds
import shora.domain.federation.kinds
import shora.domain.governance.rules  # noqa: F401 (registers the governance state kinds)
from shora.errors import (
    BundleDamaged,
    InvalidInput,
    NotFound,
)
from shora.i18n import normalize_persian
from shora.kernel import bundle, crypto, keys, kinds, tokens
from shora.kernel.events import (
    council_id_for,
    decode_body,
    encode_body,
)
from shora.kernel.ingest import Report
from shora.services import federation, federation_flow, governance
from shora.services.aid import Aid
from shora.services.care import Care
from shora.services.deadman_missing import DeadmanMissing
from shora.services.decisions import Decisions
from shora.services.discussion import Discussion
from shora.services.federation import Federation
from shora.services.federation_flow import FederationFlow
from shora.services.forgetting import Forgetting
from shora.services.governance import Governance
from shora.services.joining import Joining
from shora.services.membership import MembershipActions
from shora.services.restricted import Restricted
from shora.services.safety import Safety
from shora.sync.local import NodeEnvelopes
from shora.sync.summary import difference, make_summary, read_summary


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


class Node(MembershipActions):
    """A node: one unlocked profile, and every operation a person can do with it."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        # The services, one per capability (docs/architecture.md).
        self.restricted = Restricted(self)
        self.aid = Aid(self, self.restricted)
        self.safety = Safety(self, self.restricted, self.aid)
        self.care = Care(self, self.restricted, self.aid)
        self.deadman_missing = DeadmanMissing(self, self.restricted, self.aid)
        self.forgetting = Forgetting(self, self.aid)
        self.decisions = Decisions(self)
        self.discussion = Discussion(self)
        self.governance = Governance(self)
        self.federation = Federation(self)
        self.federation_flow = FederationFlow(self)
        self.joining = Joining(self)

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
            self._store_identity(council, sign_pk, sign_sk, kx_pk, kx_sk, founder_name)
            self.ingestor.learn_epoch(epoch)
            raw, _ = self._seal_event(
                council, epoch, sign_pk, sign_sk, [], 1, "council.create", raw_body
            )
            self.ingestor.ingest_one(raw)
        return council

    def update_council(self, council: bytes, name: str | None, description: str | None) -> None:
        name = normalize_persian(name) if name is not None else None
        if name == "":
            raise InvalidInput("a council's name cannot be empty")
        self.append(council, "council.update", kinds.CouncilUpdate(name, description))

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
        now_ms = int(self.now() * 1000)
        return [
            MemberInfo(key, name, status, roles_at(roles, now_ms), key == me)
            for key, name, status, roles in self.store.rows(
                "SELECT key, name, status, roles FROM members WHERE council=? "
                "ORDER BY status, name, key",
                (council,),
            )
        ]

    # --- posts and the log -----------------------------------------------------------------

    def post(
        self, council: bytes, text: str, title: str | None = None, thread: bytes | None = None
    ) -> bytes:
        if not text.strip():
            raise InvalidInput("a post needs some text")
        if title is not None:
            return self.append(council, "post.announcement", kinds.Announcement(title, text))
        return self.append(council, "post.message", kinds.Message(text, thread))

    def posts(self, council: bytes, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Valid announcements and messages, newest first, a page at a time."""
        rows = self.store.rows(
            "SELECT e.id, e.kind, e.body, e.time, m.name FROM events e "
            "LEFT JOIN members m ON m.council=e.council AND m.key=e.author "
            "WHERE e.council=? AND e.kind IN ('post.announcement', 'post.message') "
            "AND e.valid=1 ORDER BY e.clock DESC, e.id LIMIT ? OFFSET ?",
            (council, limit, offset),
        )
        posts = []
        for eid, kind, body, time_, author in rows:
            post = decode_body(kind, body)
            posts.append(
                {
                    "id": eid,
                    "kind": kind,
                    "title": getattr(post, "title", ""),
                    "text": post.text,
                    "thread": getattr(post, "thread", None),
                    "time": time_,
                    "author": author,
                }
            )
        return posts

    def log(self, council: bytes, limit: int = 50, offset: int = 0) -> list[LogEntry]:
        """The council's events, newest first. The summary of a post is its title and
        text; of a membership event, the name it concerns."""
        rows = self.store.rows(
            "SELECT e.id, e.author, coalesce(m.name, ''), e.kind, e.time, e.clock, e.valid, "
            "e.body FROM events e "
            "LEFT JOIN members m ON m.council=e.council AND m.key=e.author "
            "WHERE e.council=? ORDER BY e.clock DESC, e.id LIMIT ? OFFSET ?",
            (council, limit, offset),
        )
        names = {
            bytes(k): n
            for k, n in self.store.rows("SELECT key, name FROM members WHERE council=?", (council,))
        }
        return [
            LogEntry(
                r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), _summary(r[3], r[7], names)[:80]
            )
            for r in rows
        ]

    def state_digest(self, council: bytes) -> bytes:
        """Canonical bytes of the projected state: equal on every replica with equal valid
        events."""
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
            # Void events are not part of the state (and a node that held the ending
            # first refuses them: docs/protocol.md §8).
            self.store.rows(
                "SELECT id FROM events WHERE council=? AND valid=1 ORDER BY id", (council,)
            ),
        ]
        return msgspec.msgpack.encode(parts)

    # --- bundles ---------------------------------------------------------------------------

    def envelopes(self, council: bytes | None = None, since: int = 0) -> Iterator[bytes]:
        sql = "SELECT raw FROM envelopes WHERE created_at >= ? AND length(raw) > 0"
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
        records: Iterable[bytes] | None = None,
    ) -> int:
        """Write envelopes (ours, or the given records) as a bundle; return how many."""
        count = 0
        with bundle.BundleWriter(out) as writer:
            for raw in self.envelopes(council, since) if records is None else records:
                writer.add(raw)
                count += 1
                if progress and count % 1000 == 0:
                    progress(1000)
        if progress:
            progress(count % 1000)
        return count

    def summary(self) -> bytes:
        """A small file saying what this node holds, for `difference` on another node."""
        return make_summary(NodeEnvelopes(self))

    def difference(self, summary: bytes) -> list[bytes]:
        """Our envelopes that the holder of `summary` lacks."""
        return list(difference(NodeEnvelopes(self), read_summary(summary)))

    def import_envelopes(self, raws: Iterable[bytes], heal: bool = True) -> Report:
        """Ingest envelopes from anywhere (and those held as dated ahead whose time has
        come); then, unless told not to, heal key epochs."""
        report = self.ingestor.ingest(itertools.chain(self.ingestor.take_due(), raws))
        self.settle(report, heal)
        return report

    def settle(self, report: Report, heal: bool = True) -> None:
        """After events came in: update our status in each council they concern and,
        unless told not to, heal its key epochs (noting what was done in the report)."""
        self._after_import(report)
        if heal:
            for council in sorted(report.councils):
                if done := self.housekeeping(council):
                    report.healed[council] = done

    def housekeeping(self, council: bytes) -> str | None:
        """What time and events ask of a member's node: record emergency actions whose
        time to be ratified ran out (undoing them), then heal key epochs (a reinstated
        member needs the keys made while they were out), and forget the expired needs,
        offers, alerts and check-ins. Run after imports and periodically; harmless when
        several members do it at once."""
        self.forgetting.forget_expired(int(self.now()), council)
        self.ingestor.expire(force=False)  # what waits too long for parents or a key
        governance.record_lapses(self, council)
        federation.sign_due(self, council)  # mandates and revocations (a base council)
        federation.end_expired(self, council)  # seats whose mandate is over (a federation)
        federation_flow.keep_up(self, council)  # a delegate's: notices down, results up
        self.welcome_back(council)
        return self.heal_epochs(council)

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


def roles_at(column: str, now_ms: int) -> tuple[str, ...]:
    """The roles held at now_ms, from the members table's "role@end_ms" items."""
    held = set()
    for item in column.split(","):
        role, _, end = item.partition("@")
        if role and int(end or 0) > now_ms:
            held.add(role)
    return tuple(sorted(held))


def _summary(kind: str, raw_body: bytes, names: dict[bytes, str]) -> str:
    body = decode_body(kind, raw_body)
    if isinstance(body, kinds.Announcement | kinds.Message):
        return (getattr(body, "title", "") + " " + body.text).strip()
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
