"""Installing the pages to a phone's home screen: the service worker, served from the
root so that it may keep the static files for every page (static/sw.js says what it
keeps: the static files only, never a page or a council's data)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.web.app_files import read_static


async def service_worker(request: Request) -> Response:
    version: str = request.app.state.static_version
    script = read_static("sw.js").replace("__VERSION__", version)
    return Response(script, media_type="text/javascript")  # never kept (no-store)


routes: list[BaseRoute] = [Route("/sw.js", service_worker)]
