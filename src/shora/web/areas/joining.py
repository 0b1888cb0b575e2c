"""Joining: the join page (an invitation pasted, opened as a link or scanned), the
join request with its QR code and a share button, the waiting page, and the admit page
a join request's link opens on a member's node. Domain: shora.services.joining; the link
forms are in its docstring and in docs/web.md, "Joining"."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput, NotAllowed
from shora.i18n import _
from shora.node import CouncilInfo, Node
from shora.services import joining, recovery
from shora.services.membership import ALREADY_JOINED, INVITATION_EXPIRED
from shora.ui.qr import qr_svg
from shora.web.forms import PERSON_CHARS, TOKEN_CHARS, form_of, text
from shora.web.responses import node_of, pages_of, redirect

WAITING_REFRESH_SECONDS = 10  # how often the waiting page looks whether it was admitted
_BASE32 = re.compile(r"[A-Za-z2-7\s-]*")
# What the kernel says about a bad token (matched on its English words, which the error
# keeps as `english`), and what the page says instead, in the page's language.
_DAMAGE = (
    ("checksum", "damaged"),
    ("too short", "damaged"),
    ("malformed", "damaged"),
    ("base32", "letters"),
    ("not a shora", "other"),
    ("empty", "empty"),
    ("too long", "long"),
    ("expired", "expired"),
    ("already belongs", "twice"),
)


async def posted_join_request(request: Request) -> tuple[bytes, Any]:
    """The join request a form carries (text, link or shora: URI), and the form; a bad
    one is refused with a sentence in the page's language."""
    form = await form_of(request)
    typed = text(form, "request", TOKEN_CHARS)
    try:
        return joining.read_join_request(typed), form
    except InvalidInput as exc:
        raise InvalidInput(plain(exc, "join request", typed)) from exc


def plain(exc: InvalidInput, what: str, typed: str) -> str:
    """A sentence for a person about a bad invitation or join request (`what`, as
    `typed`)."""
    said = getattr(exc, "english", str(exc))
    reason = next((r for key, r in _DAMAGE if key in said), "damaged")
    # The node's own refusals of an invitation come in the page's language.
    if said == _(ALREADY_JOINED):
        reason = "twice"
    elif said == _(INVITATION_EXPIRED):
        reason = "expired"
    token = typed.split("#", 1)[-1].split("?", 1)[0].split("/", 1)[-1]
    if reason == "letters" and _BASE32.fullmatch(token):
        reason = "damaged"  # only base32 letters, but too few of them: cut short
    invitation = what == "invitation"
    if reason == "letters":
        return (
            _("The invitation has letters that do not belong in it. Paste it again, whole.")
            if invitation
            else _("The join request has letters that do not belong in it. Paste it again, whole.")
        )
    if reason == "other":
        return (
            _("This is not an invitation (a join request, perhaps?): paste the invitation.")
            if invitation
            else _("This is not a join request (an invitation, perhaps?): paste the join request.")
        )
    if reason == "empty":
        return (
            _("Please paste the invitation.") if invitation else _("Please paste the join request.")
        )
    if reason == "long":
        return _("That text is too long to be an invitation or a join request.")
    if reason == "expired":
        return _("This invitation has expired: ask the member who gave it for a new one.")
    if reason == "twice":
        return _("This profile is already in that council, or waiting to be admitted to it.")
    return (
        _(
            "The invitation is damaged or incomplete: part of it is missing or mistyped. "
            "Paste it again, whole, or scan its code."
        )
        if invitation
        else _(
            "The join request is damaged or incomplete: part of it is missing or mistyped. "
            "Paste it again, whole, or scan its code."
        )
    )


def request_context(signed: bytes) -> dict[str, Any]:
    """The join request as text, as a link to a member's admit page and as a QR code."""
    link = joining.join_request_link(signed)
    return {
        "request_text": joining.join_request_text(signed),
        "request_link": link,
        # segno writes only the code's path and attributes: no script, no style.
        "request_qr": Markup(scalable(qr_svg(link))),  # noqa: S704
    }


def scalable(svg: str) -> str:
    """The SVG with a viewBox instead of a fixed size, so CSS can fit it to the screen."""
    found = re.search(r'width="(\d+)" height="(\d+)"', svg)
    if found is None:
        return svg
    width, height = found.groups()
    return svg.replace(found.group(0), f'viewBox="0 0 {width} {height}"', 1)


