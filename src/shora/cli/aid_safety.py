"""Safety: ``shora checkin | rollcall | alert``. The rules are in docs/aid.md."""

from __future__ import annotations

from typing import Any

import click

from shora.i18n import N_, _, format_time, number
from shora.node import Node
from shora.services.aid import kinds as ak
from shora.ui.aid_labels import label

from .aid_items import AREA_HELP, forget_first
from .output import Number, print_json, short
from .session import in_council, json_option


@click.command(help=N_("Tell the council how you are: safe, need_help or injured."))
@in_council
@click.argument("status", type=click.Choice(ak.CHECKIN_STATUSES), help=N_("How you are."))
@click.option("--area", help=AREA_HELP)
def checkin(node: Node, council: bytes, status: str, area: str | None) -> None:
    forget_first(node)
    node.safety.checkin(council, status, area)
    click.echo(_("Check-in recorded: {status}.").format(status=label("checkin", status)))


@click.command(help=N_("Start a roll call, or show who answered the latest one (--show)."))
@in_council
@click.option("--area", help=AREA_HELP)
@click.option("--show", is_flag=True, help=N_("Show who answered the latest roll call."))
@json_option
def rollcall(node: Node, council: bytes, area: str | None, show: bool, as_json: bool) -> None:
    forget_first(node)
    if not show:
        call = node.safety.rollcall(council, area)
        click.echo(
            _("Roll call {id} started; members answer with 'shora checkin'.").format(id=short(call))
        )
        return
    state = node.safety.rollcall_state(council)
    names = {m.key: m.name for m in node.councils.members(council)}
    if as_json:
        print_json(
            {
                "id": state.id.hex(),
                "area": state.area,
                "answered": [
                    {"name": names.get(m, m.hex()), "status": s} for m, s in state.answered
                ],
                "not_answered": [names.get(m, m.hex()) for m in state.not_answered],
            }
        )
        return
    for m, s in state.answered:
        click.echo(f"{names.get(m, short(m))}: {label('checkin', s)}")
    for m in state.not_answered:
        click.echo(_("{name}: not answered").format(name=names.get(m, short(m))))


@click.command(help=N_("Raise an alert, confirm or retract one, or list the active ones."))
@in_council
@click.argument("kind", required=False, type=click.Choice(ak.ALERT_KINDS), help=N_("What."))
@click.option("--area", help=AREA_HELP)
@click.option("--hours", type=Number(1, 24 * 30), default=6, help=N_("Hours until it expires."))
@click.option("--note", default="", help=N_("A few words."))
@click.option("--confirm", metavar="ALERT", help=N_("Confirm this alert: you saw it too."))
@click.option(
    "--retract", metavar="ALERT", help=N_("Retract an alert (yours, or any as a coordinator).")
)
@json_option
def alert(node: Node, council: bytes, kind: str | None, **kw: Any) -> None:
    forget_first(node)
    now = int(node.now())
    if kw["confirm"]:
        node.safety.confirm_alert(council, node.safety.find_alert(council, kw["confirm"]).id)
        click.echo(_("Alert confirmed."))
        return
    if kw["retract"]:
        node.safety.retract_alert(council, node.safety.find_alert(council, kw["retract"]).id)
        click.echo(_("Alert retracted."))
        return
    if kind is not None:
        if kw["area"] is None:
            raise click.UsageError(_("give the alert's --area"))
        node.safety.alert(council, kind, kw["area"], now + kw["hours"] * 3600, kw["note"])
    shown = node.safety.alerts(council, now)
    if kw["as_json"]:
        print_json(
            [
                {
                    "id": a.id.hex(),
                    "kind": a.kind,
                    "area": a.area,
                    "expires": a.expires,
                    "confidence": a.confidence,
                    "note": a.note,
                }
                for a in shown
            ]
        )
        return
    if not shown:
        click.echo(_("No active alerts."))
    for a in shown:
        click.echo(
            _("{id} {kind} in {area} until {time}; confirmed by {n}").format(
                id=short(a.id),
                kind=label("alert", a.kind),
                area=a.area,
                time=format_time(a.expires),
                n=number(a.confidence),
            )
        )
