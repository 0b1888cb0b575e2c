"""A client's sync with one relay, sans I/O: relay-protocol texts in, texts to send out.

For each filter the node wants (``view.filters()``) the session either reconciles with
NIP-77 and then transfers exactly the difference, or, with a relay that does not speak
NIP-77, falls back to plain NIP-01 (docs/sync.md §2.1)::

    NIP-77     NEG-OPEN → NEG-MSG … → NEG-CLOSE; meanwhile REQ {"ids": ≤ 500} → EVENT … EOSE
               → CLOSE for what we lack, EVENT → OK for what the relay lacks
    fallback   REQ {filter, since, limit} → EVENT … EOSE (pages going back with until),
               then EVENT → OK for what we hold in that window and the relay did not send

The session touches no socket; its clock (the node's, through the view, else the
system's) only bounds the fall-back window. The adapter (``shora.sync.transport``) sends
what :meth:`SyncSession.start` and :meth:`SyncSession.receive` return, and calls
:meth:`SyncSession.timeout` when the relay stays silent for longer than it allows —
briefly while :attr:`SyncSession.probing` (waiting to learn whether the relay speaks
NIP-77), longer otherwise. Envelopes go to the node through the view, which verifies
each one. Everything is bounded: ids per session, EVENTs in flight, ids per REQ, bad
messages and notices tolerated before the session gives up with :class:`SyncFailed`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import NoReturn, Protocol

from shora.errors import LocalError, RemoteError
from shora.kernel import nip01
from shora.kernel.ingest import Report
from shora.sync import messages, nip77
from shora.sync.messages import ProtocolError
from shora.sync.negentropy import (
    COMPACT_BUCKETS,
    COMPACT_IDLIST_BELOW,
    Negentropy,
    NegentropyError,
    Storage,
)
from shora.sync.outcome import SyncProgress, SyncResult, merge_reports
from shora.sync.paging import Filter, Pager

NEG_FRAME_LIMIT = 60_000
"""Cap on our Negentropy messages: 120 kB of hex, under common relays' frame limits."""
MAX_IDS = 100_000
"""Ids to transfer in one session; the rest waits for the next one (result.complete)."""
FETCH_CHUNK = 500
IN_FLIGHT = 1000  # EVENTs awaiting OK: the embedded relay stores what it read in one transaction
MAX_BAD = 8
MAX_NOTICES = 50
FALLBACK_WINDOW = 2 * 3600
"""created_at is rounded down to the hour, so fall-back syncs look two hours back."""
PAGE = 500
PAGE_BYTES = 8 * 2**20
"""Envelopes of one REQ kept in memory before they go to the node (in bytes)."""
MAX_SKEW = 3600
"""The fall-back window ends this long after our clock: nodes refuse envelopes dated
later (docs/protocol.md §8), so a relay's far-future dates cannot crowd out the rest."""
MAX_REFRESH = 4
"""Times a session re-reads the node's filters after learning keys."""
_UNSUPPORTED = ("neg", "unknown", "unsupported", "not supported", "unrecognized", "invalid")


class SyncFailed(RemoteError):
    """The relay misbehaved (junk, floods, oversized frames), so the sync was abandoned."""


class RelayTimeout(SyncFailed):
    """The relay stopped answering."""


class SyncStateError(LocalError):
    """The session was used out of turn (receive before start, or after the end)."""


class EnvelopeView(Protocol):
    """What the session needs of a node (``shora.sync.local.NodeEnvelopes``)."""

    def filters(self) -> list[Filter]: ...
    def items(self, flt: Filter) -> list[tuple[int, bytes]]: ...
    def get(self, ids: Iterable[bytes]) -> list[bytes]: ...
    def lacking(self, ids: Sequence[bytes]) -> list[bytes]: ...
    def put(self, raws: Iterable[bytes]) -> Report: ...


def waiting_for_parents(view: EnvelopeView) -> tuple[int, int]:
    """(events waiting for parents, parents they wait for) in the view's councils, for a
    view that can tell (``NodeEnvelopes`` can); else (0, 0)."""
    count = getattr(view, "waiting_for_parents", None)
    return count() if callable(count) else (0, 0)


