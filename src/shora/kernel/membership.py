"""Who is a member, under which rules and keys: a pure function of the state events.

Sans-I/O: this module never touches the store, the clock or the network. It is fed
`StateEvent`s (already verified and decrypted) in causal order and answers what the
council's state is for any set of them. See docs/protocol.md, "Authorisation".

The rules, in short:
1. State events are applied in the total order (clock, id), a linear extension of
   the causal order, so every replica holding the same events applies them alike.
2. An event is authorised against the state of its own causal past (the state events
   below its `heads`),
   and its author must also still be a member at its place in the total order.
3. Strong removal, decided before the fold and from the causal order alone: when an
   ending X of member M (a removal, M leaving, a seat ended) is effective, every event
   by M concurrent with X is void, whatever its kind. Endings that form a cycle of
   concurrent removals (A removes B while B removes A) are "mutual": they all apply
   and none starts a key epoch. No clock, id or claimed time decides any of this.
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict
from collections.abc import (
    Callable,
    Collection,
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    Sequence,
    Set,
    ValuesView,
)
from typing import Any, Generic, Protocol, TypeVar, overload

import msgspec
from msgspec.structs import replace

from shora.errors import RemoteError
from shora.i18n import _
from shora.kernel import kinds, tokens
from shora.kernel.events import register_kind


class JoinRequestSeen(msgspec.Struct, frozen=True):
    """A join request already opened and verified when its event was ingested."""

    request_id: bytes
    payload: tokens.JoinRequestPayload


class StateEvent(msgspec.Struct, frozen=True):
    id: bytes
    clock: int
    author: bytes
    kind: str
    epoch: bytes
    time: int
    body: Any
    # The frontier of its causal past: the state events in it that are in no other's
    # causal past there. The whole past is theirs and their pasts (`Resolver.past`).
    heads: frozenset[bytes]
    # The join request of member.admit and member.vouch, or the recovery request of
    # member.recover and a vouch to recover.
    request: JoinRequestSeen | RecoverySeen | None = None


class RecoverySeen(msgspec.Struct, frozen=True):
    """A recovery request already opened and verified when its event was ingested."""

    request_id: bytes
    payload: tokens.RecoveryRequestPayload


def prepare_request(body: Any) -> JoinRequestSeen | RecoverySeen | None:
    """Open the join or recovery request an event carries; raises RemoteError if bad."""
    raw = getattr(body, "request", None)
    recovering = isinstance(body, kinds.Recover) or (
        isinstance(body, kinds.Vouch) and body.action == "recover"
    )
    if recovering:
        if raw is None:
            raise RemoteError(_("a vouch to recover carries no recovery request"))
        opened, opened_id = tokens.open_recovery_request(raw)
        return RecoverySeen(opened_id, opened)
    if raw is None:
        return None
    payload, request_id = tokens.open_join_request(raw)
    if isinstance(body, kinds.Vouch) and body.subject != request_id:
        raise RemoteError(_("vouch names a different request than it carries"))
    return JoinRequestSeen(request_id, payload)


class Member(msgspec.Struct, frozen=True):
    key: bytes
    name: str
    kx: bytes
    admitted_by: bytes  # the event that admitted them (the founding event for the founder)
    ended_by: bytes | None = None
    end: str | None = None  # "removed", "left" or "recovered" (the place passed to a new key)


FOREVER = 2**62  # a term with no end (ms)


class Term(msgspec.Struct, frozen=True):
    """A member holding a role from `start` until `end` (ms, claimed times)."""

    member: bytes
    start: int
    end: int  # FOREVER for a term without end; set to the recall's time when recalled
    source: bytes  # the event that gave the role (founding or an election's close)

    def holds_at(self, at_ms: int) -> bool:
        return self.start <= at_ms < self.end


class Emergency(msgspec.Struct, frozen=True):
    """An emergency removal that lapses unless the council ratifies it in time."""

    member: bytes
    actor: bytes
    deadline: int  # ms: ratified by then, or it may be recorded as lapsed
    status: str  # pending, ratified, lapsed (not ratified in time), rejected (vote failed)


class Invite(msgspec.Struct, frozen=True):
    secret: bytes
    expires: int
    created_by: bytes
    used_by: bytes | None = None


class Applied:
    """The state events a state applied, in the total order: (event, author) pairs.

    A state is copied for every state event, and its history grows without end: copies
    share one list, each keeping its own length, so a copy costs nothing whatever the
    history. An append extends the shared list in place when this copy holds all of it
    (the usual case: the fold extends the newest state), else it first takes its own copy
    of its part. Entries below a copy's length are never changed by anyone."""

    __slots__ = ("_items", "_n")

    def __init__(self, items: list[tuple[bytes, bytes]] | None = None, n: int | None = None):
        self._items: list[tuple[bytes, bytes]] = [] if items is None else items
        self._n = len(self._items) if n is None else n

    def append(self, entry: tuple[bytes, bytes]) -> None:
        if self._n != len(self._items):
            self._items = self._items[: self._n]
        self._items.append(entry)
        self._n += 1

    def copy(self) -> Applied:
        return Applied(self._items, self._n)

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        return itertools.islice(self._items, self._n)

    @overload
    def __getitem__(self, index: int) -> tuple[bytes, bytes]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[bytes, bytes]]: ...
    def __getitem__(self, index: int | slice) -> tuple[bytes, bytes] | list[tuple[bytes, bytes]]:
        return self._items[: self._n][index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Applied):
            return self.extends(other) and other._n == self._n
        if isinstance(other, list):
            return self._items[: self._n] == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def extends(self, other: Applied) -> bool:
        """Whether other's entries are the first of ours (at once when shared)."""
        if other._n > self._n:
            return False
        if other._items is self._items:
            return True
        return self._items[: other._n] == other._items[: other._n]

    def since(self, k: int) -> list[tuple[bytes, bytes]]:
        """Our entries after the first k (without walking the first k)."""
        return self._items[k : self._n]


