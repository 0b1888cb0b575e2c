"""The kernel's own event kinds: founding, membership, key epochs and minimal posts."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from shora.kernel import keys
from shora.kernel.events import Bytes32, register_kind

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Text = Annotated[str, msgspec.Meta(max_length=20_000)]
Reason = Annotated[str, msgspec.Meta(max_length=1000)]
Role = Annotated[str, msgspec.Meta(pattern="^[a-z][a-z0-9_-]{0,31}$")]
Mode = Literal["member", "vouches", "vote"]
Count = Annotated[int, msgspec.Meta(ge=1, le=1000)]
Bytes16 = Annotated[bytes, msgspec.Meta(min_length=16, max_length=16)]
Share = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,6}/[1-9][0-9]{0,5}$")]  # "n/d", 0..1
TimeZone = Annotated[
    str, msgspec.Meta(max_length=64, pattern=r"^([A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*)?$")
]
# A strike fund's currencies (docs/fund.md): rial, toman, US dollar and euro cents, or
# a named token; amounts are whole numbers of the smallest unit, at most MAX_AMOUNT.
CURRENCY_PATTERN = r"^(rial|toman|usd|eur|token:[a-z][a-z0-9_-]{0,23})$"
Currency = Annotated[str, msgspec.Meta(pattern=CURRENCY_PATTERN)]
MAX_AMOUNT = 10**15


class TreasurerLimit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the treasurers may pay out in one currency within any `days` without a vote."""

    currency: Currency
    amount: Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT)]
    days: Annotated[int, msgspec.Meta(ge=1, le=366)] = 30


class Rules(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A council's rules. Later versions add fields with defaults, never change these."""

    admission: Mode = "member"  # one member admits / N vouches / a majority of members
    admission_vouches: Count = 2
    removal: Mode = "vouches"
    removal_vouches: Count = 2
    emergency_removal_roles: Annotated[list[Role], msgspec.Meta(max_length=16)] = msgspec.field(
        default_factory=lambda: ["coordinator"]
    )
    # Deciding (docs/decisions.md §6). A share of 1/2 means "more than", any other
    # share "at least". Every vote is held to these floors, whatever its proposal says.
    quorum: Share = "0/1"  # share of the members who must take part in any vote
    threshold: Share = "1/2"  # share of yes among yes + no for an ordinary yes/no vote
    blocks_to_stop: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = 1  # consent
    grace_hours: Annotated[int, msgspec.Meta(ge=0, le=720)] = 0  # least grace after a deadline
    governance_quorum: Share = "1/2"  # for rule changes, elections, recalls, ratifications
    rule_change_threshold: Share = "2/3"
    recall_threshold: Share = "1/2"
    ratify_threshold: Share = "1/2"
    recall_petition: Count = 3  # supporters to open a recall vote (at most the others)
    term_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 365
    term_limit: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0  # terms per role; 0 = no limit
    emergency_ratify_hours: Annotated[int, msgspec.Meta(ge=0, le=8760)] = 72  # 0 = never lapses
    # A federation (docs/federation.md): members are delegates seated on mandates.
    federation: bool = False
    seats_per_council: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1
    # Against capture by one office-holder (docs/decisions.md §6): emergency removals
    # not yet ratified, lapsed or rejected at once; never half of the members or more.
    max_pending_emergencies: Annotated[int, msgspec.Meta(ge=1, le=100)] = 2
    # The least time every vote stays open, from the proposal's claimed time: a close
    # before it does not count. Governance: rule changes, recalls, ratifications.
    min_vote_hours: Annotated[int, msgspec.Meta(ge=0, le=720)] = 1
    min_governance_vote_hours: Annotated[int, msgspec.Meta(ge=1, le=720)] = 24
    # How far ahead of a node's clock an event's claimed time may be before the node
    # holds it back (docs/protocol.md, "Claimed times").
    clock_skew_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] = 10
    # A running node holds its own writes back for a random time up to this and sends
    # them together, so that a relay cannot tell from timing who wrote what (0: at once).
    upload_delay_seconds: Annotated[int, msgspec.Meta(ge=0, le=3600)] = 0
    # The IANA zone its times are shown and read in ("Asia/Tehran"); "" is UTC. Replicas
    # check only its shape, so validity never depends on a device's zone data; writers
    # check the zone exists, and a device that does not know it shows UTC.
    time_zone: TimeZone = ""
    # A strike fund (docs/fund.md): per currency, what treasurers may disburse without
    # a vote; a currency not listed needs a vote for every disbursement.
    treasurer_limits: Annotated[list[TreasurerLimit], msgspec.Meta(max_length=16)] = msgspec.field(
        default_factory=list
    )
    # Taking a member's place under a new key (docs/protocol.md §9.1). nil: the admission
    # mode and count, but never fewer than 2 members when the council has 2 others,
    # since a recovery hands over a member's roles, not only a seat.
    recovery: Mode | None = None
    recovery_vouches: Count | None = None

    # Secret ballots (docs/ballot-secrecy.md): counted by the members elected "teller",
    # this share of them needed (rounded up); whether a new vote may, must or may not
    # be held by secret ballot.
    teller_threshold: Share = "2/3"
    secret_ballots: Literal["never", "choice", "always"] = "choice"  # noqa: S105


class CouncilCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name
    description: Text
    rules: Rules
    founder_name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    founder_kx: Bytes32
    nonce: Bytes16


class CouncilUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name | None = None
    description: Text | None = None


class InviteCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    secret: Bytes32
    expires: Annotated[int, msgspec.Meta(ge=0, lt=2**40)]  # unix seconds


class Vouch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    action: Literal["admit", "remove", "recover"]
    subject: Bytes32  # a join request id, or a member key (removed, or recovered)
    # The signed join request (admit) or recovery request (recover), as received.
    request: Annotated[bytes, msgspec.Meta(max_length=1024)] | None = None
    reason: Reason = ""


MAX_MANDATE_BYTES = 32 * 1024  # an admit with it must fit one 64 KiB envelope


class Admit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    request: Annotated[bytes, msgspec.Meta(max_length=1024)]  # signed join request, as received
    mandate: Annotated[bytes, msgspec.Meta(max_length=MAX_MANDATE_BYTES)] | None = None


class Remove(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    member: Bytes32
    new_epoch: Bytes32
    reason: Reason = ""
    emergency: bool = False


MAX_ACKNOWLEDGED = 1000  # leaf ids a member.recover lists, within one body


class Recover(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A member's place passes to a new key (docs/protocol.md §9.1): the old key ends."""

    request: Annotated[bytes, msgspec.Meta(max_length=1024)]  # signed recovery request
    member: Bytes32  # the old key
    new_epoch: Bytes32
    # Leaves the old key wrote that the writer holds (offers, commitments, check-ins):
    # nothing descends from a leaf, so this is how they stay the member's (§9.1).
    acknowledged: Annotated[list[Bytes32], msgspec.Meta(max_length=MAX_ACKNOWLEDGED)] = (
        msgspec.field(default_factory=list)
    )
    reason: Reason = ""


class Leave(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reason: Reason = ""


class Lapse(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Records that an emergency action was not ratified in time: it is undone."""

    action: Bytes32  # the inner id of the emergency member.remove


class Rotate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    new_epoch: Bytes32


class Grant(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    member: Bytes32
    box: Annotated[bytes, msgspec.Meta(max_length=256)]  # sealed to the member's X25519 key


MAX_GRANT_BOXES = 1500


class EpochGrant(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Hands `epoch` to members. Version 2 (written now, docs/protocol.md §6.1): `eph`,
    `sealed` and `boxes`; version 1 (read only): one sealed box per member in `grants`."""

    epoch: Bytes32
    grants: Annotated[list[Grant], msgspec.Meta(max_length=200)] = []
    eph: Annotated[bytes, msgspec.Meta(max_length=32)] = b""
    sealed: Annotated[bytes, msgspec.Meta(max_length=256)] = b""
    boxes: Annotated[bytes, msgspec.Meta(max_length=MAX_GRANT_BOXES * keys.GRANT_BOX_LEN)] = b""

    def __post_init__(self) -> None:
        if self.grants:
            if self.eph or self.sealed or self.boxes:
                raise ValueError("a grant is of version 1 or 2, not both")
        elif len(self.eph) != 32 or not self.sealed or len(self.boxes) % keys.GRANT_BOX_LEN:
            raise ValueError("a version-2 grant needs eph (32 bytes), sealed and whole boxes")
        elif not self.boxes:
            raise ValueError("a version-2 grant needs at least one box")

    @property
    def v2(self) -> bool:
        return not self.grants

    def names(self, sign_pk: bytes) -> bool:
        """Whether a box may be this member's (a C search, no key unsealed)."""
        if self.v2:
            return sign_pk[: keys.MEMBER_TAG_LEN] in self.boxes
        return any(grant.member == sign_pk for grant in self.grants)

    def open(self, sign_pk: bytes, kx_pk: bytes, kx_sk: bytes, council: bytes) -> keys.Epoch | None:
        """The epoch, if a box is this member's and opens (docs/protocol.md §6.1)."""
        if self.v2:
            found = keys.Grants(self.eph, self.sealed, self.boxes)
            return keys.open_grants(sign_pk, kx_pk, kx_sk, council, self.epoch, found)
        for grant in self.grants:
            if grant.member == sign_pk:
                epoch = keys.open_grant(kx_pk, kx_sk, council, grant.box)
                if epoch is not None and epoch.write_pk == self.epoch:
                    return epoch
        return None


class Announcement(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    title: Annotated[str, msgspec.Meta(max_length=200)]
    text: Text


class Message(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    text: Text
    thread: Bytes32 | None = None  # the inner id of the thread's first message


# Kinds that change the council's state (members, rules, epochs) and are resolved
# together by membership.resolve; every other kind is content.
STATE_KINDS: dict[str, type[msgspec.Struct]] = {
    "council.create": CouncilCreate,
    "council.update": CouncilUpdate,
    "invite.create": InviteCreate,
    "member.vouch": Vouch,
    "member.admit": Admit,
    "member.remove": Remove,
    "member.leave": Leave,
    "member.recover": Recover,
    "epoch.rotate": Rotate,
    "epoch.grant": EpochGrant,
    "emergency.lapse": Lapse,
}
CONTENT_KINDS: dict[str, type[msgspec.Struct]] = {
    "post.announcement": Announcement,
    "post.message": Message,
}

for _kind, _schema in STATE_KINDS.items():
    register_kind(_kind, _schema)
register_kind("post.announcement", Announcement)
register_kind("post.message", Message, ref=lambda body: body.thread)
