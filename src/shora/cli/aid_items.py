"""Needs and offers: ``shora need | offer | match | commit | fulfil | cancel | note``.
The rules are in docs/aid.md."""

from __future__ import annotations

from typing import Any

import click

from shora.errors import InvalidInput
from shora.i18n import N_, _, format_time, normalize_digits, number
from shora.node import Node
from shora.services.aid import HiddenNeed, ItemState, check_category
from shora.services.aid import kinds as ak
from shora.services.restricted import parse_audience
from shora.ui.aid_labels import label

from .output import WHEN_HELP, Number, Since, print_json, short, table
from .session import in_council, json_option

AREA_HELP = N_("The area's name (or id), as the council defined it (never an address).")
POST_AREA_HELP = N_(
    "Where: the area's name (or id), as the council defined it (never an address). Required to "
    "post; with --list, only that area."
)
QUANTITY = Number(1, ak.MAX_QUANTITY)


def forget_first(node: Node) -> None:
    """Forget what has expired before anything is read (docs/aid.md, "Forgetting")."""
    node.forgetting.forget_expired(int(node.now()))


def parse_blood(value: str | None) -> str | None:
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


def item_json(item: ItemState) -> dict[str, Any]:
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
        "in_transit": item.in_transit,
        "fulfilled": item.fulfilled,
        "remaining": item.remaining,
        "urgency": getattr(body, "urgency", None),
        "area": body.area,
        "expires": body.expires,
        "status": item.status,
        "visibility": item.audience,
    }


def _hidden_json(h: HiddenNeed) -> dict[str, Any]:
    return {"id": h.id.hex(), "kind": "need", "visibility": h.audience, "expires": h.expires}


def _unit(item: ItemState) -> str:
    return item.body.unit or label("unit", item.body.category)


def _show_items(
    items: list[ItemState],
    hidden: list[HiddenNeed],
    as_json: bool,
    matched: set[bytes],
    areas: dict[str, str] | None = None,
) -> None:
    """Needs or offers; open ones the engine's current proposal covers show as
    "matched" (a proposal only: nothing is committed until a person confirms it)."""
    if as_json:
        shown = [{**item_json(i), "matched": i.id in matched and i.open} for i in items]
        print_json([*shown, *(_hidden_json(h) for h in hidden)])
        return
    if not items and not hidden:
        click.echo(_("Nothing open."))
        return
    rows = [
        [
            short(i.id),
            label("category", i.body.category),
            i.body.blood or (i.body.medicine.name if i.body.medicine else i.body.what),
            f"{number(i.remaining)}/{number(i.quantity)} {_unit(i)}",
            label("urgency", getattr(i.body, "urgency", None)),
            (areas or {}).get(i.body.area, i.body.area),
            label("status", "matched" if i.id in matched and i.open else i.status),
            "" if i.audience == "council" else label("visibility", i.audience),
        ]
        for i in items
    ]
    if rows:
        table(rows)
    for h in hidden:
        click.echo(
            _("{id}: a need visible to {audience}; its details are not for you").format(
                id=short(h.id), audience=label("visibility", h.audience)
            )
        )


def _item_options(f: Any) -> Any:
    for option in reversed(
        [
            click.option("--area", help=POST_AREA_HELP),
            click.option("--blood", help=N_("Blood group, such as O- or AB+.")),
            click.option(
                "--medicine",
                help=N_("The medicine's name: required for the category medicine, with --dose."),
            ),
            click.option(
                "--dose",
                help=N_("The medicine's dose, such as '100 IU/ml': required with --medicine."),
            ),
            click.option("--cold", is_flag=True, help=N_("The medicine must be kept cold.")),
            click.option("--what", default="", help=N_("A few words for people.")),
            click.option("--unit", default="", help=N_("The unit, if not the category's.")),
            click.option("--expires", type=Since(), help=WHEN_HELP),
            click.option("--list", "listing", is_flag=True, help=N_("List the open ones.")),
            click.option(
                "--all",
                "every",
                is_flag=True,
                help=N_("With --list: also those committed, in transit, met or withdrawn."),
            ),
            json_option,
        ]
    ):
        f = option(f)
    return f


