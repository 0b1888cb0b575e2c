"""Paging back through a NIP-01 relay's answer to one filter, until it has no more.

A relay without NIP-77 answers ``REQ {filter, until, limit}`` with at most ``limit``
envelopes, newest first, and may give fewer than asked (its own cap). Envelopes show
only the hour (``created_at`` is rounded down), so one hour may hold more envelopes
than a page, and NIP-01 has no way to page *inside* one ``created_at``. The pager
therefore (docs/sync.md §2.1):

- asks ``until = cursor`` with ``limit = 500``; a page that is not full ends the walk;
- after a full page, every date newer than the page's oldest is complete; it asks again
  from that oldest date (``until = oldest + 1``, so relays that read ``until`` as
  exclusive, such as nostr-relay, give that hour again too);
- a full page of one date (an hour with more envelopes than the page) is asked again
  with ten times the limit (5,000, then 50,000); a relay that then returns no more than
  before has shown its cap: that hour is *cut* (reported; the sync is not complete),
  and the walk steps past it.

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

    def __init__(self, window: Filter, until: int) -> None:
        self.base = {k: v for k, v in window.items() if k not in ("until", "limit")}
        self.since = int(window.get("since", 0))
        self.cursor = until
        self.limit = PAGE
        self.cut: list[int] = []
        """Dates (hours) of which the relay would not give every envelope."""
        self.exhausted = False
        self.stopped = False
        """Ended by the caller before the relay ran out."""
        self._drill: tuple[int, int] | None = None  # (date, count of its last full page)

    def request(self) -> Filter | None:
        """The next page to ask for, or None when the relay has nothing more."""
        if self.exhausted or self.cursor < self.since:
            self.exhausted = True
            return None
        return self.base | {"until": self.cursor, "limit": self.limit}

    def stop(self) -> None:
        self.exhausted = self.stopped = True

    def page_done(self, dates: Sequence[int], cut_short: bool = False) -> None:
        """The page asked for last has ended (EOSE): `dates` are its envelopes' created_at;
        `cut_short` if the relay may have cut it by size rather than count."""
        n = len(dates)
        full = n >= self.limit or cut_short
        if n == 0:
            self.exhausted = True
            return
        oldest, newest = min(dates), max(dates)
        if self._drill is not None:
            date, before = self._drill
            self._drill = None
            if oldest >= date and n <= before:
                self._step_past(date)  # a bigger limit brought no more: the relay's cap
                return
            if oldest >= date and full:
                self._dig(date, n)
                return
        if not full:
            self.exhausted = True  # the relay gave all it holds up to the cursor
        elif oldest < newest and oldest + 1 < self.cursor:
            self.cursor, self.limit = oldest + 1, PAGE  # dates after `oldest` are complete
        else:
            self._dig(oldest, n)

    def _dig(self, date: int, count: int) -> None:
        """Ask one date (and what is older) again with a bigger limit, or give it up."""
        if self.limit >= MAX_LIMIT:
            self._step_past(date)
            return
        self._drill = (date, count)
        self.cursor = min(self.cursor, date + 1)
        self.limit = min(MAX_LIMIT, self.limit * GROWTH)

    def _step_past(self, date: int) -> None:
        self.cut.append(date)
        self.cursor, self.limit = date - 1, PAGE
