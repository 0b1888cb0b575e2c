"""What time asks of a node, run from one place (docs/architecture.md, "Housekeeping"):
once after each import batch (`after_import`) and once after each sync round
(`after_round`), never per event.

For each council it is a member of: forget what has expired (docs/aid.md, "Forgetting
on purpose"), let what waited too long go, record emergency actions not ratified in
time (docs/decisions.md §6.4), sign mandates and revocations due and end seats whose
mandate is over, carry a delegate's flows (docs/federation.md), welcome back members
reinstated and heal key epochs. After a round also: take in the events dated ahead
whose time has come, raise the dead-man alerts that are due, do this node's part as
a teller of secret ballots (the key, then its decryption share after the close), and
seat the winners of a counted secret election.

The chores themselves belong to the services of the node; `Node.__init__` hands them
over as `Chores`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shora.kernel.core import NodeCore
from shora.kernel.ingest import Report


@dataclass(frozen=True, slots=True)
class Chores:
    """What the node's services do as time passes, each for one council (`forget` with
    None: every council)."""

    forget: Callable[[int, bytes | None], object]
    record_lapses: Callable[[bytes], object]
    sign_due: Callable[[bytes], object]
    end_expired: Callable[[bytes], object]
    keep_up: Callable[[bytes], object]
    welcome_back: Callable[[bytes], object]
    heal_epochs: Callable[[bytes], str | None]
    raise_alerts: Callable[[], object]
    teller_duties: Callable[[bytes], object] = lambda _council: None
    seat_elected: Callable[[bytes], object] = lambda _council: None
    settle_pledges: Callable[[bytes], object] = lambda _council: None


class Housekeeping:
    """The node's chores after imports and sync rounds."""

    def __init__(self, core: NodeCore, chores: Chores) -> None:
        self.core = core
        self.chores = chores

    def run(self, council: bytes) -> str | None:
        """What time and events ask of a member's node in one council: record
        emergency actions whose time to be ratified ran out (undoing them), then heal
        key epochs (a reinstated member needs the keys made while they were out), and
        forget the expired needs, offers, alerts and check-ins. Harmless when several
        members do it at once. Returns what healing did ("rotated", "granted"), if any."""
        chores = self.chores
        chores.forget(int(self.core.now()), council)
        self.core.expire_waiting()  # what waits too long for parents or a key
        chores.record_lapses(council)
        chores.sign_due(council)  # mandates and revocations (a base council)
        chores.end_expired(council)  # seats whose mandate is over (a federation)
        chores.keep_up(council)  # a delegate's: notices down, results up
        chores.welcome_back(council)
        chores.settle_pledges(council)  # pledges made at once on two devices, joined
        return chores.heal_epochs(council)

    def after_import(self, report: Report) -> None:
        """Once per import batch: the housekeeping of each council it concerns (and of
        those whose envelopes came in one at a time since), noting in the report what
        healing did."""
        councils = report.councils | self.core.unsettled
        self.core.unsettled.clear()
        for council in sorted(councils):
            if done := self.run(council):
                report.healed[council] = done

    def after_round(self) -> None:
        """Once per sync round, whether or not events arrived: events dated ahead whose
        time has come, the dead-man alerts that are due, and every member council's
        housekeeping."""
        self.after_import(self.core.take_in([]))  # events dated ahead whose time has come
        self.chores.raise_alerts()
        self.chores.forget(int(self.core.now()), None)
        for council in self.core.store.councils.ids("member"):
            self.run(council)
            self.chores.teller_duties(council)  # a running node counts as a teller
            self.chores.seat_elected(council)  # and seats a counted secret election
