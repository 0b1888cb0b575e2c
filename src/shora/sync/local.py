"""A node's own envelopes, as the sync engine and the embedded relay see them.

`NodeEnvelopes` answers NIP-01 filters from the profile's envelopes table and takes
in envelopes through the node's ingest pipeline, so everything that arrives over
any carrier passes the same checks as a bundle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from shora.errors import RemoteError
from shora.kernel import keys, nip01
from shora.kernel.events import SHORA_KIND, WELCOME_KIND
from shora.kernel.ingest import Report, UnknownWriteKey

if TYPE_CHECKING:
    from shora.node import Node

Filter = dict[str, Any]
RECENT_EPOCHS = 3
"""Epochs per council that prove membership: the current one and the last used others."""
MAX_QUERY = 50_000  # envelopes one REQ may return, whatever its limit says


class NodeEnvelopes:
    """The sync view of one node: what it holds, what it wants, what it accepts."""

    def __init__(self, node: Node, councils: Iterable[bytes] | None = None) -> None:
        self.node = node
        self.councils = None if councils is None else frozenset(councils)

    def now(self) -> float:
        """The node's clock (bounds a fall-back sync's window)."""
        return self.node.now()

    # --- what this node wants from others -------------------------------------------

    def filters(self) -> list[Filter]:
        """Everything under the write keys we hold, and welcomes for our join requests
        (of the councils this view is scoped to, if any)."""
        scope = self.councils
        epochs = self.node.ingestor.all_epochs()
        authors = sorted(e.write_pk.hex() for e in epochs if scope is None or e.council in scope)
        wanted: list[Filter] = []
        if authors:
            wanted.append({"kinds": [SHORA_KIND, WELCOME_KIND], "authors": authors})
        hints = [
            keys.welcome_hint(bytes(rid))
            for cid, rid in self.node.store.rows(
                "SELECT id, request_id FROM councils "
                "WHERE status='joining' AND request_id IS NOT NULL"
            )
            if scope is None or bytes(cid) in scope
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
        for epoch in self.node.ingestor.all_epochs():
            if scope is None or epoch.council in scope:
                by_council.setdefault(epoch.council, []).append(epoch)
        recent: list[keys.Epoch] = []
        for council, epochs in sorted(by_council.items()):
            current = self.node.store.one(
                "SELECT current_epoch FROM councils WHERE id=?", (council,)
            )

            def rank(epoch: keys.Epoch, current: object = current) -> tuple[bool, int]:
                last = max(
                    self.node.store.one(
                        "SELECT max(created_at) FROM envelopes WHERE pubkey=? AND kind=?",
                        (epoch.write_pk, kind),
                    )
                    or -1
                    for kind in (SHORA_KIND, WELCOME_KIND)
                )
                return (epoch.write_pk == current, last)

            recent += sorted(epochs, key=rank, reverse=True)[:RECENT_EPOCHS]
        return recent

    def joining(self) -> list[bytes]:
        """Councils (of this view's scope) we asked to join and hold no key of yet."""
        rows = self.node.store.rows("SELECT id FROM councils WHERE status='joining'")
        return [bytes(c) for (c,) in rows if self.councils is None or bytes(c) in self.councils]

    def scoped(self, councils: Iterable[bytes]) -> NodeEnvelopes:
        """This view narrowed to some councils (those a LAN peer proved it holds)."""
        wanted = frozenset(councils)
        return NodeEnvelopes(self.node, wanted if self.councils is None else wanted & self.councils)

    def authors_of(self, councils: Iterable[bytes]) -> list[str]:
        """Every write key we hold of these councils (hex), the authors a proven peer
        may ask for or upload under."""
        wanted = set(councils)
        return sorted(
            e.write_pk.hex() for e in self.node.ingestor.all_epochs() if e.council in wanted
        )

    # --- answering filters -------------------------------------------------------------

    def items(self, flt: Filter) -> list[tuple[int, bytes]]:
        """(created_at, id) of every envelope we hold that matches, for Negentropy."""
        where, params = _where(flt)
        rows = self.node.store.rows(
            f"SELECT created_at, id FROM envelopes WHERE {where}",  # noqa: S608
            params,
        )
        return [(int(ts), bytes(eid)) for ts, eid in rows]

    def query(self, flt: Filter, limit: int = MAX_QUERY) -> list[bytes]:
        """Raw envelopes matching a filter, newest first, as a relay answers a REQ."""
        where, params = _where(flt)
        n = min(limit, int(flt.get("limit", limit)), MAX_QUERY)
        rows = self.node.store.rows(
            f"SELECT raw FROM envelopes WHERE {where} AND length(raw) > 0 "  # noqa: S608
            "ORDER BY created_at DESC, id LIMIT ?",
            (*params, n),
        )
        return [bytes(raw) for (raw,) in rows]

    def get(self, ids: Iterable[bytes]) -> list[bytes]:
        """The raw envelopes with these ids that we hold (to send to a peer). A forgotten
        envelope (empty: see shora.services.forgetting) counts as held but is never sent."""
        found = []
        for eid in ids:
            raw = self.node.store.one("SELECT raw FROM envelopes WHERE id=?", (eid,))
            if raw:
                found.append(bytes(raw))
        return found

    def lacking(self, ids: Sequence[bytes]) -> list[bytes]:
        """Those of ids that we neither hold nor keep waiting (for a key, parents, or
        the time they claim)."""
        return [
            eid
            for eid in ids
            if not self.node.store.one(
                "SELECT 1 FROM envelopes WHERE id=? UNION ALL SELECT 1 FROM held WHERE "
                "envelope=? UNION ALL SELECT 1 FROM pending WHERE envelope=? "
                "UNION ALL SELECT 1 FROM early WHERE envelope=?",
                (eid, eid, eid, eid),
            )
        ]

    def waiting_for_parents(self) -> tuple[int, int]:
        """(events waiting for parents, distinct parents they wait for and we lack), in
        this view's councils: what a sync reports as still missing."""
        scope = sorted(self.councils) if self.councils is not None else None
        where = "" if scope is None else f"AND p.council IN ({','.join('?' * len(scope))})"
        row = self.node.store.rows(
            "SELECT count(DISTINCT p.envelope), count(DISTINCT w.parent) FROM pending p "  # noqa: S608
            "JOIN pending_parents w ON w.envelope = p.envelope "
            f"WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = w.parent) {where}",
            tuple(scope or ()),
        )[0]
        return int(row[0]), int(row[1])

    # --- taking envelopes in --------------------------------------------------------------

    def put(self, raws: Iterable[bytes]) -> Report:
        """Ingest envelopes from a peer, as a bundle would be."""
        return self.node.import_envelopes(raws)

    def accept(self, raw: bytes) -> tuple[bool, str]:
        """A relay's answer to EVENT: (accepted, NIP-01 OK message).

        The embedded relay stores only envelopes of councils this node holds a key
        of; everything else is refused without being stored.
        """
        try:
            report = self.node.ingestor.ingest_one(raw)
        except UnknownWriteKey:
            return False, "blocked: not a council this relay carries"
        except RemoteError as exc:
            return False, f"invalid: {exc}"
        self.node.settle(report)  # the council's status, and its keys healed if need be
        return True, "duplicate: already have this event" if report.duplicate else ""


def _where(flt: Filter) -> tuple[str, tuple[Any, ...]]:
    """SQL for a NIP-01 filter over the envelopes table (already validated by its decoder)."""
    clauses: list[str] = []
    params: list[Any] = []

    def any_of(column: str, values: list[Any]) -> None:
        clauses.append(f"{column} IN ({','.join('?' * len(values))})" if values else "0")
        params.extend(values)

    if "ids" in flt:
        any_of("id", [bytes.fromhex(i) for i in flt["ids"]])
    if "authors" in flt:
        any_of("pubkey", [bytes.fromhex(a) for a in flt["authors"]])
    if "kinds" in flt:
        any_of("kind", list(flt["kinds"]))
    if "#k" in flt:
        any_of("hint", list(flt["#k"]))
    if "since" in flt:
        clauses.append("created_at >= ?")
        params.append(int(flt["since"]))
    if "until" in flt:
        clauses.append("created_at <= ?")
        params.append(int(flt["until"]))
    return (" AND ".join(clauses) or "1"), tuple(params)


def envelope_id(raw: bytes) -> bytes:
    return bytes.fromhex(nip01.decode(raw).id)
