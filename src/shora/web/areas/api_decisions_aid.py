"""The JSON API for proposals (list, show, vote) and needs and offers (list, post),
beside the pages that do the same; bodies are decoded strictly (bounded msgspec
Structs, unknown fields refused). Their OpenAPI paths join /api/openapi.json."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.services.aid import ItemState
from shora.services.aid import kinds as ak
from shora.services.decisions import kinds as dk
from shora.services.decisions import state_json
from shora.web.areas import api_schema as s
from shora.web.areas.api import _decode, _json, _page
from shora.web.areas.kit import me, now, opened
from shora.web.forms import hex_id

Short = Annotated[str, msgspec.Meta(max_length=200)]


class Proposal(msgspec.Struct):
    id: s.Hex
    title: str
    text: str
    method: str
    options: list[str]
    phase: str
    deadline: int
    final: bool
    eligible: int
    ballots: int
    passed: bool | None
    winners: list[str]
    my_ballot: dict[str, Any] | None
    result: Any


class NewBallot(msgspec.Struct, forbid_unknown_fields=True):
    ballot: dk.Ballot


class Item(msgspec.Struct):
    id: s.Hex
    kind: str
    category: str
    what: str
    quantity: int
    remaining: int
    unit: str
    urgency: str | None
    area: str
    author: s.Hex
    expires: int | None


class NewNeed(msgspec.Struct, forbid_unknown_fields=True):
    category: ak.CategoryName
    quantity: ak.Quantity
    urgency: ak.UrgencyName
    area: ak.AreaId
    what: Short = ""
    unit: Short = ""
    hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 365)] | None = None


class NewOffer(msgspec.Struct, forbid_unknown_fields=True):
    category: ak.CategoryName
    quantity: ak.Quantity
    area: ak.AreaId
    what: Short = ""
    unit: Short = ""
    hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 365)] | None = None


def _proposal(state: Any, mine: bytes | None, at: int) -> Proposal:
    data = state_json(state, mine, at)
    return Proposal(
        data["id"],
        data["title"],
        data["text"],
        data["method"],
        data["options"],
        data["phase"],
        data["deadline"],
        data["final"],
        data["eligible"],
        data["ballots"],
        data["passed"],
        data["winners"],
        data["my_ballot"],
        data["result"],
    )


async def proposals(request: Request) -> Response:
    node, info = opened(request)
    limit, offset = _page(request)
    found = node.decisions.proposals(info.id, limit, offset)
    mine, at = me(node, info.id), now(node)
    return _json([_proposal(p, mine, at) for p in found])


async def proposal(request: Request) -> Response:
    node, info = opened(request)
    state = node.decisions.proposal(info.id, hex_id(str(request.path_params["proposal"])))
    return _json(_proposal(state, me(node, info.id), now(node)))


async def vote(request: Request) -> Response:
    node, info = opened(request)
    pid = hex_id(str(request.path_params["proposal"]))
    node.decisions.proposal(info.id, pid)
    new = await _decode(request, NewBallot)
    made = node.decisions.vote(info.id, pid, new.ballot)
    return _json(s.Created(made.hex()), 201)


def _item(item: ItemState) -> Item:
    body = item.body
    return Item(
        item.id.hex(),
        item.kind,
        body.category,
        body.what,
        body.quantity,
        item.remaining,
        body.unit,
        getattr(body, "urgency", None),
        body.area,
        item.author.hex(),
        body.expires,
    )


async def needs(request: Request) -> Response:
    node, info = opened(request)
    at = now(node)
    if request.method == "POST":
        new = await _decode(request, NewNeed)
        body = ak.Need(
            category=new.category,
            quantity=new.quantity,
            urgency=new.urgency,
            area=new.area,
            what=new.what,
            unit=new.unit,
            expires=at + new.hours * 3600 if new.hours else None,
        )
        return _json(s.Created(node.aid.post_need(info.id, body).hex()), 201)
    limit, offset = _page(request)
    found = node.aid.open_needs(info.id, at)[offset : offset + limit]
    return _json([_item(i) for i in found])


async def offers(request: Request) -> Response:
    node, info = opened(request)
    at = now(node)
    if request.method == "POST":
        new = await _decode(request, NewOffer)
        body = ak.Offer(
            category=new.category,
            quantity=new.quantity,
            area=new.area,
            what=new.what,
            unit=new.unit,
            expires=at + new.hours * 3600 if new.hours else None,
        )
        return _json(s.Created(node.aid.post_offer(info.id, body).hex()), 201)
    limit, offset = _page(request)
    found = node.aid.open_offers(info.id, at)[offset : offset + limit]
    return _json([_item(i) for i in found])


PROPOSAL_PARAM = {**s.COUNCIL_PARAM, "name": "proposal"}


def extend(paths: dict[str, Any], components: dict[str, Any]) -> None:
    """Add these endpoints and their shapes to the OpenAPI description."""
    _, found = msgspec.json.schema_components(
        [Proposal, NewBallot, Item, NewNeed, NewOffer],
        ref_template="#/components/schemas/{name}",
    )
    components.update(found)
    errors = {str(c): s._json(s._ref("Error"), "error") for c in s.COMMON_ERRORS}

    def array(name: str) -> dict[str, Any]:
        return {"type": "array", "items": s._ref(name)}

    def body(name: str) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": s._ref(name)}}}

    base = "/api/councils/{council}"
    paths[base + "/proposals"] = {
        "get": {
            "operationId": "listProposals",
            "parameters": [s.COUNCIL_PARAM, *s.PAGE_PARAMS],
            "responses": {"200": s._json(array("Proposal"), "proposals"), **errors},
        }
    }
    paths[base + "/proposals/{proposal}"] = {
        "get": {
            "operationId": "getProposal",
            "parameters": [s.COUNCIL_PARAM, PROPOSAL_PARAM],
            "responses": {"200": s._json(s._ref("Proposal"), "one proposal"), **errors},
        }
    }
    paths[base + "/proposals/{proposal}/vote"] = {
        "post": {
            "operationId": "vote",
            "parameters": [s.COUNCIL_PARAM, PROPOSAL_PARAM],
            "requestBody": body("NewBallot"),
            "responses": {"201": s._json(s._ref("Created"), "voted"), **errors},
        }
    }
    for name, new, single in (("needs", "NewNeed", "Need"), ("offers", "NewOffer", "Offer")):
        paths[f"{base}/{name}"] = {
            "get": {
                "operationId": f"list{single}s",
                "parameters": [s.COUNCIL_PARAM, *s.PAGE_PARAMS],
                "responses": {"200": s._json(array("Item"), name), **errors},
            },
            "post": {
                "operationId": f"post{single}",
                "parameters": [s.COUNCIL_PARAM],
                "requestBody": body(new),
                "responses": {"201": s._json(s._ref("Created"), "posted"), **errors},
            },
        }


s.EXTENSIONS.append(extend)

routes: list[BaseRoute] = [
    Route("/api/councils/{council}/proposals", proposals),
    Route("/api/councils/{council}/proposals/{proposal}", proposal),
    Route("/api/councils/{council}/proposals/{proposal}/vote", vote, methods=["POST"]),
    Route("/api/councils/{council}/needs", needs, methods=["GET", "POST"]),
    Route("/api/councils/{council}/offers", offers, methods=["GET", "POST"]),
]
