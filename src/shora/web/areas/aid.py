"""Mutual aid: needs and offers with filters (category, urgency, area; GET parameters)
a page at a time, the forms to post them, the matching engine's proposal with a button
to confirm each match, commitments, "on its way" and deliveries, and a page for each need or offer
(private notes, delivered from elsewhere, withdrawing). Service: node.aid.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _
from shora.node import CouncilInfo, Node
from shora.services.aid import kinds as ak
from shora.web.areas.discussion import fresh
from shora.web.areas.kit import (
    UNITS,
    build,
    duration,
    field,
    hex_or_none,
    many_fields,
    me,
    names,
    now,
    opened,
    page_of,
    whole,
)
from shora.web.forms import REASON_CHARS, hex_id, integer
from shora.web.responses import redirect

PER_PAGE = 20
DUPLICATE_CHOICES = 50  # what an item page offers as "it repeats this one"
MAX_PAGE = 10_000


def _path(info: CouncilInfo, tail: str) -> str:
    return f"/councils/{info.id.hex()}/{tail}"


def area_names(node: Node, council: bytes) -> dict[str, str]:
    known = node.aid.areas(council)
    return dict(known.areas) if known is not None else {}


def _choice(value: str | None, allowed: Any) -> str | None:
    """A filter value from the query, if it is one of the allowed ones."""
    return value if value and value in allowed else None


def _filters(request: Request, areas: dict[str, str]) -> dict[str, str | None]:
    q = request.query_params
    return {
        "category": _choice(q.get("category"), ak.CATEGORIES),
        "urgency": _choice(q.get("urgency"), ak.URGENCIES),
        "area": _choice(q.get("area"), areas),
    }


def _query(filters: dict[str, str | None]) -> str:
    return "&".join(f"{k}={v}" for k, v in filters.items() if v)


async def items(request: Request) -> Response:
    """The open needs (kind "needs") or offers ("offers"), filtered, a page at a time."""
    node, info = opened(request)
    kind = "needs" if request.url.path.endswith("/needs") else "offers"
    areas = area_names(node, info.id)
    filters = _filters(request, areas)
    page = integer(request.query_params.get("page"), 1, 1, MAX_PAGE)
    if kind == "needs":
        # Matched needs stay listed (as matched, or on its way) until delivered.
        found = [
            *node.aid.open_needs(info.id, now(node), **filters),
            *node.aid.needs_under_way(info.id, now(node), **filters),
        ]
    else:
        found = node.aid.open_offers(
            info.id, now(node), category=filters["category"], area=filters["area"]
        )
    shown = found[(page - 1) * PER_PAGE : page * PER_PAGE]
    notes = node.aid.notes_on(info.id, [i.id for i in shown]) if kind == "needs" else {}
    query = _query(filters)
    context = {
        "council": info,
        "kind": kind,
        "items": shown,
        "filters": filters,
        "areas": areas,
        "categories": ak.CATEGORIES,
        "urgencies": ak.URGENCIES,
        "people": names(node, info.id),
        "mine": me(node, info.id),
        "notes": notes,
        "page": page,
        "more": len(found) > page * PER_PAGE,
        "base": _path(info, kind) + (f"?{query}&" if query else "?"),
        "posted": request.query_params.get("posted") == "1",
        "new": fresh(node, info.id, "needs") if kind == "needs" else 0,
    }
    return page_of(request, "aid/items.html", context)


async def item(request: Request) -> Response:
    """One open need or offer with everything one can do with it: private notes, a
    delivery from elsewhere, withdrawing or marking it a duplicate (the list shows each
    in a line, so a phone shows many)."""
    node, info = opened(request)
    wanted = hex_id(str(request.path_params["item"]))
    at = now(node)
    everything = [*node.aid.open_needs(info.id, at), *node.aid.open_offers(info.id, at)]
    under_way = node.aid.needs_under_way(info.id, at)
    found = next((i for i in [*everything, *under_way] if i.id == wanted), None)
    if found is None:
        raise NotFound(_("That need or offer is no longer open."))
    similar = [
        i
        for i in everything
        if i.kind == found.kind and i.body.category == found.body.category and i.id != wanted
    ]
    context = {
        "council": info,
        "item": found,
        "items": similar[:DUPLICATE_CHOICES],
        "areas": area_names(node, info.id),
        "people": names(node, info.id),
        "mine": me(node, info.id),
        "notes": node.aid.notes_on(info.id, [wanted]) if found.kind == "need" else {},
    }
    return page_of(request, "aid/item.html", context)


def default_area(node: Node, council: bytes, areas: dict[str, str]) -> str | None:
    """The area a new need or offer starts with: the member's own (their last check-in's),
    else the one they last named in a need or offer, else the only one; None if none."""
    mine = me(node, council)
    if mine is not None:
        own = node.safety.last_area(council, mine)
        if own in areas:
            return own
        state = node.aid.state(council, now(node))
        used = [
            i
            for i in (*state.needs.values(), *state.offers.values())
            if i.author == mine and i.body.area in areas
        ]
        if used:
            return max(used, key=lambda i: (i.clock, i.id)).body.area
    return next(iter(areas)) if len(areas) == 1 else None


def _form_context(node: Node, info: CouncilInfo, kind: str) -> dict[str, Any]:
    return {
        "council": info,
        "kind": kind,
        "areas": area_names(node, info.id),
        "categories": ak.CATEGORIES,
        "urgencies": ak.URGENCIES,
        "blood_groups": ak.BLOOD_GROUPS,
        "roles": node.aid.roles(info.id),
        "units": UNITS,
        "values": {},
        "error": None,
    }


def item_data(form: FormData, at: int) -> dict[str, Any]:
    """What a need and an offer share, from the form."""
    category = field(form, "category", 30)
    if category not in ak.CATEGORIES:
        raise InvalidInput(_("Please choose a category."))
    data: dict[str, Any] = {
        "category": category,
        "what": field(form, "what", 200),
        "quantity": whole(form, "quantity", 1, 1, ak.MAX_QUANTITY),
        "unit": field(form, "unit", 200),
        "area": field(form, "area", 64),
    }
    if not data["area"]:
        raise InvalidInput(_("Please choose an area."))
    expires = duration(form, "expires", None)
    data["expires"] = at + expires if expires is not None else None
    if category == "medicine":
        data["medicine"] = {
            "name": field(form, "medicine", 200),
            "dose": field(form, "dose", 100),
            "cold_storage": field(form, "cold", 5) == "1",
        }
        if not data["medicine"]["name"] or not data["medicine"]["dose"]:
            raise InvalidInput(_("A medicine needs its name and dose."))
    if category == "blood":
        group = field(form, "blood", 3)
        if group not in ak.BLOOD_GROUPS:
            raise InvalidInput(_("Please choose a blood group."))
        data["blood"] = group
    return data


def need_body(form: FormData, at: int) -> ak.Need:
    data = item_data(form, at)
    urgency = field(form, "urgency", 20) or "soon"
    if urgency not in ak.URGENCIES:
        raise InvalidInput(_("Please choose how urgent it is."))
    needed_by = duration(form, "needed_by", None)
    visibility = field(form, "visibility", 40) or "council"
    return build(
        ak.Need,
        {
            **data,
            "urgency": urgency,
            "needed_by": at + needed_by if needed_by is not None else None,
            "visibility": visibility,
        },
    )


def offer_body(form: FormData, at: int) -> ak.Offer:
    data = item_data(form, at)
    if data.get("medicine") is not None:
        data["medicine"]["kept_cold"] = field(form, "kept_cold", 5) == "1"
    data["recurring"] = field(form, "recurring", 5) == "1"
    data["inexhaustible"] = field(form, "inexhaustible", 5) == "1"
    return build(ak.Offer, data)


async def post_item(request: Request) -> Response:
    node, info = opened(request)
    kind = "needs" if "/needs/" in request.url.path else "offers"
    context = _form_context(node, info, kind)
    if request.method == "GET":
        # From the home page's "I need..." buttons: the category chosen, and back there.
        q = request.query_params
        area = default_area(node, info.id, context["areas"])
        context["values"] = {
            k: v
            for k, v in (
                ("category", _choice(q.get("category"), ak.CATEGORIES)),
                ("from", "home" if q.get("from") == "home" else None),
                ("area", area),
            )
            if v
        }
        return page_of(request, "aid/new.html", context)
    form = await many_fields(request)
    try:
        if kind == "needs":
            node.aid.post_need(info.id, need_body(form, now(node)))
        else:
            node.aid.post_offer(info.id, offer_body(form, now(node)))
    except (InvalidInput, NotAllowed) as exc:
        context["values"] = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        context["error"] = str(exc)
        return page_of(request, "aid/new.html", context, 400)
    if field(form, "from", 10) == "home":
        return redirect(request, f"/councils/{info.id.hex()}?posted=1#s-ask")
    return redirect(request, _path(info, f"{kind}?posted=1"))


def _match_context(node: Node, info: CouncilInfo) -> dict[str, Any]:
    at = now(node)
    state = node.aid.state(info.id, at)
    proposal = node.aid.match(info.id, at)
    rows = [
        (a, state.needs[a.need_id], state.offers[a.offer_id])
        for a in proposal.assignments
        if a.need_id in state.needs and a.offer_id in state.offers
    ]
    commitments = sorted(state.commitments.values(), key=lambda c: c.id)
    return {
        "council": info,
        "rows": rows,
        "commitments": [
            (c, state.needs.get(c.need), state.offers.get(c.offer)) for c in commitments
        ],
        "areas": area_names(node, info.id),
        "people": names(node, info.id),
        "mine": me(node, info.id),
        "error": None,
    }


async def match(request: Request) -> Response:
    node, info = opened(request)
    return page_of(request, "aid/match.html", _match_context(node, info))


async def _match_action(request: Request, action: Any) -> Response:
    node, info = opened(request)
    form = await many_fields(request)
    try:
        await action(node, info, form)
    except (InvalidInput, NotAllowed, NotFound) as exc:
        context = {**_match_context(node, info), "error": str(exc)}
        return page_of(request, "aid/match.html", context, 400)
    return redirect(request, _path(info, "match"))


def _id(form: FormData, name: str) -> bytes:
    found = hex_or_none(field(form, name, 64))
    if found is None:
        raise InvalidInput(_("That is not a valid id."))
    return found


async def commit(request: Request) -> Response:
    async def run(node: Node, info: CouncilInfo, form: FormData) -> None:
        quantity = whole(form, "quantity", 1, 1, ak.MAX_QUANTITY) or 1
        node.aid.commit(info.id, _id(form, "need"), _id(form, "offer"), quantity)

    return await _match_action(request, run)


async def fulfil(request: Request) -> Response:
    async def run(node: Node, info: CouncilInfo, form: FormData) -> None:
        quantity = whole(form, "quantity", 1, 1, ak.MAX_QUANTITY) or 1
        node.aid.fulfil(info.id, quantity, commitment=_id(form, "commitment"))

    return await _match_action(request, run)


async def dispatch(request: Request) -> Response:
    """On its way: the giver (or whoever committed) says part of a commitment has left."""

    async def run(node: Node, info: CouncilInfo, form: FormData) -> None:
        quantity = whole(form, "quantity", 1, 1, ak.MAX_QUANTITY) or 1
        node.aid.dispatch(info.id, _id(form, "commitment"), quantity)

    return await _match_action(request, run)


async def cancel(request: Request) -> Response:
    node, info = opened(request)
    target = hex_id(str(request.path_params["item"]))
    form = await many_fields(request)
    duplicate = hex_or_none(field(form, "duplicate_of", 64))
    node.aid.cancel(info.id, target, field(form, "reason", REASON_CHARS), duplicate)
    kind = "needs" if target in node.aid.state(info.id, now(node)).needs else "offers"
    return redirect(request, _path(info, kind))


async def fulfil_need(request: Request) -> Response:
    """A delivery straight against a need: help that came from outside the council."""
    node, info = opened(request)
    need = hex_id(str(request.path_params["need"]))
    form = await many_fields(request)
    quantity = whole(form, "quantity", 1, 1, ak.MAX_QUANTITY) or 1
    node.aid.fulfil(info.id, quantity, need=need)
    return redirect(request, _path(info, "needs"))


async def note(request: Request) -> Response:
    """A private note on a need (an address, a door code), sealed to its handlers."""
    node, info = opened(request)
    need = hex_id(str(request.path_params["need"]))
    form = await many_fields(request)
    node.aid.add_note(info.id, need, field(form, "text", ak.MAX_NOTE))
    return redirect(request, _path(info, f"items/{need.hex()}"))


routes: list[BaseRoute] = [
    Route("/councils/{council}/needs", items),
    Route("/councils/{council}/offers", items),
    Route("/councils/{council}/needs/new", post_item, methods=["GET", "POST"]),
    Route("/councils/{council}/offers/new", post_item, methods=["GET", "POST"]),
    Route("/councils/{council}/match", match),
    Route("/councils/{council}/match/commit", commit, methods=["POST"]),
    Route("/councils/{council}/match/fulfil", fulfil, methods=["POST"]),
    Route("/councils/{council}/match/dispatch", dispatch, methods=["POST"]),
    Route("/councils/{council}/items/{item}", item),
    Route("/councils/{council}/items/{item}/cancel", cancel, methods=["POST"]),
    Route("/councils/{council}/needs/{need}/notes", note, methods=["POST"]),
    Route("/councils/{council}/needs/{need}/fulfil", fulfil_need, methods=["POST"]),
]