async def join(request: Request) -> Response:
    """Join a council with an invitation: pasted, opened as a link, or scanned."""
    node = node_of(request)
    if request.method == "GET":
        return pages_of(request).render(request, "members/join.html", {"values": {}, "error": None})
    values = join_values(await form_of(request))
    problem = join_problem(values)
    if problem is not None:
        return _join_again(request, values, problem)
    try:
        council = join_with(node, values)
    except InvalidInput as exc:
        return _join_again(request, values, plain(exc, "invitation", values["invitation"]))
    # Redirect after POST: reloading the waiting page does not send the form again.
    return redirect(request, f"/councils/{council.hex()}")


def join_values(form: Any, name_field: str = "name") -> dict[str, str]:
    """The invitation and the name a join form carries (the join page's, or the new
    profile's page when an invitation's link led there)."""
    return {
        "invitation": text(form, "invitation", TOKEN_CHARS, required=False),
        "name": text(form, name_field, PERSON_CHARS, required=False),
    }


def join_problem(values: dict[str, str]) -> str | None:
    """What is wrong with a join form before anything is written (a damaged invitation,
    no name), as a sentence in the page's language; None if nothing."""
    try:
        joining.read_invitation(values["invitation"])
    except InvalidInput as exc:
        return plain(exc, "invitation", values["invitation"])
    if not values["name"]:
        return _("Please give your name in this council.")
    return None


def join_with(node: Node, values: dict[str, str]) -> bytes:
    """Ask to join with the invitation and name of a checked join form; the council."""
    invitation, council_name = joining.read_invitation(values["invitation"])
    node.membership.join(invitation, values["name"])  # the request is kept by the node
    node.joining.expect_name(invitation.council, council_name)
    # Where the council can be reached: sync there (addresses that are no relay are left).
    node.joining.add_reach(invitation.council, list(invitation.reach))
    council: bytes = invitation.council
    return council


def _join_again(request: Request, values: dict[str, str], error: str) -> Response:
    """The join page again, with what was typed and what is wrong with it."""
    context = {"values": values, "error": error}
    return pages_of(request).render(request, "members/join.html", context, 400)


def waiting_page(request: Request, node: Node, info: CouncilInfo) -> Response:
    """What a newcomer sees of a council until a member admits them: its name, that
    they wait, and their join request to send (nothing that would answer 403)."""
    context: dict[str, Any] = {"council": info, "refresh_seconds": WAITING_REFRESH_SECONDS}
    recovering = node.recovery.pending(info.id)
    if recovering is not None:  # a recovery request (shora.web.areas.recovery)
        link = recovery.recovery_request_link(recovering)
        context.update(
            recovery_text=recovery.recovery_request_text(recovering),
            recovery_link=link,
            recovery_qr=Markup(scalable(qr_svg(link))),  # noqa: S704
        )
        return pages_of(request).render(request, "recovery/waiting.html", context)
    signed = node.joining.pending_request(info.id)
    if signed is not None:
        context.update(request_context(signed))
    return pages_of(request).render(request, "members/waiting.html", context)


async def admit(request: Request) -> Response:
    """A member's admit page: what a join request's link opens (the request arrives in
    the fragment, which the page's script moves into the form)."""
    node = node_of(request)
    if request.method == "GET":
        return pages_of(request).render(
            request, "members/admit.html", {"values": {}, "error": None}
        )
    form = await form_of(request)
    values = {"request": text(form, "request", TOKEN_CHARS, required=False)}
    try:
        signed = joining.read_join_request(values["request"])
        payload, _request_id = joining.open_join_request(signed)
    except InvalidInput as exc:
        context = {"values": values, "error": plain(exc, "join request", values["request"])}
        return pages_of(request).render(request, "members/admit.html", context, 400)
    info = node.councils.get(payload.council)  # NotFound: not one of this profile's councils
    if info.rules is not None and info.rules.federation:
        raise NotAllowed(_("A federation admits a delegate only on their mandate."))
    result = node.membership.admit(signed)
    done: dict[str, Any] = {"council": info, "result": result}
    return pages_of(request).render(request, "members/admitted.html", done)


routes: list[BaseRoute] = [
    Route("/join", join, methods=["GET", "POST"]),
    Route("/admit", admit, methods=["GET", "POST"]),
]
