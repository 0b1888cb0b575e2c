"""Carrying envelopes between profiles: importing them from anywhere (a bundle, a
peer), bundles written and read, and summaries, so a courier carries only what the
other side lacks (kernel/bundle.py, sync/summary.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import IO

from shora.errors import BundleDamaged
from shora.kernel import bundle
from shora.kernel.bundle import read_bundle as read_bundle
from shora.kernel.core import NodeCore
from shora.kernel.ingest import Report as Report
from shora.services.housekeeping import Housekeeping
from shora.sync.local import NodeEnvelopes
from shora.sync.summary import MAX_COMPRESSED as MAX_COMPRESSED
from shora.sync.summary import SummaryError as SummaryError
from shora.sync.summary import difference, make_summary, read_summary

__all__ = ["MAX_COMPRESSED", "Bundles", "Report", "SummaryError", "read_bundle"]


class Bundles:
    """Envelopes in and out of one node."""

    def __init__(self, core: NodeCore, housekeeping: Housekeeping) -> None:
        self.core = core
        self.housekeeping = housekeeping

    def envelopes(self, council: bytes | None = None, since: int = 0) -> Iterator[bytes]:
        """The envelopes held (of one council, dated since), in the order stored."""
        return self.core.store.events.raws(council, since)

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
        return make_summary(NodeEnvelopes(self.core))

    def difference(self, summary: bytes) -> list[bytes]:
        """Our envelopes that the holder of `summary` lacks."""
        return list(difference(NodeEnvelopes(self.core), read_summary(summary)))

    def import_envelopes(self, raws: Iterable[bytes], heal: bool = True) -> Report:
        """Ingest envelopes from anywhere (and those held as dated ahead whose time has
        come); then, unless told not to, the housekeeping (healing key epochs)."""
        report = self.core.take_in(raws)
        if heal:
            self.housekeeping.after_import(report)
        return report

    def settle(self, report: Report, heal: bool = True) -> None:
        """After events came in: update our status in each council they concern and,
        unless told not to, run their housekeeping (noting what was healed in the report)."""
        self.core.note_standing(report)
        if heal:
            self.housekeeping.after_import(report)

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

        self.core.report_progress(progress)  # the import's progress, batch by batch
        try:
            report = self.import_envelopes(records())
        finally:
            self.core.report_progress(None)
        return report, damage
