"""Councils: founding and renaming one, what a profile holds of each, its members, its
log, and a digest of its state."""

from __future__ import annotations

from typing import Any

import msgspec

from shora.domain.governance import kinds as gk
from shora.domain.governance.role_names import ROLE_NAMES as ROLE_NAMES  # for the interfaces
from shora.domain.governance.role_names import council_roles
from shora.errors import InvalidInput, NotFound
from shora.i18n import _, check_time_zone, normalize_persian
from shora.kernel import crypto, keys, kinds, tokens
from shora.kernel.core import NodeCore
from shora.kernel.events import council_id_for, decode_body, encode_body
from shora.kernel.kinds import Rules as Rules  # for the interfaces


class CouncilInfo(msgspec.Struct, frozen=True):
    id: bytes
    name: str
    description: str
    status: str  # member, joining, left, removed
    rules: kinds.Rules | None
    members: int
    events: int
    my_key: bytes | None


class MemberInfo(msgspec.Struct, frozen=True):
    key: bytes
    name: str
    status: str  # active, removed, left
    roles: tuple[str, ...]
    me: bool


class LogEntry(msgspec.Struct, frozen=True):
    id: bytes
    author: bytes
    author_name: str
    kind: str
    time: int  # ms, as the author claims
    clock: int
    valid: bool
    summary: str


class Councils:
    """The councils of a profile."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core

    def create(
        self, name: str, description: str, founder_name: str, rules: kinds.Rules | None = None
    ) -> bytes:
        """Found a council with this profile as its first member; return its id."""
        core = self.core
        name, founder_name = normalize_persian(name), normalize_persian(founder_name)
        if not name or not founder_name:
            raise InvalidInput(_("a council needs a name, and its founder a name too"))
        rules = rules or kinds.Rules()
        if rules.time_zone:  # replicas check only its shape: the writer checks it exists
            rules = msgspec.structs.replace(rules, time_zone=check_time_zone(rules.time_zone))
        sign_pk, sign_sk = crypto.sign_keypair()
        kx_pk, kx_sk = crypto.kx_keypair()
        body = kinds.CouncilCreate(
            name,
            description,
            rules,
            founder_name,
            kx_pk,
            crypto.random_bytes(16),
        )
        raw_body = encode_body(body)
        council = council_id_for(sign_pk, raw_body)
        epoch = keys.Epoch.generate(council)
        # The first event has no council to be appended to yet: it is sealed by hand,
        # under the council's first epoch, and ingested like any other.
        with core.store.transaction():
            core.store.councils.add(council, "member", name, int(core.now()))
            core.store_identity(council, sign_pk, sign_sk, kx_pk, kx_sk, founder_name)
            core.learn_epoch(epoch)
            raw, _id = core.seal_event(
                council, epoch, sign_pk, sign_sk, [], 1, "council.create", raw_body
            )
            core.ingest_raw(raw)
        return council

    def update(self, council: bytes, name: str | None, description: str | None) -> None:
        """Rename the council or change its description, for everyone in it."""
        name = normalize_persian(name) if name is not None else None
        if name == "":
            raise InvalidInput(_("a council's name cannot be empty"))
        self.core.append(council, "council.update", kinds.CouncilUpdate(name, description))

    def all(self) -> list[CouncilInfo]:
        """Every council of this profile, oldest first."""
        return [self.get(council) for council in self.core.store.councils.ids()]

    def get(self, council: bytes) -> CouncilInfo:
        """What this profile holds of a council; NotFound if it holds nothing."""
        store = self.core.store
        row = store.councils.row(council)
        if row is None:
            raise NotFound(_("no such council in this profile"))
        name, description, status, rules = row
        return CouncilInfo(
            council,
            name,
            description,
            status,
            msgspec.msgpack.decode(rules, type=kinds.Rules) if rules else None,
            store.members.active_count(council),
            store.events.count(council),
            store.councils.my_key(council),
        )

    def members(self, council: bytes) -> list[MemberInfo]:
        """Every member, present or past, with the roles they hold now."""
        me = self.core.me(council)
        now_ms = int(self.core.now() * 1000)
        return [
            MemberInfo(key, name, status, roles_at(roles, now_ms), key == me)
            for key, name, status, roles in self.core.store.members.listed(council)
        ]

    def names(self, council: bytes) -> dict[bytes, str]:
        """Every member's name by key (removed and departed members too)."""
        return self.core.store.members.names(council)

    def log(self, council: bytes, limit: int = 50, offset: int = 0) -> list[LogEntry]:
        """The council's events, newest first. The summary of a post is its title and
        text; of a membership event, the name it concerns."""
        rows = self.core.store.events.log(council, limit, offset)
        names = self.core.store.members.names(council)
        return [
            LogEntry(
                r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), _summary(r[3], r[7], names)[:80]
            )
            for r in rows
        ]

    def own_roles(self, council: bytes) -> dict[str, str]:
        """The council's own roles (beyond the built-in ones), key -> the name people
        gave it, in the order they were first named (`Governance.council_roles`, here
        so that every command on a council names them without loading governance)."""
        events = self.core.store.events
        rows = events.valid_of_kind(council, "gov.propose", order="clock")
        # A secret election names a role as an open one does (docs/ballot-secrecy.md).
        rows += events.valid_of_kind(council, "ballot.propose", order="clock")
        rows.sort(key=lambda row: (row[2], row[0]))
        actions = [decode_body(row[4], row[5]).action for row in rows]
        return council_roles([a for a in actions if isinstance(a, gk.Election)], ROLE_NAMES)

    def state_digest(self, council: bytes) -> bytes:
        """Canonical bytes of the projected state: equal on every replica with equal valid
        events."""
        store = self.core.store
        parts: list[Any] = [
            store.councils.state_row(council),
            store.members.state_rows(council),
            # Void events are not part of the state (and a node that held the ending
            # first refuses them: docs/protocol.md §8).
            store.events.all_valid_ids(council),
        ]
        return msgspec.msgpack.encode(parts)

    def version(self) -> tuple[int, int]:
        """A mark that stays equal while nothing is written to this profile (here or by
        another connection): what a cache of council pages is kept by."""
        return self.core.store.version()


def roles_at(column: str, now_ms: int) -> tuple[str, ...]:
    """The roles held at now_ms, from the members table's "role@end_ms" items."""
    held = set()
    for item in column.split(","):
        role, _sep, end = item.partition("@")
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
    if isinstance(body, kinds.Recover):
        return names.get(body.member, body.member.hex()[:12])
    if isinstance(body, kinds.Vouch):
        if body.request is not None and body.action == "recover":
            return names.get(body.subject, body.subject.hex()[:12])
        if body.request is not None:
            return tokens.open_join_request(body.request)[0].name
        return names.get(body.subject, body.subject.hex()[:12])
    if isinstance(body, kinds.EpochGrant):
        if not body.v2:
            return ", ".join(names.get(g.member, "?") for g in body.grants)
        by_tag = {k[: keys.MEMBER_TAG_LEN]: name for k, name in names.items()}
        return ", ".join(by_tag.get(t, "?") for t in keys.box_tags(body.boxes))
    return str(getattr(body, "reason", ""))