def _post_or_list(node: Node, council: bytes, kind: str, kw: dict[str, Any]) -> None:
    """What `shora need` and `shora offer` share: list the open ones, or post one."""
    forget_first(node)
    now = int(node.now())
    if kw["listing"]:
        if kw["area"]:
            kw["area"] = node.aid.check_area(council, kw["area"])
        cat = check_category(kw["category"]) if kw["category"] else None
        st = node.aid.state(council, now)
        if kw["every"]:
            pool = st.needs if kind == "need" else st.offers
            items = [
                i
                for i in sorted(pool.values(), key=lambda i: (i.clock, i.id))
                if (cat is None or i.body.category == cat)
                and (kw["area"] is None or i.body.area == kw["area"])
            ]
        elif kind == "need":
            items = node.aid.open_needs(council, now, category=cat, area=kw["area"])
        else:
            items = node.aid.open_offers(council, now, category=cat, area=kw["area"])
        hidden = []
        if kind == "need" and cat is None:
            hidden = [h for h in st.hidden.values() if not h.expired(now)]
        proposal = node.aid.match(council, now)
        matched = {a.need_id for a in proposal.assignments}
        matched |= {a.offer_id for a in proposal.assignments}
        known = node.aid.areas(council)
        _show_items(items, hidden, kw["as_json"], matched, dict(known.areas) if known else {})
        return
    if kw["category"] is None or kw["quantity"] is None or kw["area"] is None:
        raise click.UsageError(_("give the category, the quantity and --area"))
    common: dict[str, Any] = {
        "category": check_category(kw["category"]),
        "medicine": _medicine(kw["medicine"], kw["dose"], kw["cold"], kw.get("kept_cold", False)),
        "blood": parse_blood(kw["blood"]),
        "what": kw["what"],
        "quantity": kw["quantity"],
        "unit": kw["unit"],
        "area": node.aid.check_area(council, kw["area"]),
        "expires": kw["expires"],
    }
    if kind == "need":
        visibility = "coordinators" if kw["coordinators_only"] else kw["visibility"]
        body: ak.Need | ak.Offer = ak.Need(
            **common,
            urgency=kw["urgency"],
            needed_by=kw["needed_by"],
            visibility=parse_audience(visibility),
        )
        made = node.aid.post_need(council, body)  # type: ignore[arg-type]
        message = _("Need {id} posted.")
    else:
        body = ak.Offer(
            **common,
            available_from=kw["available_from"],
            recurring=kw["recurring"],
            inexhaustible=kw["inexhaustible"],
        )
        made = node.aid.post_offer(council, body)
        message = _("Offer {id} posted.")
    if kw["as_json"]:
        st = node.aid.state(council, now)
        print_json(item_json(st.needs.get(made) or st.offers[made]))
    else:
        click.echo(message.format(id=short(made)))


@click.command(help=N_("Post a need (or list the open needs with --list)."))
@in_council
@click.argument("category", required=False, help=N_("What is needed: water, food, blood, …"))
@click.argument("quantity", type=QUANTITY, required=False, help=N_("How much, in its unit."))
@click.option(
    "--urgency", type=click.Choice(ak.URGENCIES), default="soon", help=N_("Triage level.")
)
@click.option("--needed-by", type=Since(), help=WHEN_HELP)
@click.option(
    "--visibility",
    default="council",
    help=N_("Who may read it: council, coordinators, or role:NAME (such as role:medical)."),
)
@click.option(
    "--coordinators-only", is_flag=True, help=N_("Visible to the council's coordinators only.")
)
@_item_options
def need(node: Node, council: bytes, **kw: Any) -> None:
    _post_or_list(node, council, "need", kw)


@click.command(help=N_("Post an offer of help (or list the open offers with --list)."))
@in_council
@click.argument("category", required=False, help=N_("What you offer: water, food, blood, …"))
@click.argument("quantity", type=QUANTITY, required=False, help=N_("How much, in its unit."))
@click.option("--kept-cold", is_flag=True, help=N_("You can hand the medicine over cold."))
@click.option("--available-from", type=Since(), help=WHEN_HELP)
@click.option("--recurring", is_flag=True, help=N_("It comes back each period."))
@click.option("--inexhaustible", is_flag=True, help=N_("It can serve any amount."))
@_item_options
def offer(node: Node, council: bytes, **kw: Any) -> None:
    _post_or_list(node, council, "offer", kw)


