"""Threshold pledges: the council's campaigns with their counts and progress, a new
campaign (an action, a threshold in words, as a percentage or as a number of people,
and a deadline), a campaign's page to pledge or withdraw (one's own pledge shown as
counted), and the "threshold met" banner of the home and notifications pages.
Service: node.pledges (docs/pledges.md)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput, NotAllowed
from shora.i18n import N_
from shora.node import Node
from shora.services.pledges import MAX_ACTION, REASONS, Campaign, phase
from shora.web.areas.decisions_forms import share_choices
from shora.web.areas.kit import UNITS, duration, field, many_fields, me, now, opened, page_of, whole
from shora.web.forms import hex_id
from shora.web.responses import redirect

BANNER_DAYS = 7  # how long the home page keeps saying a threshold was met
PHASES = {
    "open": N_("open for pledges"),
    "met": N_("threshold met"),
    "missed": N_("the deadline passed without the threshold"),
}


def base(council: bytes) -> str:
    return f"/councils/{council.hex()}/pledges"


def met_banner(node: Node, council: bytes) -> list[Campaign]:
    """The campaigns whose threshold was met lately: every member's home page and
    notifications page say so."""
    if node.me(council) is None:
        return []
    return node.pledges.met_recently(council, node.now() - BANNER_DAYS * 86_400)


def _list_context(node: Node, info: Any, values: dict[str, str], error: str | None) -> Any:
    at = now(node)
    return {
        "council": info,
        "rows": [(c, phase(c, at)) for c in node.pledges.campaigns(info.id)],
        "phases": PHASES,
        "shares": [s for s in share_choices() if s[0] != "0/1"],
        "units": UNITS,
        "values": values,
        "error": error,
        "base": base(info.id),
        "max_action": MAX_ACTION,
        "met": met_banner(node, info.id),
        "is_federation": node.federation.is_federation(info.id),
    }


async def listing(request: Request) -> Response:
    node, info = opened(request)
    if request.method == "GET":
        return page_of(request, "pledges/list.html", _list_context(node, info, {}, None))
    form = await many_fields(request)
    try:
        action = field(form, "action", MAX_ACTION)
        people = whole(form, "people", 0, 0, 1000) or 0
        share = "" if people else field(form, "share", 20) or "3/5"
        closes_in = duration(form, "deadline", 72)
        assert closes_in is not None
        across = bool(form.get("across"))
        campaign = node.pledges.start(
            info.id, action, now(node) + closes_in, people=people, share=share, across=across
        )
    except (InvalidInput, NotAllowed) as exc:
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        context = _list_context(node, info, values, str(exc))
        return page_of(request, "pledges/list.html", context, 400)
    return redirect(request, f"{base(info.id)}/{campaign.hex()}")


async def show(request: Request, error: str | None = None, status: int = 200) -> Response:
    node, info = opened(request)
    state = node.pledges.campaign(info.id, hex_id(str(request.path_params["campaign"])))
    mine = me(node, info.id)
    my = node.pledges.mine(info.id, state.id) if mine in state.electorate else None
    stage = phase(state, now(node))
    across = node.pledges.across(info.id, state.id) if state.body.across else None
    rows = [
        (node.pledges.council_name(r.base) or r.base.hex()[:12], r)
        for r in (across.rows if across is not None else ())
    ]
    context = {
        "across": across,
        "across_rows": rows,
        "council": info,
        "c": state,
        "phase": stage,
        "phases": PHASES,
        "share_words": dict(share_choices(state.body.share)).get(state.body.share, ""),
        "my": my,
        "can_pledge": my is not None and stage != "missed" and not my.pledged and across is None,
        "now_s": now(node),
        "can_withdraw": my is not None and stage == "open" and my.pledged,
        "reasons": [(REASONS[code], n) for code, n in state.refused],
        "error": error,
        "base": base(info.id),
        "done": request.query_params.get("done", ""),
    }
    return page_of(request, "pledges/show.html", context, status)


async def _act(request: Request, take: bool) -> Response:
    node, info = opened(request)
    campaign = hex_id(str(request.path_params["campaign"]))
    form = await many_fields(request)
    delay = 0 if form.get("now") else None
    try:
        if take:
            node.pledges.take(info.id, campaign, delay=delay)
        else:
            node.pledges.withdraw(info.id, campaign, delay=delay)
    except (InvalidInput, NotAllowed) as exc:
        return await show(request, str(exc), 400)
    done = "pledged" if take else "withdrawn"
    return redirect(request, f"{base(info.id)}/{campaign.hex()}?done={done}")


async def take(request: Request) -> Response:
    return await _act(request, True)


async def withdraw(request: Request) -> Response:
    return await _act(request, False)


routes: list[BaseRoute] = [
    Route("/councils/{council}/pledges", listing, methods=["GET", "POST"]),
    Route("/councils/{council}/pledges/{campaign}", show),
    Route("/councils/{council}/pledges/{campaign}/take", take, methods=["POST"]),
    Route("/councils/{council}/pledges/{campaign}/withdraw", withdraw, methods=["POST"]),
]
