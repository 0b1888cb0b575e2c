"""A node: one unlocked profile (a `NodeCore`) and its services, one per capability
(docs/architecture.md): `node.councils.all()`, `node.membership.invite(...)`,
`node.posts.post(...)`. The command line and the pages call the services.
"""

from __future__ import annotations

import importlib
from typing import Any

from shora.kernel.core import NodeCore
from shora.services.aid import Aid
from shora.services.backup import Backup
from shora.services.bundles import Bundles
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
from shora.services.housekeeping import Chores, Housekeeping
from shora.services.joining import Joining
from shora.services.membership import Membership
from shora.services.network import Network
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
    "shora.domain.backup.kinds",  # key backups held by trusted members
)
"""The modules whose `register()` adds the event kinds a node accepts, in this order
(docs/architecture.md, "Event kinds"): a kind is never valid because some module
happened to be imported."""

_registered = False


def register_kinds() -> None:
    """Register every kind of KIND_MODULES with the kernel (once)."""
    global _registered
    if _registered:
        return
    for name in KIND_MODULES:
        importlib.import_module(name).register()
    _registered = True


register_kinds()


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
        self.recovery = Recovery(self, self.membership)
        self.backup = Backup(self, self.recovery)
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
        self.housekeeping = Housekeeping(
            self,
            Chores(
                forget=self.forgetting.forget_expired,
                record_lapses=self.governance.record_lapses,
                sign_due=self.federation.sign_due,
                end_expired=self.federation.end_expired,
                keep_up=self.federation_flow.keep_up,
                welcome_back=self.membership.welcome_back,
                heal_epochs=self.membership.heal_epochs,
                raise_alerts=self.deadman_missing.raise_all_alerts,
            ),
        )
        self.housekeeper = self.housekeeping.after_import  # once per import batch
        self.bundles = Bundles(self, self.housekeeping)
        self.network = Network(self, self.housekeeping)
