"""Secret ballots: the council's secret votes, putting one to a secret ballot with its
tellers, a vote's page (marked "secret ballot", with the ballot form, whether one's own
ballot is counted, and the count), and the tellers' page for the key ceremony and their
decryption share after the close. Service: node.ballots (docs/ballot-secrecy.md).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput, NotAllowed
from shora.i18n import _, number
from shora.services.ballots import REASONS, phase
from shora.services.decisions import kinds as dk
from shora.ui.labels import METHODS
from shora.web.areas.decisions_forms import ballot_of, proposal_body
from shora.web.areas.decisions_results import charts, summary
from shora.web.areas.kit import UNITS, act_on_proposal, many_fields, me, names, now, opened, page_of
from shora.web.forms import hex_id
from shora.web.responses import redirect


def base(council: bytes) -> str:
    return f"/councils/{council.hex()}/secret"


async def listing(request: Request) -> Response:
    node, info = opened(request)
    at = now(node)
    rows = [(s, phase(s, at)) for s in node.ballots.ballots(info.id)]
    return page_of(
        request, "secret/list.html", {"council": info, "rows": rows, "base": base(info.id)}
    )


def _new_context(node: Any, info: Any, values: dict[str, Any], error: str | None) -> dict[str, Any]:
    names = {m.key: m.name for m in node.councils.members(info.id)}
    elected = node.ballots.tellers(info.id)
    return {
        "council": info,
        "methods": METHODS,
        "units": UNITS,
        "tellers": [names.get(t, t.hex()[:12]) for t in elected.keys],
        "needed": number(elected.needed),
        "values": values,
        "error": error,
    }


async def new(request: Request) -> Response:
    node, info = opened(request)
    if request.method == "GET":
        return page_of(request, "secret/new.html", _new_context(node, info, {}, None))
    form = await many_fields(request)
    try:
        body = proposal_body(form, now(node))
        proposal = node.ballots.propose(info.id, body)
    except (InvalidInput, NotAllowed) as exc:
        values: dict[str, Any] = {
            k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"
        }
        return page_of(request, "secret/new.html", _new_context(node, info, values, str(exc)), 400)
    return redirect(request, f"{base(info.id)}/{proposal.hex()}")


async def show(request: Request, error: str | None = None, status: int = 200) -> Response:
    node, info = opened(request)
    state = node.ballots.ballot(info.id, hex_id(str(request.path_params["proposal"])))
    people = names(node, info.id)
    mine = me(node, info.id)
    my = node.ballots.my_ballot(info.id, state.id) if mine in state.eligible else None

    def name(option: str) -> str:
        """An election's option is a candidate's key: shown by their name."""
        if state.action is None:
            return option
        if option == "ron":
            return _("Re-open nominations")
        try:
            return people.get(bytes.fromhex(option), option)
        except ValueError:
            return option

    stage = phase(state, now(node))
    teller_can = mine in state.tellers and (
        mine not in state.dealt
        or (len(state.dealt) == len(state.tellers) and mine not in state.ready)
        or (state.closed_by is not None and mine not in state.decrypted_by and state.ballots)
    )
    context = {
        "council": info,
        "p": state,
        "phase": stage,
        "people": people,
        "name": name,
        "options": list(enumerate(state.body.options)),
        "my_ballot": None,  # never shown back: the page may be seen over a shoulder
        "my": my,
        "mine": mine,
        "can_vote": mine in state.eligible and stage == "open",
        "is_teller": mine in state.tellers,
        "teller_can": teller_can and not state.final,
        "reasons": [(REASONS[code], n) for code, n in state.refused],
        "charts": charts(state.result, name) if state.result is not None else [],
        "summary": summary(state.result, name) if state.result is not None else [],
        "ranked": state.body.method in dk.RANKED_METHODS,
        "error": error,
        "role": None
        if state.action is None
        else node.governance.role_name(info.id, state.action.role),
        "holders": [people.get(k, k.hex()[:12]) for k in node.ballots.holders(info.id, state.id)],
        "can_seat": state.action is not None
        and state.final
        and bool(state.winners)
        and node.ballots.seated_by(info.id, state.id) is None
        and mine is not None,
        "base": base(info.id),
        "voted": request.query_params.get("voted") == "1",
        "done": request.query_params.get("done", ""),
    }
    template = (
        "secret/tellers.html" if request.url.path.endswith("/tellers") else "secret/show.html"
    )
    return page_of(request, template, context, status)


async def _act(request: Request, action: Any) -> Response:
    return await act_on_proposal(request, action, show, base)


async def vote(request: Request) -> Response:
    async def run(node: Any, council: bytes, proposal: bytes) -> str:
        state = node.ballots.ballot(council, proposal)
        form = await many_fields(request)
        ballot = ballot_of(form, state.body.method, state.body.options)
        node.ballots.vote(council, proposal, ballot, delay=0 if form.get("now") else None)
        return "?voted=1"

    return await _act(request, run)


async def close(request: Request) -> Response:
    async def run(node: Any, council: bytes, proposal: bytes) -> str:
        await many_fields(request)
        node.ballots.close(council, proposal)
        return ""

    return await _act(request, run)


async def take_part(request: Request) -> Response:
    async def run(node: Any, council: bytes, proposal: bytes) -> str:
        await many_fields(request)
        done = node.ballots.take_part(council, proposal)
        return "/tellers?done=" + (",".join(done) or "none")

    return await _act(request, run)


async def seat(request: Request) -> Response:
    async def run(node: Any, council: bytes, proposal: bytes) -> str:
        await many_fields(request)
        node.ballots.seat(council, proposal)
        return ""

    return await _act(request, run)


routes: list[BaseRoute] = [
    Route("/councils/{council}/secret", listing),
    Route("/councils/{council}/secret/new", new, methods=["GET", "POST"]),
    Route("/councils/{council}/secret/{proposal}", show),
    Route("/councils/{council}/secret/{proposal}/tellers", show),
    Route("/councils/{council}/secret/{proposal}/vote", vote, methods=["POST"]),
    Route("/councils/{council}/secret/{proposal}/close", close, methods=["POST"]),
    Route("/councils/{council}/secret/{proposal}/teller", take_part, methods=["POST"]),
    Route("/councils/{council}/secret/{proposal}/seat", seat, methods=["POST"]),
]