class CouncilState(msgspec.Struct):
    genesis: bytes | None = None
    name: str = ""
    description: str = ""
    rules: kinds.Rules = msgspec.field(default_factory=kinds.Rules)
    members: Layered[bytes, Member] = msgspec.field(default_factory=lambda: Layered())
    invites: Layered[bytes, Invite] = msgspec.field(default_factory=lambda: Layered())
    vouches: dict[tuple[str, bytes], frozenset[bytes]] = msgspec.field(default_factory=dict)
    epochs: dict[bytes, bytes] = msgspec.field(default_factory=dict)  # write key -> creating event
    current_epoch: bytes | None = None
    applied: Applied = msgspec.field(default_factory=lambda: Applied())  # (event, author)
    void: frozenset[bytes] = frozenset()
    terms: dict[str, tuple[Term, ...]] = msgspec.field(default_factory=dict)  # role -> every term
    emergencies: dict[bytes, Emergency] = msgspec.field(default_factory=dict)  # by removal event
    decided: dict[bytes, str] = msgspec.field(default_factory=dict)  # governance proposal -> status
    petitions: dict[tuple[str, bytes], frozenset[bytes]] = msgspec.field(default_factory=dict)
    mutual: frozenset[bytes] = frozenset()  # endings in a cycle of concurrent removals
    ends: dict[bytes, frozenset[bytes]] = msgspec.field(default_factory=dict)  # member -> endings
    successors: dict[bytes, bytes] = msgspec.field(default_factory=dict)  # recovered key -> new key
    # Leaves of the old key that a recovery lists, by recovery: they stay valid.
    acknowledged: dict[bytes, frozenset[bytes]] = msgspec.field(default_factory=dict)
    # State that a domain's handlers keep (federation seats, rosters): values are
    # replaced, never mutated, so that copies stay independent.
    ext: dict[str, Any] = msgspec.field(default_factory=dict)

    def role_holders(self, role: str, at_ms: int) -> frozenset[bytes]:
        """The active members holding `role` at time `at_ms`."""
        return frozenset(
            t.member
            for t in self.terms.get(role, ())
            if t.holds_at(at_ms) and self.is_active(t.member)
        )

    def roles_of(self, member: bytes, at_ms: int) -> tuple[str, ...]:
        """The roles an active member holds at time `at_ms`, sorted."""
        if not self.is_active(member):
            return ()
        return tuple(
            sorted(
                role
                for role, terms in self.terms.items()
                if any(t.member == member and t.holds_at(at_ms) for t in terms)
            )
        )

    def is_active(self, key: bytes) -> bool:
        m = self.members.get(key)
        return m is not None and m.ended_by is None

    def active_members(self) -> list[bytes]:
        return sorted(k for k, m in self.members.items() if m.ended_by is None)

    def copy(self, members: Layered[bytes, Member] | None = None) -> CouncilState:
        """An independent copy (`members`: a copy of the members already made)."""
        return CouncilState(
            self.genesis,
            self.name,
            self.description,
            self.rules,
            # members and invites are replaced, never mutated: copies share them
            self.members.copy() if members is None else members,
            self.invites.copy(),
            dict(self.vouches),
            self.epochs,  # replaced, never mutated (`_new_epoch`): copies share it
            self.current_epoch,
            self.applied.copy(),
            self.void,
            dict(self.terms),
            dict(self.emergencies),
            dict(self.decided),
            dict(self.petitions),
            self.mutual,
            self.ends,
            dict(self.successors),
            dict(self.acknowledged),
            dict(self.ext),
        )

    def current_key(self, key: bytes) -> bytes:
        """The key a member holds now: `key`, or the key their place passed to."""
        seen = {key}
        while key in self.successors and self.successors[key] not in seen:
            key = self.successors[key]
            seen.add(key)
        return key

    def keys_of(self, key: bytes) -> frozenset[bytes]:
        """Every key that has held the same place as `key` (itself included)."""
        current = self.current_key(key)
        return frozenset(k for k in set(self.successors) | {key} if self.current_key(k) == current)