@click.command(help=N_("Propose who gives what to whom; nothing is committed."))
@in_council
@json_option
def match(node: Node, council: bytes, as_json: bool) -> None:
    forget_first(node)
    proposal = node.aid.match(council, int(node.now()))
    if as_json:
        rows = [
            {
                "need": a.need_id.hex(),
                "offer": a.offer_id.hex(),
                "quantity": a.quantity,
                "distance": a.distance,
            }
            for a in proposal.assignments
        ]
        print_json({"assignments": rows, "total_distance": proposal.total_distance})
        return
    if not proposal.assignments:
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
@in_council
@click.argument("need_ref", metavar="NEED", help=N_("The need's id (6 digits or more)."))
@click.argument("offer_ref", metavar="OFFER", help=N_("The offer's id (6 digits or more)."))
@click.argument("quantity", type=QUANTITY, help=N_("How much."))
@json_option
def commit(node: Node, council: bytes, **kw: Any) -> None:
    forget_first(node)
    now = int(node.now())
    nid = node.aid.find_item(council, kw["need_ref"], now, "need")
    oid = node.aid.find_item(council, kw["offer_ref"], now, "offer")
    cid = node.aid.commit(council, nid, oid, kw["quantity"])
    if kw["as_json"]:
        print_json(
            {"id": cid.hex(), "need": nid.hex(), "offer": oid.hex(), "quantity": kw["quantity"]}
        )
        return
    click.echo(_("Commitment {id} recorded.").format(id=short(cid)))


@click.command(help=N_("Record a delivery against a commitment (or a need, with --need)."))
@in_council
@click.argument("ref", metavar="ID", help=N_("The commitment's id (or the need's, with --need)."))
@click.argument("quantity", type=QUANTITY, help=N_("How much was delivered."))
@click.option("--need", "is_need", is_flag=True, help=N_("ID is a need, met from elsewhere."))
def fulfil(node: Node, council: bytes, ref: str, quantity: int, is_need: bool) -> None:
    forget_first(node)
    now = int(node.now())
    if is_need:
        node.aid.fulfil(council, quantity, need=node.aid.find_item(council, ref, now, "need"))
    else:
        found = node.aid.find_item(council, ref, now, "commitment")
        node.aid.fulfil(council, quantity, commitment=found)
    click.echo(_("Delivery recorded."))


@click.command(help=N_("Record that (part of) a commitment is on its way."))
@in_council
@click.argument("ref", metavar="ID", help=N_("The commitment's id (6 digits or more)."))
@click.argument("quantity", type=QUANTITY, help=N_("How much has left."))
def dispatch(node: Node, council: bytes, ref: str, quantity: int) -> None:
    forget_first(node)
    found = node.aid.find_item(council, ref, int(node.now()), "commitment")
    node.aid.dispatch(council, found, quantity)
    click.echo(_("Recorded: on its way."))


@click.command(help=N_("Withdraw your need or offer, or mark it a duplicate of another."))
@in_council
@click.argument("ref", metavar="ID", help=N_("The need's or offer's id (6 digits or more)."))
@click.option("--reason", default="", help=N_("Why, in a few words."))
@click.option("--duplicate-of", metavar="ID", help=N_("The original this one repeats."))
@json_option
def cancel(node: Node, council: bytes, ref: str, **kw: Any) -> None:
    forget_first(node)
    now = int(node.now())
    target = node.aid.find_item(council, ref, now)
    original = None
    if kw["duplicate_of"]:
        original = node.aid.find_item(council, kw["duplicate_of"], now)
    made = node.aid.cancel(council, target, kw["reason"], original)
    if kw["as_json"]:
        print_json(
            {
                "id": made.hex(),
                "target": target.hex(),
                "duplicate_of": original.hex() if original else None,
            }
        )
    elif original is not None:
        click.echo(
            _("{id} marked as a duplicate of {original}.").format(
                id=short(target), original=short(original)
            )
        )
    else:
        click.echo(_("{id} withdrawn.").format(id=short(target)))


@click.command(
    help=N_(
        "Add a private note to a need (such as where to find the door), readable only by "
        "the people handling it; or show the notes with --show."
    )
)
@in_council
@click.argument("need_ref", metavar="NEED", help=N_("The need's id (6 digits or more)."))
@click.argument("text", required=False, help=N_("The note."))
@click.option("--show", is_flag=True, help=N_("Show the notes on this need."))
@json_option
def note(node: Node, council: bytes, need_ref: str, **kw: Any) -> None:
    forget_first(node)
    nid = node.aid.find_item(council, need_ref, int(node.now()), "need")
    if not kw["show"]:
        if not kw["text"]:
            raise click.UsageError(_("give the note's text, or --show"))
        made = node.aid.add_note(council, nid, kw["text"])
        click.echo(_("Private note {id} added.").format(id=short(made)))
        return
    found = node.aid.notes(council, nid)
    if kw["as_json"]:
        print_json([{"id": n.id.hex(), "time": n.time, "text": n.text} for n in found])
        return
    if not found:
        click.echo(_("No notes on this need."))
    for n in found:
        text = n.text if n.text is not None else _("(not for you)")
        click.echo(f"{format_time(n.time // 1000)}  {text}")
