"""A node: one unlocked profile (a `NodeCore`) and its services, one per capability
(docs/architecture.md): `node.councils.all()`, `node.membership.invite(...)`,
`node.posts.post(...)`. The command line and the pages call the services.
"""

from __future__ import annotations

import functools
import importlib
from functools import cached_property
from typing import TYPE_CHECKING, Any

from shora.kernel import events
from shora.kernel.core import NodeCore
from shora.kernel.ingest import Report
from shora.services.councils import CouncilInfo as CouncilInfo
from shora.services.councils import Councils
from shora.services.councils import LogEntry as LogEntry
from shora.services.councils import MemberInfo as MemberInfo

if TYPE_CHECKING:
    from shora.services.aid import Aid
    from shora.services.backup import Backup
    from shora.services.ballots import SecretBallots
    from shora.services.bundles import Bundles
    from shora.services.care import Care
    from shora.services.deadman_missing import DeadmanMissing
    from shora.services.decisions import Decisions
    from shora.services.discussion import Discussion
    from shora.services.federation import Federation
    from shora.services.federation_flow import FederationFlow
    from shora.services.forgetting import Forgetting
    from shora.services.fund import Fund
    from shora.services.fund_federation import FundFederation
    from shora.services.governance import Governance
    from shora.services.housekeeping import Housekeeping
    from shora.services.joining import Joining
    from shora.services.membership import Membership
    from shora.services.network import Network
    from shora.services.pledges import Pledges
    from shora.services.posts import Posts
    from shora.services.recovery import Recovery
    from shora.services.restricted import Restricted
    from shora.services.safety import Safety

KIND_MODULES = (
    "shora.domain.aid.kinds",  # aid and safety
    "shora.domain.care.kinds",  # stocks, skills, dead-man timers, missing people
    "shora.domain.discussion.kinds",
    "shora.domain.decisions.kinds",
    "shora.domain.federation.kinds",
    "shora.domain.governance.rules",  # the governance state kinds and their rules
    "shora.domain.federation.rules",  # mandate.end, and admissions by mandate
    "shora.domain.fund.kinds",  # the strike fund
    "shora.domain.ballots.kinds",  # secret ballots
    "shora.domain.ballots.seats",  # a secret election seats its winners (a state kind)
    "shora.domain.pledges.kinds",  # threshold pledges
    "shora.domain.backup.kinds",  # key backups held by trusted members
)
"""The modules whose `register()` adds the event kinds a node accepts, in this order
(docs/architecture.md, "Event kinds"): a kind is never valid because some module
happened to be imported."""

DEFERRED_KINDS: dict[str, tuple[str, ...]] = {
    "shora.domain.aid.kinds": (
        *("aid.areas", "aid.need", "aid.need_sealed", "aid.offer", "aid.commit"),
        *("aid.dispatch", "aid.fulfil", "aid.cancel", "aid.note"),
        *("safety.checkin", "safety.rollcall", "safety.respond", "safety.alert"),
        *("safety.alert_confirm", "safety.alert_retract"),
    ),
    "shora.domain.care.kinds": (
        *("stock.add", "stock.draw", "skill.set", "skill.sealed", "skill.withdraw"),
        *("safety.deadman_set", "safety.deadman_clear", "safety.deadman_alert"),
        *("missing.person", "missing.note"),
    ),
    "shora.domain.discussion.kinds": ("comment", "comment_sealed"),
    "shora.domain.decisions.kinds": (
        *("decision.propose", "decision.amend", "decision.amendment_accept"),
        *("decision.vote", "decision.close", "decision.outcome", "decision.minutes"),
        *("task.create", "task.update"),
    ),
    "shora.domain.federation.kinds": (
        *("mandate.request", "mandate.sign", "mandate.revoke_sign", "federation.notice"),
        *("federation.summary", "federation.ratify", "federation.ratification"),
    ),
    "shora.domain.fund.kinds": (
        *("fund.pledge", "fund.receipt", "fund.disburse", "fund.request", "fund.summary"),
    ),
}
"""Modules of KIND_MODULES that add only content kinds, and the kinds each adds (a test
checks this table against what their `register()` adds): such a module is imported and
registered when an event of one of its kinds is first decoded, so that a command reading
posts never builds the aid pipeline's schemas. The others (state kinds, the hooks of an
admission or an emergency removal) are registered when the node is imported."""

_registered = False


def _register_module(name: str) -> None:
    importlib.import_module(name).register()


def register_kinds() -> None:
    """Register every kind of KIND_MODULES with the kernel (once): at once, or, for the
    modules of DEFERRED_KINDS, on the first event of one of their kinds."""
    global _registered
    if _registered:
        return
    for name in KIND_MODULES:
        deferred = DEFERRED_KINDS.get(name)
        if deferred is None:
            _register_module(name)
            continue
        register = functools.partial(_register_module, name)
        for kind in deferred:
            events.defer_kind(kind, register)
    _registered = True


register_kinds()


