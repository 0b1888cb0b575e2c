"""Mutual aid and safety: ``shora areas | need | offer | match | commit | fulfil |
checkin | rollcall | alert``. The rules are in docs/aid.md."""

from __future__ import annotations

from typing import Any

import click

from shora.domain import aid
from shora.domain import aid_kinds as ak
from shora.domain.aid_reduce import ItemState
from shora.domain.aid_taxonomy import CATEGORIES, Category
from shora.errors import InvalidInput
from shora.i18n import N_, _, format_time, normalize_digits, number

from .councils import COUNCIL_HELP
from .output import Number, Since, print_json, short, table
from .session import Session, pass_session

JSON_HELP = N_("Print JSON for scripts.")
AREA_HELP = N_("The area's id, as the council defined it (never an address).")
QUANTITY = Number(1, ak.MAX_QUANTITY)
STATUS = {
    "open": N_("open"),
    "committed": N_("committed"),
    "fulfilled": N_("fulfilled"),
    "cancelled": N_("cancelled"),
    "duplicate": N_("duplicate"),
    "expired": N_("expired"),
}
CHECKIN = {"safe": N_("I'm safe"), "need_help": N_("I need help"), "injured": N_("I'm injured")}


def _category(value: str) -> str:
    text = value.strip().lower()
    if text not in ak.CATEGORIES:
        raise InvalidInput(
            _("unknown category: {value}; the categories are: {categories}").format(
                value=value, categories=", ".join(ak.CATEGORIES)
            )
        )
    return text


