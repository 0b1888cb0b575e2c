"""Getting back in (docs/protocol.md §9.1): on a new profile, asking for one's place in
a council again (an invitation from any member names the council); on a member's
profile, the page a recovery request's link opens, which shows who asks to replace
whom, warns, and vouches only when the member confirms. Domain:
shora.services.recovery."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _
from shora.services import joining, recovery
from shora.web.areas.joining import plain
from shora.web.forms import PERSON_CHARS, TOKEN_CHARS, form_of, text
from shora.web.responses import node_of, pages_of, redirect


async def ask(request: Request) -> Response:
    """On a new profile: ask for your place back, with an invitation from any member."""
    node = node_of(request)
    if request.method == "GET":
        return _ask_page(request, {}, None, 200)
    form = await form_of(request)
    values = {
        "invitation": text(form, "invitation", TOKEN_CHARS, required=False),
        "claim": text(form, "claim", PERSON_CHARS, required=False),
    }
    try:
        invitation, council_name = joining.read_invitation(values["invitation"])
        if not values["claim"]:
            message = _("Please say who you were in this council: your name, or your old key.")
            return _ask_page(request, values, message, 400)
        node.recovery.ask(invitation.council, values["claim"])
    except InvalidInput as exc:
        return _ask_page(request, values, plain(exc, "invitation", values["invitation"]), 400)
    node.joining.expect_name(invitation.council, council_name)
    node.joining.add_reach(invitation.council, list(invitation.reach))
    return redirect(request, f"/councils/{invitation.council.hex()}")


def _ask_page(request: Request, values: dict[str, str], error: str | None, status: int) -> Response:
    context = {"values": values, "error": error}
    return pages_of(request).render(request, "recovery/ask.html", context, status)


async def vouch(request: Request) -> Response:
    """A member's page for a recovery request: first who asks to replace whom and the
    warning, then (confirmed) the vouch."""
    node = node_of(request)
    if request.method == "GET":
        return _paste_page(request, {}, None, 200)
    form = await form_of(request)
    values = {
        "request": text(form, "request", TOKEN_CHARS, required=False),
        "reason": text(form, "reason", 1000, required=False),
    }
    try:
        signed = recovery.read_recovery_request(values["request"])
        asked = node.recovery.open(signed)
    except (InvalidInput, NotFound) as exc:
        return _paste_page(request, values, str(exc), 400)
    info = node.councils.get(asked.council)
    if text(form, "confirm", 8, required=False) != "yes":
        context = {"asked": asked, "council": info, "values": values}
        return pages_of(request).render(request, "recovery/confirm.html", context)
    try:
        result = node.recovery.vouch(signed, values["reason"])
    except NotAllowed as exc:
        return _paste_page(request, values, str(exc), 403)
    done = {"council": info, "result": result}
    return pages_of(request).render(request, "recovery/vouched.html", done)


def _paste_page(
    request: Request, values: dict[str, str], error: str | None, status: int
) -> Response:
    context = {"values": values, "error": error}
    return pages_of(request).render(request, "recovery/vouch.html", context, status)


routes: list[BaseRoute] = [
    Route("/recover", vouch, methods=["GET", "POST"]),
    Route("/recover/ask", ask, methods=["GET", "POST"]),
]
