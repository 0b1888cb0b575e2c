"""Getting in: the login link, creating the profile, unlocking, locking, the language;
getting out fast: the panic wipe and the duress passphrase."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput, ProfileError
from shora.i18n import SUPPORTED, _
from shora.node import Node
from shora.services.profiles import WeakKeystore
from shora.web.areas import joining
from shora.web.forms import form_of, text
from shora.web.responses import keeper_of, pages_of, redirect, safe_next
from shora.web.security import LANG_COOKIE, session_cookie
from shora.web.throttle import TooManyTries

PASSPHRASE_CHARS = 1024
YEAR = 365 * 24 * 3600


async def login(request: Request) -> Response:
    """The link shora serve printed: spend its token, set the session cookie."""
    keeper = keeper_of(request)
    browser = keeper.login(request.query_params.get("token", "")[:200])
    if browser is None:
        return pages_of(request).render(request, "session/login_needed.html", status_code=401)
    # SameSite=Strict cookies are not sent on a redirect that began on another site
    # (the terminal), so this page moves on by itself, as a same-site navigation.
    response = pages_of(request).render(request, "session/logged_in.html")
    response.set_cookie(
        session_cookie(request.app.state.port),
        browser.id,
        httponly=True,
        samesite="strict",
        path="/",
    )
    return response


async def index(request: Request) -> Response:
    keeper = keeper_of(request)
    if keeper.node is None:
        return redirect(request, "/unlock" if keeper.exists else "/welcome")
    return redirect(request, "/councils")


async def welcome(request: Request) -> Response:
    """A fresh home: choose the passphrase (twice) and create the profile."""
    keeper = keeper_of(request)
    if keeper.exists:
        return redirect(request, "/unlock")
    asked = request.query_params.get("next")
    nxt = safe_next(asked) if asked else "/councils"
    # Reached from an invitation's link: the same form asks to join (name, invitation).
    joins = urlsplit(nxt).path == "/join"
    error = None
    values: dict[str, str] = {}
    if request.method == "POST":
        form = await form_of(request)
        first = text(form, "passphrase", PASSPHRASE_CHARS, required=False)
        second = text(form, "again", PASSPHRASE_CHARS, required=False)
        if joins:
            values = joining.join_values(form)
        # Nothing to join with (no script brought the invitation, none pasted): the
        # profile only, then the join page, as from any other page.
        asks = joins and any(values.values())
        if first != second:
            error = _("The two passphrases differ; type them again.")
        elif asks and (error := joining.join_problem(values)) is not None:
            pass  # checked before the profile exists, so nothing is made in vain
        else:
            try:
                node = await keeper.create(first)
            except ProfileError as exc:
                error = str(exc)
            else:
                if not asks:
                    return redirect(request, nxt)
                return _joined(request, node, values)
    status = 400 if error else 200
    context = {"error": error, "next": asked and nxt, "joins": joins, "values": values}
    return pages_of(request).render(request, "session/welcome.html", context, status)


def _joined(request: Request, node: Node, values: dict[str, str]) -> Response:
    """Ask to join from the new profile, then its council's page (waiting to be
    admitted); a refusal shows the join page with what was typed."""
    try:
        council = joining.join_with(node, values)
    except InvalidInput as exc:
        problem = joining.plain(exc, "invitation", values["invitation"])
        context = {"values": values, "error": problem}
        return pages_of(request).render(request, "members/join.html", context, 400)
    return redirect(request, f"/councils/{council.hex()}")


async def unlock(request: Request) -> Response:
    keeper = keeper_of(request)
    if not keeper.exists:
        return redirect(request, "/welcome")
    nxt = safe_next(request.query_params.get("next"))
    error = None
    status = 200
    headers: dict[str, str] = {}
    if request.method == "POST":
        form = await form_of(request)
        try:
            await keeper.unlock(text(form, "passphrase", PASSPHRASE_CHARS, required=False))
        except TooManyTries as exc:
            error, status = exc.sentence(), 429
            headers["retry-after"] = str(exc.whole_seconds)
        except WeakKeystore as exc:
            error, status = str(exc), 400
        except ProfileError:
            error, status = _("Wrong passphrase."), 400
        else:
            return redirect(request, nxt)
    context = {"error": error, "next": nxt}
    page = pages_of(request).render(request, "session/unlock.html", context, status)
    page.headers.update(headers)
    return page


async def lock(request: Request) -> Response:
    await keeper_of(request).lock()
    return redirect(request, "/unlock")


async def panic(request: Request) -> Response:
    """Destroy this profile for good: a page that asks once (the keyboard shortcut and
    a form sending confirm=yes skip the page, not the question's meaning)."""
    keeper = keeper_of(request)
    if request.method == "POST":
        form = await form_of(request)
        if text(form, "confirm", 10, required=False) == "yes":
            await keeper.panic()
            return pages_of(request).render(request, "session/panicked.html")
    return pages_of(request).render(request, "session/panic.html", {"exists": keeper.exists})


async def duress(request: Request) -> Response:
    """Settings: seal, change or remove the duress passphrase."""
    keeper = keeper_of(request)
    keeper.require_node()
    error, done = None, None
    status = 200
    if request.method == "POST":
        form = await form_of(request)
        passphrase = text(form, "passphrase", PASSPHRASE_CHARS, required=False)
        remove = text(form, "remove", 10, required=False) == "yes"
        wipe = text(form, "wipe", 10, required=False) == "yes"
        first = text(form, "duress", PASSPHRASE_CHARS, required=False)
        second = text(form, "again", PASSPHRASE_CHARS, required=False)
        if not remove and first != second:
            error = _("The two passphrases differ; type them again.")
        else:
            try:
                await keeper.set_duress(passphrase, None if remove else first, wipe=wipe)
            except TooManyTries as exc:
                error = exc.sentence()
            except ProfileError as exc:
                error = str(exc)
            else:
                done = (
                    _("The duress passphrase is removed.")
                    if remove
                    else _("The duress passphrase is set.")
                )
        status = 400 if error else 200
    context = {"error": error, "done": done}
    return pages_of(request).render(request, "session/duress.html", context, status)


async def language(request: Request) -> Response:
    form = await form_of(request)
    lang = text(form, "lang", 5)
    response = RedirectResponse(safe_next(text(form, "next", 500, required=False)), 303)
    if lang in SUPPORTED:
        response.set_cookie(LANG_COOKIE, lang, max_age=YEAR, samesite="strict", httponly=True)
    return response


routes: list[BaseRoute] = [
    Route("/", index),
    Route("/login", login),
    Route("/welcome", welcome, methods=["GET", "POST"]),
    Route("/unlock", unlock, methods=["GET", "POST"]),
    Route("/lock", lock, methods=["POST"]),
    Route("/panic", panic, methods=["GET", "POST"]),
    Route("/settings/duress", duress, methods=["GET", "POST"]),
    Route("/language", language, methods=["POST"]),
]
