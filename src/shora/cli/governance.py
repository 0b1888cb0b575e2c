"""Self-government: ``shora rules | roles | elect | recall | ratify | emergencies``.
Votes on what these open are cast and closed with ``shora vote`` and ``shora close``.
The rules are in docs/decisions.md §6."""

from __future__ import annotations

from typing import Any

import click
import msgspec

from shora.errors import InvalidInput
from shora.i18n import N_, _, format_time, normalize_digits, number
from shora.node import Node
from shora.numbers import digits_only
from shora.services.decisions import state_json
from shora.services.governance import EmergencyView, RoleTerm
from shora.ui.labels import EMERGENCY_STATUS, role_label

from .output import WHEN_HELP, Number, Since, isolate, print_json, short, show_list, table
from .session import in_council, json_option

HOURS_HELP = N_("Hours to vote.")
ROLE_HELP = N_(
    "A role by its name, in any language: coordinator, treasurer, safety contact, delegate, "
    "or a role of the council's own (a new name makes a new role)."
)


def role_name(role: str) -> str:
    """A role in the person's words (the council's own by the name it was given)."""
    return role_label(role)


class RoleType(click.ParamType[str]):
    """A role as people name it, in any language or script (bounded; the council
    decides which role it is, or makes a new one for a new name)."""

    name = "role"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not text or len(text) > 80:
            self.fail(_("a role's name is 1 to 80 characters"), param, ctx)
        return text


def _opened(node: Node, council: bytes, pid: bytes, as_json: bool, message: str) -> None:
    """Say what was opened: the proposal as JSON, or the message."""
    if as_json:
        me = node.councils.get(council).my_key
        print_json(state_json(node.decisions.proposal(council, pid), me, node.now()))
    else:
        click.echo(message)


def _parse_setting(text: str) -> tuple[str, Any]:
    name, sep, raw = normalize_digits(text).partition("=")
    name, raw = name.strip().replace("-", "_"), raw.strip()
    if not sep or not name:
        raise InvalidInput(_("write a rule as NAME=VALUE, for example quorum=1/2"))
    value: Any = raw
    if raw.lower() in ("none", "null", "-"):
        value = None
    elif digits_only(raw):
        value = int(raw)
    elif "," in raw or name.endswith("_roles"):
        value = [r.strip() for r in raw.split(",") if r.strip()]
    return name, value


@click.command(help=N_("Show the council's rules, or propose to change them (--set)."))
@in_council
@click.option("--set", "settings", multiple=True, help=N_("NAME=VALUE: a new rule (repeat)."))
@click.option("--reason", default="", help=N_("Why, for the other members."))
@click.option("--hours", type=Number(1, 24 * 366), default=72, help=HOURS_HELP)
@json_option
def rules(
    node: Node,
    council: bytes,
    settings: tuple[str, ...],
    reason: str,
    hours: int,
    as_json: bool,
) -> None:
    if settings:
        changes = dict(_parse_setting(s) for s in settings)
        pid = node.governance.change_rules(council, changes, text=reason, hours=hours)
        message = _(
            "Proposed ({id}). The rules change if the council passes it; vote with 'shora vote'."
        )
        _opened(node, council, pid, as_json, message.format(id=short(pid)))
        return
    current = msgspec.to_builtins(node.governance.rules(council))
    if as_json:
        print_json(current)
        return
    table([[name, str(value)] for name, value in current.items()])


