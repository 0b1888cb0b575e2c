"""The JSON API under /api: councils, members, posts and sync status (OpenAPI at
/api/openapi.json). Same login as the pages; writes need the X-CSRF-Token header."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput
from shora.i18n import _, default_time_zone
from shora.node import CouncilInfo, Node
from shora.services.councils import Rules
from shora.web.areas import api_schema as s
from shora.web.forms import council_of, integer
from shora.web.responses import node_of

MAX_LIMIT = 500
T = TypeVar("T")


def _json(value: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status, media_type="application/json")


async def _decode(request: Request, kind: type[T]) -> T:
    body = await request.body()
    if len(body) > s.MAX_JSON_BODY:
        raise InvalidInput(_("The request is too large."))
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.DecodeError as exc:
        raise InvalidInput(str(exc)) from None


def _council(info: CouncilInfo) -> s.Council:
    return s.Council(
        info.id.hex(), info.name, info.description, info.status, info.members, info.events
    )


def _page(request: Request) -> tuple[int, int]:
    q = request.query_params
    return integer(q.get("limit"), 50, 1, MAX_LIMIT), integer(q.get("offset"), 0, 0, 2**31)


async def councils(request: Request) -> Response:
    node = node_of(request)
    if request.method == "POST":
        new = await _decode(request, s.NewCouncil)
        zone = new.time_zone if new.time_zone is not None else default_time_zone()
        rules = Rules(time_zone=zone)  # the zone is checked on founding
        council = node.councils.create(new.name, new.description, new.founder, rules)
        return _json(_council(node.councils.get(council)), 201)
    return _json([_council(c) for c in node.councils.all()])


async def council(request: Request) -> Response:
    return _json(_council(council_of(request, node_of(request))))


async def members(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    limit, offset = _page(request)
    people = node.councils.members(info.id)[offset : offset + limit]
    return _json([s.Member(m.key.hex(), m.name, m.status, list(m.roles), m.me) for m in people])


def _posts(node: Node, council: bytes, limit: int, offset: int) -> list[s.Post]:
    return [
        s.Post(p["id"].hex(), p["kind"], p["title"], p["text"], p["author"], p["time"])
        for p in node.posts.posts(council, limit, offset)
    ]


async def posts(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    if request.method == "POST":
        new = await _decode(request, s.NewPost)
        post = node.posts.post(info.id, new.text, new.title or None)
        return _json(s.Created(post.hex()), 201)
    limit, offset = _page(request)
    return _json(_posts(node, info.id, limit, offset))


async def sync_status(request: Request) -> Response:
    node = node_of(request)
    peers = [
        s.Peer(
            p.address, p.kind, p.last_contact, p.events_in, p.events_out, p.failures, p.last_error
        )
        for p in node.joining.peers()
    ]
    relays = [s.Relay(c.hex(), url) for c, url in node.joining.relays()]
    return _json(s.SyncStatus(peers, relays, node.joining.proxy()))


async def openapi(request: Request) -> Response:
    return JSONResponse(s.openapi())


routes: list[BaseRoute] = [
    Route("/api/openapi.json", openapi),
    Route("/api/councils", councils, methods=["GET", "POST"]),
    Route("/api/councils/{council}", council),
    Route("/api/councils/{council}/members", members),
    Route("/api/councils/{council}/posts", posts, methods=["GET", "POST"]),
    Route("/api/sync", sync_status),
]