class _Job:
    """One filter's sync: reconcile (or page through a fallback REQ), then transfer."""

    def __init__(self, flt: Filter) -> None:
        self.filter = flt
        self.mode = "nip77"
        self.neg: Negentropy | None = None
        self.probing = False
        self.settled = False  # the ids to move are all known
        self.need: deque[bytes] = deque()
        self.have: deque[bytes] = deque()
        self.req: str | None = None  # the REQ in flight
        self.asked: set[bytes] = set()  # the ids that REQ asked for
        self.page_filter: messages.Filter | None = None  # set while that REQ is a page
        self.next_page: messages.Filter | None = None  # fallback page to ask for next
        self.pager: Pager | None = None  # fallback: the walk back through the window
        self.deep = False  # fallback: paging on past the window for missing parents
        self.page: list[tuple[bytes, int, bytes]] = []  # (id, created_at, raw) received
        self.page_bytes = 0  # of the raws in `page` not yet given to the node
        self.page_total = 0  # bytes this REQ brought (a relay may cut a page by size)
        self.page_ids: set[bytes] = set()
        self.seen: set[bytes] = set()  # fallback: ids the relay has sent
        self.window: Filter = {}  # fallback: the filter, its since and until
        self.in_flight: set[str] = set()  # ids of EVENTs awaiting OK

    @property
    def finished(self) -> bool:
        return (
            self.settled
            and not (self.need or self.have or self.in_flight)
            and self.req is None
            and self.next_page is None
        )


