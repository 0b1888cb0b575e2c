"""The person's councils (found one, rename one) and a council's home page.

The home page shows, in order, the sections in HOME_SECTIONS: active alerts, open
decisions and urgent needs are placeholders the decisions and mutual-aid areas
replace by registering their own section; then the check-in buttons and the latest
announcements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.i18n import COMMON_TIME_ZONES, N_, default_time_zone
from shora.node import CouncilInfo, Node
from shora.services.councils import Rules
from shora.services.safety import CHECKIN_STATUSES
from shora.web.areas import discussion
from shora.web.areas import home as sections
from shora.web.areas.aid import area_names
from shora.web.areas.home import help_box as sections_help
from shora.web.areas.joining import waiting_page
from shora.web.areas.kit import me
from shora.web.areas.pledges import met_banner
from shora.web.forms import (
    NAME_CHARS,
    PERSON_CHARS,
    TEXT_CHARS,
    council_of,
    form_of,
    integer,
    text,
)
from shora.web.responses import node_of, pages_of, redirect

ANNOUNCEMENTS_ON_HOME = 5
CHECKIN_LABELS = {
    "safe": N_("I'm safe"),
    "need_help": N_("I need help"),
    "injured": N_("I'm injured"),
}


@dataclass(frozen=True)
class HomeSection:
    """One section of a council's home page: its heading, template and data."""

    key: str
    title: str  # an N_() msgid, translated when shown
    template: str
    context: Callable[[Node, CouncilInfo], dict[str, Any]]


def _nothing(node: Node, info: CouncilInfo) -> dict[str, Any]:
    return {}


def _checkins(node: Node, info: CouncilInfo) -> dict[str, Any]:
    mine = me(node, info.id)
    return {
        "available": True,
        "areas": area_names(node, info.id),
        "here": node.safety.last_area(info.id, mine) if mine is not None else None,
    }


def _announcements(node: Node, info: CouncilInfo) -> dict[str, Any]:
    found: list[dict[str, Any]] = []
    offset = 0
    while len(found) < ANNOUNCEMENTS_ON_HOME:
        page = node.posts.posts(info.id, limit=50, offset=offset)
        if not page:
            break
        found += [p for p in page if p["kind"] == "post.announcement"]
        offset += 50
        if offset >= 500:  # a home page does not scan the whole history for them
            break
    return {"announcements": found[:ANNOUNCEMENTS_ON_HOME]}


# The links under a council's name: (path after /councils/ID, N_() label).
COUNCIL_TABS: list[tuple[str, str]] = [
    ("", N_("Home")),
    ("/members", N_("Members")),
    ("/posts", N_("Posts")),
    ("/decisions", N_("Decisions")),
    ("/needs", N_("Mutual aid")),
    ("/alerts", N_("Safety")),
    ("/federation", N_("Federation")),
    ("/fund", N_("Strike fund")),
]

HOME_SECTIONS: list[HomeSection] = [
    HomeSection("alerts", N_("Active alerts"), "councils/_alerts.html", sections.alerts),
    HomeSection("news", N_("New since you last looked"), "councils/_news.html", discussion.news),
    HomeSection("decisions", N_("Open decisions"), "councils/_decisions.html", sections.decisions),
    HomeSection("ask", N_("I need…"), "councils/_ask.html", sections.ask),
    HomeSection("needs", N_("Urgent needs"), "councils/_needs.html", sections.needs),
    HomeSection("checkin", N_("Check in"), "councils/_checkin.html", _checkins),
    HomeSection(
        "announcements", N_("Announcements"), "councils/_announcements.html", _announcements
    ),
]


async def councils(request: Request) -> Response:
    node = node_of(request)
    error = None
    if request.method == "POST":
        form = await form_of(request)
        name = text(form, "name", NAME_CHARS)
        founder = text(form, "founder", PERSON_CHARS)
        description = text(form, "description", TEXT_CHARS, required=False)
        default = Rules().min_vote_hours
        hours = integer(form.get("min_vote_hours"), default, 0, 720)  # type: ignore[arg-type]
        zone = text(form, "time_zone", 200, required=False) or default_time_zone()
        rules = Rules(min_vote_hours=hours, time_zone=zone)  # the zone is checked on founding
        council = node.councils.create(name, description, founder, rules)
        return redirect(request, f"/councils/{council.hex()}")
    listed = node.councils.all()
    calls = {c.id: len(node.safety.help_calls(c.id)) for c in listed if c.status == "member"}
    context = {
        "councils": listed,
        "calls": calls,
        "error": error,
        "default_min_vote_hours": Rules().min_vote_hours,
        "time_zones": COMMON_TIME_ZONES,
        "default_time_zone": default_time_zone(),
    }
    return pages_of(request).render(request, "councils/list.html", context)


async def home(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    if info.status == "joining":
        return waiting_page(request, node, info)
    sections = [(s, s.context(node, info)) for s in HOME_SECTIONS]
    context = {
        "council": info,
        "help": sections_help(node, info),
        "pledges_met": met_banner(node, info.id),
        "sections": sections,
        "checkins": [(s, CHECKIN_LABELS[s]) for s in CHECKIN_STATUSES if s in CHECKIN_LABELS],
        "checked_in": request.query_params.get("checked_in") in CHECKIN_LABELS,
        "voted": request.query_params.get("voted", "")[:64],
        "posted": request.query_params.get("posted") == "1",
    }
    return pages_of(request).render(request, "councils/home.html", context)


async def rename(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    form = await form_of(request)
    node.councils.update(info.id, text(form, "name", NAME_CHARS), None)
    return redirect(request, f"/councils/{info.id.hex()}")


async def checkin(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    form = await form_of(request)
    status = text(form, "status", 20)
    area = text(form, "area", 64, required=False).lower() or None
    node.safety.checkin(info.id, status, area)
    return redirect(request, f"/councils/{info.id.hex()}?checked_in={status}")


routes: list[BaseRoute] = [
    Route("/councils", councils, methods=["GET", "POST"]),
    Route("/councils/{council}", home),
    Route("/councils/{council}/rename", rename, methods=["POST"]),
    Route("/councils/{council}/checkin", checkin, methods=["POST"]),
]
