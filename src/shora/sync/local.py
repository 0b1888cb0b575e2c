"""A node's own envelopes, as the sync engine and the embedded relay see them.

`NodeEnvelopes` answers NIP-01 filters from the profile's envelopes table and takes
in envelopes through the node's ingest pipeline, so everything that arrives over
any carrier passes the same checks as a bundle. It needs only the node's core
(`shora.kernel.core.NodeCore`): what time asks after an import runs through the
core's `housekeeper` hook, once per batch (the embedded relay calls `settle` once
for the envelopes it took in one at a time).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from shora.errors import RemoteError
from shora.kernel import keys, nip01
from shora.kernel.core import NodeCore
from shora.kernel.events import SHORA_KIND, WELCOME_KIND
from shora.kernel.ingest import Report, UnknownWriteKey
from shora.sync.paging import Filter

RECENT_EPOCHS = 3
"""Epochs per council that prove membership: the current one and the last used others."""
MAX_QUERY = 50_000  # envelopes one REQ may return, whatever its limit says


class NodeEnvelopes:
    """The sync view of one node: what it holds, what it wants, what it accepts."""

    def __init__(self, core: NodeCore, councils: Iterable[bytes] | None = None) -> None:
        self.core = core
        self.councils = None if councils is None else frozenset(councils)

    def now(self) -> float:
        """The node's clock (bounds a fall-back sync's window)."""
        return self.core.now()

    # --- what this node wants from others -------------------------------------------

    def filters(self) -> list[Filter]:
        """Everything under the write keys we hold, and welcomes for our join requests
        (of the councils this view is scoped to, if any)."""
        scope = self.councils
        epochs = self.core.ingestor.keyring.all_epochs()
        authors = sorted(e.write_pk.hex() for e in epochs if scope is None or e.council in scope)
        wanted: list[Filter] = []
        if authors:
            wanted.append({"kinds": [SHORA_KIND, WELCOME_KIND], "authors": authors})
        hints = [
            keys.welcome_hint(rid)
            for cid, rid in self.core.store.councils.joining_requests()
            if scope is None or cid in scope
        ]
        if hints:
            wanted.append({"kinds": [WELCOME_KIND], "#k": sorted(hints)})
        return wanted

    # --- proving membership (shora.sync.auth) -----------------------------------------

    def recent_epochs(self) -> list[keys.Epoch]:
        """Per council (of this view's scope) its current epoch and the most recently
        used others, RECENT_EPOCHS in all: the keys membership is proven with."""
        scope = self.councils
        by_council: dict[bytes, list[keys.Epoch]] = {}
        for epoch in self.core.ingestor.keyring.all_epochs():
            if scope is None or epoch.council in scope:
                by_council.setdefault(epoch.council, []).append(epoch)
        recent: list[keys.Epoch] = []
        for council, epochs in sorted(by_council.items()):
            current = self.core.store.councils.current_epoch(council)

            def rank(epoch: keys.Epoch, current: object = current) -> tuple[bool, int]:
                last = max(
                    self.core.store.events.last_created(epoch.write_pk, kind) or -1
                    for kind in (SHORA_KIND, WELCOME_KIND)
                )
                return (epoch.write_pk == current, last)

            recent += sorted(epochs, key=rank, reverse=True)[:RECENT_EPOCHS]
        return recent

    def joining(self) -> list[bytes]:
        """Councils (of this view's scope) we asked to join and hold no key of yet."""
        rows = self.core.store.councils.ids("joining")
        return [c for c in rows if self.councils is None or c in self.councils]

    def scoped(self, councils: Iterable[bytes]) -> NodeEnvelopes:
        """This view narrowed to some councils (those a LAN peer proved it holds)."""
        wanted = frozenset(councils)
        return NodeEnvelopes(self.core, wanted if self.councils is None else wanted & self.councils)

    def authors_of(self, councils: Iterable[bytes]) -> list[str]:
        """Every write key we hold of these councils (hex), the authors a proven peer
        may ask for or upload under."""
        wanted = set(councils)
        return sorted(
            e.write_pk.hex() for e in self.core.ingestor.keyring.all_epochs() if e.council in wanted
        )

    # --- answering filters -------------------------------------------------------------

    def items(self, flt: Filter) -> list[tuple[int, bytes]]:
        """(created_at, id) of every envelope we hold that matches, for Negentropy."""
        return self.core.store.events.items(flt)

    def query(self, flt: Filter, limit: int = MAX_QUERY) -> list[bytes]:
        """Raw envelopes matching a filter, newest first, as a relay answers a REQ."""
        n = min(limit, int(flt.get("limit", limit)), MAX_QUERY)
        return self.core.store.events.query(flt, n)

    def get(self, ids: Iterable[bytes]) -> list[bytes]:
        """The raw envelopes with these ids that we hold (to send to a peer). A forgotten
        envelope (empty: see shora.services.forgetting) counts as held but is never sent."""
        found = []
        for eid in ids:
            raw = self.core.store.events.raw(eid)
            if raw:
                found.append(raw)
        return found

    def lacking(self, ids: Sequence[bytes]) -> list[bytes]:
        """Those of ids that we neither hold nor keep waiting (for a key, parents, or
        the time they claim)."""
        return [eid for eid in ids if not self.core.store.waiting.known(eid)]

    def waiting_for_parents(self) -> tuple[int, int]:
        """(events waiting for parents, distinct parents they wait for and we lack), in
        this view's councils: what a sync reports as still missing."""
        scope = sorted(self.councils) if self.councils is not None else None
        return self.core.store.waiting.missing_parents(scope)

    # --- taking envelopes in --------------------------------------------------------------

    def put(self, raws: Iterable[bytes]) -> Report:
        """Ingest envelopes from a peer, as a bundle would be, then the housekeeping of
        the councils they concern (once for the batch)."""
        report = self.core.take_in(raws)
        if self.core.housekeeper is not None:
            self.core.housekeeper(report)
        return report

    def accept(self, raw: bytes) -> tuple[bool, str]:
        """A relay's answer to EVENT: (accepted, NIP-01 OK message).

        The embedded relay stores only envelopes of councils this node holds a key
        of; everything else is refused without being stored.
        """
        try:
            report = self.core.ingestor.ingest_one(raw)
        except UnknownWriteKey:
            return False, "blocked: not a council this relay carries"
        except RemoteError as exc:
            return False, f"invalid: {exc}"
        self.core.note_standing(report)  # the council's status at once
        self.core.unsettled |= report.councils  # its housekeeping with the next `settle`
        return True, "duplicate: already have this event" if report.duplicate else ""

    def accept_many(self, raws: Sequence[bytes]) -> list[tuple[bool, str]]:
        """`accept` for EVENTs a client sent in a row: one transaction for them all,
        each still answered on its own (a refused one changes nothing for the others)."""
        report, verdicts = self.core.ingestor.ingest_each(raws)
        if report.councils:
            self.core.note_standing(report)
            self.core.unsettled |= report.councils
        return [_answer(verdict) for verdict in verdicts]

    def check_ahead(self, raw: bytes) -> None:
        """An EVENT of a batch `accept_many` will be given: its checks may start now."""
        self.core.ingestor.ahead.check_ahead(raw)

    def settle(self) -> None:
        """The housekeeping of the councils `accept` took envelopes of since the last
        call, once for all of them (the embedded relay calls it after a burst)."""
        self.core.ingestor.ahead.end_burst()
        if not self.core.unsettled:
            return
        report = Report(councils=set(self.core.unsettled))
        self.core.unsettled.clear()
        if self.core.housekeeper is not None:
            self.core.housekeeper(report)


def _answer(verdict: RemoteError | bool) -> tuple[bool, str]:
    """A relay's OK for one envelope (`accept`'s wording)."""
    if isinstance(verdict, UnknownWriteKey):
        return False, "blocked: not a council this relay carries"
    if isinstance(verdict, RemoteError):
        return False, f"invalid: {verdict}"
    return True, "duplicate: already have this event" if verdict else ""


def envelope_id(raw: bytes) -> bytes:
    return bytes.fromhex(nip01.decode(raw).id)
