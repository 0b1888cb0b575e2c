"""A node: one unlocked profile (a `NodeCore`) and its services, one per capability
(docs/architecture.md): `node.councils.all()`, `node.membership.invite(...)`,
`node.posts.post(...)`. The command line and the pages call the services.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import shora.domain.aid.kinds  # registers the aid and safety kinds with the kernel
import shora.domain.care.kinds  # stocks, skills, dead-man timers, missing people
import shora.domain.decisions.kinds
import shora.domain.federation.kinds
import shora.domain.governance.rules  # noqa: F401 (registers the governance state kinds)
from shora.errors import BundleDamaged
from shora.kernel import bundle
from shora.kernel.core import NodeCore
from shora.kernel.ingest import Report
from shora.services.aid import Aid
from shora.services.care import Care
from shora.services.councils import CouncilInfo as CouncilInfo
from shora.services.councils import Councils
from shora.services.councils import LogEntry as LogEntry
from shora.services.councils import MemberInfo as MemberInfo
from shora.services.deadman_missing import DeadmanMissing
from shora.services.decisions import Decisions
from shora.services.discussion import Discussion
from shora.services.federation import Federation
from shora.services.federation_flow import FederationFlow
from shora.services.forgetting import Forgetting
from shora.services.governance import Governance, check_emergency_removal
from shora.services.joining import Joining
from shora.services.membership import Membership
from shora.services.posts import Posts
from shora.services.restricted import Restricted
from shora.services.safety import Safety
from shora.sync.local import NodeEnvelopes
from shora.sync.summary import difference, make_summary, read_summary


class Node(NodeCore):
    """A node: one unlocked profile and its services."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        # The services, one per capability (docs/architecture.md).
        self.restricted = Restricted(self)
        self.aid = Aid(self, self.restricted)
        self.safety = Safety(self, self.restricted, self.aid)
        self.care = Care(self, self.restricted, self.aid)
        self.deadman_missing = DeadmanMissing(self, self.restricted, self.aid)
        self.forgetting = Forgetting(self, self.aid)
        self.decisions = Decisions(self)
        self.discussion = Discussion(self)
        self.governance = Governance(self)
        self.councils = Councils(self)
        self.posts = Posts(self)
        self.membership = Membership(self, lambda c: check_emergency_removal(self, c))
        self.federation = Federation(
            self,
            self.councils,
            self.membership,
            propose=self.decisions.propose,
            proposal=self.decisions.proposal,
        )
        self.federation_flow = FederationFlow(
            self,
            self.federation,
            propose=self.decisions.propose,
            proposal=self.decisions.proposal,
            proposals=lambda council, limit: self.decisions.proposals(council, limit=limit),
            aid_state=self.aid.state,
            alerts=self.safety.alerts,
        )
        self.joining = Joining(self)

    # --- bundles ---------------------------------------------------------------------------

    def envelopes(self, council: bytes | None = None, since: int = 0) -> Iterator[bytes]:
        sql = "SELECT raw FROM envelopes WHERE created_at >= ? AND length(raw) > 0"
        params: tuple[Any, ...] = (since,)
        if council is not None:
            sql += " AND council=?"
            params += (council,)
        for (raw,) in self.store.rows(sql + " ORDER BY rowid", params):
            yield bytes(raw)

    def export_bundle(
        self,
        out: IO[bytes],
        council: bytes | None = None,
        since: int = 0,
        progress: Callable[[int], None] | None = None,
        records: Iterable[bytes] | None = None,
    ) -> int:
        """Write envelopes (ours, or the given records) as a bundle; return how many."""
        count = 0
        with bundle.BundleWriter(out) as writer:
            for raw in self.envelopes(council, since) if records is None else records:
                writer.add(raw)
                count += 1
                if progress and count % 1000 == 0:
                    progress(1000)
        if progress:
            progress(count % 1000)
        return count

    def summary(self) -> bytes:
        """A small file saying what this node holds, for `difference` on another node."""
        return make_summary(NodeEnvelopes(self))

    def difference(self, summary: bytes) -> list[bytes]:
        """Our envelopes that the holder of `summary` lacks."""
        return list(difference(NodeEnvelopes(self), read_summary(summary)))

    def import_envelopes(self, raws: Iterable[bytes], heal: bool = True) -> Report:
        """Ingest envelopes from anywhere (and those held as dated ahead whose time has
        come); then, unless told not to, heal key epochs."""
        report = self.ingestor.ingest(itertools.chain(self.ingestor.take_due(), raws))
        self.settle(report, heal)
        return report

    def settle(self, report: Report, heal: bool = True) -> None:
        """After events came in: update our status in each council they concern and,
        unless told not to, heal its key epochs (noting what was done in the report)."""
        self._after_import(report)
        if heal:
            for council in sorted(report.councils):
                if done := self.housekeeping(council):
                    report.healed[council] = done

    def housekeeping(self, council: bytes) -> str | None:
        """What time and events ask of a member's node: record emergency actions whose
        time to be ratified ran out (undoing them), then heal key epochs (a reinstated
        member needs the keys made while they were out), and forget the expired needs,
        offers, alerts and check-ins. Run after imports and periodically; harmless when
        several members do it at once."""
        self.forgetting.forget_expired(int(self.now()), council)
        self.ingestor.expire(force=False)  # what waits too long for parents or a key
        self.governance.record_lapses(council)
        self.federation.sign_due(council)  # mandates and revocations (a base council)
        self.federation.end_expired(council)  # seats whose mandate is over (a federation)
        self.federation_flow.keep_up(council)  # a delegate's: notices down, results up
        self.membership.welcome_back(council)
        return self.membership.heal_epochs(council)

    def import_bundle(
        self, source: IO[bytes], progress: Callable[[int], None] | None = None
    ) -> tuple[Report, BundleDamaged | None]:
        """Apply every intact envelope of a bundle; say how it was damaged, if it was."""
        damage: BundleDamaged | None = None

        def records() -> Iterator[bytes]:
            nonlocal damage
            try:
                yield from bundle.read_bundle(source)
            except BundleDamaged as exc:
                damage = exc

        self.ingestor.progress = progress
        try:
            report = self.import_envelopes(records())
        finally:
            self.ingestor.progress = None
        return report, damage

    def _after_import(self, report: Report) -> None:
        for council in report.councils:
            me = self.store.one("SELECT sign_pk FROM identities WHERE council=?", (council,))
            final = self.ingestor.projection.final_state(council)
            member = final.members.get(me) if me else None
            status = self.store.one("SELECT status FROM councils WHERE id=?", (council,))
            if member is not None and member.ended_by is not None:
                new_status = "removed" if member.end == "removed" else "left"
            elif member is not None:
                new_status = "member"
            else:
                new_status = status
            if new_status != status:
                self.store.execute("UPDATE councils SET status=? WHERE id=?", (new_status, council))
