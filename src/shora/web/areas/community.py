"""Community mode's way in (shora community serve): each person creates or unlocks
their own profile, by the name they chose for it and their passphrase; the node's
address and certificate fingerprint, to check on a phone.

These pages replace the one-profile session pages (areas/session.py). Unlocking binds
the browser to that one profile under a new session cookie (web/community.py).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput, ProfileError
from shora.i18n import _
from shora.node import Node
from shora.services.profiles import WeakKeystore
from shora.ui.qr import qr_svg
from shora.web.areas import joining
from shora.web.community import Hall
from shora.web.forms import form_of, text
from shora.web.responses import pages_of, redirect, safe_next
from shora.web.security import session_cookie
from shora.web.state import BrowserSession
from shora.web.throttle import TooManyTries

PASSPHRASE_CHARS = 1024
LABEL_CHARS = 200  # read at most; the community keeps at most MAX_LABEL


def hall_of(request: Request) -> Hall:
    hall: Hall = request.app.state.hall
    return hall


def browser_of(request: Request) -> BrowserSession | None:
    browser: BrowserSession | None = request.scope.get("state", {}).get("browser")
    return browser


def unlocked(request: Request) -> bool:
    return request.scope.get("state", {}).get("keeper") is not None


def signed_in(request: Request, person: str, to: str) -> Response:
    """Bind this browser to `person` under a new session, and go on to `to`."""
    hall = hall_of(request)
    browser = hall.bind(browser_of(request), person)
    response = redirect(request, to)
    response.set_cookie(
        session_cookie(request.app.state.port),
        browser.id,
        httponly=True,
        samesite="strict",
        secure=bool(request.app.state.secure),
        path="/",
    )
    return response


async def index(request: Request) -> Response:
    return redirect(request, "/councils" if unlocked(request) else "/unlock")


async def welcome(request: Request) -> Response:
    """A new person: a name for the profile, and the passphrase twice."""
    asked = request.query_params.get("next")
    nxt = safe_next(asked) if asked else "/councils"
    if unlocked(request):
        return redirect(request, nxt)
    # Reached from an invitation's link: the same form asks to join (as areas/session.py).
    joins = urlsplit(nxt).path == "/join"
    error, label = None, ""
    values: dict[str, str] = {}
    if request.method == "POST":
        form = await form_of(request)
        label = text(form, "name", LABEL_CHARS, required=False)
        first = text(form, "passphrase", PASSPHRASE_CHARS, required=False)
        second = text(form, "again", PASSPHRASE_CHARS, required=False)
        if joins:
            values = joining.join_values(form, "join_name")
        asks = joins and any(values.values())
        if first != second:
            error = _("The two passphrases differ; type them again.")
        elif asks and (error := joining.join_problem(values)) is not None:
            pass  # checked before the profile exists, so nothing is made in vain
        else:
            try:
                person = await hall_of(request).create(label, first)
            except (ProfileError, InvalidInput) as exc:
                error = str(exc)
            else:
                if asks:
                    nxt = _joined(hall_of(request).keeper(person).require_node(), values)
                return signed_in(request, person.key, nxt)
    context = {
        "error": error,
        "name": label,
        "next": asked and nxt,
        "joins": joins,
        "values": values,
    }
    return pages_of(request).render(
        request, "community/welcome.html", context, 400 if error else 200
    )


def _joined(node: Node, values: dict[str, str]) -> str:
    """Ask to join from the new profile: its council's page (waiting to be admitted), or
    the join page if the node refuses the invitation after all."""
    try:
        return f"/councils/{joining.join_with(node, values).hex()}"
    except InvalidInput:
        return "/join"


async def unlock(request: Request) -> Response:
    nxt = safe_next(request.query_params.get("next"))
    if unlocked(request):
        return redirect(request, nxt)
    error, status, label = None, 200, ""
    headers: dict[str, str] = {}
    if request.method == "POST":
        form = await form_of(request)
        label = text(form, "name", LABEL_CHARS, required=False)
        try:
            person = await hall_of(request).unlock(
                label, text(form, "passphrase", PASSPHRASE_CHARS, required=False)
            )
        except TooManyTries as exc:
            error, status = exc.sentence(), 429
            headers["retry-after"] = str(exc.whole_seconds)
        except WeakKeystore as exc:
            error, status = str(exc), 400
        except ProfileError:
            error, status = _("Wrong name or passphrase."), 400
        else:
            return signed_in(request, person.key, nxt)
    context = {"error": error, "next": nxt, "name": label}
    page = pages_of(request).render(request, "community/unlock.html", context, status)
    page.headers.update(headers)
    return page


async def lock(request: Request) -> Response:
    """Lock now: the profile's keys leave memory, and every session bound to it ends."""
    browser = browser_of(request)
    if browser is not None and browser.person is not None:
        await hall_of(request).lock(browser.person)
    return redirect(request, "/unlock")


async def node(request: Request) -> Response:
    """This node's address and its certificate's fingerprint, as text and QR code."""
    hall = hall_of(request)
    fingerprint = hall.certificate.fingerprint if hall.certificate is not None else ""
    context = {
        "address": hall.address,
        "fingerprint": fingerprint,
        "qr": qr_svg(hall.address) if hall.address else "",
    }
    return pages_of(request).render(request, "community/node.html", context)


routes: list[BaseRoute] = [
    Route("/", index),
    Route("/welcome", welcome, methods=["GET", "POST"]),
    Route("/unlock", unlock, methods=["GET", "POST"]),
    Route("/lock", lock, methods=["POST"]),
    Route("/node", node),
]