class Node(NodeCore):
    """A node: one unlocked profile and its services.

    Each service is built, and its module imported, when first used: a command that
    lists members never loads the tallies, the aid pipeline or the sync engine."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.housekeeper = self._after_import  # once per import batch

    def _after_import(self, report: Report) -> None:
        self.housekeeping.after_import(report)

    # The services, one per capability (docs/architecture.md).

    @cached_property
    def restricted(self) -> Restricted:
        from shora.services.restricted import Restricted

        return Restricted(self)

    @cached_property
    def aid(self) -> Aid:
        from shora.services.aid import Aid

        return Aid(self, self.restricted)

    @cached_property
    def safety(self) -> Safety:
        from shora.services.safety import Safety

        return Safety(self, self.restricted, self.aid)

    @cached_property
    def care(self) -> Care:
        from shora.services.care import Care

        return Care(self, self.restricted, self.aid)

    @cached_property
    def deadman_missing(self) -> DeadmanMissing:
        from shora.services.deadman_missing import DeadmanMissing

        return DeadmanMissing(self, self.restricted, self.aid)

    @cached_property
    def forgetting(self) -> Forgetting:
        from shora.services.forgetting import Forgetting

        return Forgetting(self, self.aid)

    @cached_property
    def decisions(self) -> Decisions:
        from shora.services.decisions import Decisions

        return Decisions(self)

    @cached_property
    def ballots(self) -> SecretBallots:
        from shora.services.ballots import SecretBallots

        return SecretBallots(self)

    @cached_property
    def pledges(self) -> Pledges:
        from shora.services.pledges import Pledges

        return Pledges(self)

    @cached_property
    def discussion(self) -> Discussion:
        from shora.services.discussion import Discussion

        return Discussion(self, self.restricted)

    @cached_property
    def governance(self) -> Governance:
        from shora.services.governance import Governance

        return Governance(self)

    @cached_property
    def fund(self) -> Fund:
        from shora.services.fund import Fund

        return Fund(self, self.restricted, self.decisions.propose, self.decisions.proposal)

    @cached_property
    def fund_federation(self) -> FundFederation:
        from shora.services.fund_federation import FundFederation

        return FundFederation(self, self.fund.summary)

    @cached_property
    def councils(self) -> Councils:
        return Councils(self)

    @cached_property
    def posts(self) -> Posts:
        from shora.services.posts import Posts

        return Posts(self)

    @cached_property
    def membership(self) -> Membership:
        from shora.services.governance import check_emergency_removal
        from shora.services.membership import Membership

        return Membership(self, lambda c: check_emergency_removal(self, c))

    @cached_property
    def recovery(self) -> Recovery:
        from shora.services.recovery import Recovery

        return Recovery(self, self.membership)

    @cached_property
    def backup(self) -> Backup:
        from shora.services.backup import Backup

        return Backup(self, self.recovery)

    @cached_property
    def federation(self) -> Federation:
        from shora.services.federation import Federation

        return Federation(
            self,
            self.councils,
            self.membership,
            propose=self.decisions.propose,
            proposal=self.decisions.proposal,
        )

    @cached_property
    def federation_flow(self) -> FederationFlow:
        from shora.services.federation_flow import FederationFlow

        return FederationFlow(
            self,
            self.federation,
            propose=self.decisions.propose,
            proposal=self.decisions.proposal,
            proposals=lambda council, limit: self.decisions.proposals(council, limit=limit),
            aid_state=self.aid.state,
            alerts=self.safety.alerts,
        )

    @cached_property
    def joining(self) -> Joining:
        from shora.services.joining import Joining

        return Joining(self)

    @cached_property
    def housekeeping(self) -> Housekeeping:
        from shora.services.housekeeping import Chores, Housekeeping

        # Each service is built at its first chore, not here: `shora peers` builds the
        # network service, and with it this one, only to read.
        return Housekeeping(
            self,
            Chores(
                forget=lambda now, council: self.forgetting.forget_expired(now, council),
                record_lapses=lambda council: self.governance.record_lapses(council),
                sign_due=lambda council: self.federation.sign_due(council),
                end_expired=lambda council: self.federation.end_expired(council),
                keep_up=self._keep_up,
                welcome_back=lambda council: self.membership.welcome_back(council),
                heal_epochs=lambda council: self.membership.heal_epochs(council),
                raise_alerts=lambda: self.deadman_missing.raise_all_alerts(),
                teller_duties=lambda council: self.ballots.teller_duties(council),
                seat_elected=lambda council: self.ballots.seat_elected(council),
                settle_pledges=lambda council: self.pledges.settle_all(council),
            ),
        )

    @cached_property
    def bundles(self) -> Bundles:
        from shora.services.bundles import Bundles

        return Bundles(self, self.housekeeping)

    @cached_property
    def network(self) -> Network:
        from shora.services.network import Network

        return Network(self, self.housekeeping)

    def _keep_up(self, council: bytes) -> None:
        """A delegate's chores for a council: what flows to and from its federations,
        and its strike fund's aggregate."""
        self.federation_flow.keep_up(council)
        self.fund_federation.keep_up(council)
