"""Mutual aid and safety commands, gathered for ``shora.cli.main``: needs and offers
(`aid_items`), safety (`aid_safety`), the map, summaries and forgetting (`aid_areas`).
The rules are in docs/aid.md."""

from __future__ import annotations

from .aid_areas import areas, forget, summary
from .aid_items import cancel, commit, dispatch, fulfil, match, need, note, offer
from .aid_safety import alert, checkin, rollcall

__all__ = [
    "alert",
    "areas",
    "cancel",
    "checkin",
    "commit",
    "dispatch",
    "forget",
    "fulfil",
    "match",
    "need",
    "note",
    "offer",
    "rollcall",
    "summary",
]
