"""The strike fund's pages: the overview every member sees (balances, totals, people
helped) with the forms to pledge, record a contribution and ask for a disbursement;
the requests, put to a vote and paid out; the ledger, with the parties opened for the
treasurers, the auditors and the person concerned. Service: node.fund (docs/fund.md).
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput
from shora.i18n import N_, _
from shora.node import CouncilInfo, Node
from shora.services import fund as fs
from shora.web.areas.kit import field, handle, hex_or_none, whole
from shora.web.forms import hex_id

ACCOUNT_LABELS = {
    "cash": N_("fund cash"),
    "pledges": N_("pledges receivable"),
    "income": N_("contributions income"),
    "expense": N_("disbursements expense"),
}
KIND_LABELS = {
    "pledge": N_("pledge"),
    "receipt": N_("receipt"),
    "disburse": N_("disbursement"),
}
CURRENCY_CHOICES = ("toman", "rial", "usd", "eur")
LEDGER_PAGE = 20


def _common(node: Node, info: CouncilInfo) -> dict[str, Any]:
    return {
        "money": fs.format_amount,
        "plain": fs.plain_amount,
        "currency_name": fs.currency_name,
        "currencies": CURRENCY_CHOICES,
        "treasurer": node.fund.is_treasurer(info.id),
        "auditor": node.fund.is_auditor(info.id),
        "members": [m for m in node.councils.members(info.id) if m.status == "active"],
        "reasons": fs.REASONS,
        "account_labels": ACCOUNT_LABELS,
        "kind_labels": KIND_LABELS,
    }


def _money(form: FormData) -> tuple[str, int]:
    currency = fs.parse_currency(field(form, "currency", 40) or "toman")
    amount = field(form, "amount", 40)
    if not amount:
        raise InvalidInput(_("Please give an amount."))
    return currency, fs.parse_amount(amount, currency)


def _party(form: FormData) -> dict[str, Any]:
    return {
        "member": hex_or_none(field(form, "member", 64)),
        "name": field(form, "name", 200),
        "note": field(form, "note", 1000),
        "memo": field(form, "memo", 200),
    }


def _path(info: CouncilInfo, tail: str) -> str:
    return f"/councils/{info.id.hex()}/{tail}"


# --- overview, pledge, contribution, request -----------------------------------------


def _overview(node: Node, info: CouncilInfo) -> dict[str, Any]:
    limits = node.governance.rules(info.id).treasurer_limits
    return {"view": node.fund.overview(info.id), "limits": limits, **_common(node, info)}


async def overview(request: Request) -> Response:
    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        action = field(form, "action", 20)
        currency, amount = _money(form)
        party = _party(form)
        if action == "pledge":
            node.fund.pledge(info.id, currency, amount, **party)
        elif action == "receive":
            node.fund.receive(info.id, currency, amount, **party)
        elif action == "request":
            made = node.fund.request(info.id, currency, amount, **party)
            if field(form, "vote", 5) == "1":
                proposal = node.fund.put_to_vote(info.id, made)
                return _path(info, f"decisions/{proposal.hex()}")
            return _path(info, "fund/requests")
        else:
            raise InvalidInput(_("Please choose what to record."))
        return None

    return await handle(request, "fund/overview.html", _overview, run, "fund")


# --- requests: vote and pay out ---------------------------------------------------------


def _requests(node: Node, info: CouncilInfo) -> dict[str, Any]:
    return {"requests": node.fund.requests(info.id), **_common(node, info)}


async def requests(request: Request) -> Response:
    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        # A disbursement within the treasurers' limit, on no request.
        currency, amount = _money(form)
        node.fund.disburse(info.id, currency, amount, **_party(form))
        return _path(info, "fund/ledger")

    return await handle(request, "fund/requests.html", _requests, run, "fund/requests")


async def request_action(request: Request) -> Response:
    made = hex_id(str(request.path_params["request"]))

    async def run(node: Node, info: CouncilInfo, form: FormData) -> str | None:
        if field(form, "action", 10) == "vote":
            hours = whole(form, "hours", fs.VOTE_HOURS, 1, 24 * 30) or fs.VOTE_HOURS
            proposal = node.fund.put_to_vote(info.id, made, hours)
            return _path(info, f"decisions/{proposal.hex()}")
        found = next((r for r in node.fund.requests(info.id) if r.id == made), None)
        if found is None:
            raise InvalidInput(_("there is no request with that id"))
        amount = found.amount - found.paid
        if field(form, "amount", 40):
            amount = fs.parse_amount(field(form, "amount", 40), found.currency)
        node.fund.disburse(info.id, found.currency, amount, request=made)
        return _path(info, "fund/ledger")

    return await handle(request, "fund/requests.html", _requests, run, "fund/requests")


# --- the ledger ---------------------------------------------------------------------------


def _ledger(node: Node, info: CouncilInfo) -> dict[str, Any]:
    return {"items": node.fund.lines(info.id, limit=10_000), **_common(node, info)}


async def ledger(request: Request) -> Response:
    return await handle(request, "fund/ledger.html", _ledger, None, "fund/ledger")


routes: list[BaseRoute] = [
    Route("/councils/{council}/fund", overview, methods=["GET", "POST"]),
    Route("/councils/{council}/fund/requests", requests, methods=["GET", "POST"]),
    Route("/councils/{council}/fund/requests/{request}", request_action, methods=["POST"]),
    Route("/councils/{council}/fund/ledger", ledger),
]
