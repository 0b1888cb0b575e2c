"""Safety: alerts (active first; post, confirm, retract), roll calls with who has and
has not answered, "on my way" to a call for help, missing people (records, notes with
a status, linking duplicates) and one's dead-man timer. Check-ins are the home page's
buttons (councils.py). Services: node.safety and node.deadman_missing."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput, NotFound
from shora.i18n import _, normalize_digits
from shora.node import CouncilInfo, Node
from shora.numbers import digits_only
from shora.services.aid import kinds as ak
from shora.services.care import kinds as ck
from shora.web.areas.aid import area_names
from shora.web.areas.kit import (
    HOUR,
    build,
    duration,
    field,
    handle,
    hex_or_none,
    me,
    names,
    now,
    opened,
    page_of,
    whole,
)
from shora.web.forms import form_of, hex_id
from shora.web.responses import redirect


def _path(info: CouncilInfo, tail: str) -> str:
    return f"/councils/{info.id.hex()}/{tail}"


def _area(form: FormData, name: str = "area") -> str | None:
    return field(form, name, 64).lower() or None


# --- alerts ---------------------------------------------------------------------------


def _alerts(node: Node, info: CouncilInfo) -> dict[str, Any]:
    at = now(node)
    found = node.safety.alerts(info.id, at, active_only=False)
    found.sort(key=lambda a: (not a.active(at), -a.time))
    return {
        "items": [(a, a.active(at)) for a in found],
        "kinds": ak.ALERT_KINDS,
        "areas": area_names(node, info.id),
        "people": names(node, info.id),
        "mine": me(node, info.id),
    }


async def alerts(request: Request) -> Response:
    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        expires = duration(form, "expires", None)
        area = _area(form)
        if area is None:
            raise InvalidInput(_("Please choose an area."))
        node.safety.alert(
            info.id,
            field(form, "kind", 30),
            area,
            now(node) + expires if expires is not None else None,
            field(form, "note", 200),
        )
        return None

    return await handle(request, "safety/alerts.html", _alerts, run, "alerts")


async def alert_action(request: Request) -> Response:
    alert = hex_id(str(request.path_params["alert"]))

    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        if field(form, "action", 10) == "retract":
            node.safety.retract_alert(info.id, alert)
        else:
            node.safety.confirm_alert(info.id, alert)
        return None

    return await handle(request, "safety/alerts.html", _alerts, run, "alerts")


# --- roll calls -----------------------------------------------------------------------


def _rollcalls(node: Node, info: CouncilInfo) -> dict[str, Any]:
    try:
        call = node.safety.rollcall_state(info.id)
    except NotFound:
        call = None
    return {"call": call, "areas": area_names(node, info.id), "people": names(node, info.id)}


async def rollcalls(request: Request) -> Response:
    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        node.safety.rollcall(info.id, _area(form))
        return None

    return await handle(request, "safety/rollcalls.html", _rollcalls, run, "rollcalls")


async def rollcall_latest(request: Request) -> Response:
    """The latest roll call alone, for the page to poll while people answer."""
    node, info = opened(request)
    return page_of(request, "safety/_rollcall.html", {"council": info, **_rollcalls(node, info)})


async def respond(request: Request) -> Response:
    """ "On my way" to a call for help, from the home page."""
    node, info = opened(request)
    await form_of(request)  # the Guard has checked its token
    node.safety.respond(info.id, hex_id(str(request.path_params["checkin"])))
    return redirect(request, f"/councils/{info.id.hex()}?answered=1#help")


# --- missing people -------------------------------------------------------------------


def _missing(node: Node, info: CouncilInfo) -> dict[str, Any]:
    found = sorted(node.deadman_missing.persons(info.id), key=lambda p: (p.found, -p.time))
    return {
        "persons": found,
        "items": found,
        "areas": area_names(node, info.id),
        "people": names(node, info.id),
        "statuses": ck.NOTE_STATUSES,
        "sexes": ck.SEXES,
    }


def _age(text: str) -> tuple[int | None, int | None]:
    text = normalize_digits(text).replace(" ", "")
    if not text:
        return None, None
    low, _sep, high = text.partition("-")
    if not digits_only(low) or (high and not digits_only(high)) or len(text) > 7:
        raise InvalidInput(_("An age is a number or a range such as 30-40."))
    return int(low), int(high or low)


def person_body(form: FormData, at: int) -> ck.MissingPerson:
    low, high = _age(field(form, "age", 10))
    seen = whole(form, "seen_hours_ago", None, 0, 24 * 3650)
    alternates = [n.strip() for n in field(form, "alternate_names", 1000).split(",") if n.strip()]
    sex = field(form, "sex", 10) or None
    return build(
        ck.MissingPerson,
        {
            "full_name": field(form, "full_name", 200),
            "alternate_names": alternates,
            "age_min": low,
            "age_max": high,
            "sex": sex,
            "description": field(form, "description", 20_000),
            "last_seen_area": _area(form, "last_seen_area"),
            "last_seen": at - seen * HOUR if seen is not None else None,
        },
    )


async def missing(request: Request) -> Response:
    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        body = person_body(form, now(node))
        if not body.full_name:
            raise InvalidInput(_("Please give the person's name."))
        node.deadman_missing.add_person(info.id, body)
        return None

    return await handle(request, "safety/missing.html", _missing, run, "missing")


async def missing_note(request: Request) -> Response:
    person = hex_id(str(request.path_params["person"]))

    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        status = field(form, "status", 30) or None
        body = build(
            ck.MissingNote,
            {
                "person": person,
                "status": status,
                "text": field(form, "text", 20_000),
                "last_known_area": _area(form, "last_known_area"),
                "found": field(form, "found", 5) == "1",
                "linked_person": hex_or_none(field(form, "linked_person", 64)),
            },
        )
        node.deadman_missing.add_note(info.id, body)
        return None

    return await handle(request, "safety/missing.html", _missing, run, "missing")


# --- the dead-man timer ---------------------------------------------------------------


def _deadman(node: Node, info: CouncilInfo) -> dict[str, Any]:
    mine = me(node, info.id)
    state = node.deadman_missing.deadman_state(info.id)
    others = [m for m in node.councils.members(info.id) if m.status == "active" and m.key != mine]
    return {
        "timer": state.timers.get(mine) if mine is not None else None,
        "members": others,
        "people": names(node, info.id),
        "naming_me": node.deadman_missing.naming_me(info.id),
        "max_hours": ck.MAX_DEADMAN_HOURS,
    }


async def deadman(request: Request) -> Response:
    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        if field(form, "clear", 5) == "1":
            node.deadman_missing.clear_deadman(info.id)
            return None
        hours = whole(form, "hours", None, 1, ck.MAX_DEADMAN_HOURS)
        if hours is None:
            raise InvalidInput(_("Please say after how many hours."))
        contacts = [hex_or_none(str(c)[:64]) for c in form.getlist("contact")]
        node.deadman_missing.set_deadman(info.id, hours, [c for c in contacts if c is not None])
        return None

    return await handle(request, "safety/deadman.html", _deadman, run, "deadman")


routes: list[BaseRoute] = [
    Route("/councils/{council}/alerts", alerts, methods=["GET", "POST"]),
    Route("/councils/{council}/alerts/{alert}", alert_action, methods=["POST"]),
    Route("/councils/{council}/rollcalls", rollcalls, methods=["GET", "POST"]),
    Route("/councils/{council}/rollcalls/latest", rollcall_latest),
    Route("/councils/{council}/help/{checkin}", respond, methods=["POST"]),
    Route("/councils/{council}/missing", missing, methods=["GET", "POST"]),
    Route("/councils/{council}/missing/{person}", missing_note, methods=["POST"]),
    Route("/councils/{council}/deadman", deadman, methods=["GET", "POST"]),
]
