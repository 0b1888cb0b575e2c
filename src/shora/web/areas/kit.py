"""What the deliberation, mutual-aid and safety pages share: member names, the clock,
bounded forms with many fields, typed bodies from form values, and the words people
read for machine values (categories, methods, phases, statuses), each through N_().
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _, normalize_digits
from shora.node import CouncilInfo, Node
from shora.ui.labels import (
    ALERT,
    AVAILABILITY,
    CATEGORY,
    CHECKIN,
    CONSENT,
    EMERGENCY_STATUS,
    METHODS,
    NOTE_STATUS,
    PHASES,
    ROLE_NAMES,
    SECRET_PHASES,
    SEXES,
    SKILL_LABELS,
    STATUS,
    TASK_STATUS,
    TIME_UNITS,
    UNIT,
    URGENCY,
    VISIBILITY_CHOICE,
    YES_NO,
    lookup,
)
from shora.web.forms import council_of, hex_id, integer
from shora.web.responses import node_of, pages_of, redirect

T = TypeVar("T")
MANY_FIELDS = 160  # a ballot or a proposal: up to 50 options, a few fields each
MINUTE, HOUR, DAY = 60, 3600, 86_400
UNIT_SECONDS = {"minutes": MINUTE, "hours": HOUR, "days": DAY}
UNITS = TIME_UNITS  # the pages' name for it


LABELS: dict[str, dict[str, str]] = {
    "category": CATEGORY,
    "unit": UNIT,
    "urgency": URGENCY,
    "item_status": STATUS,
    "checkin": CHECKIN,
    "alert": ALERT,
    "visibility": VISIBILITY_CHOICE,
    "method": METHODS,
    "phase": PHASES,
    "secret_phase": SECRET_PHASES,
    "task": TASK_STATUS,
    "yes_no": YES_NO,
    "consent": CONSENT,
    "availability": AVAILABILITY,
    "role": ROLE_NAMES,
    "emergency": EMERGENCY_STATUS,
    "note_status": NOTE_STATUS,
    "skill": SKILL_LABELS,
    "time_unit": TIME_UNITS,
    "sex": SEXES,
}


def label(table: str, value: str | None) -> str:
    """The translated word for a machine value (the value itself if it has none)."""
    return lookup(LABELS, table, value)


def now(node: Node) -> int:
    return int(node.now())


def names(node: Node, council: bytes) -> dict[bytes, str]:
    """Every member's name by key (removed and departed members too)."""
    return node.councils.names(council)


def me(node: Node, council: bytes) -> bytes | None:
    """This profile's member key in the council, if it has one there."""
    return node.me(council)


def opened(request: Request) -> tuple[Node, CouncilInfo]:
    node = node_of(request)
    return node, council_of(request, node)


async def many_fields(request: Request) -> FormData:
    """A form with up to MANY_FIELDS fields (a ballot over many options)."""
    return await request.form(max_fields=MANY_FIELDS, max_files=0)


def field(form: FormData, name: str, limit: int = 200) -> str:
    """An optional text field, stripped, at most `limit` characters."""
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(_("{field} must be text.").format(field=name))
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(_("That text is too long (at most {n} characters).").format(n=limit))
    return value


def whole(form: FormData, name: str, default: int | None, low: int, high: int) -> int | None:
    """A whole number (Persian digits welcome) within bounds, or `default` if empty."""
    value = field(form, name, 20)
    if not value:
        return default
    try:
        n = int(normalize_digits(value))
    except ValueError:
        raise InvalidInput(_("{value} is not a whole number.").format(value=value)) from None
    if not low <= n <= high:
        raise InvalidInput(
            _("{value} is out of range ({low} to {high}).").format(value=value, low=low, high=high)
        )
    return n


def duration(form: FormData, prefix: str, default_hours: int | None) -> int | None:
    """Seconds from a number field `prefix` and its unit field `prefix_unit`."""
    amount = whole(form, prefix, None, 1, 100_000)
    if amount is None:
        return default_hours * HOUR if default_hours is not None else None
    unit = field(form, prefix + "_unit", 10) or "hours"
    if unit not in UNIT_SECONDS:
        raise InvalidInput(_("Please choose minutes, hours or days."))
    seconds = amount * UNIT_SECONDS[unit]
    if seconds > 365 * DAY:
        raise InvalidInput(_("At most a year ahead, please."))
    return seconds


def build(kind: type[T], data: dict[str, Any]) -> T:
    """A typed body from form values, validated against its bounds; InvalidInput if not."""
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise InvalidInput(
            _("Some of what was entered is not valid: {problem}").format(problem=exc)
        ) from None


def hex_or_none(value: str) -> bytes | None:
    """An id written as 64 hex digits, or None when empty; InvalidInput if malformed."""
    value = value.strip().lower()
    if not value:
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise InvalidInput(_("That is not a valid id."))
    return raw


def page_of(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    """Render with the label function every page of these areas uses."""
    return pages_of(request).render(
        request, template, {"label": label, "error": None, **context}, status
    )


Build = Callable[[Node, CouncilInfo], dict[str, Any]]
Action = Callable[[Node, CouncilInfo, FormData], Awaitable[str | None]]


def _listed(request: Request, node: Node, info: CouncilInfo, context: Build) -> dict[str, Any]:
    """The page's context; a list under "items" is shown a page at a time (paged)."""
    found = context(node, info)
    if "items" in found:
        found.update(paged(request, found["items"]))
    return found


async def handle(
    request: Request, template: str, context: Build, action: Action | None, back: str
) -> Response:
    """A page with a form: GET shows it; POST runs `action` and goes to the council's
    page `back` (or where the action says), or shows the page again with the refusal."""
    node, info = opened(request)
    if request.method == "GET" or action is None:
        return page_of(
            request, template, {"council": info, **_listed(request, node, info, context)}
        )
    form = await many_fields(request)
    try:
        where = await action(node, info, form)
    except (InvalidInput, NotAllowed, NotFound) as exc:
        typed = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        page = {
            "council": info,
            **_listed(request, node, info, context),
            "error": str(exc),
            "typed": typed,  # what was typed, shown again with the refusal
        }
        return page_of(request, template, page, 400)
    return redirect(request, where or f"/councils/{info.id.hex()}/{back}")


PER_PAGE = 20


def paged(request: Request, items: list[T], per_page: int = PER_PAGE) -> dict[str, Any]:
    """One page of `items` (?page=N) and what the pager needs: page, more, base."""
    pages = max(1, (len(items) + per_page - 1) // per_page)
    page = integer(request.query_params.get("page"), 1, 1, pages)
    return {
        "shown": items[(page - 1) * per_page : page * per_page],
        "page": page,
        "more": page < pages,
        "base": request.url.path,
    }


async def act_on_proposal(
    request: Request,
    action: Callable[[Any, bytes, bytes], Awaitable[str | None]],
    show: Callable[[Request, str, int], Awaitable[Response]],
    base: Callable[[bytes], str],
) -> Response:
    """Run a write on the proposal in the path (open or secret); on a refusal, `show`
    its page again with the reason, else go back to it (with the suffix `action` gives)."""
    node, info = opened(request)
    proposal = hex_id(str(request.path_params["proposal"]))
    try:
        suffix = await action(node, info.id, proposal)
    except (InvalidInput, NotAllowed) as exc:
        return await show(request, str(exc), 400)
    return redirect(request, f"{base(info.id)}/{proposal.hex()}{suffix or ''}")
