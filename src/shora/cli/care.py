"""Shared stocks and the skills register: ``shora stock add|draw|list`` and
``shora skill set|withdraw|list``. The rules are in docs/aid.md."""

from __future__ import annotations

from typing import Any

import click

from shora.i18n import N_, _, format_time, number
from shora.node import Node
from shora.services.aid import check_category, taxonomy
from shora.services.aid import kinds as ak
from shora.services.care import StockItem
from shora.services.care import kinds as ck
from shora.ui.labels import SKILL_LABELS

from .output import Number, Since, print_json, short, table
from .session import in_council, json_option

QUANTITY = Number(1, ak.MAX_QUANTITY)


@click.group(help=N_("What the council holds together: add, draw from and list its stocks."))
def stock() -> None:
    pass


def _unit(item: StockItem) -> str:
    return item.unit or taxonomy.CATEGORIES[taxonomy.Category(item.category)].unit


def _stock_json(item: StockItem, now: int) -> dict[str, Any]:
    return {
        "id": item.id.hex(),
        "item": item.item,
        "category": item.category,
        "unit": _unit(item),
        "area": item.area,
        "available": item.available(now),
        "expired": item.expired_quantity(now),
        "lots": [
            {
                "id": lot.id.hex(),
                "quantity": lot.quantity,
                "remaining": lot.remaining,
                "expires": lot.expires,
                "expired": lot.expired(now),
            }
            for lot in item.lots
        ],
        "draws": [
            {
                "id": d.id.hex(),
                "asked": d.asked,
                "counted": d.counted,
                "need": None if d.need is None else d.need.hex(),
                "note": d.note,
            }
            for d in item.draws
        ],
    }


@stock.command(
    "add",
    help=N_(
        "Start a stock item (with --category and --area), or add a lot to an existing one "
        "(ITEM is then its name or id)."
    ),
)
@in_council
@click.argument("item", help=N_("What it is, such as 'insulin glargine 100 IU/ml'."))
@click.argument("quantity", type=QUANTITY, help=N_("How much, in its unit."))
@click.option("--category", help=N_("Its category: water, food, medicine, …"))
@click.option("--area", help=N_("The area where it is kept (never an address)."))
@click.option("--unit", default="", help=N_("The unit, if not the category's."))
@click.option("--expires", type=Since(), help=N_("Expiry date on the pack (council's time zone)."))
@click.option("--note", default="", help=N_("A few words."))
@json_option
def stock_add(node: Node, council: bytes, item: str, quantity: int, **kw: Any) -> None:
    if kw["category"] is not None or kw["area"] is not None:
        if kw["category"] is None or kw["area"] is None:
            raise click.UsageError(_("a new stock item needs both --category and --area"))
        stock_id = node.care.add_stock(
            council,
            item=item,
            category=kw["category"],
            quantity=quantity,
            area=kw["area"],
            unit=kw["unit"],
            expires=kw["expires"],
            note=kw["note"],
        )
    else:
        stock_id = node.care.find_stock(council, item)
        node.care.restock(council, stock_id, quantity, expires=kw["expires"], note=kw["note"])
    found = node.care.stocks_state(council).items[stock_id]
    now = int(node.now())
    if kw["as_json"]:
        print_json(_stock_json(found, now))
        return
    click.echo(
        _("{item}: {n} {unit} in stock.").format(
            item=found.item, n=number(found.available(now)), unit=_unit(found)
        )
    )


@stock.command("draw", help=N_("Take from a stock item, for a need if it served one."))
@in_council
@click.argument("item", help=N_("The stock item's name or id."))
@click.argument("quantity", type=QUANTITY, help=N_("How much."))
@click.option("--need", "need_ref", help=N_("The need it served (6 digits of its id or more)."))
@click.option("--lot", "lot_ref", help=N_("Take from this lot (its id), even if expired."))
@click.option("--note", default="", help=N_("A few words."))
@json_option
def stock_draw(node: Node, council: bytes, item: str, quantity: int, **kw: Any) -> None:
    now = int(node.now())
    stock_id = node.care.find_stock(council, item)
    need = None
    if kw["need_ref"]:
        need = node.aid.find_item(council, kw["need_ref"], now, "need")
    lot = None
    if kw["lot_ref"]:
        found_item = node.care.stocks_state(council).items[stock_id]
        lots = [x.id for x in found_item.lots if x.id.hex().startswith(kw["lot_ref"].lower())]
        if len(lots) != 1 or len(kw["lot_ref"]) < 6:
            raise click.UsageError(_("give at least 6 digits of one lot's id"))
        lot = lots[0]
    draw = node.care.draw_stock(council, stock_id, quantity, need=need, lot=lot, note=kw["note"])
    found = node.care.stocks_state(council).items[stock_id]
    if kw["as_json"]:
        print_json({"id": draw.hex(), "stock": _stock_json(found, now)})
        return
    click.echo(
        _("Drawn {quantity}; {n} {unit} left.").format(
            quantity=number(quantity), n=number(found.available(now)), unit=_unit(found)
        )
    )


