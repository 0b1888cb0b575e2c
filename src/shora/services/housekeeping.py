"""What a running node does after every sync round, whether or not events arrived:
raise the dead-man alerts that are due, and the housekeeping of every council it is
a member of — forget what has expired (docs/aid.md, "Forgetting on purpose"), record
emergency actions not ratified in time (docs/decisions.md §6.4), end seats whose
mandate is over and carry a delegate's flows (docs/federation.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shora.node import Node


def after_sync_round(node: Node) -> None:
    node.import_envelopes([])  # events dated ahead whose time has come
    node.deadman_missing.raise_all_alerts()
    node.forgetting.forget_expired(int(node.now()))
    for council in node.councils.all():
        if council.status == "member":
            node.housekeeping(council.id)
