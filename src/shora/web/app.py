"""The web application: the page areas, static files, the guard, and error pages.

A page area is one module of `shora.web.areas` with a `routes` list and its
templates under templates/<area>/; add it to AREAS and it is served (docs/web.md).
"""

from __future__ import annotations

from importlib import resources
from types import ModuleType
from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from shora.errors import InvalidInput, NotAllowed, NotFound, ProfileError, ShoraError
from shora.i18n import _
from shora.ui.labels import COUNCIL_STATUS, MEMBER_STATUS
from shora.web.areas import (
    aid,
    api,
    api_decisions_aid,
    areas_stocks_skills,
    councils,
    decisions,
    discussion,
    federation,
    governance,
    joining,
    members,
    posts,
    safety,
    session,
    sync,
)
from shora.web.responses import redirect
from shora.web.security import Guard, allowed_hosts
from shora.web.state import Keeper, Locked
from shora.web.templating import Pages

AREAS: tuple[ModuleType, ...] = (session, councils, members, joining, posts, sync, api)
AREAS += (
    decisions,
    governance,
    aid,
    areas_stocks_skills,
    safety,
    api_decisions_aid,
    discussion,
    federation,
)

STATUS = ((NotFound, 404), (NotAllowed, 403), (InvalidInput, 400), (ProfileError, 400))


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api")


async def _locked(request: Request, exc: Exception) -> Response:
    if wants_json(request):
        message = _("The profile is locked: unlock it in the browser first.")
        return JSONResponse({"error": "locked", "message": message}, 423)
    keeper: Keeper = request.app.state.keeper
    asked = asked_for(request)
    after = f"?next={quote(asked, safe='/')}" if asked else ""
    # A fresh home: the profile first, then the page asked for (an invitation's link).
    return redirect(request, ("/unlock" if keeper.exists else "/welcome") + after)


def asked_for(request: Request) -> str | None:
    """The page the person was on, to return to after unlocking: the page itself, or
    for htmx the page it was sent from; a plain form post has no page to go back to."""
    current = request.headers.get("HX-Current-URL")
    if current:
        url = urlsplit(current)
        if url.netloc != request.url.netloc:
            return None
        return url.path + (f"?{url.query}" if url.query else "")
    if request.method not in ("GET", "HEAD"):
        return None
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


async def _shora_error(request: Request, exc: Exception) -> Response:
    status = next((code for kind, code in STATUS if isinstance(exc, kind)), 400)
    if wants_json(request):
        return JSONResponse({"error": type(exc).__name__, "message": str(exc)}, status)
    pages: Pages = request.app.state.pages
    return pages.render(request, "errors/error.html", {"message": str(exc)}, status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _("No such page.") if exc.status_code == 404 else str(exc.detail)
    if wants_json(request):
        return JSONResponse({"error": "http", "message": message}, exc.status_code)
    pages: Pages = request.app.state.pages
    return pages.render(request, "errors/error.html", {"message": message}, exc.status_code)


def routes() -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for area in AREAS:
        found.extend(area.routes)
    static = StaticFiles(directory=str(resources.files("shora.web") / "static"))
    found.append(Mount("/static", app=static, name="static"))
    return found


def create_app(keeper: Keeper, *, host: str = "127.0.0.1", port: int) -> Starlette:
    """The app for one node; `host` and `port` are where it is reached (Host check)."""
    app = Starlette(
        routes=routes(),
        middleware=[Middleware(Guard, keeper=keeper, hosts=allowed_hosts(host, port), port=port)],
        exception_handlers={
            Locked: _locked,
            ShoraError: _shora_error,
            HTTPException: _http_error,
        },
    )
    app.state.keeper = keeper
    pages = Pages()
    pages.env.globals.update(
        council_tabs=councils.COUNCIL_TABS,
        status_labels=COUNCIL_STATUS,
        member_labels=MEMBER_STATUS,
    )
    app.state.pages = pages
    app.state.port = port
    return app
