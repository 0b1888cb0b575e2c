"""The strike fund on the command line: pledge, receive, request, disburse, balance,
ledger. Amounts as people type them (12,500 or ۱۲٬۵۰۰; 12.50 for dollars and euros);
`--json` gives amounts in the currency's smallest unit."""

from __future__ import annotations

from typing import Any, TypedDict

import click

from shora.i18n import N_, _, format_time, number
from shora.node import Node
from shora.services import fund as fs

from .output import Number, isolate, print_json, short, table
from .session import in_council, json_option

AMOUNT_HELP = N_("How much: 12,500 (or ۱۲٬۵۰۰); 12.50 for dollars and euros.")
CURRENCY_HELP = N_("rial, toman, dollar, euro, or token:NAME.")
KIND_LABELS = {
    "pledge": N_("pledge"),
    "receipt": N_("receipt"),
    "disburse": N_("disbursement"),
}


@click.group(help=N_("The strike fund: pledges, receipts, disbursements and the ledger."))
def fund() -> None:
    pass


def _money(amount: str, currency: str) -> tuple[str, int]:
    code = fs.parse_currency(currency)
    return code, fs.parse_amount(amount, code)


def _member(node: Node, council: bytes, ref: str | None) -> bytes | None:
    return node.find_member(council, ref) if ref else None


class _Party(TypedDict):
    member: bytes | None
    name: str
    note: str
    memo: str


def _party(node: Node, council: bytes, kw: dict[str, Any]) -> _Party:
    """The party and memo an entry names, from the options _party_options adds."""
    return {
        "member": _member(node, council, kw["member_ref"]),
        "name": kw["name"],
        "note": kw["note"],
        "memo": kw["memo"],
    }


def _party_options(command: Any) -> Any:
    command = click.option("--note", default="", help=N_("A few words, sealed too."))(command)
    command = click.option(
        "--name", default="", help=N_("Who, in words (sealed to treasurers and auditors).")
    )(command)
    command = click.option(
        "--member", "member_ref", help=N_("The member concerned (name or key).")
    )(command)
    return click.option(
        "--memo", default="", help=N_("A few words every member can read: never a name.")
    )(command)


def _done(as_json: bool, event: bytes, message: str) -> None:
    if as_json:
        print_json({"id": event.hex()})
    else:
        click.echo(message.format(id=short(event)))


@fund.command("pledge", help=N_("Pledge a contribution (yours, or as a treasurer someone's)."))
@in_council
@click.argument("amount", help=AMOUNT_HELP)
@click.argument("currency", help=CURRENCY_HELP)
@_party_options
@json_option
def pledge(node: Node, council: bytes, amount: str, currency: str, **kw: Any) -> None:
    code, value = _money(amount, currency)
    event = node.fund.pledge(
        council,
        code,
        value,
        **_party(node, council, kw),
    )
    _done(kw["as_json"], event, _("Pledge recorded (id {id})."))


@fund.command("receive", help=N_("Record money received (a treasurer's job)."))
@in_council
@click.argument("amount", help=AMOUNT_HELP)
@click.argument("currency", help=CURRENCY_HELP)
@click.option("--pledge", "pledge_ref", help=N_("The pledge it settles (its id)."))
@click.option(
    "--from-council",
    "source_ref",
    help=N_("A supporter council of a federation it came from (name or id)."),
)
@_party_options
@json_option
def receive(node: Node, council: bytes, amount: str, currency: str, **kw: Any) -> None:
    code, value = _money(amount, currency)
    pledge_id = node.fund.find_entry(council, kw["pledge_ref"]) if kw["pledge_ref"] else None
    source = node.find_council(kw["source_ref"]) if kw["source_ref"] else None
    event = node.fund.receive(
        council,
        code,
        value,
        pledge=pledge_id,
        source=source,
        **_party(node, council, kw),
    )
    _done(kw["as_json"], event, _("Receipt recorded (id {id})."))


