"""Federations and mandates: founding a federation, its delegates and their base
councils, flags, admitting a delegate on a mandate, the summary across councils,
ratification and a base council's revocation (on the federation's side); the
mandates a council gives its delegate, signing and revoking them, and the notices
federations sent (on the base council's side). Same service calls as the CLI
(docs/federation.md); ending a seat or revoking a mandate asks first."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput
from shora.i18n import COMMON_TIME_ZONES, _, default_time_zone
from shora.node import CouncilInfo, Node
from shora.services.federation import md
from shora.services.fund import currency_name, format_amount
from shora.web.areas.joining import posted_join_request
from shora.web.areas.kit import label
from shora.web.forms import (
    NAME_CHARS,
    PERSON_CHARS,
    TEXT_CHARS,
    TOKEN_CHARS,
    council_of,
    form_of,
    hex_id,
    integer,
    text,
)
from shora.web.responses import node_of, pages_of, redirect

NOTICES = 50


def _confirmed(form: FormData | None) -> bool:
    return form is not None and form.get("confirm") == "yes"


async def new(request: Request) -> Response:
    """Found a federation: its members are delegates of their councils."""
    node = node_of(request)
    context: dict[str, Any] = {
        "name": "",
        "founder": "",
        "seats": 1,
        "time_zone": default_time_zone(),
        "time_zones": COMMON_TIME_ZONES,
        "error": "",
    }
    if request.method == "POST":
        form = await form_of(request)
        context = {
            "name": text(form, "name", NAME_CHARS, required=False),
            "founder": text(form, "founder", PERSON_CHARS, required=False),
            "seats": integer(str(form.get("seats") or ""), 1, 1, 100),
            "time_zone": text(form, "time_zone", 200, required=False) or default_time_zone(),
            "time_zones": COMMON_TIME_ZONES,
            "error": "",
        }
        if not context["name"] or not context["founder"]:
            context["error"] = _("Please fill in every required field.")
            return pages_of(request).render(request, "federation/new.html", context)
        try:
            council = node.federation.create(
                context["name"], context["founder"], context["seats"], context["time_zone"]
            )
        except InvalidInput as exc:
            context["error"] = str(exc)
        else:
            return redirect(request, f"/councils/{council.hex()}/federation")
    return pages_of(request).render(request, "federation/new.html", context)


def _federation_context(node: Node, info: CouncilInfo) -> dict[str, Any]:
    node.housekeeping.run(info.id)
    councils, rows = node.federation_flow.totals(info.id)
    return {
        "seats": node.federation.seats(info.id),
        "flags": node.federation_flow.flags(info.id),
        "councils": councils,
        "rows": rows,
        "delegate": node.federation_flow.my_seat(info.id) is not None,
        "label": label,
        "fund": node.fund_federation.federation_totals(info.id),
        "money": format_amount,
        "currency_name": currency_name,
    }


def _base_context(node: Node, info: CouncilInfo) -> dict[str, Any]:
    node.housekeeping.run(info.id)
    me = info.my_key
    return {
        "mandates": node.federation.mandates(info.id),
        "notices": node.federation_flow.notices(info.id, NOTICES, 0),
        "me": me,
        # A federation just joined is not known as one until admission: offer every other.
        "others": [c for c in node.councils.all() if c.id != info.id],
        "revocable": lambda view: node.federation.revocable(info.id, view),
        "text_of": md.to_text,
        "instructions_of": md.render_instructions,
    }


async def page(request: Request) -> Response:
    """A federation's page, or a base council's mandates and notices."""
    node = node_of(request)
    info = council_of(request, node)
    is_federation = node.federation.is_federation(info.id)
    context: dict[str, Any] = {"council": info, "is_federation": is_federation}
    context.update(_federation_context(node, info) if is_federation else _base_context(node, info))
    return pages_of(request).render(request, "federation/page.html", context)


async def admit(request: Request) -> Response:
    """Admit a delegate who joined with a join request, on the mandate they carry."""
    node = node_of(request)
    info = council_of(request, node)
    signed, form = await posted_join_request(request)
    result = node.federation.admit(info.id, signed, text(form, "mandate", TOKEN_CHARS))
    context = {"council": info, "result": result}
    return pages_of(request).render(request, "members/admitted.html", context)


async def share_summary(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    node.federation_flow.post_summary(info.id, force=True)
    node.fund_federation.share(info.id)
    return redirect(request, f"/councils/{info.id.hex()}/federation")


async def ratify(request: Request) -> Response:
    """Ask the member councils to ratify a proposal (or only look), and show the count."""
    node = node_of(request)
    info = council_of(request, node)
    form = await form_of(request)
    pid = node.decisions.find_proposal(info.id, text(form, "proposal", 64))
    if form.get("ask") == "yes":
        node.federation_flow.request_ratification(info.id, pid)
    context = {
        "council": info,
        "result": node.federation_flow.ratification(info.id, pid),
        "proposal": pid,
    }
    return pages_of(request).render(request, "federation/ratified.html", context)


async def apply(request: Request) -> Response:
    """End a delegate's seat on their base council's revocation, after asking."""
    node = node_of(request)
    info = council_of(request, node)
    form = await form_of(request) if request.method == "POST" else None
    revocation = text(form, "revocation", TOKEN_CHARS, required=False) if form else ""
    name = None
    if _confirmed(form):
        name = node.federation.apply_revocation(info.id, revocation)
    context = {"council": info, "revocation": revocation, "name": name}
    return pages_of(request).render(request, "federation/confirm_apply.html", context)


def _items(typed: str) -> list[md.Item]:
    """One instruction per line, "item = vote"."""
    items = []
    for line in typed.splitlines():
        if line.strip():
            try:
                items.append(md.parse_item(line))
            except InvalidInput:
                raise InvalidInput(
                    _("Write each instruction on its own line as item = vote.")
                ) from None
    return items


async def request_mandate(request: Request) -> Response:
    """As the elected delegate, ask the council to sign a mandate for a federation."""
    node = node_of(request)
    info = council_of(request, node)
    form = await form_of(request)
    federation = hex_id(text(form, "federation", 64))
    days = form.get("days")
    passed = text(form, "proposal", 64, required=False)
    node.federation.request_mandate(
        info.id,
        federation,
        days=integer(str(days), 30, 1, 3650) if days else None,
        instructions=md.Instructions(
            text(form, "instructions", TEXT_CHARS, required=False),
            _items(text(form, "items", TEXT_CHARS, required=False)),
        ),
        instructions_proposal=node.decisions.find_proposal(info.id, passed) if passed else None,
        federation_name=node.councils.get(federation).name,
    )
    return redirect(request, f"/councils/{info.id.hex()}/federation")


async def sign(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    view = node.federation.find_mandate(info.id, str(request.path_params["mandate"]))
    node.federation.sign(info.id, view.request)
    return redirect(request, f"/councils/{info.id.hex()}/federation")


async def revoke(request: Request) -> Response:
    """Sign the revocation of a recalled delegate's mandate, after a page that asks."""
    node = node_of(request)
    info = council_of(request, node)
    view = node.federation.find_mandate(info.id, str(request.path_params["mandate"]))
    form = await form_of(request) if request.method == "POST" else None
    if _confirmed(form) and info.my_key not in view.revocation_signers:
        node.federation.sign_revocation(info.id, view)
        return redirect(request, f"/councils/{info.id.hex()}/federation")
    context = {"council": info, "view": view}
    return pages_of(request).render(request, "federation/confirm_revoke.html", context)


routes: list[BaseRoute] = [
    Route("/federations/new", new, methods=["GET", "POST"]),
    Route("/councils/{council}/federation", page),
    Route("/councils/{council}/federation/admit", admit, methods=["POST"]),
    Route("/councils/{council}/federation/summary", share_summary, methods=["POST"]),
    Route("/councils/{council}/federation/ratify", ratify, methods=["POST"]),
    Route("/councils/{council}/federation/apply", apply, methods=["GET", "POST"]),
    Route("/councils/{council}/mandates", request_mandate, methods=["POST"]),
    Route("/councils/{council}/mandates/{mandate}/sign", sign, methods=["POST"]),
    Route("/councils/{council}/mandates/{mandate}/revoke", revoke, methods=["GET", "POST"]),
]