def threshold(mode: str, vouches: int, causal: CouncilState, removal: bool = False) -> int:
    """How many distinct members must support an admission or a removal.

    For a removal the person removed cannot count, so N vouches never exceeds the
    other members: a council of two can still remove an informer.
    """
    if mode == "member":
        return 1
    eligible = len(causal.active_members()) - (1 if removal else 0)
    if mode == "vouches":
        return max(1, min(vouches, eligible))
    return max(1, eligible // 2 + 1)  # "vote": a majority of the members who may vote


def _supporters(
    s: CouncilState,
    ev: StateEvent,
    c: CouncilState,
    action: str,
    subject: bytes,
    r: Resolver | None,
) -> int:
    """The distinct members backing an action: its author and every vouch for it in its
    causal past, less the vouches strong removal voided (written by someone removed
    concurrently: support that rests only on them does not stand)."""
    backers = c.vouches.get((action, subject), frozenset()) | {ev.author}
    if r is None or not any(b in s.ends for b in backers - {ev.author}):
        return len(backers)
    counted = {ev.author}
    for e in r.past(ev.id):
        v = r.events[e]
        if v.kind == "member.vouch" and e not in s.void and vouch_key(v) == (action, subject):
            counted.add(v.author)
    return len(counted & backers)


def vouch_key(ev: StateEvent) -> tuple[str, bytes]:
    """What a vouch counts towards: (action, subject), and for a recovery the old key
    and the new one, so vouches for two different new keys never add up."""
    body = ev.body
    if body.action == "recover" and isinstance(ev.request, RecoverySeen):
        return ("recover", bytes(body.subject) + ev.request.payload.sign_pk)
    return (body.action, bytes(body.subject))


class ContentEvent(msgspec.Struct, frozen=True):
    """A stored content event as a state handler may read it (valid or not)."""

    id: bytes
    author: bytes
    clock: int
    time: int
    kind: str
    body: Any


class Content(Protocol):
    """What a state handler may read of the content events (the projection provides
    it as `Resolver.content`): only what an event's causal past holds, which never
    changes, never whether a content event is valid now (that depends on later state).
    A handler that uses it must give the same answer for the same events on every
    replica: a secret election's seat is recounted from its causal past this way."""

    def event(self, eid: bytes) -> ContentEvent | None:
        """One stored event by id, of any kind, valid or not."""
        ...

    def about(self, ref: bytes, kinds: Sequence[str]) -> list[ContentEvent]:
        """Every stored event of these kinds about `ref`, valid or not."""
        ...

    def ancestors(self, eid: bytes) -> Set[bytes]:
        """Every event in the causal past of `eid` (content and state)."""
        ...

    def state_past(self, eid: bytes) -> frozenset[bytes]:
        """The state events in the causal past of `eid`."""
        ...

    def kept(self, ids: Sequence[bytes]) -> dict[bytes, str]:
        """Verdicts this device kept for these events ("" good, else a reason)."""
        ...

    def keep(self, verdicts: Mapping[bytes, str]) -> None:
        """Keep verdicts that depend only on their event (and its causal past)."""
        ...


# A state kind a domain adds (governance: elections, recalls, rule changes). The
# handler mutates s (replacing, never mutating, the values it finds there) and
# returns None if the event is not authorised, else the events it makes void; the
# resolver lets it look up other state events.
StateHandler = Callable[["CouncilState", StateEvent, "CouncilState", "Resolver"], set[bytes] | None]
HANDLERS: dict[str, StateHandler] = {}
# Kinds that end someone's membership, and whose: the subject of strong removal.
ENDINGS: dict[str, Callable[[StateEvent], bytes]] = {
    "member.remove": lambda ev: bytes(ev.body.member),
    "member.leave": lambda ev: ev.author,
    "member.recover": lambda ev: bytes(ev.body.member),
}
# What else an admission needs in a council whose rules say so (a federation's
# mandate): called with (s, ev, c, the join request); records what it needs in s.
AdmissionHook = Callable[["CouncilState", StateEvent, "CouncilState", JoinRequestSeen], bool]
ADMISSION_HOOKS: list[AdmissionHook] = []
# What else an emergency removal needs (governance: limits on pending ones), called
# with (s, ev, c, the removal's body).
EmergencyHook = Callable[["CouncilState", StateEvent, "CouncilState", kinds.Remove], bool]
EMERGENCY_HOOKS: list[EmergencyHook] = []


def register_state_kind(
    kind: str,
    schema: type[msgspec.Struct],
    handler: StateHandler,
    ref: Callable[[Any], bytes | None] | None = None,
    ends: Callable[[StateEvent], bytes] | None = None,
) -> None:
    """Add a kind that changes the council's state; its events are resolved with the
    kernel's own, in the same total order and under the same voiding rule. `ends`
    names the member whose membership such an event ends, if it ends one."""
    kinds.STATE_KINDS[kind] = schema
    register_kind(kind, schema, ref=ref)
    HANDLERS[kind] = handler
    if ends is not None:
        ENDINGS[kind] = ends


def reinstate(s: CouncilState, action: bytes, status: str) -> None:
    """Undo an emergency removal: the member is a member again (docs/decisions.md §6)."""
    emergency = s.emergencies[action]
    s.emergencies[action] = replace(emergency, status=status)
    member = s.members[emergency.member]
    if member.ended_by == action:
        s.members[emergency.member] = replace(member, ended_by=None, end=None)


def apply(
    s: CouncilState, ev: StateEvent, c: CouncilState, resolver: Resolver | None = None
) -> set[bytes] | None:
    """Apply ev to s (total-order state) given c (its causal state).

    Returns None if ev is not authorised (nothing changes), else the set of events
    that ev makes void (usually empty).
    """
    body = ev.body
    if ev.kind == "council.create":
        if s.genesis is not None or ev.heads:
            return None
        assert isinstance(body, kinds.CouncilCreate)
        s.genesis, s.name, s.description, s.rules = ev.id, body.name, body.description, body.rules
        s.members[ev.author] = Member(ev.author, body.founder_name, body.founder_kx, ev.id)
        s.terms["coordinator"] = (Term(ev.author, ev.time, FOREVER, ev.id),)
        s.epochs = {**s.epochs, ev.epoch: ev.id}
        s.current_epoch = ev.epoch
        s.applied.append((ev.id, ev.author))
        return set()
    # A mutual ending applies even though its author was just removed by its partner.
    author_ok = s.is_active(ev.author) or ev.id in s.mutual
    if not (author_ok and c.is_active(ev.author)) or ev.epoch not in c.epochs:
        return None
    voided: set[bytes] = set()
    if isinstance(body, kinds.CouncilUpdate):
        s.name = body.name if body.name is not None else s.name
        s.description = body.description if body.description is not None else s.description
    elif isinstance(body, kinds.InviteCreate):
        iid = tokens.invite_id(body.secret)
        if iid in s.invites:
            return None
        s.invites[iid] = Invite(body.secret, body.expires, ev.id)
    elif isinstance(body, kinds.Vouch):
        if body.action in ("remove", "recover") and not s.is_active(body.subject):
            return None
        if body.action == "recover" and body.subject == ev.author:
            return None  # the key being replaced never vouches for its replacement
        key = vouch_key(ev)
        s.vouches[key] = s.vouches.get(key, frozenset()) | {ev.author}
    elif isinstance(body, kinds.Admit):
        if not _admit(s, ev, c, resolver):
            return None
    elif isinstance(body, kinds.Remove | kinds.Leave):
        target = body.member if isinstance(body, kinds.Remove) else ev.author
        if isinstance(body, kinds.Remove) and not _may_remove(s, ev, c, body, resolver):
            return None
        how = "removed" if isinstance(body, kinds.Remove) else "left"
        voided = end_membership(s, ev, target, how)
        if isinstance(body, kinds.Remove):
            # A mutual removal's author is removed too and knows its new epoch's keys:
            # it starts none; the remaining members' nodes rotate instead.
            if ev.id not in s.mutual:
                _new_epoch(s, ev, body.new_epoch)
            if body.emergency and c.rules.emergency_ratify_hours:
                deadline = ev.time + c.rules.emergency_ratify_hours * 3_600_000
                s.emergencies[ev.id] = Emergency(target, ev.author, deadline, "pending")
    elif isinstance(body, kinds.Recover):
        if not _recover(s, ev, c, body, resolver):
            return None
    elif isinstance(body, kinds.Lapse):
        emergency = s.emergencies.get(body.action)
        if emergency is None or emergency.status != "pending" or body.action not in c.emergencies:
            return None
        if ev.time < emergency.deadline:
            return None
        reinstate(s, body.action, "lapsed")
    elif isinstance(body, kinds.Rotate):
        if body.new_epoch in s.epochs:
            return None
        _new_epoch(s, ev, body.new_epoch)
    elif isinstance(body, kinds.EpochGrant):
        if body.epoch not in c.epochs or body.epoch not in s.epochs:
            return None
    else:
        handler = HANDLERS.get(ev.kind)
        handled = None if handler is None or resolver is None else handler(s, ev, c, resolver)
        if handled is None:
            return None
        voided = handled
    s.applied.append((ev.id, ev.author))
    return voided


def end_membership(s: CouncilState, ev: StateEvent, target: bytes, how: str) -> set[bytes]:
    """End target's membership by ev. What this makes void was decided before the fold
    (strong removal, `Resolver._strong_removal`), so this returns nothing more."""
    member = s.members[target]
    if member.ended_by is None:  # of a mutual pair, the first in the fold names the end
        s.members[target] = replace(member, ended_by=ev.id, end=how)
    return set()


def new_epoch(s: CouncilState, ev: StateEvent, write_key: bytes) -> bool:
    """Start a new key epoch for an ending (none for a mutual one). Never fails on a
    write key someone else named first: that would let them block the ending."""
    if ev.id not in s.mutual:
        _new_epoch(s, ev, write_key)
    return True


def _admit(s: CouncilState, ev: StateEvent, c: CouncilState, r: Resolver | None) -> bool:
    seen = ev.request
    if not isinstance(seen, JoinRequestSeen):
        return False
    req = seen.payload
    invite = c.invites.get(req.invite_id)
    if invite is None or s.invites[req.invite_id].used_by is not None:
        return False
    if ev.time // 1000 > invite.expires or req.sign_pk in s.members:
        return False
    try:
        tokens.check_proof(req, invite.secret)
    except RemoteError:
        return False
    needed = threshold(c.rules.admission, c.rules.admission_vouches, c)
    if _supporters(s, ev, c, "admit", seen.request_id, r) < needed:
        return False
    if c.rules.federation and not all(hook(s, ev, c, seen) for hook in ADMISSION_HOOKS):
        return False
    s.invites[req.invite_id] = replace(s.invites[req.invite_id], used_by=ev.id)
    s.members[req.sign_pk] = Member(req.sign_pk, req.name, req.kx_pk, ev.id)
    return True


def recovery_threshold(causal: CouncilState) -> int:
    """How many members other than the one replaced must back a recovery: the council's
    recovery rule, else its admission rule but at least 2 when 2 others can."""
    rules = causal.rules
    mode = rules.recovery or rules.admission
    count = rules.recovery_vouches or rules.admission_vouches
    needed = threshold(mode, count, causal, removal=True)
    if rules.recovery is None:
        needed = max(needed, min(2, len(causal.active_members()) - 1))
    return needed


def _recover(
    s: CouncilState, ev: StateEvent, c: CouncilState, body: kinds.Recover, r: Resolver | None
) -> bool:
    """A member's place passes to a new key: same name and roles, the old key ended as
    by a removal, a new epoch the old key never receives (docs/protocol.md §9.1)."""
    seen, old = ev.request, bytes(body.member)
    if r is None or not isinstance(seen, RecoverySeen) or seen.payload.council != r.council:
        return False
    new = seen.payload.sign_pk
    if old == ev.author or not (s.is_active(old) and c.is_active(old)):
        return False
    if new in s.members or new in c.members or c.rules.federation:
        return False
    if not tokens.claim_names(seen.payload.claim, old, s.members[old].name):
        return False
    # Another ending of the same member concurrent with this one wins: the person was
    # being removed (or leaving, or recovered by someone else) while this was decided.
    if any(x != ev.id and r.concurrent(x, ev.id) for x in s.ends.get(old, ())):
        return False
    if _supporters(s, ev, c, "recover", old + new, r) < recovery_threshold(c):
        return False
    member = s.members[old]
    end_membership(s, ev, old, "recovered")
    s.members[new] = Member(new, member.name, seen.payload.kx_pk, ev.id)
    s.successors[old] = new
    s.acknowledged[ev.id] = frozenset(bytes(e) for e in body.acknowledged)
    for role, terms in list(s.terms.items()):
        if any(t.member == old and t.end > ev.time for t in terms):
            s.terms[role] = tuple(_pass_term(t, old, ev.time) for t in terms) + tuple(
                Term(new, max(t.start, ev.time), t.end, t.source)
                for t in terms
                if t.member == old and t.end > ev.time
            )
    new_epoch(s, ev, body.new_epoch)
    return True


def _pass_term(t: Term, old: bytes, at: int) -> Term:
    """The old key's part of a term: it ends when the place passes to the new key."""
    return replace(t, end=min(t.end, at)) if t.member == old and t.end > at else t


def _may_remove(
    s: CouncilState, ev: StateEvent, c: CouncilState, body: kinds.Remove, r: Resolver | None
) -> bool:
    if body.member == ev.author or not (s.is_active(body.member) and c.is_active(body.member)):
        return False
    if body.emergency:
        roles = set(c.roles_of(ev.author, ev.time))
        if not roles & set(c.rules.emergency_removal_roles):
            return False
        return all(hook(s, ev, c, body) for hook in EMERGENCY_HOOKS)
    needed = threshold(c.rules.removal, c.rules.removal_vouches, c, removal=True)
    return _supporters(s, ev, c, "remove", body.member, r) >= needed


def _new_epoch(s: CouncilState, ev: StateEvent, write_key: bytes) -> None:
    if write_key not in s.epochs:  # named first by someone else: its creator stays
        # A new dict: states share theirs (a state is copied for every state event,
        # and copying every epoch made each event cost every removal).
        s.epochs = {**s.epochs, write_key: ev.id}
    s.current_epoch = write_key


# How many causal pasts' states the projection keeps for content events (for the pages
# that ask what the author saw): keeping all of them made memory grow with members ×
# history.
STATES_CACHED = 256
# How many causal pasts' states a resolver keeps besides the final state.
STATES_KEPT = 64
# How many walks down the state events (`Resolver.precedes`) and whole causal pasts
# (`Resolver.past`) a resolver keeps: each may hold the ids of the whole history.
WALKS_KEPT = 16
PASTS_KEPT = 4
K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A mapping that forgets its least recently used entry beyond `size` entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


class Layered(MutableMapping[K, V]):
    """A mapping whose copies share what none of them wrote: a base dict that is never
    written once shared, and each copy's own writes. A state is copied for every state
    event and its members and invites grow with the council, so copying them whole
    made each admission cost every member. A copy costs its writes since the last
    merge; writes are merged into a new base beyond FLATTEN of them, and before a walk
    over every entry (which costs every entry anyway). Entries are never removed."""

    __slots__ = ("_base", "_delta", "_n")
    FLATTEN = 64

    def __init__(self, items: Mapping[K, V] | None = None) -> None:
        self._base: dict[K, V] = dict(items) if items else {}
        self._delta: dict[K, V] = {}
        self._n = len(self._base)

    def copy(self) -> Layered[K, V]:
        if len(self._delta) > self.FLATTEN:
            self._flatten()
        new: Layered[K, V] = Layered.__new__(Layered)
        new._base, new._delta, new._n = self._base, dict(self._delta), self._n
        return new

    def _flatten(self) -> dict[K, V]:
        if self._delta:
            self._base = {**self._base, **self._delta}
            self._delta = {}
        return self._base

    def __getitem__(self, key: K) -> V:
        delta = self._delta
        return delta[key] if key in delta else self._base[key]

    def get(self, key: K, default: Any = None) -> Any:
        delta = self._delta
        return delta[key] if key in delta else self._base.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._delta or key in self._base

    def __setitem__(self, key: K, value: V) -> None:
        if key not in self._delta and key not in self._base:
            self._n += 1
        self._delta[key] = value

    def __delitem__(self, key: K) -> None:
        raise TypeError("entries of a council state are replaced, never removed")

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[K]:
        return iter(self._flatten())

    def keys(self) -> KeysView[K]:
        return self._flatten().keys()

    def values(self) -> ValuesView[V]:
        return self._flatten().values()

    def items(self) -> ItemsView[K, V]:
        return self._flatten().items()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Layered):
            return self._flatten() == other._flatten()
        if isinstance(other, dict):
            return self._flatten() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Layered({self._flatten()!r})"