@fund.command("request", help=N_("Ask the council to pay out to a member or a family in need."))
@in_council
@click.argument("amount", help=AMOUNT_HELP)
@click.argument("currency", help=CURRENCY_HELP)
@click.option("--vote", is_flag=True, help=N_("Put it to the council's vote at once."))
@click.option(
    "--hours", type=Number(1, 24 * 30), default=72, show_default=True, help=N_("Hours to vote.")
)
@_party_options
@json_option
def request(node: Node, council: bytes, amount: str, currency: str, **kw: Any) -> None:
    code, value = _money(amount, currency)
    event = node.fund.request(
        council,
        code,
        value,
        **_party(node, council, kw),
    )
    proposal = node.fund.put_to_vote(council, event, kw["hours"]) if kw["vote"] else None
    if kw["as_json"]:
        print_json({"id": event.hex(), "proposal": proposal.hex() if proposal else None})
        return
    click.echo(_("Request recorded (id {id}).").format(id=short(event)))
    if proposal is not None:
        click.echo(_("Put to the vote: proposal {id}.").format(id=short(proposal)))


@fund.command("vote", help=N_("Put a request to the council's vote."))
@in_council
@click.argument("request_ref", metavar="REQUEST", help=N_("The request's id (6 digits or more)."))
@click.option(
    "--hours", type=Number(1, 24 * 30), default=72, show_default=True, help=N_("Hours to vote.")
)
@json_option
def vote(node: Node, council: bytes, request_ref: str, hours: int, as_json: bool) -> None:
    proposal = node.fund.put_to_vote(council, node.fund.find_request(council, request_ref), hours)
    _done(as_json, proposal, _("Put to the vote: proposal {id}."))


@fund.command(
    "disburse",
    help=N_("Pay out (a treasurer's job): on an approved request, or within the rules' limit."),
)
@in_council
@click.argument("amount", help=AMOUNT_HELP)
@click.argument("currency", help=CURRENCY_HELP)
@click.option("--request", "request_ref", help=N_("The request it pays (its id)."))
@_party_options
@json_option
def disburse(node: Node, council: bytes, amount: str, currency: str, **kw: Any) -> None:
    code, value = _money(amount, currency)
    request_id = node.fund.find_request(council, kw["request_ref"]) if kw["request_ref"] else None
    event = node.fund.disburse(
        council,
        code,
        value,
        request=request_id,
        **_party(node, council, kw),
    )
    _done(kw["as_json"], event, _("Disbursement recorded (id {id})."))


@fund.command("limit", help=N_("Propose the treasurers' limit in a currency (a rule change)."))
@in_council
@click.argument("amount", help=AMOUNT_HELP)
@click.argument("currency", help=CURRENCY_HELP)
@click.option(
    "--days", type=Number(1, 366), default=30, show_default=True, help=N_("Within how many days.")
)
@json_option
def limit(node: Node, council: bytes, amount: str, currency: str, days: int, as_json: bool) -> None:
    code = fs.parse_currency(currency)
    value = 0 if amount.strip() in ("0", "۰") else fs.parse_amount(amount, code)
    changes = node.fund.limit_change(council, code, value, days)
    proposal = node.governance.change_rules(council, changes)
    _done(as_json, proposal, _("Put to the vote: proposal {id}."))


def _totals_json(t: fs.CurrencyTotals) -> dict[str, Any]:
    return {
        "currency": t.currency,
        "cash": t.cash,
        "received": t.received,
        "pledged": t.pledged,
        "disbursed": t.disbursed,
        "from_federation": t.from_federation,
    }


@fund.command("balance", help=N_("Balances, totals and the count of people helped."))
@in_council
@json_option
def balance(node: Node, council: bytes, as_json: bool) -> None:
    view = node.fund.overview(council)
    if as_json:
        print_json(
            {
                "currencies": [_totals_json(t) for t in view.totals],
                "helped": view.helped,
                "entries": view.entries,
                "refused": view.refused,
                "open_requests": view.open_requests,
            }
        )
        return
    if not view.totals:
        click.echo(_("The fund has no entries yet."))
    for t in view.totals:
        click.echo(
            _("{currency}: {cash} in the fund").format(
                currency=fs.currency_name(t.currency), cash=fs.format_amount(t.cash, t.currency)
            )
        )
        click.echo(
            "  "
            + _("received {received}; pledged, not yet received {pledged}; paid out {paid}").format(
                received=fs.format_amount(t.received, t.currency),
                pledged=fs.format_amount(t.pledged, t.currency),
                paid=fs.format_amount(t.disbursed, t.currency),
            )
        )
    click.echo(_("People helped: {n}").format(n=number(view.helped)))
    if view.refused:
        click.echo(_("Entries refused: {n}").format(n=number(view.refused)))


