"""Members: the list, inviting (QR code and link), admitting and vouching, removing,
leaving. Joining is in joining.py."""

from __future__ import annotations

from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.errors import NotFound
from shora.i18n import _
from shora.services import joining
from shora.services.membership import DEFAULT_INVITE_SECONDS
from shora.ui.qr import qr_svg
from shora.web.areas.joining import posted_join_request, scalable
from shora.web.forms import (
    REASON_CHARS,
    council_of,
    form_of,
    hex_id,
    integer,
    text,
)
from shora.web.responses import node_of, pages_of, redirect

PER_PAGE = 50


async def members(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    people = node.councils.members(info.id)
    page = integer(request.query_params.get("page"), 1, 1, 1 + len(people) // PER_PAGE)
    shown = people[(page - 1) * PER_PAGE : page * PER_PAGE]
    final = node.state(info.id)
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
    reach = [url for _c, url in node.joining.relays(info.id)]
    invitation = node.membership.invite(info.id, DEFAULT_INVITE_SECONDS, reach)
    link = joining.invitation_link(invitation, info.name)
    context = {
        "council": info,
        "text": joining.invitation_text(invitation),
        "uri": joining.invitation_uri(invitation),
        "link": link,
        # segno writes only the code's path and attributes: no script, no style.
        "qr": Markup(scalable(qr_svg(link))),  # noqa: S704
        "expires": invitation.expires,
    }
    return pages_of(request).render(request, "members/invitation.html", context)


async def admit(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    signed, _form = await posted_join_request(request)
    result = node.membership.admit(signed)
    context = {"council": info, "result": result}
    return pages_of(request).render(request, "members/admitted.html", context)


def _confirmed(form: FormData | None) -> bool:
    """An irreversible action runs only from its confirmation page's button: a first
    POST (or a GET) shows that page, so it works without JavaScript."""
    return form is not None and form.get("confirm") == "yes"


async def remove(request: Request) -> Response:
    """Vouch to remove a member, after a page that says what it means."""
    node = node_of(request)
    info = council_of(request, node)
    member = hex_id(str(request.path_params["member"]))
    form = await form_of(request) if request.method == "POST" else None
    reason = text(form, "reason", REASON_CHARS, required=False) if form is not None else ""
    if _confirmed(form):
        result = node.membership.remove(info.id, member, reason)
        context = {"council": info, "result": result}
        return pages_of(request).render(request, "members/removed.html", context)
    person = next((m for m in node.councils.members(info.id) if m.key == member), None)
    if person is None or person.status != "active" or person.me:
        raise NotFound(_("That person is not an active member of this council."))
    final = node.state(info.id)
    vouches = len(final.vouches.get(("remove", member), frozenset()))
    context = {"council": info, "person": person, "reason": reason, "vouches": vouches}
    return pages_of(request).render(request, "members/confirm_remove.html", context)


async def leave(request: Request) -> Response:
    """Leave a council for good, after a page that says what it means."""
    node = node_of(request)
    info = council_of(request, node)
    form = await form_of(request) if request.method == "POST" else None
    reason = text(form, "reason", REASON_CHARS, required=False) if form is not None else ""
    if _confirmed(form):
        node.membership.leave(info.id, reason)
        return redirect(request, "/councils")
    context = {"council": info, "reason": reason}
    return pages_of(request).render(request, "members/confirm_leave.html", context)


routes: list[BaseRoute] = [
    Route("/councils/{council}/members", members),
    Route("/councils/{council}/invite", invite, methods=["POST"]),
    Route("/councils/{council}/admit", admit, methods=["POST"]),
    Route("/councils/{council}/members/{member}/remove", remove, methods=["GET", "POST"]),
    Route("/councils/{council}/leave", leave, methods=["GET", "POST"]),
]
