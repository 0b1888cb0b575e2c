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

from shora.addresses import counted_address
from shora.errors import InvalidInput, NotAllowed, ProfileError
from shora.i18n import _
from shora.node import Node
from shora.services.joining import read_invitation
from shora.services.membership import Invitation
from shora.services.profiles import WeakKeystore
from shora.ui.qr import qr_svg
from shora.web.areas import joining
from shora.web.community import Hall
from shora.web.forms import form_of, text
from shora.web.responses import pages_of, redirect, safe_next
from shora.web.security import session_cookie
from shora.web.state import BrowserSession
from shora.web.throttle import Busy, TooManyTries

PASSPHRASE_CHARS = 1024
LABEL_CHARS = 200  # read at most; the community keeps at most MAX_LABEL
CODE_CHARS = 64
DEVICE_COOKIE_SECONDS = 365 * 24 * 3600


def address_of(request: Request) -> str:
    """The client's address, whose attempts are counted together (an IPv6 /64 as one)."""
    return counted_address(request.client.host) if request.client is not None else ""


def must_wait(exc: TooManyTries | Busy) -> tuple[str, int, dict[str, str]]:
    """The sentence, status and headers of an attempt that has to wait."""
    status = 429 if isinstance(exc, TooManyTries) else 503
    return exc.sentence(), status, {"retry-after": str(exc.whole_seconds)}


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
    secure = bool(request.app.state.secure)
    port = request.app.state.port
    response.set_cookie(
        session_cookie(port), browser.id, httponly=True, samesite="strict", secure=secure, path="/"
    )
    # This browser is now a known device of `person` (its own count of wrong tries).
    response.set_cookie(
        device_cookie(port),
        hall.devices.token(person),
        max_age=DEVICE_COOKIE_SECONDS,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )
    return response


def device_cookie(port: int) -> str:
    return f"shora_device_{port}"


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
    error, label, status = None, "", 200
    code = request.query_params.get("code", "")[:CODE_CHARS]  # from the node's QR code
    headers: dict[str, str] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        form = await form_of(request)
        label = text(form, "name", LABEL_CHARS, required=False)
        code = text(form, "code", CODE_CHARS, required=False)
        first = text(form, "passphrase", PASSPHRASE_CHARS, required=False)
        second = text(form, "again", PASSPHRASE_CHARS, required=False)
        if joins:
            values = joining.join_values(form, "join_name")
        asks = joins and any(values.values())
        hall = hall_of(request)
        status = 400
        if first != second:
            error = _("The two passphrases differ; type them again.")
        elif asks and (error := joining.join_problem(values)) is not None:
            pass  # checked before the profile exists, so nothing is made in vain
        else:
            try:
                invitation = _invitation_of(values) if asks else None
                async with hall.attempt(address_of(request)):
                    person = await hall.create(label, first, code, invitation)
            except (TooManyTries, Busy) as exc:
                error, status, headers = must_wait(exc)
            except (ProfileError, InvalidInput, NotAllowed) as exc:
                error = str(exc)
            else:
                if asks:
                    nxt = _joined(hall.keeper(person).require_node(), values)
                return signed_in(request, person.key, nxt)
    context = {
        "error": error,
        "name": label,
        "code": code,
        "next": asked and nxt,
        "joins": joins,
        "values": values,
    }
    page = pages_of(request).render(request, "community/welcome.html", context, status)
    page.headers.update(headers)
    return page


def _invitation_of(values: dict[str, str]) -> Invitation | None:
    """The invitation of a checked join form (None if it cannot be read)."""
    try:
        return read_invitation(values["invitation"])[0]
    except InvalidInput:
        return None


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
        passphrase = text(form, "passphrase", PASSPHRASE_CHARS, required=False)
        hall = hall_of(request)
        try:
            async with hall.attempt(address_of(request)):
                device = request.cookies.get(device_cookie(request.app.state.port))
                person = await hall.unlock(label, passphrase, device)
        except (TooManyTries, Busy) as exc:
            error, status, headers = must_wait(exc)
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


async def panic(request: Request) -> Response:
    """Destroy this browser's own profile for good, and no other: the one its session is
    bound to (asks once, as on one person's node; Esc three times sends confirm=yes)."""
    browser = browser_of(request)
    person = browser.person if browser is not None and unlocked(request) else None
    if request.method == "POST" and person is not None:
        form = await form_of(request)
        if text(form, "confirm", 10, required=False) == "yes":
            await hall_of(request).panic(person)
            return pages_of(request).render(request, "session/panicked.html")
    exists = person is not None
    return pages_of(request).render(request, "session/panic.html", {"exists": exists})


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
    Route("/panic", panic, methods=["GET", "POST"]),
    Route("/node", node),
]
