"""What a sync with a relay shows while it runs, and what it did when it ends."""

from __future__ import annotations

from dataclasses import dataclass, field

from shora.kernel.ingest import Report


@dataclass(slots=True)
class SyncProgress:
    """Live figures of one sync session, for progress bars and logs."""

    phase: str = "starting"
    """starting, reconciling, fallback, transferring, done or failed."""
    filter: int = 0
    """Which of the node's filters is being synced (1-based), of ``filters``."""
    filters: int = 0
    to_fetch: int = 0
    """Envelopes the relay holds that we lack, learnt so far."""
    to_send: int = 0
    """Envelopes we hold that the relay lacks, learnt so far."""
    fetched: int = 0
    """Envelopes received and handed to the node."""
    sent: int = 0
    """Envelopes the relay accepted (or already had)."""
    bytes_up: int = 0
    bytes_down: int = 0
    messages_up: int = 0
    messages_down: int = 0
    round_trips: int = 0
    """Times we sent requests and had to wait for the relay's answer."""


@dataclass(slots=True)
class SyncResult:
    """What one sync session did."""

    complete: bool = True
    """Every filter reconciled and every difference moved (else run it again)."""
    filters: int = 0
    modes: list[str] = field(default_factory=list)
    """Per filter: "nip77", or "fallback" (plain NIP-01 REQ with since)."""
    fetched: int = 0
    sent: int = 0
    sent_duplicate: int = 0
    refused_by_relay: dict[str, int] = field(default_factory=dict)
    """OK false answers by their prefix (``blocked``, ``rate-limited``, ``invalid`` ...)."""
    unconfirmed: int = 0
    """EVENTs sent that the relay has not answered with OK. Not counted in ``sent``: after
    a connection that ended first, the relay may hold them all the same (it can store an
    envelope and lose its OK with the connection), and the next sync's reconciliation,
    seeing them there, does not send them again."""
    missing: int = 0
    """Ids the relay announced but did not send when asked."""
    cut_hours: list[int] = field(default_factory=list)
    """Fall-back: hours (created_at) of which the relay would not give every envelope."""
    shortfalls: list[str] = field(default_factory=list)
    """Why the sync is not complete, one sentence per cause (empty when complete)."""
    relay_floor: int = 0
    """Fall-back: the most envelopes the relay has given for one REQ (it caps no lower)."""
    waiting: int = 0
    """Events of the synced councils left waiting for parents after the sync."""
    waiting_parents: int = 0
    """The parents they wait for: neither here nor, as far as the sync saw, on the relay."""
    report: Report = field(default_factory=Report)
    """What the node's ingest made of the envelopes fetched."""
    bad_messages: int = 0
    late: int = 0
    """Messages for subscriptions already closed (live events after CLOSE): ignored."""
    notices: int = 0
    notes: list[str] = field(default_factory=list)
    """The first NOTICE, CLOSED and NEG-ERR texts (at most 20, cut to 200 characters)."""
    bytes_up: int = 0
    bytes_down: int = 0
    round_trips: int = 0
    error: str | None = None

    @property
    def received(self) -> int:
        """Envelopes fetched from the relay (the same as ``fetched``)."""
        return self.fetched


@dataclass(slots=True)
class PublishResult:
    """What a relay answered to the envelopes published to it."""

    accepted: int = 0
    duplicate: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    error: str | None = None


def merge_reports(total: Report, part: Report) -> None:
    """Add one ingest report to a running total."""
    total.accepted += part.accepted
    total.duplicate += part.duplicate
    total.pending += part.pending
    total.held += part.held
    total.keys_learned += part.keys_learned
    total.councils |= part.councils
    total.healed.update(part.healed)
    for reason, n in part.refused.items():
        total.refused[reason] = total.refused.get(reason, 0) + n
