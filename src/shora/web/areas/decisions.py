"""Deliberation: the council's proposals (open first), putting one to the vote, a
proposal's page with its text, amendments, ballot form, close and outcome, and its
result drawn as charts (rounds and stages one by one). Service: node.decisions.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput, NotAllowed
from shora.services.decisions import ProposalState, phase
from shora.services.decisions import kinds as dk
from shora.services.governance import Election
from shora.ui.labels import METHODS
from shora.web.areas.decisions_forms import ballot_of, proposal_body, share_choices
from shora.web.areas.decisions_results import charts, summary
from shora.web.areas.discussion import fresh
from shora.web.areas.kit import (
    UNITS,
    act_on_proposal,
    field,
    many_fields,
    me,
    names,
    now,
    opened,
    page_of,
)
from shora.web.forms import REASON_CHARS, TEXT_CHARS, form_of, hex_id, integer
from shora.web.responses import redirect

PER_PAGE = 20
MAX_PAGE = 10_000


def base(council: bytes) -> str:
    return f"/councils/{council.hex()}/decisions"


def namer(state: ProposalState, people: dict[bytes, str]) -> Any:
    """Option names as people read them: an election's options are member keys."""
    if not isinstance(state.action, Election):
        return lambda option: option

    def name(option: str) -> str:
        try:
            return people.get(bytes.fromhex(option), option[:12])
        except ValueError:
            return option

    return name


async def listing(request: Request) -> Response:
    node, info = opened(request)
    page = integer(request.query_params.get("page"), 1, 1, MAX_PAGE)
    found = node.decisions.proposals(info.id, PER_PAGE + 1, (page - 1) * PER_PAGE)
    at = now(node)
    people = names(node, info.id) if any(p.action is not None for p in found) else {}
    rows = [(p, phase(p, at), namer(p, people)) for p in found[:PER_PAGE]]
    context = {
        "council": info,
        "rows": rows,
        "page": page,
        "more": len(found) > PER_PAGE,
        "base": base(info.id),
        "new": fresh(node, info.id, "proposals"),
    }
    return page_of(request, "decisions/list.html", context)


def _new_context(info: Any, values: dict[str, str], error: str | None) -> dict[str, Any]:
    return {
        "council": info,
        "methods": METHODS,
        "units": UNITS,
        "shares": share_choices(),
        "values": values,
        "error": error,
    }


async def new(request: Request) -> Response:
    node, info = opened(request)
    if request.method == "GET":
        return page_of(request, "decisions/new.html", _new_context(info, {}, None))
    form = await many_fields(request)
    try:
        body = proposal_body(form, now(node))
        proposal = node.decisions.propose(info.id, body)
    except (InvalidInput, NotAllowed) as exc:
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        return page_of(request, "decisions/new.html", _new_context(info, values, str(exc)), 400)
    return redirect(request, f"{base(info.id)}/{proposal.hex()}")


async def show(request: Request, error: str | None = None, status: int = 200) -> Response:
    node, info = opened(request)
    state = node.decisions.proposal(info.id, hex_id(str(request.path_params["proposal"])))
    people = names(node, info.id)
    name = namer(state, people)
    mine = me(node, info.id)
    counted = state.ballot_of(mine) if mine is not None else None
    context = {
        "council": info,
        "p": state,
        "phase": phase(state, now(node)),
        "name": name,
        "people": people,
        "options": list(enumerate(state.body.options)),
        "my_ballot": counted.ballot if counted is not None else None,
        "mine": mine,
        "can_vote": mine in state.eligible and not state.final,
        "charts": charts(state.result, name) if state.result is not None else [],
        "summary": summary(state.result, name) if state.result is not None else [],
        "ranked": state.body.method in dk.RANKED_METHODS,
        "error": error,
        "base": base(info.id),
        "voted": request.query_params.get("voted") == "1",
        # A rule change says what it changes in the reader's words, whoever wrote it.
        "changes": node.governance.rule_change(info.id, state.id) if state.action else None,
    }
    template = (
        "decisions/_result.html" if request.url.path.endswith("/result") else "decisions/show.html"
    )
    return page_of(request, template, context, status)


async def _act(request: Request, action: Any) -> Response:
    """Run a write on a proposal; on a refusal, the proposal's page with the reason."""
    return await act_on_proposal(request, action, show, base)


async def vote(request: Request) -> Response:
    home: list[str] = []  # where a ballot button on the council's home page goes back to

    async def run(node: Any, council: bytes, proposal: bytes) -> str:
        state = node.decisions.proposal(council, proposal)
        form = await many_fields(request)
        node.decisions.vote(
            council, proposal, ballot_of(form, state.body.method, state.body.options)
        )
        if form.get("from") == "home":
            home.append(f"/councils/{council.hex()}?voted={proposal.hex()}#p-{proposal.hex()}")
        return "?voted=1"

    done = await _act(request, run)
    return redirect(request, home[0]) if home else done


async def amend(request: Request) -> Response:
    async def run(node: Any, council: bytes, proposal: bytes) -> str:
        form = await form_of(request)
        text = field(form, "text", TEXT_CHARS)
        node.decisions.amend(council, proposal, text, field(form, "reason", REASON_CHARS))
        return ""

    return await _act(request, run)


async def accept(request: Request) -> Response:
    amendment = hex_id(str(request.path_params["amendment"]))

    async def run(node: Any, council: bytes, proposal: bytes) -> str:
        node.decisions.accept_amendment(council, amendment)
        return ""

    return await _act(request, run)


async def close(request: Request) -> Response:
    async def run(node: Any, council: bytes, proposal: bytes) -> str:
        node.decisions.close(council, proposal)
        form = await form_of(request)
        statement = field(form, "statement", TEXT_CHARS)
        if statement:
            node.decisions.record_outcome(council, proposal, statement)
        return ""

    return await _act(request, run)


async def outcome(request: Request) -> Response:
    async def run(node: Any, council: bytes, proposal: bytes) -> str:
        form = await form_of(request)
        node.decisions.record_outcome(council, proposal, field(form, "statement", TEXT_CHARS))
        return ""

    return await _act(request, run)


routes: list[BaseRoute] = [
    Route("/councils/{council}/decisions", listing),
    Route("/councils/{council}/proposals", listing),  # the name benchmarks/web.py uses
    Route("/councils/{council}/decisions/new", new, methods=["GET", "POST"]),
    Route("/councils/{council}/decisions/{proposal}", show),
    Route("/councils/{council}/decisions/{proposal}/result", show),  # polled by the page
    Route("/councils/{council}/decisions/{proposal}/vote", vote, methods=["POST"]),
    Route("/councils/{council}/decisions/{proposal}/amend", amend, methods=["POST"]),
    Route(
        "/councils/{council}/decisions/{proposal}/amendments/{amendment}/accept",
        accept,
        methods=["POST"],
    ),
    Route("/councils/{council}/decisions/{proposal}/close", close, methods=["POST"]),
    Route("/councils/{council}/decisions/{proposal}/outcome", outcome, methods=["POST"]),
]
