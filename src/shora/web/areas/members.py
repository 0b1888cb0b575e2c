"""Members: the list, inviting (QR code and link), joining with an invitation on this
node, admitting and vouching, removing, leaving."""

from __future__ import annotations

import re

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.kernel import tokens
from shora.node_members import DEFAULT_INVITE_SECONDS
from shora.sync.peers import PeerBook
from shora.web.forms import (
    PERSON_CHARS,
    REASON_CHARS,
    TOKEN_CHARS,
    council_of,
    form_of,
    hex_id,
    integer,
    text,
)
from shora.web.responses import node_of, pages_of, redirect

PER_PAGE = 50


def scalable(svg: str) -> str:
    """The SVG with a viewBox instead of a fixed size, so CSS can fit it to the screen."""
    found = re.search(r'width="(\d+)" height="(\d+)"', svg)
    if found is None:
        return svg
    width, height = found.groups()
    return svg.replace(found.group(0), f'viewBox="0 0 {width} {height}"', 1)


async def members(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    people = node.members(info.id)
    page = integer(request.query_params.get("page"), 1, 1, 1 + len(people) // PER_PAGE)
    shown = people[(page - 1) * PER_PAGE : page * PER_PAGE]
    final = node.ingestor.projection.final_state(info.id)
    removals = [
        (m, len(final.vouches.get(("remove", m.key), frozenset())))
        for m in people
        if m.status == "active" and ("remove", m.key) in final.vouches
    ]
    context = {
        "council": info,
        "members": shown,
        "page": page,
        "pages": 1 + (len(people) - 1) // PER_PAGE if people else 1,
        "removals": removals,
        "me_active": any(m.me and m.status == "active" for m in people),
    }
    return pages_of(request).render(request, "members/list.html", context)


async def invite(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    reach = [url for _c, url in PeerBook(node.store).relays(info.id)]
    invitation = node.invite(info.id, DEFAULT_INVITE_SECONDS, reach)
    context = {
        "council": info,
        "text": tokens.invitation_text(invitation),
        "uri": tokens.invitation_uri(invitation),
        # segno writes only the code's path and attributes: no script, no style.
        "qr": Markup(scalable(tokens.invitation_qr_svg(invitation))),  # noqa: S704
        "expires": invitation.expires,
    }
    return pages_of(request).render(request, "members/invitation.html", context)


async def join(request: Request) -> Response:
    """Join a council with an invitation from one of its members."""
    node = node_of(request)
    context: dict[str, object] = {"request_text": None}
    if request.method == "POST":
        form = await form_of(request)
        invitation = tokens.parse_invitation(text(form, "invitation", TOKEN_CHARS))
        name = text(form, "name", PERSON_CHARS)
        signed = node.join(invitation, name)
        # Where the council can be reached: sync there.
        PeerBook(node.store).add_reach(invitation.council, list(invitation.reach))
        context = {"request_text": tokens.join_request_text(signed), "name": name}
    return pages_of(request).render(request, "members/join.html", context)


async def admit(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    form = await form_of(request)
    signed = tokens.parse_join_request_text(text(form, "request", TOKEN_CHARS))
    result = node.admit(signed)
    context = {"council": info, "result": result}
    return pages_of(request).render(request, "members/admitted.html", context)


async def remove(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    member = hex_id(str(request.path_params["member"]))
    form = await form_of(request)
    result = node.remove(info.id, member, text(form, "reason", REASON_CHARS, required=False))
    context = {"council": info, "result": result}
    return pages_of(request).render(request, "members/removed.html", context)


async def leave(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    form = await form_of(request)
    node.leave(info.id, text(form, "reason", REASON_CHARS, required=False))
    return redirect(request, "/councils")


routes: list[BaseRoute] = [
    Route("/councils/{council}/members", members),
    Route("/councils/{council}/invite", invite, methods=["POST"]),
    Route("/councils/{council}/admit", admit, methods=["POST"]),
    Route("/councils/{council}/members/{member}/remove", remove, methods=["POST"]),
    Route("/councils/{council}/leave", leave, methods=["POST"]),
    Route("/join", join, methods=["GET", "POST"]),
]
