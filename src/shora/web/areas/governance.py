"""Self-government and follow-up: tasks, minutes, roles with their terms and elections,
recall petitions, the rules and rule changes, emergency actions to ratify.
Services: node.decisions (tasks, minutes) and node.governance."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput
from shora.i18n import COMMON_TIME_ZONES, _
from shora.node import CouncilInfo, Node
from shora.services.decisions import kinds as dk
from shora.services.governance import MODES, RULE_LABELS, SECRET_BALLOTS, SHARE_RULES, Rules
from shora.web.areas.decisions_forms import share, share_choices
from shora.web.areas.discussion import fresh
from shora.web.areas.kit import (
    DAY,
    field,
    handle,
    hex_or_none,
    names,
    now,
    whole,
)
from shora.web.forms import REASON_CHARS, TEXT_CHARS, TITLE_CHARS, hex_id

NUMBER_RULES = {
    "admission_vouches": (1, 1000),
    "removal_vouches": (1, 1000),
    "grace_hours": (0, 720),
    "recall_petition": (1, 1000),
    "term_days": (1, 3650),
    "term_limit": (0, 100),
    "emergency_ratify_hours": (0, 8760),
    "max_pending_emergencies": (1, 100),
    "min_vote_hours": (0, 720),
    "min_governance_vote_hours": (1, 720),
    "clock_skew_minutes": (1, 1440),
    "upload_delay_seconds": (0, 3600),
}
# How members are admitted and removed, as the rules form offers it.
FORM_MODES = {mode: MODES[mode] for mode in ("member", "vouches", "vote")}


def _path(info: CouncilInfo, tail: str) -> str:
    return f"/councils/{info.id.hex()}/{tail}"


# --- tasks and minutes ---------------------------------------------------------------


def _tasks(node: Node, info: CouncilInfo) -> dict[str, Any]:
    people = names(node, info.id)
    found = node.decisions.tasks(info.id)
    order = {s: i for i, s in enumerate(dk.TASK_STATUSES)}
    found.sort(key=lambda t: (order.get(t.status, 9), -t.time))
    members = [(k, n) for k, n in people.items()]
    return {
        "items": found,
        "people": people,
        "members": members,
        "statuses": dk.TASK_STATUSES,
        "new": fresh(node, info.id, "tasks"),
    }


async def tasks(request: Request) -> Response:
    async def create(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        due_days = whole(form, "due_days", None, 0, 3650)
        node.decisions.create_task(
            info.id,
            field(form, "what", 1000),
            who=field(form, "who", 200),
            who_member=hex_or_none(field(form, "who_member", 64)),
            due=now(node) + due_days * DAY if due_days is not None else None,
        )
        return None

    return await handle(request, "decisions/tasks.html", _tasks, create, "tasks")


async def task_update(request: Request) -> Response:
    task = hex_id(str(request.path_params["task"]))

    async def update(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        node.decisions.update_task(
            info.id, task, field(form, "status", 20), field(form, "note", REASON_CHARS)
        )
        return _path(info, "tasks")

    return await handle(request, "decisions/tasks.html", _tasks, update, "tasks")


def _minutes(node: Node, info: CouncilInfo) -> dict[str, Any]:
    return {"minutes": node.decisions.minutes(info.id, 50, 0), "people": names(node, info.id)}


async def minutes(request: Request) -> Response:
    async def write(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        title = field(form, "title", TITLE_CHARS)
        if not title:
            raise InvalidInput(_("Minutes need a title."))
        node.decisions.write_minutes(info.id, title, field(form, "text", TEXT_CHARS))
        return None

    return await handle(request, "decisions/minutes.html", _minutes, write, "minutes")


# --- roles, elections, recall ----------------------------------------------------------


def _roles(node: Node, info: CouncilInfo) -> dict[str, Any]:
    active = [m for m in node.councils.members(info.id) if m.status == "active"]
    petitions = node.governance.petitions(info.id)
    return {
        "terms": node.governance.roles(info.id),
        "members": active,
        "petitions": petitions,
        "emergencies": node.governance.emergencies(info.id),
        "people": names(node, info.id),
        "role_choices": node.governance.role_choices(info.id),
    }


async def roles(request: Request) -> Response:
    return await handle(request, "decisions/roles.html", _roles, None, "roles")


async def elect(request: Request) -> Response:
    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        # A role chosen from the list (its key), or a new one by its name in any script.
        # (A client that sends a role's name in `role` is read the same way.)
        role = field(form, "new_role", 200) or field(form, "role", 200)
        if not role:
            raise InvalidInput(_("Please choose a role, or name a new one."))
        candidates = []
        for value in form.getlist("candidate"):
            key = hex_or_none(str(value)[:64])
            if key is not None:
                candidates.append(key)
        seats = whole(form, "seats", 1, 1, dk.MAX_SEATS) or 1
        method = field(form, "method", 10) or None
        hours = whole(form, "hours", 72, 1, 24 * 365) or 72
        if field(form, "secret", 5) == "1":
            action, body = node.governance.election(
                info.id, role, candidates, seats=seats, method=method, hours=hours
            )
            proposal = node.ballots.propose(info.id, body, action)
            return _path(info, f"secret/{proposal.hex()}")
        proposal = node.governance.elect(
            info.id, role, candidates, seats=seats, method=method, hours=hours
        )
        return _path(info, f"decisions/{proposal.hex()}")

    return await handle(request, "decisions/roles.html", _roles, run, "roles")


async def recall(request: Request) -> Response:
    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        role = field(form, "role", 32)
        member = hex_or_none(field(form, "member", 64))
        if member is None:
            raise InvalidInput(_("Please choose a member."))
        if field(form, "open_vote", 5) == "1":
            proposal = node.governance.recall(info.id, role, member)
            return _path(info, f"decisions/{proposal.hex()}")
        node.governance.petition(info.id, role, member, field(form, "reason", REASON_CHARS))
        return None

    return await handle(request, "decisions/roles.html", _roles, run, "roles")


async def ratify(request: Request) -> Response:
    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        action = hex_or_none(field(form, "action", 64))
        if action is None:
            raise InvalidInput(_("That is not a valid id."))
        proposal = node.governance.ratify(info.id, action)
        return _path(info, f"decisions/{proposal.hex()}")

    return await handle(request, "decisions/roles.html", _roles, run, "roles")


# --- rules ------------------------------------------------------------------------------


def _rules(node: Node, info: CouncilInfo) -> dict[str, Any]:
    current = node.governance.rules(info.id)
    return {
        "rules": msgspec.structs.asdict(current),
        "share_rules": SHARE_RULES,
        "share_choices": share_choices,
        "number_rules": NUMBER_RULES,
        "modes": FORM_MODES,
        "rule_labels": RULE_LABELS,
        "time_zones": COMMON_TIME_ZONES,
        "secret_modes": SECRET_BALLOTS,
    }


def rule_changes(form: FormData, current: Rules) -> dict[str, Any]:
    """The rules the form changes (fields left as they are are not changes)."""
    old = msgspec.structs.asdict(current)
    changes: dict[str, Any] = {}
    for name in SHARE_RULES:
        if field(form, name, 20):
            value = share(form, name, old[name])
            if value != old[name]:
                changes[name] = value
    for name, (low, high) in NUMBER_RULES.items():
        count = whole(form, name, old[name], low, high)
        if count != old[name]:
            changes[name] = count
    zone = field(form, "time_zone", 200)
    if zone and zone != (old["time_zone"] or "UTC"):
        changes["time_zone"] = zone  # checked by the service, in the person's language
    for name in ("admission", "removal"):
        mode = field(form, name, 10) or old[name]
        if mode not in FORM_MODES:
            raise InvalidInput(_("Please choose how members are admitted and removed."))
        if mode != old[name]:
            changes[name] = mode
    secret = field(form, "secret_ballots", 10) or old["secret_ballots"]
    if secret not in SECRET_BALLOTS:
        raise InvalidInput(_("Please choose when votes are held by secret ballot."))
    if secret != old["secret_ballots"]:
        changes["secret_ballots"] = secret
    return changes


async def rules(request: Request) -> Response:
    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        changes = rule_changes(form, node.governance.rules(info.id))
        if not changes:
            raise InvalidInput(_("Change at least one rule first."))
        hours = whole(form, "hours", 72, 1, 24 * 365) or 72
        text = field(form, "text", TEXT_CHARS)
        proposal = node.governance.change_rules(info.id, changes, text=text, hours=hours)
        return _path(info, f"decisions/{proposal.hex()}")

    return await handle(request, "decisions/rules.html", _rules, run, "rules")


routes: list[BaseRoute] = [
    Route("/councils/{council}/tasks", tasks, methods=["GET", "POST"]),
    Route("/councils/{council}/tasks/{task}", task_update, methods=["POST"]),
    Route("/councils/{council}/minutes", minutes, methods=["GET", "POST"]),
    Route("/councils/{council}/roles", roles),
    Route("/councils/{council}/roles/elect", elect, methods=["POST"]),
    Route("/councils/{council}/roles/recall", recall, methods=["POST"]),
    Route("/councils/{council}/roles/ratify", ratify, methods=["POST"]),
    Route("/councils/{council}/rules", rules, methods=["GET", "POST"]),
]
