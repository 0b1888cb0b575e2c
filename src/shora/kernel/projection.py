"""The projection: the council's state and the queryable tables, kept up to date.

Fed accepted events by the ingest pipeline; recomputes the membership state with
`membership.Resolver` (cached per causal past) and re-validates only what a state
change affects. See docs/protocol.md, section 9.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping, Sequence, Set
from typing import Any

import msgspec

from shora.kernel import crypto, keys, kinds, membership
from shora.kernel.events import decode_body
from shora.kernel.storage import Store


class Projection:
    """Caches per open store: interned causal pasts, resolvers, final states."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # Interned causal pasts, each as its frontier (`Resolver.frontier`): a few ids
        # per past, where the whole set of its state events grew with the history.
        self._msets: dict[int, frozenset[bytes]] = {}
        # A profile older than schema 7 holds whole sets and deltas on a base set: each
        # is read as the past it names and written again as its frontier (`resolver`).
        migrated = store.migrated_from
        self._legacy = migrated is not None and migrated < FRONTIER_SCHEMA
        self._mset_ids: dict[frozenset[bytes], int] = {}
        self._resolvers: dict[bytes, membership.Resolver] = {}
        self._finals: dict[bytes, membership.CouncilState] = {}
        self._end_ancestry: membership.LRU[bytes, set[bytes]] = membership.LRU(WALKS_KEPT)
        # Walks down from an ending, as far as a question needed (`precedes`).
        self._walks: membership.LRU[bytes, _Walk] = membership.LRU(WALKS_KEPT)
        self._causal: membership.LRU[int, membership.CouncilState] = membership.LRU(
            membership.STATES_CACHED
        )
        self._members: membership.LRU[int, frozenset[bytes]] = membership.LRU(
            membership.STATES_CACHED
        )
        self._counted: dict[bytes, int] = {}  # state events whose validity is written
        self._holders: dict[bytes, _Holders] = {}  # `known_holders`, kept up to date

    def epochs_by_creation(self, council: bytes, held: list[keys.Epoch]) -> list[keys.Epoch]:
        """The epochs we hold for a council, oldest first (by their creating event)."""
        resolver = self.resolver(council)
        created: dict[bytes, tuple[int, bytes]] = {}
        for ev in resolver.events.values():
            new = getattr(ev.body, "new_epoch", None)
            epoch = ev.epoch if ev.kind == "council.create" else new
            if epoch is not None:
                created.setdefault(epoch, (ev.clock, ev.id))
        return sorted(held, key=lambda e: created.get(e.write_pk, (2**63, e.write_pk)))

    def known_holders(self, council: bytes) -> dict[bytes, set[bytes]]:
        """Who has been given each epoch, by any event, void or not: a key once
        delivered cannot be taken back, so voiding does not matter here. Kept up to
        date: state events are only ever added to a resolver, so each call reads only
        the events added since the last (every grant the council ever made was read on
        each call, twice per housekeeping run). Callers must not change the sets."""
        resolver = self.resolver(council)
        kept = self._holders.get(council)
        if kept is None or kept.resolver is not resolver or kept.seen > len(resolver.events):
            kept = self._holders[council] = _Holders(resolver)
        if kept.seen == len(resolver.events):
            return kept.holders
        holders = kept.holders
        # Admissions between two epochs share the epochs their causal past knew: each
        # such group is added to each epoch once, not each newcomer to each epoch.
        group: list[bytes] = []
        group_epochs: frozenset[bytes] = frozenset()
        for ev in itertools.islice(resolver.events.values(), kept.seen, None):
            body = ev.body
            welcomed: bytes | None = None
            if ev.kind == "council.create":
                holders.setdefault(ev.epoch, set()).add(ev.author)
                kept.tags[ev.author[: keys.MEMBER_TAG_LEN]] = ev.author
            elif isinstance(body, kinds.Recover) and ev.request is not None:
                # The welcome to the new key carries every epoch, the new one included.
                holders.setdefault(body.new_epoch, set()).add(ev.author)
                welcomed = ev.request.payload.sign_pk
            elif isinstance(body, kinds.Remove | kinds.Rotate):
                holders.setdefault(body.new_epoch, set()).add(ev.author)
            elif isinstance(body, kinds.EpochGrant):
                holders.setdefault(body.epoch, set()).update(kept.recipients(body))
            elif isinstance(body, kinds.Admit) and ev.request is not None:
                welcomed = ev.request.payload.sign_pk
            if welcomed is not None:
                kept.tags[welcomed[: keys.MEMBER_TAG_LEN]] = welcomed
                # An admission's welcome (with the ring envelope under its epoch, §6.3)
                # carries every epoch its causal past knew.
                epochs = resolver.causal_epochs(ev.id)
                if epochs != group_epochs:
                    _give(holders, group_epochs, group)
                    group, group_epochs = [], epochs
                group.append(welcomed)
        _give(holders, group_epochs, group)
        kept.seen = len(resolver.events)
        return holders

    def mset(self, mset_id: int) -> frozenset[bytes]:
        """The frontier of an interned causal past (its latest state events)."""
        ids = self._msets.get(mset_id)
        if ids is None:
            if self._legacy:
                return self._legacy_mset(mset_id)
            blob, _base, _council = self.store.events.mset(mset_id)
            ids = frozenset(blob[i : i + 32] for i in range(0, len(blob), 32))
            self._msets[mset_id] = ids
            self._mset_ids.setdefault(ids, mset_id)
        return ids

    def _legacy_mset(self, mset_id: int) -> frozenset[bytes]:
        """A set stored before schema 7: the ids it adds to its base set (none: it is
        whole). Bases are read first, down the chain, without recursion; each set is
        kept as the frontier of its ids and its base's frontier."""
        chain: list[tuple[int, bytes, bytes]] = []
        at: int | None = mset_id
        below: frozenset[bytes] = frozenset()
        while at is not None:
            known = self._msets.get(at)
            if known is not None:
                below = known
                break
            blob, base, council = self.store.events.mset(at)
            chain.append((at, blob, council))
            at = base
        for at, blob, council in reversed(chain):
            ids = below | {blob[i : i + 32] for i in range(0, len(blob), 32)}
            below = self.resolver(council).frontier(ids)
            self._msets[at] = below
            self._mset_ids.setdefault(below, at)
        return below

    def causal(self, council: bytes, mset_id: int) -> membership.CouncilState:
        """The state of an interned causal past (a set's state never changes)."""
        state = self._causal.get(mset_id)
        if state is None:
            state = self.resolver(council).state_of(self.mset(mset_id))
            self._causal[mset_id] = state
        return state

    def intern(self, council: bytes, ids: frozenset[bytes], bases: Iterable[int] = ()) -> int:
        """The id of the causal past made of these state events and their pasts, stored
        if new as its frontier, found again by the digest of the frontier's sorted ids.
        (`bases`, the parents' pasts, are in it already: the frontier needs no base.)"""
        del bases
        front = self.resolver(council).frontier(ids)
        mset_id = self._mset_ids.get(front)
        if mset_id is None:
            blob = b"".join(sorted(front))
            digest = crypto.sha256(blob)
            found = self.store.events.mset_by_digest(council, digest)
            if found is None:
                found = self.store.events.add_mset(council, blob, None, digest)
            mset_id = found
            self._msets[mset_id] = front
            self._mset_ids[front] = mset_id
        return mset_id

    def resolver(self, council: bytes) -> membership.Resolver:
        resolver = self._resolvers.get(council)
        if resolver is None:
            resolver = membership.Resolver(council)
            resolver.content = _Content(self, council)
            self._resolvers[council] = resolver
            rows = self.store.events.state_events(council, tuple(kinds.STATE_KINDS))
            for eid, clock, author, kind, time, mset_id, raw_body, epoch in rows:
                body = decode_body(kind, raw_body)
                resolver.add(
                    membership.StateEvent(
                        eid,
                        clock,
                        author,
                        kind,
                        epoch,
                        time,
                        body,
                        self.mset(mset_id),
                        membership.prepare_request(body),
                    )
                )
            if self._legacy:
                self._rewrite_msets(council)
        return resolver

    def _rewrite_msets(self, council: bytes) -> None:
        """Write every stored past of a council of an older profile as its frontier
        (once, in the migration's re-projection): read as whole sets and chains of
        deltas, they would be walked again at every start."""
        for mset_id in self.store.events.mset_ids(council):
            front = self.mset(mset_id)
            blob = b"".join(sorted(front))
            self.store.events.rewrite_mset(mset_id, blob, crypto.sha256(blob))

    def final_state(self, council: bytes) -> membership.CouncilState:
        final = self._finals.get(council)
        if final is None:
            final = self.resolver(council).final()
            self._finals[council] = final
        return final

    def refresh(self, council: bytes) -> None:
        """Recompute the council's state after a state event and re-project what changed."""
        before = self._finals.pop(council, None)
        after = self.final_state(council)
        resolver = self.resolver(council)
        # The members the state events since `before` wrote (None: unknown, compare all):
        # an admission changes one member, and looking at every member on each state
        # event would make churn cost members x events.
        touched = None if before is None else resolver.members_changed_since(before)
        resolver.mark()
        rules = msgspec.msgpack.encode(after.rules)
        self.store.councils.set_state(
            council, after.name, after.description, rules, after.current_epoch
        )
        # Only the rows whose value changed are written: a state event changes a member
        # or two and the validity of a few events, and rewriting them all would make
        # each state event cost the whole history.
        terms_same = before is not None and before.terms == after.terms
        if terms_same and touched is not None:
            candidates: Iterable[bytes] = touched
        else:
            candidates = after.members
        rows = [
            _member_row(council, after, m)
            for key in candidates
            if (m := after.members.get(key)) is not None
            and (not terms_same or before is None or before.members.get(key) is not m)
        ]
        # An admission made void takes its member away (extending never removes one).
        gone = (
            None
            if before is None
            else []
            if touched is not None
            else [k for k in before.members if k not in after.members]
        )
        self.store.members.replace(council, rows, gone)
        events = self.resolver(council).events
        if before is None or council not in self._counted:
            applied = {e for e, _ in after.applied}
            updates = [(int(e in applied), e) for e in events]
        else:
            # The events added since `before` were stored as valid; the others as `before`
            # had them. Usually `after` applied what `before` did and then some more.
            new = itertools.islice(reversed(events), len(events) - self._counted[council])
            k = len(before.applied)
            if after.applied.extends(before.applied):
                now = {e for e, _ in after.applied.since(k)}
                updates = [(1, e) for e in now] + [(0, e) for e in new if e not in now]
            else:
                applied = {e for e, _ in after.applied}
                was = {e for e, _ in before.applied}
                updates = [(int(e in applied), e) for e in (applied ^ was) | set(new)]
        self._counted[council] = len(events)
        self.store.events.set_validity(updates)
        if before is not None and touched is not None:
            # The members written, and those whose endings changed (a removal): looking
            # at every member on each removal made churn cost removals x members.
            keys: Iterable[bytes] = touched
            if before.ends is not after.ends:
                ends = before.ends.keys() | after.ends.keys()
                keys = touched | {k for k in ends if before.ends.get(k) is not after.ends.get(k)}
        else:
            keys = set(after.members) | set(before.members if before else ())
        changed = {
            key
            for key in keys
            if before is None
            or before.members.get(key) is not after.members.get(key)
            or before.ends.get(key) is not after.ends.get(key)
        }
        changed = {key for key in changed if _standing(before, key) != _standing(after, key)}
        for author in changed:
            self._revalidate(council, after, author)

    def _revalidate(self, council: bytes, final: membership.CouncilState, author: bytes) -> None:
        rows = self.store.events.of_author(council, author)
        applied: set[bytes] | None = None  # built only for an author with state events
        updates = []
        for eid, kind, mset_id in rows:
            if kind in kinds.STATE_KINDS:
                if applied is None:
                    applied = {e for e, _ in final.applied}
                valid = eid in applied
            else:
                valid = self.content_valid(
                    final, author, eid, self.mset(mset_id), self.resolver(council)
                )
            updates.append((int(valid), eid))
        self.store.events.set_validity(updates)

    def content_valid(
        self,
        final: membership.CouncilState,
        author: bytes,
        eid: bytes,
        causal: frozenset[bytes],
        resolver: membership.Resolver | None = None,
    ) -> bool:
        """A content event counts if its author's admission stands and it is not
        concurrent with any effective end of their membership: each such end is either
        in its causal past (`causal`, the frontier of the state events there: a member
        reinstated since) or has the event in its own (docs/protocol.md §9, rules 5
        and 6). `resolver` is the council's (found from the ending when not given)."""
        if author not in final.members:
            return False
        ends = final.ends.get(author, ())
        if ends and resolver is None:
            resolver = self._holder(next(iter(ends)))
        return all(
            end in causal
            or (resolver is not None and any(resolver.precedes(end, f) for f in causal))
            or eid in final.acknowledged.get(end, ())  # a leaf a recovery lists
            or self.precedes(eid, end)
            for end in final.ends.get(author, ())
        )

    def _holder(self, eid: bytes) -> membership.Resolver | None:
        """The resolver of the council a state event belongs to."""
        return next((r for r in self._resolvers.values() if eid in r.events), None)

    def causal_members(self, council: bytes, event: bytes) -> frozenset[bytes]:
        """The active members in an event's causal past (cached: it never changes)."""
        mset_id = self.store.events.mset_of(event)
        if mset_id is None:
            raise KeyError("no such event")
        found = self._members.get(int(mset_id))
        if found is None:
            state = self.resolver(council).state_of(self.mset(int(mset_id)))
            found = frozenset(k for k, m in state.members.items() if m.ended_by is None)
            self._members[int(mset_id)] = found
        return found

    def causal_state(self, council: bytes, event: bytes) -> membership.CouncilState:
        """The council's state as the event's author saw it: its causal past's state."""
        mset_id = self.store.events.mset_of(event)
        if mset_id is None:
            raise KeyError("no such event")
        return self.resolver(council).state_of(self.mset(int(mset_id)))

    def precedes(self, eid: bytes, later: bytes) -> bool:
        """Whether eid is in the causal past of `later`. A clock falls along every
        parent link, so only the events between the two clocks are walked, and the walk
        from `later` is kept and resumed for the next question (an ending is asked
        about each event of the member it ends): never the whole history per question."""
        found = self._end_ancestry.get(later)
        if found is not None:
            return eid in found
        row = self.store.events.clock_and_parents(eid)
        if row is None:
            return False
        floor = row[0]
        walk = self._walks.get(later)
        if walk is None:
            top = self.store.events.clock_and_parents(later)
            if top is None:
                return False
            walk = _Walk(set(), [(-top[0], later, top[1])])
            self._walks[later] = walk
        while walk.edge and -walk.edge[0][0] > floor:
            _, _, parents = heapq.heappop(walk.edge)
            for i in range(0, len(parents), 32):
                parent = parents[i : i + 32]
                if parent not in walk.seen:
                    walk.seen.add(parent)
                    below = self.store.events.clock_and_parents(parent)
                    if below is not None:
                        heapq.heappush(walk.edge, (-below[0], parent, below[1]))
        return eid in walk.seen

    def ancestors(self, end_event: bytes) -> set[bytes]:
        """Every event that is an ancestor of end_event. A walk of the history, so only
        for rare events (ends of membership, closes of votes); cached."""
        found = self._end_ancestry.get(end_event)
        if found is None:
            found = set()
            stack = [end_event]
            while stack:
                parents = self.store.events.parents(stack.pop()) or b""
                for i in range(0, len(parents), 32):
                    parent = parents[i : i + 32]
                    if parent not in found:
                        found.add(parent)
                        stack.append(parent)
            self._end_ancestry[end_event] = found
        return found


