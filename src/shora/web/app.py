"""The web application: the page areas, static files, the guard, and error pages.

A page area is one module of `shora.web.areas` with a `routes` list and its
templates under templates/<area>/; add it to AREAS and it is served (docs/web.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
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
from shora.web.app_files import static_dir
from shora.web.areas import (
    aid,
    api,
    api_decisions_aid,
    areas_stocks_skills,
    backup,
    community,
    councils,
    decisions,
    discussion,
    federation,
    fund,
    governance,
    install,
    joining,
    members,
    pledges,
    posts,
    recovery,
    safety,
    secret,
    session,
    sync,
)
from shora.web.community import Hall
from shora.web.responses import redirect
from shora.web.security import Guard, allowed_hosts
from shora.web.state import Keeper, Locked
from shora.web.templating import Pages

AREAS: tuple[ModuleType, ...] = (session, councils, members, joining, posts, sync, api)
AREAS += (install,)
AREAS += (
    decisions,
    governance,
    aid,
    areas_stocks_skills,
    safety,
    secret,
    pledges,
    api_decisions_aid,
    discussion,
    federation,
    fund,
    recovery,
    backup,
)

STATUS = ((NotFound, 404), (NotAllowed, 403), (InvalidInput, 400), (ProfileError, 400))


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api")


async def _locked(request: Request, exc: Exception) -> Response:
    if wants_json(request):
        message = _("The profile is locked: unlock it in the browser first.")
        return JSONResponse({"error": "locked", "message": message}, 423)
    keeper: Keeper | None = request.app.state.keeper  # None in community mode
    asked = asked_for(request)
    after = f"?next={quote(asked, safe='/')}" if asked else ""
    # A fresh home: the profile first, then the page asked for (an invitation's link).
    fresh = keeper is not None and not keeper.exists
    return redirect(request, ("/welcome" if fresh else "/unlock") + after)


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


def static_version() -> str:
    """A short digest of the static files: their addresses carry it (?v=), so a browser
    keeps them a year and still fetches the new ones after an upgrade."""
    digest = hashlib.sha256()
    for path in sorted(p for p in static_dir().rglob("*") if p.is_file()):
        digest.update(path.relative_to(static_dir()).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def routes(*, community_mode: bool = False) -> list[BaseRoute]:
    """Every area's pages; in community mode the community's own way in (who you are,
    your passphrase) replaces the one-profile session pages, the language and the duress
    page (for the profile the session is bound to) kept."""
    found: list[BaseRoute] = []
    if community_mode:
        found.extend(community.routes)
    for area in AREAS:
        if community_mode and area is session:
            kept = ("/language", "/settings/duress")  # the duress page: the bound profile's
            found.extend(r for r in area.routes if getattr(r, "path", "") in kept)
        else:
            found.extend(area.routes)
    static = StaticFiles(directory=str(static_dir()))
    found.append(Mount("/static", app=static, name="static"))
    return found


def create_app(
    keeper: Keeper | None,
    *,
    host: str = "127.0.0.1",
    port: int,
    hall: Hall | None = None,
    secure: bool = False,
    names: Iterable[str] = (),
) -> Starlette:
    """The app for one node (`keeper`), or in community mode for many (`hall`); `host`,
    `port` and `names` are where it is reached (Host check); `secure` if over TLS."""
    hosts = allowed_hosts(host, port) | {
        f"[{n}]:{port}" if ":" in n else f"{n}:{port}" for n in names
    }
    guard = Middleware(Guard, keeper=keeper, hosts=hosts, port=port, hall=hall, secure=secure)
    app = Starlette(
        routes=routes(community_mode=hall is not None),
        middleware=[guard],
        exception_handlers={
            Locked: _locked,
            ShoraError: _shora_error,
            HTTPException: _http_error,
        },
    )
    app.state.keeper = keeper
    app.state.hall = hall
    app.state.secure = secure
    app.state.static_version = static_version()
    pages = Pages()
    pages.env.globals.update(
        council_tabs=councils.COUNCIL_TABS,
        status_labels=COUNCIL_STATUS,
        member_labels=MEMBER_STATUS,
        static_version=app.state.static_version,
        community_mode=hall is not None,
    )
    app.state.pages = pages
    app.state.port = port
    return app