def _blood(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().upper().replace("−", "-").replace(" ", "")
    if text not in ak.BLOOD_GROUPS:
        raise InvalidInput(
            _("impossible blood group: {value}; give one of: {groups}").format(
                value=value, groups=", ".join(ak.BLOOD_GROUPS)
            )
        )
    return text


def _medicine(name: str | None, dose: str | None, cold: bool, kept_cold: bool) -> Any:
    if name is None and dose is None:
        return None
    if not (name and dose):
        raise InvalidInput(_("a medicine needs a name and a dose"))
    return ak.MedicineDetails(name, normalize_digits(dose), cold, kept_cold)


def _item_json(item: ItemState) -> dict[str, Any]:
    body = item.body
    return {
        "id": item.id.hex(),
        "kind": item.kind,
        "category": body.category,
        "blood": body.blood,
        "medicine": None if body.medicine is None else body.medicine.name,
        "what": body.what,
        "quantity": item.quantity,
        "committed": item.committed,
        "fulfilled": item.fulfilled,
        "remaining": item.remaining,
        "urgency": getattr(body, "urgency", None),
        "area": body.area,
        "expires": body.expires,
        "status": item.status,
    }


def _unit(item: ItemState) -> str:
    return item.body.unit or CATEGORIES[Category(item.body.category)].unit


def _show_items(items: list[ItemState], as_json: bool) -> None:
    if as_json:
        print_json([_item_json(i) for i in items])
        return
    if not items:
        click.echo(_("Nothing open."))
        return
    table(
        [
            [
                short(i.id),
                i.body.category,
                i.body.blood or (i.body.medicine.name if i.body.medicine else i.body.what),
                f"{number(i.remaining)}/{number(i.quantity)} {_unit(i)}",
                getattr(i.body, "urgency", ""),
                i.body.area,
                _(STATUS[i.status]),
            ]
            for i in items
        ]
    )


def _item_options(f: Any) -> Any:
    for option in reversed(
        [
            click.option("--area", help=AREA_HELP),
            click.option("--blood", help=N_("Blood group, such as O- or AB+.")),
            click.option("--medicine", help=N_("The medicine's name.")),
            click.option("--dose", help=N_("The medicine's dose, such as '100 IU/ml'.")),
            click.option("--cold", is_flag=True, help=N_("The medicine must be kept cold.")),
            click.option("--what", default="", help=N_("A few words for people.")),
            click.option("--unit", default="", help=N_("The unit, if not the category's.")),
            click.option("--expires", type=Since(), help=N_("Unix seconds or a date (UTC).")),
            click.option("--list", "listing", is_flag=True, help=N_("List the open ones.")),
            click.option("--json", "as_json", is_flag=True, help=JSON_HELP),
        ]
    ):
        f = option(f)
    return f


def _posted(node: Any, council: bytes, item: bytes, as_json: bool, message: str) -> None:
    st = aid.state(node, council, int(node.now()))
    found = st.needs.get(item) or st.offers[item]
    if as_json:
        print_json(_item_json(found))
    else:
        click.echo(message.format(id=short(item)))


def _required(category: str | None, quantity: int | None, area: str | None) -> tuple[str, int, str]:
    if category is None or quantity is None or area is None:
        raise click.UsageError(_("give the category, the quantity and --area"))
    return _category(category), quantity, area.strip().lower()


@click.command(help=N_("Post a need (or list the open needs with --list)."))
@click.argument("council_ref", metavar="COUNCIL", help=COUNCIL_HELP)
@click.argument("category", required=False, help=N_("What is needed: water, food, blood, …"))
@click.argument("quantity", type=QUANTITY, required=False, help=N_("How much, in its unit."))
@click.option(
    "--urgency", type=click.Choice(ak.URGENCIES), default="soon", help=N_("Triage level.")
)
@click.option("--needed-by", type=Since(), help=N_("Unix seconds or a date (UTC)."))
@click.option(
    "--coordinators-only", is_flag=True, help=N_("Visible to the council's coordinators only.")
)
@_item_options
@pass_session
def need(session: Session, /, council_ref: str, **kw: Any) -> None:
    node = session.open()
    council = node.find_council(council_ref)
    now = int(node.now())
    if kw["listing"]:
        cat = _category(kw["category"]) if kw["category"] else None
        _show_items(
            aid.open_needs(node, council, now, category=cat, area=kw["area"]), kw["as_json"]
        )
        return
    category, quantity, area = _required(kw["category"], kw["quantity"], kw["area"])
    body = ak.Need(
        category=category,  # type: ignore[arg-type]
        medicine=_medicine(kw["medicine"], kw["dose"], kw["cold"], False),
        blood=_blood(kw["blood"]),  # type: ignore[arg-type]
        what=kw["what"],
        quantity=quantity,
        unit=kw["unit"],
        urgency=kw["urgency"],
        area=area,
        needed_by=kw["needed_by"],
        expires=kw["expires"],
        visibility="coordinators" if kw["coordinators_only"] else "council",
    )
    nid = aid.post_need(node, council, body)
    _posted(node, council, nid, kw["as_json"], _("Need {id} posted."))


@click.command(help=N_("Post an offer of help (or list the open offers with --list)."))
@click.argument("council_ref", metavar="COUNCIL", help=COUNCIL_HELP)
@click.argument("category", required=False, help=N_("What you offer: water, food, blood, …"))
@click.argument("quantity", type=QUANTITY, required=False, help=N_("How much, in its unit."))
@click.option("--kept-cold", is_flag=True, help=N_("You can hand the medicine over cold."))
@click.option("--available-from", type=Since(), help=N_("Unix seconds or a date (UTC)."))
@click.option("--recurring", is_flag=True, help=N_("It comes back each period."))
@click.option("--inexhaustible", is_flag=True, help=N_("It can serve any amount."))
@_item_options
@pass_session
def offer(session: Session, /, council_ref: str, **kw: Any) -> None:
    node = session.open()
    council = node.find_council(council_ref)
    now = int(node.now())
    if kw["listing"]:
        cat = _category(kw["category"]) if kw["category"] else None
        _show_items(
            aid.open_offers(node, council, now, category=cat, area=kw["area"]), kw["as_json"]
        )
        return
    category, quantity, area = _required(kw["category"], kw["quantity"], kw["area"])
    body = ak.Offer(
        category=category,  # type: ignore[arg-type]
        medicine=_medicine(kw["medicine"], kw["dose"], kw["cold"], kw["kept_cold"]),
        blood=_blood(kw["blood"]),  # type: ignore[arg-type]
        what=kw["what"],
        quantity=quantity,
        unit=kw["unit"],
        area=area,
        available_from=kw["available_from"],
        expires=kw["expires"],
        recurring=kw["recurring"],
        inexhaustible=kw["inexhaustible"],
    )
    oid = aid.post_offer(node, council, body)
    _posted(node, council, oid, kw["as_json"], _("Offer {id} posted."))


@click.command(help=N_("Propose who gives what to whom; nothing is committed."))
@click.argument("council_ref", metavar="COUNCIL", help=COUNCIL_HELP)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@pass_session
def match(session: Session, /, council_ref: str, as_json: bool) -> None:
    node = session.open()
    council = node.find_council(council_ref)
    proposal = aid.match(node, council, int(node.now()))
    rows: list[dict[str, Any]] = [
        {
            "need": a.need_id.hex(),
            "offer": a.offer_id.hex(),
            "quantity": a.quantity,
            "distance": a.distance,
        }
        for a in proposal.assignments
    ]
    if as_json:
        print_json({"assignments": rows, "total_distance": proposal.total_distance})
        return
    if not rows:
        click.echo(_("No match can be proposed now."))
        return
    table(
        [
            [short(a.need_id), short(a.offer_id), number(a.quantity), number(a.distance)]
            for a in proposal.assignments
        ]
    )
    click.echo(_("Confirm a match with: shora commit COUNCIL NEED OFFER QUANTITY"))


@click.command(help=N_("Commit an offer to a need (confirming a proposed match)."))
@click.argument("council_ref", metavar="COUNCIL", help=COUNCIL_HELP)
@click.argument("need_ref", metavar="NEED", help=N_("The need's id (6 digits or more)."))
@click.argument("offer_ref", metavar="OFFER", help=N_("The offer's id (6 digits or more)."))
@click.argument("quantity", type=QUANTITY, help=N_("How much."))
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@pass_session
def commit(
    session: Session,
    /,
    council_ref: str,
    need_ref: str,
    offer_ref: str,
    quantity: int,
    as_json: bool,
) -> None:
    node = session.open()
    council = node.find_council(council_ref)
    now = int(node.now())
    nid = aid.find_item(node, council, need_ref, now, "need")
    oid = aid.find_item(node, council, offer_ref, now, "offer")
    cid = aid.commit(node, council, nid, oid, quantity)
    if as_json:
        print_json({"id": cid.hex(), "need": nid.hex(), "offer": oid.hex(), "quantity": quantity})
        return
    click.echo(_("Commitment {id} recorded.").format(id=short(cid)))


@click.command(help=N_("Record a delivery against a commitment (or a need, with --need)."))
@click.argument("council_ref", metavar="COUNCIL", help=COUNCIL_HELP)
@click.argument("ref", metavar="ID", help=N_("The commitment's id (or the need's, with --need)."))
@click.argument("quantity", type=QUANTITY, help=N_("How much was delivered."))
@click.option("--need", "is_need", is_flag=True, help=N_("ID is a need, met from elsewhere."))
@pass_session
def fulfil(session: Session, /, council_ref: str, ref: str, quantity: int, is_need: bool) -> None:
    node = session.open()
    council = node.find_council(council_ref)
    now = int(node.now())
    if is_need:
        aid.fulfil(node, council, quantity, need=aid.find_item(node, council, ref, now, "need"))
    else:
        found = aid.find_item(node, council, ref, now, "commitment")
        aid.fulfil(node, council, quantity, commitment=found)
    click.echo(_("Delivery recorded."))


@click.command(help=N_("Tell the council how you are: safe, need_help or injured."))
@click.argument("council_ref", metavar="COUNCIL", help=COUNCIL_HELP)
@click.argument("status", type=click.Choice(ak.CHECKIN_STATUSES), help=N_("How you are."))
@click.option("--area", help=AREA_HELP)
@pass_session
def checkin(session: Session, /, council_ref: str, status: str, area: str | None) -> None:
    node = session.open()
    council = node.find_council(council_ref)
    aid.checkin(node, council, status, area)
    click.echo(_("Check-in recorded: {status}.").format(status=_(CHECKIN[status])))


@click.command(help=N_("Start a roll call, or show who answered the latest one (--show)."))
@click.argument("council_ref", metavar="COUNCIL", help=COUNCIL_HELP)
@click.option("--area", help=AREA_HELP)
@click.option("--show", is_flag=True, help=N_("Show who answered the latest roll call."))
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@pass_session
def rollcall(
    session: Session, /, council_ref: str, area: str | None, show: bool, as_json: bool
) -> None:
    node = session.open()
    council = node.find_council(council_ref)
    if not show:
        call = aid.rollcall(node, council, area)
        click.echo(
            _("Roll call {id} started; members answer with 'shora checkin'.").format(id=short(call))
        )
        return
    state = aid.rollcall_state(node, council)
    names = {m.key: m.name for m in node.members(council)}
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
        click.echo(f"{names.get(m, short(m))}: {_(CHECKIN[s])}")
    for m in state.not_answered:
        click.echo(_("{name}: not answered").format(name=names.get(m, short(m))))


@click.command(help=N_("Raise an alert, confirm or retract one, or list the active ones."))
@click.argument("council_ref", metavar="COUNCIL", help=COUNCIL_HELP)
@click.argument("kind", required=False, type=click.Choice(ak.ALERT_KINDS), help=N_("What."))
@click.option("--area", help=AREA_HELP)
@click.option("--hours", type=Number(1, 24 * 30), default=6, help=N_("Hours until it expires."))
@click.option("--note", default="", help=N_("A few words."))
@click.option("--confirm", metavar="ALERT", help=N_("Confirm this alert: you saw it too."))
@click.option("--retract", metavar="ALERT", help=N_("Retract your alert."))
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@pass_session
def alert(session: Session, /, council_ref: str, kind: str | None, **kw: Any) -> None:
    node = session.open()
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
                kind=a.kind,
                area=a.area,
                time=format_time(a.expires),
                n=number(a.confidence),
            )
        )


