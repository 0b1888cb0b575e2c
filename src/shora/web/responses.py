"""What every page area uses to reach the node and answer: lookups and redirects."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from shora.i18n import _
from shora.node import Node
from shora.web.state import Keeper, Locked
from shora.web.templating import Pages


def keeper_of(request: Request) -> Keeper:
    """The profile this request may use: the one the Guard found for its session (in
    community mode, the one profile the session was bound to when it was unlocked);
    raises Locked if there is none."""
    keeper: Keeper | None = request.scope.get("state", {}).get("keeper")
    if keeper is None:
        raise Locked(_("The profile is locked."))
    return keeper


def node_of(request: Request) -> Node:
    """The open node; raises Locked (the app then asks for the passphrase)."""
    return keeper_of(request).require_node()


def pages_of(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def redirect(request: Request, url: str) -> Response:
    """A redirect that htmx follows as a full page load, and a browser as a 303."""
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def safe_next(url: str | None) -> str:
    """Where to go after a form: only a path on this server, never another site."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url[:500]