def _line_json(line: fs.Line) -> dict[str, Any]:
    party = line.party
    return {
        "id": line.id.hex(),
        "kind": line.kind,
        "time": line.time // 1000,
        "author": line.author,
        "currency": line.currency,
        "amount": line.amount,
        "postings": [{"account": a, "amount": v} for a, v in line.postings],
        "party": None
        if party is None
        else {
            "member": party.member.hex() if party.member else None,
            "name": party.name,
            "note": party.note,
        },
        "memo": line.memo,
        "by_vote": line.by_vote,
        "refused": line.refused,
    }


@fund.command("ledger", help=N_("The fund's entries, newest first, with their postings."))
@in_council
@click.option(
    "--limit", type=Number(1, 10_000), default=50, show_default=True, help=N_("Entries per page.")
)
@click.option(
    "--offset", type=Number(0), default=0, show_default=True, help=N_("Skip this many entries.")
)
@json_option
def ledger(node: Node, council: bytes, limit: int, offset: int, as_json: bool) -> None:
    lines = node.fund.lines(council, limit, offset)
    if as_json:
        print_json([_line_json(x) for x in lines])
        return
    if not lines:
        click.echo(_("No entries."))
        return
    rows = []
    for x in lines:
        who = _("sealed") if x.party is None else (x.party.name or _("a member"))
        state = (
            _("refused: {reason}").format(reason=_(fs.REASONS[x.refused]))
            if x.refused
            else _("by vote")
            if x.by_vote
            else ""
        )
        rows.append(
            [
                short(x.id),
                format_time(x.time // 1000),
                _(KIND_LABELS[x.kind]),
                fs.format_amount(x.amount, x.currency),
                isolate(who),
                state,
            ]
        )
    table(rows)


@fund.command("requests", help=N_("Requests for a disbursement and the votes on them."))
@in_council
@json_option
def requests(node: Node, council: bytes, as_json: bool) -> None:
    found = node.fund.requests(council)
    if as_json:
        print_json(
            [
                {
                    "id": r.id.hex(),
                    "currency": r.currency,
                    "amount": r.amount,
                    "paid": r.paid,
                    "decision": r.decision.hex() if r.decision else None,
                    "passed": r.passed,
                    "party": None if r.party is None else r.party.name,
                }
                for r in found
            ]
        )
        return
    if not found:
        click.echo(_("No requests."))
    for r in found:
        status = (
            _("not put to a vote")
            if r.decision is None
            else _("vote open")
            if r.passed is None
            else _("approved")
            if r.passed
            else _("not approved")
        )
        click.echo(
            _("{id} {amount}, paid {paid}: {status}").format(
                id=short(r.id),
                amount=fs.format_amount(r.amount, r.currency),
                paid=fs.format_amount(r.paid, r.currency),
                status=status,
            )
        )


@fund.command(
    "share",
    help=N_("Share your council's fund totals with a federation (COUNCIL: the federation)."),
)
@in_council
@json_option
def share(node: Node, federation: bytes, as_json: bool) -> None:
    event = node.fund_federation.share(federation)
    assert event is not None  # forced: always written
    _done(as_json, event, _("Shared (id {id})."))


@fund.command("totals", help=N_("A federation's fund totals, as its member councils share them."))
@in_council
@json_option
def totals(node: Node, federation: bytes, as_json: bool) -> None:
    t = node.fund_federation.federation_totals(federation)
    if as_json:
        print_json(
            {
                "councils": t.councils,
                "helped": t.helped,
                "rows": [
                    {
                        "currency": r.currency,
                        "received": r.received,
                        "pledged": r.pledged,
                        "disbursed": r.disbursed,
                        "balance": r.balance,
                        "from_federation": r.from_federation,
                    }
                    for r in t.rows
                ],
            }
        )
        return
    click.echo(_("Councils that shared: {n}").format(n=number(t.councils)))
    for r in t.rows:
        click.echo(
            _("{currency}: {balance} held, {paid} paid out").format(
                currency=fs.currency_name(r.currency),
                balance=fs.format_amount(r.balance, r.currency),
                paid=fs.format_amount(r.disbursed, r.currency),
            )
        )
    click.echo(_("People helped: {n}").format(n=number(t.helped)))