@stock.command("list", help=N_("The council's stocks, with their lots and what has expired."))
@in_council
@click.option("--category", help=N_("Only this category."))
@click.option("--area", help=N_("Only this area."))
@json_option
def stock_list(
    node: Node,
    council: bytes,
    category: str | None,
    area: str | None,
    as_json: bool,
) -> None:
    now = int(node.now())
    wanted = check_category(category) if category else None
    items = [
        i
        for i in node.care.stocks_state(council).items.values()
        if (wanted is None or i.category == wanted)
        and (area is None or i.area == area.strip().lower())
    ]
    items.sort(key=lambda i: (i.category, i.item, i.id))
    if as_json:
        print_json([_stock_json(i, now) for i in items])
        return
    if not items:
        click.echo(_("No stocks."))
        return
    for i in items:
        click.echo(
            _("{id} {item} ({category}) in {area}: {n} {unit}").format(
                id=short(i.id),
                item=i.item,
                category=i.category,
                area=i.area,
                n=number(i.available(now)),
                unit=_unit(i),
            )
        )
        for lot in i.lots:
            if lot.remaining == 0:
                continue
            line = _("  lot {id}: {n}").format(id=short(lot.id), n=number(lot.remaining))
            if lot.expires is not None:
                text = _("expired {time}") if lot.expired(now) else _("expires {time}")
                line += ", " + text.format(time=format_time(lot.expires))
            click.echo(line)
        for d in i.draws:
            if d.shortfall:
                click.echo(
                    _("  draw {id} asked for {asked}, only {counted} was there").format(
                        id=short(d.id), asked=number(d.asked), counted=number(d.counted)
                    )
                )


# --- skills -----------------------------------------------------------------------------


@click.group(help=N_("The skills register: who can do what, as members choose to say."))
def skill() -> None:
    pass


@skill.command("set", help=N_("Say what you can do (this replaces what you said before)."))
@in_council
@click.argument("skills", nargs=-1, required=True, help=N_("doctor, nurse, driver, …"))
@click.option("--note", default="", help=N_("A few words, such as languages or hours."))
@click.option(
    "--coordinators-only", is_flag=True, help=N_("Visible to the council's coordinators only.")
)
@json_option
def skill_set(
    node: Node,
    council: bytes,
    skills: tuple[str, ...],
    note: str,
    coordinators_only: bool,
    as_json: bool,
) -> None:
    visibility = "coordinators" if coordinators_only else "council"
    event = node.care.set_skills(council, list(skills), note, visibility)
    if as_json:
        entry = node.care.skill_entries(council)[node.restricted.my_key(council)]
        print_json(
            {
                "id": event.hex(),
                "skills": list(entry.skills),
                "note": entry.note,
                "visibility": entry.visibility,
            }
        )
        return
    if coordinators_only:
        click.echo(_("Your skills are in the register, for coordinators only."))
    else:
        click.echo(_("Your skills are in the register."))


@skill.command("withdraw", help=N_("Take yourself out of the skills register."))
@in_council
@json_option
def skill_withdraw(node: Node, council: bytes, as_json: bool) -> None:
    event = node.care.withdraw_skills(council)
    if as_json:
        print_json({"id": event.hex(), "withdrawn": True})
        return
    click.echo(_("You are no longer in the skills register."))


def _note(note: str, visibility: str) -> str:
    if visibility == "council":
        return note
    return f"{note} ({_('coordinators only')})".strip()


@skill.command("list", help=N_("Who can do what (what you may see of it)."))
@in_council
@click.option("--skill", "wanted", type=click.Choice(ck.SKILLS), help=N_("Only this skill."))
@json_option
def skill_list(node: Node, council: bytes, wanted: str | None, as_json: bool) -> None:
    shown = node.care.skills(council, int(node.now()), skill=wanted)
    names = {m.key: m.name for m in node.councils.members(council)}
    if as_json:
        print_json(
            [
                {
                    "member": e.member.hex(),
                    "name": names.get(e.member, ""),
                    "skills": list(e.skills),
                    "note": e.note,
                    "visibility": e.visibility,
                }
                for e in shown
            ]
        )
        return
    if not shown:
        click.echo(_("Nobody in the register yet."))
        return
    table(
        [
            [
                names.get(e.member, short(e.member)),
                ", ".join(_(SKILL_LABELS[s]) for s in e.skills),
                _note(e.note, e.visibility),
            ]
            for e in shown
        ]
    )