class _Walk(msgspec.Struct):
    """The state events found so far below one event, and the edge still to walk
    below them, highest clock first: (-clock, id)."""

    seen: set[bytes]
    edge: list[tuple[int, bytes]]


class _Recording(Layered[bytes, Member]):
    """A members mapping that notes every key written to it (for the final state's delta)."""

    __slots__ = ("touched",)

    def __init__(self, items: Mapping[bytes, Member]) -> None:
        copied = items.copy() if isinstance(items, Layered) else Layered(items)
        self._base, self._delta, self._n = copied._base, copied._delta, copied._n
        self.touched: set[bytes] = set()

    def __setitem__(self, key: bytes, value: Member) -> None:
        self.touched.add(key)
        super().__setitem__(key, value)


class Resolver:
    """Caches the state of every causal past it has been asked about, for one council,
    and keeps the final state (that of every event) up to date as events are added."""

    def __init__(self, council: bytes = b"") -> None:
        self.council = council  # the council id, for handlers that check credentials
        self.events: dict[bytes, StateEvent] = {}
        # The content events, for the handlers that must read some in an event's causal
        # past (set by the projection; None where only state events are folded).
        self.content: Content | None = None
        # The states of the causal pasts asked about last, each keyed by its frontier
        # (`frontier`). Keeping every one made memory grow with events x members; a
        # fold asks for its events' pasts in the total order, each one event past the
        # previous (`_extend`), so the recent ones are what it needs, and the final
        # state is kept apart (`_final`).
        self._cache: LRU[frozenset[bytes], CouncilState] = LRU(STATES_KEPT)
        self._tips: set[bytes] = set()  # the frontier of every registered event
        self._walks: LRU[bytes, _Walk] = LRU(WALKS_KEPT)  # see `precedes`
        self._pasts: LRU[bytes, frozenset[bytes]] = LRU(PASTS_KEPT)  # see `past`
        # Each author's state events and the endings of each member, as registered:
        # what an ending's extension looks at (`_ending_extends`).
        self._by_author: dict[bytes, list[bytes]] = {}
        self._endings_of: dict[bytes, list[bytes]] = {}
        # The epochs each admission or recovery knew in its causal past (the welcome it
        # carries holds their keys), interned: they change only with rotations.
        self._causal_epochs: dict[bytes, frozenset[bytes]] = {}
        self._last_epochs: frozenset[bytes] = frozenset()
        self._last_epochs_of: dict[bytes, bytes] | None = None  # the states' dict it is of
        self._authorised: dict[bytes, bool] = {}  # ending -> allowed in its causal past
        self._place: dict[bytes, tuple[int, bytes]] = {}  # id -> (clock, id), total order
        self._newest: tuple[int, bytes] | None = None  # the last event in the total order
        # The final state, extended by each event that comes last in the total order
        # (None: folded again when asked), and the member keys written since `_base`,
        # an earlier final state (see `members_changed_since`).
        self._final: CouncilState | None = None
        self._base: CouncilState | None = None
        self._touched: set[bytes] = set()

    def add(self, ev: StateEvent) -> CouncilState:
        """Register ev (the state events its heads name must be registered) and return
        its causal state. Its heads may be any state events whose pasts together with
        them make its causal past: only their frontier is kept."""
        if not self.events.keys() >= ev.heads:
            raise ValueError("state event added before its ancestors")
        heads = self.frontier(ev.heads)
        if heads != ev.heads:
            ev = replace(ev, heads=heads)
        self.events[ev.id] = ev
        place = (ev.clock, ev.id)
        self._place[ev.id] = place
        self._tips -= heads
        self._tips.add(ev.id)
        self._by_author.setdefault(ev.author, []).append(ev.id)
        if ev.kind in ENDINGS:
            self._endings_of.setdefault(ENDINGS[ev.kind](ev), []).append(ev.id)
        causal = self.state_of(heads)
        if isinstance(ev.body, kinds.Admit | kinds.Recover):
            # States share their epochs until one is added (`_new_epoch`): comparing
            # them on every admission cost every epoch.
            if causal.epochs is not self._last_epochs_of:
                self._last_epochs_of = causal.epochs
                if self._last_epochs != causal.epochs.keys():
                    self._last_epochs = frozenset(causal.epochs)
            self._causal_epochs[ev.id] = self._last_epochs
        self._advance_final(ev, place)
        return causal

    def causal_epochs(self, event: bytes) -> frozenset[bytes]:
        """The epochs an admission or recovery knew in its causal past."""
        found = self._causal_epochs.get(event)
        if found is None:
            found = frozenset(self.state_of(self.events[event].heads).epochs)
        return found

    def _advance_final(self, ev: StateEvent, place: tuple[int, bytes]) -> None:
        """The final state with ev added: the previous one extended by ev when ev comes
        last in the total order and extending is sound (`_extend`), else unknown."""
        prior, newest = self._final, self._newest
        self._newest = place if newest is None or place > newest else newest
        self._final = None
        if prior is None or newest is None or place < newest:
            self._base = None
            return
        state = self._extend(prior, ev.id, None, record=True)
        if state is None:
            self._base = None
            return
        assert isinstance(state.members, _Recording)
        # The recording mapping stays the state's members (a state is never written once
        # made): copying it back into a plain dict would cost every member again.
        touched = state.members.touched
        if self._base is None:
            self._base, self._touched = prior, set()
        self._touched |= touched
        self._final = state

    def final(self) -> CouncilState:
        """The state of every registered event."""
        if self._final is None:
            self._final = self.state_of(frozenset(self._tips))
        return self._final

    def members_changed_since(self, before: CouncilState) -> set[bytes] | None:
        """The member keys whose entry may differ between `before` (a final state
        returned earlier, then passed to `mark`) and the final state now; None when not
        known (the final state was folded again): then compare every member."""
        if self._final is None or self._base is not before:
            return None
        return set(self._touched)

    def mark(self) -> None:
        """Start noting changed members from the current final state on."""
        self._base, self._touched = self.final(), set()

    def causal_state(self, ancestors: frozenset[bytes]) -> CouncilState:
        return self.state_of(ancestors)

    def state_of(self, ids: Collection[bytes]) -> CouncilState:
        """The state of the causal past made of these state events and their pasts
        (a frontier, or any set of state events: the same past, the same state)."""
        key = ids if isinstance(ids, frozenset) else frozenset(ids)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        key = self.frontier(key)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        final = self._final
        if final is not None and key == self._tips:
            self._cache[key] = final  # every event: the final state, kept up to date
            return final
        place = self._place.__getitem__
        state = None
        if key:  # usually the past one event short of it is cached
            last = max(key, key=place)
            rest = key - {last}
            below = self.events[last].heads
            prefix = self._cache.get(self.frontier(rest | below) if rest else below)
            if prefix is not None:
                state = self._extend(prefix, last, key)
        if state is None:
            state = self._fold(sorted(self.closure(key), key=place))
        self._cache[key] = state
        return state

    def precedes(self, x: bytes, y: bytes) -> bool:
        """Whether state event x is in the causal past of state event y. A clock falls
        along every parent link, so the walk down from y goes only through events whose
        clock is above x's; it is kept and resumed for the next question about y."""
        events = self.events
        floor = events[x].clock
        top = events[y]
        if floor >= top.clock:
            return False
        if x in top.heads:
            return True
        walk = self._walks.get(y)
        if walk is None:
            edge = [(-events[h].clock, h) for h in top.heads]
            heapq.heapify(edge)
            walk = _Walk(set(top.heads), edge)
            self._walks[y] = walk
        edge, seen = walk.edge, walk.seen
        while edge and -edge[0][0] > floor:
            _, e = heapq.heappop(edge)
            for h in events[e].heads:
                if h not in seen:
                    seen.add(h)
                    heapq.heappush(edge, (-events[h].clock, h))
        return x in seen

    def frontier(self, ids: Collection[bytes]) -> frozenset[bytes]:
        """Those of these state events that are in no other's causal past: the same
        past with the fewest events (the key of its state)."""
        found = ids if isinstance(ids, frozenset) else frozenset(ids)
        if len(found) <= 1:
            return found
        if len(found) <= 4:
            return frozenset(
                x for x in found if not any(self.precedes(x, y) for y in found if y != x)
            )
        # Many: one walk down from all of them, as far as the lowest clock among them.
        events = self.events
        low = min(events[i].clock for i in found)
        edge = [(-events[i].clock, i) for i in found]
        heapq.heapify(edge)
        seen, below = set(found), set()
        while edge:
            _, e = heapq.heappop(edge)
            for h in events[e].heads:
                if events[h].clock >= low:
                    below.add(h)
                    if h not in seen:
                        seen.add(h)
                        heapq.heappush(edge, (-events[h].clock, h))
        return found - below

    def closure(self, heads: Collection[bytes]) -> frozenset[bytes]:
        """These state events and every state event in their causal pasts."""
        found = set(heads)
        stack = list(found)
        events = self.events
        while stack:
            for h in events[stack.pop()].heads:
                if h not in found:
                    found.add(h)
                    stack.append(h)
        return frozenset(found)

    def past(self, eid: bytes) -> frozenset[bytes]:
        """Every state event in the causal past of `eid` (for the rare handler that
        goes over them: a close's votes; the last few are kept)."""
        found = self._pasts.get(eid)
        if found is None:
            found = self.closure(self.events[eid].heads)
            self._pasts[eid] = found
        return found

    def _extend(
        self,
        prefix: CouncilState,
        last: bytes,
        key: frozenset[bytes] | None,
        record: bool = False,
    ) -> CouncilState | None:
        """The prefix's state with one later event applied, unless that may void
        anything (an ending that is concurrent with an event of the member it ends, or
        with an ending of its own author) or did (a domain handler's voiding).

        An event whose author an effective ending in the prefix ends, concurrently with
        it, is void (strong removal): it joins the void set and is not applied. Leaving
        it out of the void set only because applying it fails would let a later event
        count it (a vouch of a removed member backing an admission or a removal).

        `key` is the frontier of the past extended to (None: every event)."""
        ev = self.events[last]
        ends = prefix.ends
        if ev.kind not in ENDINGS and any(
            self._concurrent(x, ev.id) for x in prefix.ends.get(ev.author, ())
        ):
            state = prefix.copy(_Recording(prefix.members) if record else None)
            state.void = prefix.void | {ev.id}
            return state
        if ev.kind in ENDINGS:
            if not self._ending_extends(ev, key):
                return None
            if self._allowed(ev):
                target = ENDINGS[ev.kind](ev)
                ends = {**ends, target: ends.get(target, frozenset()) | {ev.id}}
        state = prefix.copy(_Recording(prefix.members) if record else None)
        state.ends = ends
        return None if self._apply(state, ev) else state

    def _ending_extends(self, x: StateEvent, key: frozenset[bytes] | None) -> bool:
        """Whether ending x, last in the total order of the past whose frontier is `key`
        (None: every event), leaves what strong removal decided for the events before it
        as it was: no event of the member x ends and no ending of x's author is
        concurrent with x. Then x voids nothing, is in no mutual cycle, and stands if
        authorised (docs/protocol.md §9, rule 5): the fold of the past is the fold of the
        rest with x applied last. Else the whole past is folded again. Only the events of
        the member x ends and the endings of that member or of x's author are looked at,
        never the whole history."""
        target = ENDINGS[x.kind](x)
        endings = self._endings_of
        for e in (
            *self._by_author.get(target, ()),
            *endings.get(target, ()),
            *endings.get(x.author, ()),
        ):
            if e == x.id or not self._within(e, key):
                continue
            ev = self.events[e]
            if ev.author == target and self._concurrent(e, x.id):
                return False
            # Two concurrent endings of one member, one a recovery: the recovery yields.
            if (
                "member.recover" in (ev.kind, x.kind)
                and ev.kind in ENDINGS
                and ENDINGS[ev.kind](ev) == target
                and self._concurrent(e, x.id)
                and self._allowed(ev)
            ):
                return False
            if (
                ev.kind in ENDINGS
                and ENDINGS[ev.kind](ev) == x.author
                and self._concurrent(e, x.id)
                and self._allowed(ev)
            ):
                return False
        return True

    def _within(self, e: bytes, key: frozenset[bytes] | None) -> bool:
        """Whether state event e is in the past whose frontier is `key` (None: every
        registered event)."""
        return key is None or e in key or any(self.precedes(e, f) for f in key)

    def _apply(self, state: CouncilState, ev: StateEvent) -> set[bytes] | None:
        return apply(state, ev, self.state_of(ev.heads), self)

    def _allowed(self, ev: StateEvent) -> bool:
        """Whether an ending is authorised by its causal past alone (cached)."""
        found = self._authorised.get(ev.id)
        if found is None:
            causal = self.state_of(ev.heads)
            trial = causal.copy()
            # Its own list of what it applied (which nothing of a trial reads): appending
            # to the one it shares with `causal` would make the next state that extends
            # `causal` copy the whole history first, once for every removal.
            trial.applied = Applied()
            found = apply(trial, ev, causal, self) is not None
            self._authorised[ev.id] = found
        return found

    def concurrent(self, x: bytes, y: bytes) -> bool:
        """Neither is in the other's causal past (for handlers)."""
        return self._concurrent(x, y)

    def _concurrent(self, x: bytes, y: bytes) -> bool:
        """Neither is in the other's causal past (an event is concurrent with itself)."""
        return not self.precedes(x, y) and not self.precedes(y, x)

    def _strong_removal(
        self, order: list[bytes]
    ) -> tuple[set[bytes], frozenset[bytes], dict[bytes, frozenset[bytes]]]:
        """(void events, mutual endings, effective endings by member) for a set of
        state events, from the causal order alone (docs/protocol.md §9, rule 5)."""
        endings = {
            e: ENDINGS[self.events[e].kind](self.events[e])
            for e in order
            if self.events[e].kind in ENDINGS and self._allowed(self.events[e])
        }
        if not endings:
            return set(), frozenset(), {}
        by_author: dict[bytes, list[bytes]] = {}
        for x in endings:
            by_author.setdefault(self.events[x].author, []).append(x)
        # y -> x: y ends x's author, and neither knew of the other.
        succ = {
            y: [x for x in by_author.get(target, ()) if x != y and self._concurrent(x, y)]
            for y, target in endings.items()
        }
        mutual = frozenset(x for x in endings if _reaches(succ, x, x))
        preds: dict[bytes, list[bytes]] = {x: [] for x in endings}
        for y, xs in succ.items():
            for x in xs:
                preds[x].append(y)
        effective = _effective(endings, preds, mutual)
        ends: dict[bytes, frozenset[bytes]] = {}
        for x in effective:
            ends[endings[x]] = ends.get(endings[x], frozenset()) | {x}
        void = {
            e
            for e in order
            if e not in mutual
            for x in ends.get(self.events[e].author, ())
            if e != x and self._concurrent(e, x)
        }
        return void, mutual, ends

    def _fold(self, order: list[bytes]) -> CouncilState:
        void, mutual, ends = self._strong_removal(order)
        while True:
            state = CouncilState(void=frozenset(void), mutual=mutual, ends=ends)
            for eid in order:
                if eid in void:
                    continue
                newly = self._apply(state, self.events[eid])
                if newly:
                    void |= newly
                    break
            else:
                return state


