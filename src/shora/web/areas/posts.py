"""Posts: a council's announcements and messages, newest first, a page at a time,
and the form to write one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.web.forms import TEXT_CHARS, TITLE_CHARS, council_of, form_of, integer, text
from shora.web.responses import node_of, pages_of, redirect

PER_PAGE = 20
MAX_PAGE = 100_000


async def posts(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    if request.method == "POST":
        form = await form_of(request)
        title = text(form, "title", TITLE_CHARS, required=False)
        body = text(form, "text", TEXT_CHARS)
        node.posts.post(info.id, body, title or None)
        return redirect(request, f"/councils/{info.id.hex()}/posts")
    page = integer(request.query_params.get("page"), 1, 1, MAX_PAGE)
    found = node.posts.posts(info.id, limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE)
    context = {
        "council": info,
        "posts": found[:PER_PAGE],
        "page": page,
        "more": len(found) > PER_PAGE,
    }
    return pages_of(request).render(request, "posts/list.html", context)


routes: list[BaseRoute] = [
    Route("/councils/{council}/posts", posts, methods=["GET", "POST"]),
]
