"""What waits, and for how long: envelopes under a key not held yet (`held`), events
whose parents have not arrived and welcomes whose admission has not (`pending`).

Anyone can make envelopes that wait: a stranger under a fresh write key, a removed
member under an old one, with parents nobody will ever send. So everything that waits
is bounded per write key or author, in all, and in age (docs/protocol.md §8, §11):
whatever a stranger sends, the tables stop growing at their bounds, and the oldest
entries leave after MAX_AGE. Honest envelopes that were dropped come again with the
next sync or bundle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Set

from shora.errors import TooManyWaiting
from shora.i18n import _, digits
from shora.kernel import keys, kinds, tokens
from shora.kernel.events import decode_body
from shora.kernel.storage import Store

MAX_AGE = 14 * 24 * 3600
"""Seconds an envelope may wait (for parents, a key or an admission) before it is dropped."""
MAX_PENDING = 50_000
MAX_PENDING_PER_AUTHOR = 2_000
"""Events of one author (in one council) waiting for parents, unless the author is an
active member here (an honest member's long backlog, fetched newest first from a
relay, waits whole). Anyone can invent authors, so all such authors together also
share MAX_PENDING_OUTSIDERS; the rest of MAX_PENDING stays for the members."""
MAX_PENDING_OUTSIDERS = 10_000
MAX_HELD = 20_000
MAX_HELD_PER_KEY = 5_000
MAX_HELD_DURING_IMPORT = 500_000
MAX_HELD_BYTES_DURING_IMPORT = 2**30
"""During one import the held table may grow beyond its bounds (a newcomer's bundle may
list the whole history before the welcome that brings its key); it is cut back to
them when the import ends."""
MAX_WELCOMES_PER_HINT = 4
MAX_WELCOMES_WAITING = 64
"""Welcomes under one write key waiting for the admission (or member) their hint names."""
EXPIRY_EVERY = 600
"""Seconds between two expiries run by ingest itself."""


def awaiting(hint: str) -> bytes:
    """The `pending_parents` entry of a welcome waiting for the admission of `hint`: not
    an event id (a domain-separated hash), so no arriving event ever releases it."""
    from shora.kernel import crypto

    return crypto.sha256(b"shora/awaiting-admission/v1" + hint.encode())


class Hints(Set[str]):
    """The welcome hints of one council (`Waiting.hints`): those read from its history,
    which only grow and are added to in place (a copy per admission would make a
    council's admissions quadratic), and this node's own (at most two)."""

    def __init__(self) -> None:
        self.version = -1  # the last admission's rowid (-1: nothing read yet)
        self.members: set[bytes] = set()
        self.found: set[str] = set()
        self.own: frozenset[str] = frozenset()

    def __contains__(self, hint: object) -> bool:
        return hint in self.found or hint in self.own

    def __iter__(self) -> Iterator[str]:
        yield from self.found
        yield from self.own - self.found

    def __len__(self) -> int:
        return len(self.found) + len(self.own - self.found)


class Waiting:
    """The bounds and ages of the `held` and `pending` tables of one store."""

    def __init__(self, store: Store, now: Callable[[], float]) -> None:
        self.store = store
        self.now = now
        self._by_author: dict[tuple[bytes, bytes], int] = {}
        self._expired_at = float("-inf")
        self._outsiders: int | None = None
        self.held_mark = 0  # held rows above this rowid arrived during the current import
        self._held_rows = 0
        self._held_bytes = 0
        self._hints: dict[bytes, Hints] = {}

    def forget(self) -> None:
        self._outsiders = None
        self._by_author.clear()
        self._hints.clear()

    # --- held: envelopes under a write key not held yet ---------------------------------

    def start_import(self) -> None:
        self.held_mark = self.store.waiting.held_last()
        self._held_rows = self.store.waiting.held_count()
        self._held_bytes = 0
        self._outsiders = None  # releases do not count down: recount once per import

    def hold(self, envelope: bytes, write_pk: bytes, raw: bytes) -> bool:
        """Keep an envelope until its key arrives; False if it was already kept."""
        if (
            self._held_rows >= MAX_HELD_DURING_IMPORT
            or self._held_bytes + len(raw) > MAX_HELD_BYTES_DURING_IMPORT
        ):
            raise TooManyWaiting(_("too many envelopes wait for a key; refused"))
        if not self.store.waiting.hold(envelope, write_pk, raw, int(self.now())):
            return False
        self._held_rows += 1
        self._held_bytes += len(raw)
        return True

    def take_held(self, write_pk: bytes, limit: int = 256) -> tuple[list[bytes], int]:
        """Remove up to `limit` held envelopes of a key; (raws, how many of them arrived
        during the current import)."""
        rows = self.store.waiting.take_held(write_pk, limit)
        self._held_rows -= len(rows)
        return [r[1] for r in rows], sum(1 for r in rows if r[0] > self.held_mark)

    def held_keys(self) -> list[bytes]:
        return self.store.waiting.held_keys()

    def trim_held(self) -> int:
        """Cut the held table back to its bounds, dropping the latest arrivals; how many
        of the rows that arrived during the current import were dropped."""
        dropped: list[int] = []
        for write_pk in self.store.waiting.held_keys_over(MAX_HELD_PER_KEY):
            dropped += self.store.waiting.drop_held_beyond(MAX_HELD_PER_KEY, write_pk)
        dropped += self.store.waiting.drop_held_beyond(MAX_HELD)
        self._held_rows = self.store.waiting.held_count()
        return sum(1 for rowid in dropped if rowid > self.held_mark)

    # --- pending: events waiting for parents, welcomes for their admission -----------------

    def check_pending(
        self, total: int, max_total: int, council: bytes, author: bytes, per_author: int
    ) -> None:
        """Raise TooManyWaiting if one more envelope of `author` may not wait; count it."""
        if total >= max_total:
            raise TooManyWaiting(_("too many events wait for missing parents; refused"))
        if self.store.members.is_active(council, author):
            return
        if self.pending_of(council, author) >= per_author:
            raise TooManyWaiting(
                _(
                    "{n} envelopes of this author already wait for what they refer to; refused"
                ).format(n=digits(str(per_author)))
            )
        if self._outsiders is None:
            self._outsiders = self.store.waiting.pending_outsiders()
        if self._outsiders >= MAX_PENDING_OUTSIDERS:
            raise TooManyWaiting(_("too many envelopes of non-members wait here; refused"))
        self._outsiders += 1

    def pending_of(self, council: bytes, author: bytes) -> int:
        key = (council, author)
        count = self._by_author.get(key)
        if count is None:
            count = self.store.waiting.pending_of(council, author)
            self._by_author[key] = count
        return count

    def add_pending(
        self, envelope: bytes, council: bytes, author: bytes, raw: bytes, parents: list[bytes]
    ) -> None:
        self.store.waiting.add_pending(envelope, council, author, raw, parents, int(self.now()))
        self._by_author[(council, author)] = self.pending_of(council, author) + 1

    def remove_pending(self, envelope: bytes) -> None:
        row = self.store.waiting.remove_pending(envelope)
        if row:
            self._by_author.pop(row, None)

    # --- welcomes ------------------------------------------------------------------------

    def hints(self, council: bytes) -> Hints:
        """The welcome hints this node can attribute in a council it holds: its own join
        request and welcome back, each admitted join request, each member's welcome back.
        Admissions and members are only ever added, so each is read and hashed once:
        the set grows with the council, never re-listed from its history (the new
        admissions are one index range, the new members the rows written since)."""
        version = self.store.events.last_admission(council)
        cached = self._hints.get(council)
        if cached is None:
            cached = Hints()
            self._hints[council] = cached
            self.store.members.take_written(council)
            fresh = set(self.store.members.keys(council))
        else:
            # The members written since (an admission's, the founder's, a recovery's, an
            # admission that became valid later): never a count of every member.
            written = self.store.members.take_written(council)
            if cached.version == version and not written:
                return cached
            fresh = {
                k for k in written if k not in cached.members and self.store.members.has(council, k)
            }
        found = cached.found
        for body in self.store.events.admissions_after(council, max(cached.version, 0)):
            admit = decode_body("member.admit", body)
            assert isinstance(admit, kinds.Admit)
            found.add(keys.welcome_hint(tokens.stored_request_id(admit.request)))
        for key in fresh:
            cached.members.add(key)
            found.add(keys.welcome_hint(keys.return_id(key)))
        mine = self.store.councils.my_key(council)
        own = {keys.welcome_hint(keys.return_id(mine))} if mine is not None else set()
        request = self.store.councils.request_id(council)
        if request is not None:
            own.add(keys.welcome_hint(request))
        cached.version = version
        cached.own = frozenset(own)
        return cached

    def welcomes_of(self, hint: str) -> int:
        return self.store.events.welcomes_with_hint(hint)

    def waiting_welcomes(self, council: bytes, hints: Set[str]) -> list[bytes]:
        """Envelope ids of the welcomes waiting in `pending` whose hint is now among `hints`."""
        if not self.store.waiting.welcome_waits(council):
            return []
        found = []
        for hint in sorted(hints):
            found += self.store.waiting.waiting_for(awaiting(hint))
        return found

    # --- age --------------------------------------------------------------------------------

    def expire(self, force: bool = True) -> int:
        """Drop what has waited longer than MAX_AGE and cut `held` back to its bounds;
        return how many rows left. Rows of a profile from before arrival times were kept
        (received 0) count from now."""
        now = int(self.now())
        if not force and now - self._expired_at < EXPIRY_EVERY:
            return 0
        self._expired_at = now
        cutoff = now - MAX_AGE
        # Read first: a write, even one that changes nothing, takes the profile's write
        # lock, which another process (`shora post` while `shora serve` runs) may want.
        old_rows = self.store.waiting.any_older(cutoff)
        if not old_rows and self.store.waiting.held_count() <= MAX_HELD:
            return 0
        with self.store.transaction():
            old, held = self.store.waiting.drop_older(now, cutoff)
            trimmed = self.store.waiting.held_count()
            self.trim_held()
            trimmed -= self._held_rows
        self._by_author.clear()
        self._outsiders = None
        return old + held + trimmed
