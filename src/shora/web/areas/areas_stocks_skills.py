"""Mutual aid beyond needs and offers: the council's areas, shared stocks (add, draw),
the skills register (opt in, withdraw; entries for coordinators only stay hidden from
others), and the de-identified summary with its CSV. Services: node.aid and node.care."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput
from shora.i18n import _, number
from shora.node import CouncilInfo, Node
from shora.services.aid import kinds as ak
from shora.services.aid import name_areas, name_edge
from shora.services.aid import summary as aid_summary
from shora.services.care import kinds as ck
from shora.web.areas.aid import area_names
from shora.web.areas.kit import (
    duration,
    field,
    handle,
    me,
    names,
    now,
    opened,
    whole,
)
from shora.web.forms import hex_id


def _path(info: CouncilInfo, tail: str) -> str:
    return f"/councils/{info.id.hex()}/{tail}"


# --- areas --------------------------------------------------------------------------


def _areas(node: Node, info: CouncilInfo) -> dict[str, Any]:
    known = node.aid.areas(info.id)
    names = dict(known.areas) if known else {}
    lines = "\n".join(n for _a, n in known.areas) if known else ""
    edges = "\n".join(
        f"{names.get(a, a)}, {names.get(b, b)}, {number(n)}"
        for a, b, n in (known.edges if known else ())
    )
    return {"known": known, "lines": lines, "edges": edges}


def areas_body(form: FormData, known: Sequence[tuple[str, str]] = ()) -> ak.Areas:
    """Areas from their names, one per line (ids are made for them; names on the map
    `known` keep theirs), and neighbours from "name, name[, length]" lines."""
    lines = field(form, "areas", 120_000).splitlines()
    pairs = [line for line in field(form, "edges", 120_000).splitlines() if line.strip()]
    listed = name_areas(lines, known)
    if len(pairs) > ak.MAX_EDGES:
        raise InvalidInput(
            _("A council has at most {n} pairs of neighbours.").format(n=ak.MAX_EDGES)
        )
    return ak.Areas(listed, [name_edge(line, listed) for line in pairs])


async def areas(request: Request) -> Response:
    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        known = node.aid.areas(info.id)
        node.aid.set_areas(info.id, areas_body(form, known.areas if known else ()))
        return None

    return await handle(request, "aid/areas.html", _areas, run, "areas")


# --- stocks -------------------------------------------------------------------------


def _stocks(node: Node, info: CouncilInfo) -> dict[str, Any]:
    state = node.care.stocks_state(info.id)
    at = now(node)
    found = sorted(state.items.values(), key=lambda i: (i.category, i.item))
    return {
        "stocks": [(s, s.available(at)) for s in found],
        "areas": area_names(node, info.id),
        "categories": ak.CATEGORIES,
        "people": names(node, info.id),
    }


async def stocks(request: Request) -> Response:
    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        expires = duration(form, "expires", None)
        node.care.add_stock(
            info.id,
            item=field(form, "item", 200),
            category=field(form, "category", 30),
            quantity=whole(form, "quantity", 1, 1, ak.MAX_QUANTITY) or 1,
            area=field(form, "area", 64),
            unit=field(form, "unit", 200),
            expires=now(node) + expires if expires is not None else None,
            note=field(form, "note", 200),
        )
        return None

    return await handle(request, "aid/stocks.html", _stocks, run, "stocks")


async def draw(request: Request) -> Response:
    stock = hex_id(str(request.path_params["stock"]))

    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        quantity = whole(form, "quantity", 1, 1, ak.MAX_QUANTITY) or 1
        if field(form, "add", 5) == "1":
            node.care.restock(info.id, stock, quantity, note=field(form, "note", 200))
        else:
            node.care.draw_stock(info.id, stock, quantity, note=field(form, "note", 200))
        return None

    return await handle(request, "aid/stocks.html", _stocks, run, "stocks")


# --- skills -------------------------------------------------------------------------


def _skills(node: Node, info: CouncilInfo) -> dict[str, Any]:
    mine = me(node, info.id)
    entries = node.care.skills(info.id, now(node))
    return {
        "entries": entries,
        "skills": ck.SKILLS,
        "people": names(node, info.id),
        "mine": next((e for e in entries if e.member == mine), None),
    }


async def skills(request: Request) -> Response:
    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        if field(form, "withdraw", 5) == "1":
            node.care.withdraw_skills(info.id)
            return None
        chosen = [str(s)[:40] for s in form.getlist("skill")][: len(ck.SKILLS)]
        visibility = field(form, "visibility", 20) or "council"
        node.care.set_skills(info.id, chosen, field(form, "note", 500), visibility)
        return None

    return await handle(request, "aid/skills.html", _skills, run, "skills")


# --- the de-identified summary ---------------------------------------------------------


def _summary(node: Node, info: CouncilInfo) -> dict[str, Any]:
    at = now(node)
    made = aid_summary.summarise(node.aid.state(info.id, at), at)
    return {"summary": made, "areas": made.areas}


async def summary(request: Request) -> Response:
    return await handle(request, "aid/summary.html", _summary, None, "summary")


async def summary_csv(request: Request) -> Response:
    node, info = opened(request)
    at = now(node)
    text = aid_summary.to_csv(aid_summary.summarise(node.aid.state(info.id, at), at))
    headers = {"content-disposition": 'attachment; filename="shora-summary.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


routes: list[BaseRoute] = [
    Route("/councils/{council}/areas", areas, methods=["GET", "POST"]),
    Route("/councils/{council}/stocks", stocks, methods=["GET", "POST"]),
    Route("/councils/{council}/stocks/{stock}", draw, methods=["POST"]),
    Route("/councils/{council}/skills", skills, methods=["GET", "POST"]),
    Route("/councils/{council}/summary", summary),
    Route("/councils/{council}/summary.csv", summary_csv),
]