def _reaches(succ: dict[bytes, list[bytes]], start: bytes, goal: bytes) -> bool:
    """Whether a path of one or more edges leads from start to goal."""
    seen: set[bytes] = set()
    stack = list(succ.get(start, ()))
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(succ.get(node, ()))
    return False


def _effective(
    endings: dict[bytes, bytes], preds: dict[bytes, list[bytes]], mutual: frozenset[bytes]
) -> set[bytes]:
    """Endings that stand: a mutual one always; any other unless an ending that stands
    ended its author concurrently. Outside the mutual cycles the graph is acyclic, so
    this is decided in topological order, whatever the events' ids or clocks."""
    effective: set[bytes] = set(mutual)
    waiting = {x: sum(1 for y in preds[x] if y not in mutual) for x in endings if x not in mutual}
    ready = [x for x, n in waiting.items() if n == 0]
    succ: dict[bytes, list[bytes]] = {}
    for x in waiting:
        for y in preds[x]:
            if y not in mutual:
                succ.setdefault(y, []).append(x)
    while ready:
        x = ready.pop()
        if not any(y in effective for y in preds[x]):
            effective.add(x)
        for z in succ.get(x, ()):
            waiting[z] -= 1
            if waiting[z] == 0:
                ready.append(z)
    return effective