class _Content:
    """The content events of one council as state handlers may read them
    (`membership.Content`): by id or subject, valid or not, and causal pasts."""

    def __init__(self, projection: Projection, council: bytes) -> None:
        self.projection = projection
        self.council = council
        # Verdicts found while folding: kept in memory and in the profile's verdicts
        # table (a savepoint inside an import's transaction), so that a device checks
        # a seat's ring signatures once, not at every start.
        self._kept: dict[bytes, str] = {}

    def _event(self, row: tuple[Any, ...]) -> membership.ContentEvent:
        i, a, c, t, k, body = row
        return membership.ContentEvent(i, a, c, t, k, decode_body(k, body))

    def event(self, eid: bytes) -> membership.ContentEvent | None:
        row = self.projection.store.events.any_by_id(self.council, eid)
        return None if row is None else self._event(row)

    def about(self, ref: bytes, kinds: Sequence[str]) -> list[membership.ContentEvent]:
        rows = self.projection.store.events.any_on(self.council, kinds, ref)
        return [self._event(r) for r in rows]

    def ancestors(self, eid: bytes) -> Set[bytes]:
        return self.projection.ancestors(eid)

    def state_past(self, eid: bytes) -> frozenset[bytes]:
        mset_id = self.projection.store.events.mset_of(eid)
        if mset_id is None:
            return frozenset()
        front = self.projection.mset(int(mset_id))
        return self.projection.resolver(self.council).closure(front)

    def kept(self, ids: Sequence[bytes]) -> dict[bytes, str]:
        found = {i: self._kept[i] for i in ids if i in self._kept}
        rest = [i for i in ids if i not in found]
        if rest:
            found.update(self.projection.store.events.verdicts(rest))
        return found

    def keep(self, verdicts: Mapping[bytes, str]) -> None:
        fresh = {i: v for i, v in verdicts.items() if i not in self._kept}
        self._kept.update(fresh)
        if fresh:
            self.projection.store.events.keep_verdicts(fresh)


