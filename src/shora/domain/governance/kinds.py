"""The event kinds of self-government: rule changes, elections to roles, recall
petitions and votes, and ratification of emergency actions. See docs/decisions.md §6.

These change who may act, so they are *state* kinds: the kernel resolves them with
membership, in the same total order and under the same voiding rule
(`membership.register_state_kind`). A governance proposal is an ordinary proposal
(`decisions_kinds.Propose`) plus the action it would take if it passes; its ballots
and its close are `gov.vote` and `gov.close`, with the bodies of `decision.vote` and
`decision.close`.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from shora.domain.decisions import kinds as dk
from shora.kernel import kinds
from shora.kernel.events import Bytes32
from shora.kernel.names import NAME_PATTERN


class RuleChange(msgspec.Struct, frozen=True, tag="rule_change", forbid_unknown_fields=True):
    rules: kinds.Rules  # the council's whole new rules


# The name people read for a council's own role, in any script (shora.kernel.names).
RoleName = Annotated[str, msgspec.Meta(min_length=1, max_length=80, pattern=NAME_PATTERN)]


class Election(
    msgspec.Struct, frozen=True, tag="election", forbid_unknown_fields=True, omit_defaults=True
):
    """Elect `seats` members to a role; the options are the candidates' keys in hex.
    A council's own role carries its `name` (the first election naming it names it)."""

    role: kinds.Role
    term_days: Annotated[int, msgspec.Meta(ge=1, le=3650)]
    name: RoleName | None = None


class Recall(msgspec.Struct, frozen=True, tag="recall", forbid_unknown_fields=True):
    role: kinds.Role
    member: Bytes32


class Ratify(msgspec.Struct, frozen=True, tag="ratify", forbid_unknown_fields=True):
    action: Bytes32  # the inner id of an emergency member.remove


Action = RuleChange | Election | Recall | Ratify


class GovPropose(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    proposal: dk.Propose
    action: Action


class Petition(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Support for recalling a member from a role; enough of them open a recall vote."""

    role: kinds.Role
    member: Bytes32
    reason: kinds.Reason = ""


def purpose(action: Action) -> str:
    return str(type(action).__struct_config__.tag)


GOV_PROPOSAL_KINDS = ("gov.vote", "gov.close")
