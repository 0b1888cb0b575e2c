"""A node: one unlocked profile, and every operation a person can do with it.

The CLI and (later) the web interface call this; it composes events, feeds them to
the same ingest pipeline as events from elsewhere, and reads the projection.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Any

import msgspec

from shora.errors import (
    InvalidInput,
    NotFound,
)
from shora.i18n import normalize_persian
from shora.kernel import crypto, keys, kinds, tokens
from shora.kernel.events import (
    council_id_for,
    decode_body,
    encode_body,
)
from shora.services import aid, deadman_missing, safety
from shora.services.aid import Aid
from shora.services.bundles import Bundles
from shora.services.care import Care
from shora.services.deadman_missing import DeadmanMissing
from shora.services.decisions import Decisions
from shora.services.discussion import Discussion
from shora.services.federation import Federation
from shora.services.federation_flow import FederationFlow
from shora.services.forgetting import Forgetting, forget_expired
from shora.services.governance import Governance
from shora.services.housekeeping import Chores, Housekeeping
from shora.services.joining import Joining
from shora.services.membership import MembershipActions
from shora.services.network import Network
from shora.services.restricted import Restricted
from shora.services.safety import Safety

KIND_MODULES = (
    "shora.domain.aid.kinds",  # aid and safety
    "shora.domain.care.kinds",  # stocks, skills, dead-man timers, missing people
    "shora.domain.discussion.kinds",
    "shora.domain.decisions.kinds",
    "shora.domain.federation.kinds",
    "shora.domain.governance.rules",  # the governance state kinds and their rules
    "shora.domain.federation.rules",  # mandate.end, and admissions by mandate
)
"""The modules whose `register()` adds the event kinds a node accepts, in this order
(docs/architecture.md, "Event kinds"): a kind is never valid because some module
happened to be imported."""
_registered = False


def register_kinds() -> None:
    """Register every kind of KIND_MODULES with the kernel (once)."""
    global _registered
    if _registered:
        return
    for name in KIND_MODULES:
        importlib.import_module(name).register()
    _registered = True


register_kinds()


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
        self.aid = Aid(self)
        self.safety = Safety(self)
        self.care = Care(self)
        self.deadman_missing = DeadmanMissing(self)
        self.forgetting = Forgetting(self)
        self.decisions = Decisions(self)
        self.discussion = Discussion(self)
        self.governance = Governance(self)
        self.federation = Federation(  # collaborators until they are services of their own
            self,
            self,
            propose=self.decisions.propose,
            proposal=self.decisions.proposal,
        )
        self.federation_flow = FederationFlow(
            self,
            self.federation,
            propose=self.decisions.propose,
            proposal=self.decisions.proposal,
            proposals=lambda council, limit: self.decisions.proposals(council, limit=limit),
            aid_state=lambda council, now: aid.state(self, council, now),
            alerts=lambda council, now: safety.alerts(self, council, now),
        )
        self.joining = Joining(self)
        self.restricted = Restricted(self)
        self.housekeeping = Housekeeping(
            self,
            Chores(
                forget=functools.partial(forget_expired, self),
                record_lapses=self.governance.record_lapses,
                sign_due=self.federation.sign_due,
                end_expired=self.federation.end_expired,
                keep_up=self.federation_flow.keep_up,
                welcome_back=self.welcome_back,
                heal_epochs=self.heal_epochs,
                raise_alerts=functools.partial(deadman_missing.raise_all_alerts, self),
            ),
        )
        self.housekeeper = self.housekeeping.after_import  # once per import batch
        self.bundles = Bundles(self, self.housekeeping)
        self.network = Network(self, self.housekeeping)

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
