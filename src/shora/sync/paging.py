"""Paging back through a NIP-01 relay's answer to one filter, until it has no more.

A relay without NIP-77 answers ``REQ {filter, until, limit}`` with at most ``limit``
envelopes, newest first, and may give fewer than asked (its own cap). Envelopes show
only the hour (``created_at`` is rounded down), so one hour may hold more envelopes
than a page, and NIP-01 has no way to page *inside* one ``created_at``. The pager
therefore (docs/sync.md §2.1):

- asks ``until = cursor`` with ``limit = 500``; after a page that is not full it asks
  once more, strictly older than that page: nothing comes back unless the relay caps its
  answers below what we ask, and then it is asked again knowing its cap;
- after a full page, every date newer than the page's oldest is complete; it asks again
  from that oldest date (``until = oldest + 1``, so relays that read ``until`` as
  exclusive, such as nostr-relay, give that hour again too);
- a full page of one date (an hour with more envelopes than the page) is asked again
  with ten times the limit (5,000, then 50,000); a relay that then returns no more than
  before has shown its cap: that hour is *cut* (reported; the sync is not complete),
  and the walk steps past it;
- a page one date long that turns out capped (the check finds older envelopes) shows an
  hour at least as full as the relay's cap: that hour is cut at once, and the check's
  answer is the next page.

Live uploads: a relay pushes envelopes uploaded meanwhile on the open subscription,
before the page's EOSE too, and nothing on the wire tells them from stored ones. They
can make a page look larger than the relay's cap gave, never smaller. So what a page
shows about the relay's cap (the floor: "it gives at least this many") counts only
envelopes the relay surely held when asked: those an earlier page brought already, and
those dated before ``live_from`` (the newest date the first page showed, or an hour
before our clock if earlier): uploads during the sync are dated by their writers'
clocks, at or after it. A short page ends the walk only below that floor, or once
checked.

Sans I/O: the session sends what :meth:`Pager.request` returns and reports each page
with :meth:`Pager.page_done`. Each request either lowers the cursor or raises the limit
(at most twice per date), so a walk always ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Filter = dict[str, Any]
PAGE = 500
"""The first limit asked for (strfry's default cap, and many relays')."""
MAX_LIMIT = 50_000
GROWTH = 10


class Pager:
    """One walk back through a filter's window (``since`` kept, ``until`` moving)."""

    def __init__(
        self, window: Filter, until: int, floor: int = 0, live_from: int | None = None
    ) -> None:
        self.base = {k: v for k, v in window.items() if k not in ("until", "limit")}
        self.since = int(window.get("since", 0))
        self.cursor = until
        self.limit = PAGE
        self.cap: int | None = None
        """The most this relay gives for one REQ, once it has shown it."""
        self.floor = floor
        """The most it has given for one REQ so far: it does not cap below that."""
        self.live_from = live_from
        """Envelopes dated at or after this may be live uploads, pushed rather than stored:
        the given bound (an hour before our clock), lowered to the newest date of the first
        page that brings any."""
        self._live_set = False
        self._fresh: Sequence[int] = ()
        self._check: tuple[int, int] | None = None
        """(date, count): asking past the window whether the relay gives more than count."""
        self.cut: list[int] = []
        """Dates (hours) of which the relay would not give every envelope."""
        self.exhausted = False
        self.stopped = False
        """Ended by the caller before the relay ran out."""
        self._drill: tuple[int, int] | None = None  # (date, count of its last full page)
        self._probe: tuple[int, int, int, bool] | None = None
        """(oldest date, count, cursor, of one date only) of a page shorter than asked."""

    def request(self) -> Filter | None:
        """The next page to ask for, or None when the relay has nothing more."""
        if not self.exhausted and self.cursor < self.since and self._probe is not None:
            self.page_done([])  # nothing older within the window: as if asked, and empty
        if self._check is not None:
            # One full hour at the window's start, as many as the relay ever gave at once:
            # ask past the window for one more than that. A relay that caps at exactly
            # that count gives no more; one that does not gives an older envelope.
            date, count = self._check
            base = {k: v for k, v in self.base.items() if k != "since"}
            return base | {"until": date + 1, "limit": count + 1}
        if self.exhausted or self.cursor < self.since:
            self.exhausted = True
            return None
        return self.base | {"until": self.cursor, "limit": self.limit}

    def stop(self) -> None:
        self.exhausted = self.stopped = True

    def page_done(
        self, dates: Sequence[int], cut_short: bool = False, fresh: Sequence[int] | None = None
    ) -> None:
        """The page asked for last has ended (EOSE): `dates` are its envelopes' created_at;
        `cut_short` if the relay may have cut it by size rather than count; `fresh` the
        dates of those no earlier page brought (None: all of them)."""
        n = len(dates)
        self._fresh = dates if fresh is None else fresh
        if self._check is not None:
            date, count = self._check
            self._check = None
            self.floor = max(self.floor, self._stored(dates))
            if n <= count:
                self.cut.append(date)
            self.exhausted = True
            return
        if self._probe is not None:
            date, count, cursor, single = self._probe
            self._probe = None
            if n > 0 and single:
                # A page of one date, shorter than asked, and older envelopes it did not
                # bring: the relay capped it, so that hour holds at least as many as the
                # relay gives at once, and NIP-01 cannot page inside it. It is cut, and
                # this answer (asked from just below it) is the next page.
                self.cap = count if self.cap is None else min(self.cap, count)
                self._step_past(date)
                self._page(dates, cut_short)
                return
            if n == 0 and count >= PAGE and not single:
                # Nothing older, but the short page was the most this relay ever gave at
                # once: it may cap its answers at exactly `count`, leaving the page's oldest
                # hour partial. Ask for that hour alone; what is shorter than `count` then
                # is all there is.
                self.cursor, self.limit = date + 1, PAGE
                return
            if n == 0:
                # Nothing older: the short page had everything up to its cursor, unless the
                # relay caps at exactly `count` and that hour holds more. A relay need not
                # say its cap (nostr-relay's NIP-11 does not), so such an hour is reported.
                if count >= PAGE and self.since > 0:
                    self._check = (date, count)  # the window hid what is older: look
                    return
                if count >= PAGE:
                    self.cut.append(date)
                self.exhausted = True
                return
            # Older envelopes exist that the short page did not bring: the relay caps its
            # answers at `count`. Ask again from that page's oldest date, knowing the cap.
            self.cap = count if self.cap is None else min(self.cap, count)
            self.cursor, self.limit = min(cursor, date + 1), PAGE
            return
        self._page(dates, cut_short)

    def _stored(self, dates: Sequence[int]) -> int:
        """Envelopes of a page the relay surely held when asked (not pushed live)."""
        if dates and not self._live_set:
            self._live_set = True
            newest = max(dates)
            self.live_from = newest if self.live_from is None else min(self.live_from, newest)
        live_from = self.live_from
        fresh = self._fresh
        old = sum(1 for d in fresh if live_from is not None and d < live_from)
        return len(dates) - len(fresh) + old

    def _page(self, dates: Sequence[int], cut_short: bool) -> None:
        """An answer to an ordinary page (``until = cursor``, ``limit``)."""
        n = len(dates)
        if n == 0:
            self.exhausted = True
            return
        full = n >= self.limit or cut_short or (self.cap is not None and n >= self.cap)
        oldest, newest = min(dates), max(dates)
        # Live pushes may inflate n, never shrink it: the floor learns only what was stored.
        floor, self.floor = self.floor, max(self.floor, self._stored(dates))
        if self._drill is not None:
            date, before = self._drill
            self._drill = None
            if oldest >= date and n <= before:
                self.cap = before  # a bigger limit brought no more: the relay's cap
                self._step_past(date)
                return
            if oldest >= date and full:
                self._dig(date, n)
                return
        if not full and n < floor:
            self.exhausted = True  # it has given more at once: this is all it holds
        elif not full:
            # Either the relay gave all it holds up to the cursor, or it caps its answers
            # below our limit. Asking strictly older tells which: nothing comes back unless
            # it capped (one more round trip, no envelope sent twice).
            self._probe = (oldest, n, self.cursor, oldest == newest)
            self.cursor, self.limit = oldest - 1, PAGE
        elif oldest < newest and oldest + 1 < self.cursor:
            self.cursor, self.limit = oldest + 1, PAGE  # dates after `oldest` are complete
        else:
            self._dig(oldest, n)

    def _dig(self, date: int, count: int) -> None:
        """Ask one date (and what is older) again with a bigger limit, or give it up."""
        if self.limit >= MAX_LIMIT or (self.cap is not None and count >= self.cap):
            self._step_past(date)
            return
        self._drill = (date, count)
        self.cursor = min(self.cursor, date + 1)
        self.limit = min(MAX_LIMIT, self.limit * GROWTH)

    def _step_past(self, date: int) -> None:
        self.cut.append(date)
        self.cursor, self.limit = date - 1, PAGE