@click.command(help=N_("Show who holds which role, and until when."))
@in_council
@click.option("--all", "include_past", is_flag=True, help=N_("Include ended terms."))
@json_option
def roles(node: Node, council: bytes, include_past: bool, as_json: bool) -> None:
    terms = node.governance.roles(council, include_past=include_past)

    def row(t: RoleTerm) -> list[str]:
        ends = format_time(t.end // 1000) if t.end is not None else None
        until = _("until {time}").format(time=ends) if ends else _("no end")
        return [role_name(t.role), isolate(t.name), until, "" if t.current else _("ended")]

    show_list(terms, as_json, _("Nobody holds a role."), row)  # JSON times in ms


@click.command(help=N_("Open an election to a role (IRV for one seat, STV for several)."))
@in_council
@click.argument("role", type=RoleType(), help=ROLE_HELP)
@click.argument("candidates", nargs=-1, required=True, help=N_("Candidates: names or keys."))
@click.option("--seats", type=Number(1, 50), default=1, help=N_("Seats to fill."))
@click.option("--method", type=click.Choice(["irv", "stv", "schulze"]), help=N_("How to count."))
@click.option("--term-days", type=Number(1, 3650), help=N_("Length of the term (default: rules)."))
@click.option("--hours", type=Number(1, 24 * 366), default=72, help=HOURS_HELP)
@click.option("--deadline", type=Since(), help=WHEN_HELP)
@click.option(
    "--secret",
    is_flag=True,
    help=N_("Hold it by secret ballot, counted by the elected tellers."),
)
@json_option
def elect(
    node: Node,
    council: bytes,
    role: str,
    candidates: tuple[str, ...],
    seats: int,
    method: str | None,
    term_days: int | None,
    hours: int,
    deadline: int | None,
    secret: bool,
    as_json: bool,
) -> None:
    keys = [node.find_member(council, c) for c in candidates]
    kw: dict[str, Any] = {
        "seats": seats,
        "method": method,
        "term_days": term_days,
        "hours": hours,
        "deadline": deadline,
    }
    if secret:
        action, body = node.governance.election(council, role, keys, **kw)
        pid = node.ballots.propose(council, body, action)
        if as_json:
            print_json({"id": pid.hex(), "secret": True, "title": body.title})
            return
        click.echo(
            _(
                "Secret election opened ({id}). Once the tellers have made its key, rank the "
                "candidates with 'shora secret vote COUNCIL {id} --rank NAME --rank NAME'; "
                "the winners take the role when it is counted."
            ).format(id=short(pid))
        )
        return
    pid = node.governance.elect(council, role, keys, **kw)
    message = _(
        "Election opened ({id}). Rank the candidates with 'shora vote COUNCIL {id} "
        "--rank NAME --rank NAME'."
    )
    _opened(node, council, pid, as_json, message.format(id=short(pid)))


@click.command(help=N_("Support recalling a member from a role; open the vote when enough do."))
@in_council
@click.argument("role", type=RoleType(), help=ROLE_HELP)
@click.argument("member", help=N_("The member: a name or a key."))
@click.option("--reason", default="", help=N_("Why, for the other members."))
@click.option("--hours", type=Number(1, 24 * 366), default=72, help=HOURS_HELP)
@json_option
def recall(
    node: Node,
    council: bytes,
    role: str,
    member: str,
    reason: str,
    hours: int,
    as_json: bool,
) -> None:
    key = node.find_member(council, member)
    role = node.governance.find_role(council, role)[0]
    missing = node.governance.petition(council, role, key, reason)
    if missing and as_json:
        print_json({"petition_needs": missing, "proposal": None})
        return
    if missing:
        click.echo(
            _("Your support is recorded; the petition needs {n} more before a recall vote.").format(
                n=number(missing)
            )
        )
        return
    pid = node.governance.recall(council, role, key, hours=hours, text=reason)
    message = _("The recall vote is open ({id}); vote with 'shora vote'.")
    _opened(node, council, pid, as_json, message.format(id=short(pid)))


@click.command(help=N_("Put an emergency action to the council's vote to ratify it."))
@in_council
@click.argument("action", help=N_("The action: 6 or more digits of its id (shora emergencies)."))
@click.option("--hours", type=Number(1, 24 * 366), help=N_("Hours to vote (default: all left)."))
@json_option
def ratify(node: Node, council: bytes, action: str, hours: int | None, as_json: bool) -> None:
    pid = node.governance.ratify(
        council, node.governance.emergency_id(council, action), hours=hours
    )
    message = _("The ratification vote is open ({id}).").format(id=short(pid))
    _opened(node, council, pid, as_json, message)


@click.command(help=N_("Show emergency actions and whether they were ratified."))
@in_council
@json_option
def emergencies(node: Node, council: bytes, as_json: bool) -> None:
    node.housekeeping.run(council)
    found = node.governance.emergencies(council)

    def row(e: EmergencyView) -> list[str]:
        return [
            short(e.action),
            _("removal of {name}").format(name=isolate(e.name)),
            _(EMERGENCY_STATUS[e.status]),
            _("ratify by {time}").format(time=format_time(e.deadline // 1000)),
        ]

    show_list(found, as_json, _("No emergency actions."), row)  # JSON deadline in ms


COMMANDS = (rules, roles, elect, recall, ratify, emergencies)