def _edge(text: str) -> ak.Edge:
    parts = normalize_digits(text).split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and not parts[2].strip().isdigit()):
        raise InvalidInput(
            _("an edge is AREA:AREA or AREA:AREA:LENGTH, not {value}").format(value=text)
        )
    length = int(parts[2]) if len(parts) == 3 else 1
    if length < 1:
        raise InvalidInput(_("an edge's length is at least 1"))
    return ak.Edge(parts[0].strip().lower(), parts[1].strip().lower(), length)


@click.command(help=N_("Show the council's areas, or replace them (--area, --edge)."))
@click.argument("council_ref", metavar="COUNCIL", help=COUNCIL_HELP)
@click.option(
    "--area", "defs", multiple=True, help=N_("ID=NAME, such as block-4='Block 4' (repeat).")
)
@click.option("--edge", "edges", multiple=True, help=N_("AREA:AREA[:LENGTH], neighbours (repeat)."))
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@pass_session
def areas(
    session: Session,
    /,
    council_ref: str,
    defs: tuple[str, ...],
    edges: tuple[str, ...],
    as_json: bool,
) -> None:
    node = session.open()
    council = node.find_council(council_ref)
    if defs:
        listed = []
        for d in defs:
            key, sep, name = d.partition("=")
            key = key.strip().lower()
            if not sep or not name.strip() or not key:
                raise InvalidInput(_("an area is ID=NAME, not {value}").format(value=d))
            listed.append(ak.Area(key, name.strip()))
        aid.set_areas(node, council, ak.Areas(listed, [_edge(e) for e in edges]))
    known = aid.areas(node, council)
    rows = [] if known is None else list(known.areas)
    if as_json:
        print_json(
            {
                "areas": [{"id": a, "name": n} for a, n in rows],
                "edges": [] if known is None else [list(e) for e in known.edges],
            }
        )
        return
    if not rows:
        click.echo(_("This council has no areas yet."))
        return
    click.echo(_("{n} areas:").format(n=number(len(rows))))
    table([[a, n] for a, n in rows])