# How many walks down the history (`ancestors`, `precedes`) the projection keeps.
WALKS_KEPT = 64
# The schema from which `msets` holds frontiers (kernel/storage/database.py).
FRONTIER_SCHEMA = 7


class _Walk(msgspec.Struct):
    """The ancestors of an event found so far, and the edge still to walk below them
    (by clock, highest first: (-clock, id, its parents))."""

    seen: set[bytes]
    edge: list[tuple[int, bytes, bytes]]


def _give(holders: dict[bytes, set[bytes]], epochs: Iterable[bytes], members: list[bytes]) -> None:
    if members:
        for epoch in epochs:
            holders.setdefault(epoch, set()).update(members)


class _Holders:
    """`Projection.known_holders` of one council: the holders of each epoch, from the
    first `seen` events of `resolver` (whose events are only ever added)."""

    def __init__(self, resolver: membership.Resolver) -> None:
        self.resolver = resolver
        self.seen = 0
        self.holders: dict[bytes, set[bytes]] = {}
        # Every key that became a member (founding, admission, recovery) by the tag a
        # version-2 grant names it by: they are read in the same pass, causes first.
        self.tags: dict[bytes, bytes] = {}

    def recipients(self, body: kinds.EpochGrant) -> list[bytes]:
        if not body.v2:
            return [g.member for g in body.grants]
        return [m for m in map(self.tags.get, keys.box_tags(body.boxes)) if m is not None]


def _terms_column(state: membership.CouncilState, member: bytes) -> str:
    """The roles a member holds or will hold, as "role@end_ms" items (readers drop the
    ended ones: expiry depends on the clock, which the projection never reads)."""
    return ",".join(
        f"{role}@{t.end}"
        for role, terms in sorted(state.terms.items())
        for t in terms
        if t.member == member
    )


def _member_row(
    council: bytes, state: membership.CouncilState, m: membership.Member
) -> tuple[Any, ...]:
    return (
        council,
        m.key,
        m.name,
        m.kx,
        m.end or "active",
        m.admitted_by,
        m.ended_by,
        _terms_column(state, m.key),
    )


def _standing(state: membership.CouncilState | None, key: bytes) -> tuple[Any, ...]:
    if state is None or key not in state.members:
        return (None,)
    m = state.members[key]
    return (m.admitted_by, m.ended_by, state.ends.get(key))
