"""Safety: ``shora checkin | rollcall | alert``. The rules are in docs/aid.md."""

from __future__ import annotations

from typing import Any

import click

from shora.domain.aid import kinds as ak
from shora.i18n import N_, _, format_time, number
from shora.services import aid
from shora.ui.aid_labels import label

from .aid_items import AREA_HELP, JSON_HELP, open_node
from .output import Number, print_json, short
from .session import COUNCIL_HELP, Session, pass_session


@click.command(help=N_("Tell the council how you are: safe, need_help or injured."))
@click.argument("council_ref", metavar="COUNCIL", help=COUNCIL_HELP)
@click.argument("status", type=click.Choice(ak.CHECKIN_STATUSES), help=N_("How you are."))
@click.option("--area", help=AREA_HELP)
@pass_session
def checkin(session: Session, /, council_ref: str, status: str, area: str | None) -> None:
    node = open_node(session)
    council = node.find_council(council_ref)
    aid.checkin(node, council, status, area)
    click.echo(_("Check-in recorded: {status}.").format(status=label("checkin", status)))


@click.command(help=N_("Start a roll call, or show who answered the latest one (--show)."))
@click.argument("council_ref", metavar="COUNCIL", help=COUNCIL_HELP)
@click.option("--area", help=AREA_HELP)
@click.option("--show", is_flag=True, help=N_("Show who answered the latest roll call."))
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@pass_session
def rollcall(
    session: Session, /, council_ref: str, area: str | None, show: bool, as_json: bool
) -> None:
    node = open_node(session)
    council = node.find_council(council_ref)
    if not show:
        call = aid.rollcall(node, council, area)
        click.echo(
            _("Roll call {id} started; members answer with 'shora checkin'.").format(id=short(call))
        )
        return
    state = aid.rollcall_state(node, council)
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
@click.argument("council_ref", metavar="COUNCIL", help=COUNCIL_HELP)
@click.argument("kind", required=False, type=click.Choice(ak.ALERT_KINDS), help=N_("What."))
@click.option("--area", help=AREA_HELP)
@click.option("--hours", type=Number(1, 24 * 30), default=6, help=N_("Hours until it expires."))
@click.option("--note", default="", help=N_("A few words."))
@click.option("--confirm", metavar="ALERT", help=N_("Confirm this alert: you saw it too."))
@click.option(
    "--retract", metavar="ALERT", help=N_("Retract an alert (yours, or any as a coordinator).")
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@pass_session
def alert(session: Session, /, council_ref: str, kind: str | None, **kw: Any) -> None:
    node = open_node(session)
    council = node.find_council(council_ref)
    now = int(node.now())
    if kw["confirm"]:
        aid.confirm_alert(node, council, aid.find_alert(node, council, kw["confirm"]).id)
        click.echo(_("Alert confirmed."))
        return
    if kw["retract"]:
        aid.retract_alert(node, council, aid.find_alert(node, council, kw["retract"]).id)
        click.echo(_("Alert retracted."))
        return
    if kind is not None:
        if kw["area"] is None:
            raise click.UsageError(_("give the alert's --area"))
        aid.alert(node, council, kind, kw["area"], now + kw["hours"] * 3600, kw["note"])
    shown = aid.alerts(node, council, now)
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
