"""What a running node does after every sync round, whether or not events arrived:
raise the dead-man alerts that are due, and forget what has expired (needs, offers,
alerts, check-ins: docs/aid.md, "Forgetting on purpose")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shora.domain import safety_more
from shora.domain.aid_forget import forget_expired

if TYPE_CHECKING:
    from shora.node import Node


def after_sync_round(node: Node) -> None:
    safety_more.raise_all_alerts(node)
    forget_expired(node, int(node.now()))
