"""The shapes the JSON API speaks (msgspec Structs, bounded), and its OpenAPI text.

Inputs are decoded strictly: unknown fields, wrong types and oversized values are
refused with a 400 answer before anything is done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import msgspec

Hex = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Person = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]
MAX_JSON_BODY = 64 * 1024


class NewCouncil(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    founder: Person
    description: Annotated[str, msgspec.Meta(max_length=20_000)] = ""
    # The IANA zone its times are shown in; missing: Asia/Tehran in Persian, else UTC.
    time_zone: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class NewPost(msgspec.Struct, forbid_unknown_fields=True):
    text: Text
    title: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class Council(msgspec.Struct):
    id: Hex
    name: str
    description: str
    status: str
    members: int
    events: int


class Member(msgspec.Struct):
    key: Hex
    name: str
    status: str
    roles: list[str]
    me: bool


class Post(msgspec.Struct):
    id: Hex
    kind: str
    title: str
    text: str
    author: str | None
    time_ms: int


class Created(msgspec.Struct):
    id: Hex


class Peer(msgspec.Struct):
    address: str
    kind: str
    last_contact: int | None
    events_in: int
    events_out: int
    failures: int
    last_error: str | None


class Relay(msgspec.Struct):
    council: Hex
    url: str


class SyncStatus(msgspec.Struct):
    peers: list[Peer]
    relays: list[Relay]
    proxy: str | None


class Error(msgspec.Struct):
    error: str
    message: str


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _json(_ref("Error"), "error") for code in codes}


COUNCIL_PARAM = {
    "name": "council",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
}
PAGE_PARAMS = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
]
COMMON_ERRORS = (400, 401, 403, 404, 423)
# Other API modules add their paths and schemas: extend(paths, components).
EXTENSIONS: list[Callable[[dict[str, Any], dict[str, Any]], None]] = []


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 description of /api."""
    _, components = msgspec.json.schema_components(
        [NewCouncil, NewPost, Council, Member, Post, Created, SyncStatus, Error],
        ref_template="#/components/schemas/{name}",
    )
    many = {"type": "array", "items": None}

    def array(name: str) -> dict[str, Any]:
        return {**many, "items": _ref(name)}

    def body(name: str) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}

    paths: dict[str, Any] = {
        "/api/councils": {
            "get": {
                "operationId": "listCouncils",
                "responses": {"200": _json(array("Council"), "the councils"), **_errors(401, 423)},
            },
            "post": {
                "operationId": "createCouncil",
                "requestBody": body("NewCouncil"),
                "responses": {"201": _json(_ref("Council"), "founded"), **_errors(*COMMON_ERRORS)},
            },
        },
        "/api/councils/{council}": {
            "get": {
                "operationId": "getCouncil",
                "parameters": [COUNCIL_PARAM],
                "responses": {
                    "200": _json(_ref("Council"), "one council"),
                    **_errors(*COMMON_ERRORS),
                },
            }
        },
        "/api/councils/{council}/members": {
            "get": {
                "operationId": "listMembers",
                "parameters": [COUNCIL_PARAM, *PAGE_PARAMS],
                "responses": {"200": _json(array("Member"), "members"), **_errors(*COMMON_ERRORS)},
            }
        },
        "/api/councils/{council}/posts": {
            "get": {
                "operationId": "listPosts",
                "parameters": [COUNCIL_PARAM, *PAGE_PARAMS],
                "responses": {"200": _json(array("Post"), "posts"), **_errors(*COMMON_ERRORS)},
            },
            "post": {
                "operationId": "createPost",
                "parameters": [COUNCIL_PARAM],
                "requestBody": body("NewPost"),
                "responses": {"201": _json(_ref("Created"), "posted"), **_errors(*COMMON_ERRORS)},
            },
        },
        "/api/sync": {
            "get": {
                "operationId": "syncStatus",
                "responses": {"200": _json(_ref("SyncStatus"), "sync"), **_errors(401, 423)},
            }
        },
    }
    for extend in EXTENSIONS:
        extend(paths, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Shora node", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "shora_session_PORT"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
        "security": [{"session": [], "csrf": []}],
    }
