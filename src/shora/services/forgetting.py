"""Forgetting on purpose: expired needs, offers, alerts and check-ins leave the device.
See docs/aid.md, "Forgetting on purpose", and docs/security.md.

What is forgotten, at `now` (unix seconds):

* a need or an offer that is over, together with everything about it (commitments,
  deliveries, cancellations, private notes), once every need and offer linked to it by
  a commitment is over too: a live offer keeps the commitments that used it up, and
  so the needs they served. Over means expired, or closed for a week (`CLOSED_KEEP_
  SECONDS`): withdrawn by its author, a need with everything delivered, an offer used
  up. A private note with an address then goes a week after the delivery;
* an alert whose expiry has passed (six hours after it was written by default), with
  its confirmations and retractions;
* a check-in, a roll call or an answer to a call for help ("on my way") a week after
  it was written.

Forgetting an event deletes its row from the events table and empties its envelope (the
ciphertext, the only copy of its body the profile keeps), keeping only the envelope's
id, hour and write key: sync then counts it as held and never fetches it again, and a
copy that arrives anyway is a duplicate. All of these kinds are leaves
(`register_kind(leaf=True)`): no event names them as parents, so nobody's history has a
gap. Pages are overwritten (secure_delete) and the write-ahead log is checkpointed and
truncated, so no old copy stays in the file."""

from __future__ import annotations

from shora.domain.aid.forgetting import CHECKIN_KEEP_SECONDS as CHECKIN_KEEP_SECONDS
from shora.domain.aid.forgetting import CLOSED_KEEP_SECONDS as CLOSED_KEEP_SECONDS
from shora.domain.aid.forgetting import FORGETTABLE as FORGETTABLE
from shora.domain.aid.forgetting import Forgotten as Forgotten
from shora.domain.aid.forgetting import Row as Row
from shora.domain.aid.forgetting import due as due
from shora.kernel.core import NodeCore
from shora.kernel.events import decode_body
from shora.services.aid import Aid


class Forgetting:
    """Forgetting on purpose what has expired."""

    def __init__(self, core: NodeCore, aid: Aid) -> None:
        self.core = core
        self.aid = aid

    def _rows(self, council: bytes) -> list[Row]:
        return [
            Row(i, env, kind, time, clock, decode_body(kind, body))
            for i, env, kind, time, clock, body in self.core.store.events.with_body_of_kinds(
                council, FORGETTABLE
            )
        ]

    def _named_as_parents(self, council: bytes, since_clock: int) -> set[bytes]:
        """Ids that an event of clock > since_clock names as a parent (a child always has
        a higher clock than its parents). Leaves never are; this guards older histories."""
        named: set[bytes] = set()
        for parents in self.core.store.events.parents_after(council, since_clock):
            named.update(parents[i : i + 32] for i in range(0, len(parents), 32))
        return named

    def forget_expired(self, now: int, council: bytes | None = None) -> Forgotten:
        """Forget, on this device, what has expired at `now` (every council, or one)."""
        done = Forgotten()
        councils = [council] if council is not None else self.core.store.councils.ids()
        for cid in councils:
            rows = self._rows(cid)
            forget = due(rows, now, self._closed(cid, now))
            if not forget:
                continue
            chosen = [r for r in rows if r.id in forget]
            named = self._named_as_parents(cid, min(r.clock for r in chosen))
            chosen = [r for r in chosen if r.id not in named]
            self.core.store.events.erase([(r.id, r.envelope) for r in chosen])
            for r in chosen:
                done.kinds[r.kind] = done.kinds.get(r.kind, 0) + 1
        if done.total:
            self.core.store.events.truncate_wal()
        return done

    def _closed(self, council: bytes, now: int) -> dict[bytes, int]:
        """When each need and offer closed, from the state as this member sees it."""
        st = self.aid.state(council, now)
        found = {i.id: i.closed_at for i in (*st.needs.values(), *st.offers.values())}
        found.update((h.id, h.closed_at) for h in st.hidden.values())
        return {i: t for i, t in found.items() if t is not None}
