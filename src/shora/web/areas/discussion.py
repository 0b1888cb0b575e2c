"""Discussion: a proposal's, need's, offer's or task's comments with replies and
mentions, the notifications page (mentions of me, replies to me, comments on what I
wrote), its count for the page's optional browser notification, and the "new since you
last looked" counts the lists show. Service: node.discussion.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import N_
from shora.node import CouncilInfo, Node
from shora.services.discussion import MAX_COMMENT_CHARS, CommentView
from shora.web.areas.kit import (
    field,
    hex_or_none,
    many_fields,
    me,
    names,
    opened,
    page_of,
    paged,
)
from shora.web.areas.pledges import met_banner
from shora.web.forms import hex_id
from shora.web.responses import redirect

WORDS = {
    "proposal": N_("The proposal"),
    "need": N_("The need"),
    "offer": N_("The offer"),
    "task": N_("The task"),
    "mention": N_("Mentioned you"),
    "reply": N_("Replied to you"),
    "comment": N_("Commented on what you wrote"),
    "proposals": N_("Proposals"),
    "needs": N_("Needs"),
    "tasks": N_("Tasks"),
}

PER_PAGE = 30  # comments on one page of a thread, oldest first

# Where each kind of subject has its own page, under the council's address.
SUBJECT_PAGES = {"proposal": "/decisions/", "need": "/items/", "offer": "/items/", "task": "/tasks"}


def fresh(node: Node, council: bytes, what: str) -> int:
    """How many items of a list are new to this person; now they have looked."""
    count = node.discussion.new_since(council, what)
    node.discussion.mark_looked(council, what)
    return count


def news(node: Node, info: CouncilInfo) -> dict[str, Any]:
    """The council home's "new since you last looked" section."""
    counts = [
        (what, node.discussion.new_since(info.id, what)) for what in ("proposals", "needs", "tasks")
    ]
    return {"counts": counts, "unread": node.discussion.unread(info.id), "words": WORDS}


def subject_page(council: bytes, what: str, subject: bytes) -> str:
    page = SUBJECT_PAGES[what]
    tail = subject.hex() if page.endswith("/") else ""
    return f"/councils/{council.hex()}{page}{tail}"


def _thread(request: Request, error: str | None = None, status: int = 200) -> Response:
    node, info = opened(request)
    subject = hex_id(str(request.path_params["subject"]))
    what = node.discussion.subject_of(info.id, subject)
    mine = me(node, info.id)
    people = names(node, info.id)
    active = node.discussion.mentionable(info.id, subject)
    thread = node.discussion.comments(info.id, subject)
    replying = hex_or_none(request.query_params.get("reply", ""))
    pages = _pages(request, thread)
    context = {
        "council": info,
        "what": what,
        "subject": subject,
        "subject_page": subject_page(info.id, what, subject),
        "thread": thread,
        **pages,
        "by_id": {c.id: c for c in thread},
        "people": people,
        "members": [(k, n) for k, n in people.items() if k != mine and k in active],
        "replying": replying if replying in {c.id for c in thread} else None,
        "error": error,
        "words": WORDS,
    }
    return page_of(request, "discussion/thread.html", context, status)


def _pages(request: Request, thread: list[CommentView]) -> dict[str, Any]:
    """A page of the thread: ?page=N, or ?at=COMMENT for the page that holds it (the
    links from the notifications page)."""
    at = hex_or_none(request.query_params.get("at", ""))
    index = next((i for i, c in enumerate(thread) if c.id == at), None)
    if index is None:
        return paged(request, thread, PER_PAGE)
    page = index // PER_PAGE + 1
    return {
        "shown": thread[(page - 1) * PER_PAGE : page * PER_PAGE],
        "page": page,
        "more": page * PER_PAGE < len(thread),
        "base": request.url.path,
    }


async def thread(request: Request) -> Response:
    if request.method == "GET":
        return _thread(request)
    node, info = opened(request)
    subject = hex_id(str(request.path_params["subject"]))
    form = await many_fields(request)
    try:
        chosen = [hex_or_none(str(m)[:64]) for m in form.getlist("mention")]
        mentions = [m for m in chosen if m is not None]
        node.discussion.comment(
            info.id,
            subject,
            field(form, "text", MAX_COMMENT_CHARS + 1),
            hex_or_none(field(form, "reply_to", 64)),
            mentions,
        )
    except NotFound as exc:
        return _thread(request, str(exc), 404)
    except (InvalidInput, NotAllowed) as exc:
        return _thread(request, str(exc), 400)
    return redirect(request, f"/councils/{info.id.hex()}/discuss/{subject.hex()}")


async def notifications(request: Request) -> Response:
    node, info = opened(request)
    found = node.discussion.notifications(info.id)
    node.discussion.mark_looked(info.id, "notifications")
    people = names(node, info.id)
    context = {"council": info, "people": people, "words": WORDS, **paged(request, found)}
    context["pledges_met"] = met_banner(node, info.id)
    context["to_cast_again"] = node.ballots.to_cast_again(info.id)
    context["to_pledge_again"] = node.pledges.to_pledge_again(info.id)
    return page_of(request, "discussion/notifications.html", context)


async def count(request: Request) -> Response:
    """The unread count the page's script polls; it never leaves this machine."""
    node, info = opened(request)
    return JSONResponse({"unread": node.discussion.unread(info.id)})


routes: list[BaseRoute] = [
    Route("/councils/{council}/discuss/{subject}", thread, methods=["GET", "POST"]),
    Route("/councils/{council}/notifications", notifications),
    Route("/councils/{council}/notifications/count", count),
]