class SyncSession:
    """One sync of a node's view with one relay over one connection."""

    def __init__(
        self,
        view: EnvelopeView,
        *,
        frame_size_limit: int = NEG_FRAME_LIMIT,
        max_frame_bytes: int = messages.MAX_FRAME_BYTES,
        max_ids: int = MAX_IDS,
        max_in_flight: int = IN_FLIGHT,
        fetch_chunk: int = FETCH_CHUNK,
        max_bad: int = MAX_BAD,
        fallback_window: int | None = FALLBACK_WINDOW,
        fallback_from: int | None = None,
        relay_floor: int = 0,
        negentropy_buckets: int = COMPACT_BUCKETS,
        negentropy_idlist_below: int = COMPACT_IDLIST_BELOW,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.view = view
        clock: Callable[[], float] = now or getattr(view, "now", None) or time.time
        self.now = clock
        self.frame_size_limit = frame_size_limit
        # How our Negentropy splits ranges (any choice interoperates; docs/sync.md §1.6).
        self.negentropy_buckets = negentropy_buckets
        self.negentropy_idlist_below = negentropy_idlist_below
        self.max_frame_bytes = max_frame_bytes
        self.max_ids = max_ids
        self.max_in_flight = max(1, max_in_flight)
        self.fetch_chunk = max(1, min(fetch_chunk, messages.MAX_FILTER_KEYS))
        self.max_bad = max_bad
        self.fallback_window = fallback_window
        # The last sync with this relay (node clock): our own writes since then go up even
        # if they are older than the window (a member who wrote offline for hours).
        self.fallback_from = fallback_from
        self.progress = SyncProgress()
        self.result = SyncResult()
        # The most envelopes this relay has given for one REQ (remembered by the caller):
        # it does not cap its answers below that (shora.sync.paging).
        self.result.relay_floor = relay_floor
        self.done = False
        self.nip77: bool | None = None  # None until the relay has shown whether it speaks it
        self._started = False
        self._filters: list[Filter] = []
        self._job: _Job | None = None
        self._ids = 0  # ids learned so far, against max_ids
        self._subs = 0
        self._neg_sub = ""
        self._closed: set[str] = set()  # subscriptions we closed, which a relay may confirm
        self._refreshes = 0

    @property
    def probing(self) -> bool:
        """Waiting for the relay's first answer to NEG-OPEN (a silent relay lacks NIP-77)."""
        return self._job is not None and self._job.probing

    # --- the adapter's three calls ---------------------------------------------------

    def start(self) -> list[str]:
        if self._started:
            raise SyncStateError("this sync session has already started")
        self._started = True
        self._filters = self.view.filters()
        self.progress.filters = len(self._filters)
        return self._emit(self._advance())

    def receive(self, text: str | bytes) -> list[str]:
        """Digest one message from the relay; return the messages to send."""
        if not self._started or self.done:
            raise SyncStateError("receive() needs a started, unfinished session")
        size = len(text)
        self.progress.bytes_down += size
        self.progress.messages_down += 1
        if size > self.max_frame_bytes:
            limit = self.max_frame_bytes
            self._fail(SyncFailed(f"relay sent a frame of {size} bytes, over the limit {limit}"))
        try:
            message = messages.decode_relay(text, max_bytes=self.max_frame_bytes)
        except ProtocolError as exc:
            self._bad(str(exc))
            return []
        try:
            out = self._dispatch(message)
        except RemoteError as exc:
            self._fail(exc)
        return self._emit(out + self._advance())

    def timeout(self) -> list[str]:
        """The relay said nothing for as long as the adapter waits: fall back or give up."""
        job = self._job
        if not self._started or self.done or job is None:
            raise SyncStateError("timeout() needs a started, unfinished session")
        if job.probing:
            self.nip77 = False
            self._note("no answer to NEG-OPEN: the relay does not speak NIP-77")
            return self._emit(self._fall_back(job) + self._advance())
        self._fail(RelayTimeout(f"relay stopped answering while {self.progress.phase}"))

    # --- internals --------------------------------------------------------------------

    def _emit(self, out: list[str]) -> list[str]:
        if any(not m.startswith('["CLOSE') and not m.startswith('["NEG-CLOSE') for m in out):
            self.progress.round_trips += 1
        self.progress.messages_up += len(out)
        self.progress.bytes_up += sum(len(m) for m in out)
        result, progress = self.result, self.progress
        result.bytes_up, result.bytes_down = progress.bytes_up, progress.bytes_down
        result.round_trips = progress.round_trips
        return out

    def _fail(self, error: RemoteError) -> NoReturn:
        self.done = True
        self.progress.phase = "failed"
        self.result.complete = False
        self.result.error = str(error)
        raise error

    def _bad(self, why: str) -> None:
        self.result.bad_messages += 1
        if self.result.bad_messages > self.max_bad:
            self._fail(SyncFailed(f"relay sent {self.result.bad_messages} bad messages: {why}"))

    def _note(self, text: str) -> None:
        self.result.notices += 1
        if len(self.result.notes) < 20:
            self.result.notes.append(text[:200])
        if self.result.notices > MAX_NOTICES:
            self._fail(SyncFailed(f"relay sent over {MAX_NOTICES} notices: {text[:200]}"))

    def _was_ours(self, sub: str) -> bool:
        """Whether we opened this subscription earlier in the session (and closed it)."""
        number = sub.removeprefix("shora-").lstrip("abcdefghijklmnopqrstuvwxyz")
        ours = sub.startswith("shora-") and number.isascii() and number.isdigit()
        return ours and 0 < int(number) <= self._subs

    def _sub(self, prefix: str) -> str:
        self._subs += 1
        return f"shora-{prefix}{self._subs}"

    def _ours(self, sub: str) -> bool:
        """A subscription this session opened (and may since have closed)."""
        for prefix in ("shora-page", "shora-get"):
            number = sub.removeprefix(prefix)
            if number != sub and number.isdigit() and 0 < int(number) <= self._subs:
                return True
        return False

    def _advance(self) -> list[str]:
        """Send what can be sent now; go on to the next filter when one is finished."""
        out: list[str] = []
        while not self.done:
            job = self._job
            if job is None:
                index = self.result.filters
                if index >= len(self._filters):
                    self._refresh()
                if index >= len(self._filters) or self._ids >= self.max_ids:
                    self._finish(index >= len(self._filters))
                    break
                job = self._job = _Job(self._filters[index])
                self.progress.filter = index + 1
                out += self._open(job)
            out += self._pump(job)
            if not job.finished:
                break
            self.result.modes.append(job.mode)
            self.result.filters += 1
            self._job = None
        return out

    def _finish(self, every_filter: bool) -> None:
        if not every_filter and self.result.complete:
            self.result.shortfalls.append("the id budget ran out before every filter was synced")
        self.result.complete = self.result.complete and every_filter
        self.result.waiting, self.result.waiting_parents = waiting_for_parents(self.view)
        self.done = True
        self.progress.phase = "done"

    def _refresh(self) -> None:
        """Envelopes fetched may have brought keys (a grant, a welcome), and with them new
        filters: sync those too, so one session reaches what the new keys unlock."""
        if self._refreshes >= MAX_REFRESH or not self.result.report.keys_learned:
            return
        self._refreshes += 1
        fresh = [f for f in self.view.filters() if f not in self._filters]
        self._filters += fresh
        self.progress.filters = len(self._filters)

    def _open(self, job: _Job) -> list[str]:
        if self.nip77 is False:
            return self._fall_back(job)
        job.neg = Negentropy(
            Storage(self.view.items(job.filter)),
            self.frame_size_limit,
            buckets=self.negentropy_buckets,
            idlist_below=self.negentropy_idlist_below,
        )
        job.probing = self.nip77 is None
        self.progress.phase = "reconciling"
        self._neg_sub = self._sub("neg")
        return [nip77.neg_open(self._neg_sub, job.filter, job.neg.initiate())]

    def _fall_back(self, job: _Job) -> list[str]:
        out = [nip77.neg_close(self._neg_sub)] if job.neg is not None and not job.settled else []
        job.mode, job.neg, job.probing, job.settled = "fallback", None, False, False
        job.need.clear()
        job.have.clear()
        # The window is bounded by our clock on both ends: an envelope dated far ahead
        # (ours or the relay's) would otherwise move `since` past everything real, or
        # fill every page; one dated far back only widens the window.
        horizon = int(self.now()) + MAX_SKEW
        since = None
        if self.fallback_window is not None:
            dates = (ts for ts, _ in self.view.items(job.filter) if ts <= horizon)
            newest = max(dates, default=None)
            since = None if newest is None else max(0, newest - self.fallback_window)
            if since is not None and self.fallback_from is not None:
                since = min(since, max(0, self.fallback_from - self.fallback_window))
        until = min(horizon, int(job.filter.get("until", horizon)))
        job.window = job.filter | {"until": until} | ({} if since is None else {"since": since})
        # Live uploads are dated by their writers' clocks: not much before ours.
        live_from = int(self.now()) - MAX_SKEW
        job.pager = Pager(job.window, until, self.result.relay_floor, live_from)
        job.deep = False
        job.next_page = self._page_request(job)
        self.progress.phase = "fallback"
        return out

    def _page_request(self, job: _Job) -> messages.Filter | None:
        assert job.pager is not None
        request = job.pager.request()
        return None if request is None else messages.decode_filter(request)

    def _pump(self, job: _Job) -> list[str]:
        out: list[str] = []
        if job.req is None and job.next_page is not None:
            job.page_filter, job.next_page = job.next_page, None
            job.req, job.page, job.page_ids = self._sub("page"), [], set()
            out.append(messages.req(job.req, [job.page_filter.as_dict()]))
        while job.req is None and job.need and (job.settled or len(job.need) >= self.fetch_chunk):
            chunk = [job.need.popleft() for _ in range(min(self.fetch_chunk, len(job.need)))]
            wanted = self.view.lacking(chunk)  # not what arrived meanwhile, or waits here
            if wanted:
                job.req, job.asked = self._sub("get"), set(wanted)
                out.append(messages.req(job.req, [{"ids": [i.hex() for i in wanted]}]))
        # Uploads in a sliding window: once half of what is out is answered, the window
        # is filled again (a relay a round trip away is not left idle after each one).
        while job.have and len(job.in_flight) <= self.max_in_flight // 2:
            room = self.max_in_flight - len(job.in_flight)
            if not (job.settled or len(job.have) >= room):
                break
            batch = [job.have.popleft() for _ in range(min(room, len(job.have)))]
            for raw in self.view.get(batch):
                job.in_flight.add(nip01.decode(raw).id)
                out.append(messages.event(raw))
            self.result.unconfirmed = len(job.in_flight)
        if out and job.settled:
            self.progress.phase = "transferring"
        return out

    def _learn(self, job: _Job, have: list[bytes], need: list[bytes]) -> bool:
        """Queue ids to move; False once the session's id budget is spent."""
        room = self.max_ids - self._ids
        take_need = need[:room]
        take_have = have[: room - len(take_need)]
        job.need.extend(take_need)
        job.have.extend(take_have)
        self._ids += len(take_need) + len(take_have)
        self.progress.to_fetch += len(take_need)
        self.progress.to_send += len(take_have)
        if len(take_need) + len(take_have) < len(need) + len(have):
            if self.result.complete:
                self.result.shortfalls.append(
                    f"over {self.max_ids} envelopes to move: the next sync goes on"
                )
            self.result.complete = False
            return False
        return True

    def _dispatch(self, message: messages.RelayMessage) -> list[str]:
        job = self._job
        if isinstance(message, messages.Notice | messages.Auth):
            text = message.message if isinstance(message, messages.Notice) else "AUTH"
            self._note(f"NOTICE {text}")
            if job is not None and job.probing and any(w in text.lower() for w in _UNSUPPORTED):
                self.nip77 = False
                return self._fall_back(job)
            return []
        if job is None:
            self._bad(f"unexpected {type(message).__name__}")
            return []
        if isinstance(message, nip77.NegMsg | nip77.NegErr):
            if job.neg is None or job.settled or message.subscription_id != self._neg_sub:
                self._bad("NIP-77 message for no open reconciliation")
                return []
            return self._negentropy(job, message)
        if isinstance(message, messages.Ok):
            return self._ok(job, message)
        sub = message.subscription_id
        if isinstance(message, messages.Closed) and sub in self._closed:
            self._closed.discard(sub)  # some relays confirm a CLOSE with CLOSED
            return []
        if isinstance(message, messages.Closed) and job.probing and sub == self._neg_sub:
            self.nip77 = False
            self._note(f"CLOSED {message.message}")
            return self._fall_back(job)
        if sub != job.req and self._ours(sub):
            # Live traffic: after EOSE a relay pushes new envelopes (another member
            # uploading) until our CLOSE reaches it, and may confirm or end a closed
            # subscription. Expected, and ignored.
            self.result.late += 1
            return []
        if sub != job.req:
            if isinstance(message, messages.RelayEvent | messages.Eose) and self._was_ours(sub):
                return []  # live traffic on a subscription we closed: expected, not an error
            self._bad(f"{type(message).__name__} for an unknown subscription")
            return []
        if isinstance(message, messages.RelayEvent):
            self._event(job, message)
            return []
        if isinstance(message, messages.Closed):
            self._note(f"CLOSED {message.message}")
            self.result.complete = False
            self.result.shortfalls.append(f"the relay closed a request: {message.message[:200]}")
            job.req = job.page_filter = None
            if job.mode == "fallback":
                job.settled = True
            return []
        return self._eose(job)

    def _negentropy(self, job: _Job, message: nip77.NegMsg | nip77.NegErr) -> list[str]:
        assert job.neg is not None
        if isinstance(message, nip77.NegErr):
            self._note(f"NEG-ERR {message.reason}")
            job.settled = True  # the relay closed it; nothing to NEG-CLOSE
            return self._fall_back(job)
        job.probing = False
        self.nip77 = True
        try:
            step = job.neg.reconcile_client(message.message)
        except NegentropyError as exc:
            self._bad(f"bad Negentropy message: {exc}")
            return self._fall_back(job)
        if not self._learn(job, step.have, step.need) or step.next_message is None:
            job.settled = True
            return [nip77.neg_close(self._neg_sub)]
        return [nip77.neg_msg(self._neg_sub, step.next_message)]

    def _ok(self, job: _Job, message: messages.Ok) -> list[str]:
        if message.event_id not in job.in_flight:
            self._bad("OK for an event we did not send")
            return []
        job.in_flight.discard(message.event_id)
        self.result.unconfirmed = len(job.in_flight)
        if message.accepted:
            self.progress.sent += 1
            self.result.sent += 1
            if message.code == "duplicate":
                self.result.sent_duplicate += 1
        else:
            reason = message.code or "refused"
            self.result.refused_by_relay[reason] = self.result.refused_by_relay.get(reason, 0) + 1
        return []

    def _event(self, job: _Job, message: messages.RelayEvent) -> None:
        envelope = message.envelope
        eid = bytes.fromhex(envelope.id)
        if job.page_filter is not None:
            flt = job.page_filter
            if not flt.matches(envelope):
                self._bad("an event the fall-back REQ did not ask for")
                return
            if eid in job.page_ids or len(job.page) >= (flt.limit or PAGE):
                # A relay may push a live envelope (another member uploading) before its
                # EOSE: matching, but beyond the page. The paging asks again where it is.
                self.result.late += 1
                return
        elif eid not in job.asked:
            self._bad("an event we did not ask for")
            return
        else:
            job.asked.discard(eid)
        try:
            nip01.check_id(envelope)
        except RemoteError as exc:
            self._bad(str(exc))
            return
        job.page.append((eid, envelope.created_at, message.raw))
        job.page_ids.add(eid)
        job.page_bytes += len(message.raw)
        job.page_total += len(message.raw)
        if job.page_bytes >= PAGE_BYTES:
            self._put_page(job)

    def _put_page(self, job: _Job) -> None:
        """Give the node what this REQ brought so far (keeping only ids and dates)."""
        raws = [(eid, raw) for eid, _, raw in job.page if raw]
        if job.page_filter is not None:
            lacking = set(self.view.lacking([e for e, _ in raws if e not in job.seen]))
            raws = [(eid, raw) for eid, raw in raws if eid in lacking]
        job.page = [(eid, ts, b"") for eid, ts, _ in job.page]
        job.page_bytes = 0
        self._put([raw for _, raw in raws])

    def _eose(self, job: _Job) -> list[str]:
        assert job.req is not None
        out = [messages.close(job.req)]
        if len(self._closed) < MAX_BAD * 4:
            self._closed.add(job.req)
        self._put_page(job)
        cut_short = job.page_total >= PAGE_BYTES
        page, job.page, job.page_ids, job.req = job.page, [], set(), None
        job.page_total = 0
        if job.page_filter is None:
            if job.asked:
                self.result.missing += len(job.asked)
                self.result.complete = False
                self.result.shortfalls.append(
                    f"the relay announced {len(job.asked)} envelopes it did not send"
                )
            job.asked = set()
            return out
        job.page_filter = None
        new_ids = [eid for eid, _, _ in page if eid not in job.seen]
        fresh = [ts for eid, ts, _ in page if eid not in job.seen]
        job.seen.update(new_ids)
        pager = job.pager
        assert pager is not None
        if len(job.seen) > self.max_ids:
            self.result.complete = False
            self.result.shortfalls.append(f"over {self.max_ids} envelopes in one filter")
            pager.stop()
        else:
            pager.page_done([ts for _, ts, _ in page], cut_short, fresh)
            self.result.relay_floor = max(self.result.relay_floor, pager.floor)
            if job.deep and waiting_for_parents(self.view)[0] == 0:
                pager.stop()  # every missing parent has come: no need to page on
        job.next_page = self._page_request(job)
        if job.next_page is not None:
            return out
        self._cut(pager.cut)
        if not job.deep and "since" in job.window and self.result.report.pending > 0:
            if waiting_for_parents(self.view)[0] > 0:
                # Events wait for parents older than the window (a writer may date an
                # envelope far back; a member may have been away): page on, back through
                # the rest of the history, until they have all come or it ends.
                job.deep = True
                live_from = pager.live_from
                job.pager = Pager(
                    job.filter, int(job.window["since"]), self.result.relay_floor, live_from
                )
                job.next_page = self._page_request(job)
                if job.next_page is not None:
                    return out
        covered = job.window
        if job.deep and job.pager is not None and not (job.pager.cut or job.pager.stopped):
            covered = {k: v for k, v in job.window.items() if k != "since"}
        mine = [eid for _, eid in self.view.items(covered) if eid not in job.seen]
        job.seen = set()
        job.settled = True
        self._learn(job, mine, [])
        return out

    def _cut(self, dates: list[int]) -> None:
        """Hours the relay would not page through: the sync is not complete."""
        if not dates:
            return
        self.result.complete = False
        self.result.cut_hours.extend(dates[: 100 - len(self.result.cut_hours)])
        hours = ", ".join(str(d) for d in dates[:5])
        self.result.shortfalls.append(
            f"the relay gives only part of the envelopes dated {hours}"
            f"{' ...' if len(dates) > 5 else ''} and cannot page inside an hour"
        )

    def _put(self, raws: list[bytes]) -> None:
        if not raws:
            return
        report = self.view.put(raws)
        merge_reports(self.result.report, report)
        self.progress.fetched += len(raws)
        self.result.fetched += len(raws)
        forged = report.refused.get("BadSignature", 0)
        for _ in range(forged):
            self._bad("an event whose signature does not verify")
