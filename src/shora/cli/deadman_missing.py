"""Dead-man timers and missing people: ``shora deadman set|clear|status`` and
``shora missing add|note|link|list|show``. The rules are in docs/aid.md."""

from __future__ import annotations

import re
from typing import Any

import click

from shora.errors import InvalidInput
from shora.i18n import N_, _, digits, format_time, normalize_digits, normalize_persian, number
from shora.node import Node
from shora.services.care import kinds as ck
from shora.services.deadman_missing import MS, PersonState, Timer
from shora.ui.labels import NOTE_STATUS

from .output import Number, Since, print_json, short
from .session import in_council, json_option

AREA_HELP = N_("The area's id, as the council defined it (never an address).")
_AGE = re.compile(r"(\d{1,3})(?:\s*-\s*(\d{1,3}))?")


# --- dead-man timers --------------------------------------------------------------------


@click.group(help=N_("A dead-man timer: if you have not checked in within N hours, alert them."))
def deadman() -> None:
    pass


@deadman.command("set", help=N_("Set your timer: HOURS, and the members to alert (--alert)."))
@in_council
@click.argument("hours", type=Number(1, ck.MAX_DEADMAN_HOURS), help=N_("Hours without a check-in."))
@click.option(
    "--alert", "contacts", multiple=True, required=True, help=N_("A member's name (repeat).")
)
@json_option
def deadman_set(
    node: Node, council: bytes, hours: int, contacts: tuple[str, ...], as_json: bool
) -> None:
    keys = [node.deadman_missing.find_active_member(council, c) for c in contacts]
    event = node.deadman_missing.set_deadman(council, hours, keys)
    if as_json:
        names = {m.key: m.name for m in node.councils.members(council)}
        mine = next(
            t
            for t in node.deadman_missing.deadman_state(council).timers.values()
            if t.timer == event
        )
        print_json(_timer_json(mine, names, int(node.now())))
        return
    click.echo(
        _("Timer set: {n} hours; each check-in ('shora checkin') starts it again.").format(
            n=number(hours)
        )
    )


@deadman.command("clear", help=N_("Stop your timer."))
@in_council
@json_option
def deadman_clear(node: Node, council: bytes, as_json: bool) -> None:
    event = node.deadman_missing.clear_deadman(council)
    if as_json:
        print_json({"id": event.hex(), "cleared": True})
        return
    click.echo(_("Timer stopped."))


def _timer_json(t: Timer, names: dict[bytes, str], now: int) -> dict[str, Any]:
    return {
        "member": t.member.hex(),
        "name": names.get(t.member, ""),
        "hours": t.hours,
        "deadline": t.deadline // MS,
        "overdue": t.overdue(now),
        "alerted": t.alert is not None,
        "contacts": [names.get(c, c.hex()) for c in t.contacts],
    }


@deadman.command(
    "status",
    help=N_(
        "Your timer, the timers that name you, and those that ran out (an alert is raised "
        "for each, once)."
    ),
)
@in_council
@json_option
def deadman_status(node: Node, council: bytes, as_json: bool) -> None:
    raised = node.deadman_missing.raise_alerts(council)
    now = int(node.now())
    names = {m.key: m.name for m in node.councils.members(council)}
    me = next((m.key for m in node.councils.members(council) if m.me), None)
    timers = node.deadman_missing.deadman_state(council).timers
    mine = timers.get(me) if me is not None else None
    naming = node.deadman_missing.naming_me(council)
    late = node.deadman_missing.overdue(council, now)
    if as_json:
        print_json(
            {
                "mine": None if mine is None else _timer_json(mine, names, now),
                "naming_me": [_timer_json(t, names, now) for t in naming],
                "overdue": [_timer_json(t, names, now) for t in late],
                "alerts_written": len(raised),
            }
        )
        return
    if mine is None:
        click.echo(_("You have no timer."))
    elif mine.overdue(now):
        click.echo(
            _(
                "Your timer ran out at {time}: check in ('shora checkin') to say how you are."
            ).format(time=format_time(mine.deadline // MS))
        )
    else:
        click.echo(
            _("Your timer runs out at {time} unless you check in.").format(
                time=format_time(mine.deadline // MS)
            )
        )
    for t in naming:
        click.echo(
            _("{name} named you; their timer runs out at {time}.").format(
                name=names.get(t.member, short(t.member)), time=format_time(t.deadline // MS)
            )
        )
    for t in late:
        click.echo(
            _("OVERDUE: {name} has not checked in since {time}; alert: {contacts}.").format(
                name=names.get(t.member, short(t.member)),
                time=format_time(t.since_time // MS),
                contacts=", ".join(names.get(c, short(c)) for c in t.contacts),
            )
        )


# --- missing people ---------------------------------------------------------------------


@click.group(help=N_("Missing people, private to the council (after Person Finder, PFIF)."))
def missing() -> None:
    pass


def _age(text: str | None) -> tuple[int | None, int | None]:
    if text is None:
        return None, None
    found = _AGE.fullmatch(normalize_digits(text).strip())
    if found is None:
        raise InvalidInput(
            _("an age is a number or a range such as 30-40, not {value}").format(value=text)
        )
    low = int(found.group(1))
    high = int(found.group(2)) if found.group(2) else low
    if high > ck.MAX_AGE or low > high:
        raise InvalidInput(
            _("an age is a number or a range such as 30-40, not {value}").format(value=text)
        )
    return low, high


def _person_json(p: PersonState, names: dict[bytes, str]) -> dict[str, Any]:
    body = p.body
    return {
        "id": p.id.hex(),
        "full_name": body.full_name,
        "alternate_names": list(body.alternate_names),
        "age": p.age,
        "sex": body.sex,
        "description": body.description,
        "last_seen_area": body.last_seen_area,
        "last_seen": body.last_seen,
        "status": p.status,
        "found": p.found,
        "last_known_area": p.last_known_area,
        "linked": sorted(x.hex() for x in p.links),
        "notes": [
            {
                "id": n.id.hex(),
                "author": names.get(n.author, n.author.hex()),
                "time": n.time // MS,
                "status": n.body.status,
                "text": n.body.text,
                "last_known_area": n.body.last_known_area,
                "found": n.body.found,
                "linked_person": None
                if n.body.linked_person is None
                else n.body.linked_person.hex(),
            }
            for n in p.notes
        ],
    }


def _status(status: str | None) -> str:
    return _(NOTE_STATUS[status]) if status in NOTE_STATUS else _("no news")


@missing.command("add", help=N_("Open a record for a missing person."))
@in_council
@click.argument("full_name", help=N_("The person's full name."))
@click.option("--alias", "aliases", multiple=True, help=N_("Another name they go by (repeat)."))
@click.option("--age", help=N_("Age, or a range such as 30-40."))
@click.option("--sex", type=click.Choice(ck.SEXES), help=N_("female, male or other."))
@click.option("--description", default="", help=N_("What they look like, what they wore."))
@click.option("--area", help=AREA_HELP)
@click.option("--last-seen", type=Since(), help=N_("When last seen (in the council's time zone)."))
@json_option
def missing_add(node: Node, council: bytes, full_name: str, **kw: Any) -> None:
    low, high = _age(kw["age"])
    name = normalize_persian(full_name)
    if not name or len(name) > 200:
        raise InvalidInput(_("a name has from 1 to 200 characters"))
    aliases = [normalize_persian(a) for a in kw["aliases"] if normalize_persian(a)]
    if len(aliases) > ck.MAX_ALTERNATE_NAMES or any(len(a) > 200 for a in aliases):
        raise InvalidInput(
            _("at most {n} other names, of 200 characters each").format(
                n=number(ck.MAX_ALTERNATE_NAMES)
            )
        )
    if len(kw["description"]) > 2000:
        raise InvalidInput(_("too long: at most {n} characters").format(n=number(2000)))
    body = ck.MissingPerson(
        full_name=name,
        alternate_names=aliases,
        age_min=low,
        age_max=high,
        sex=kw["sex"],
        description=kw["description"],
        last_seen_area=kw["area"].strip().lower() if kw["area"] else None,
        last_seen=kw["last_seen"],
    )
    pid = node.deadman_missing.add_person(council, body)
    if kw["as_json"]:
        print_json(_person_json(node.deadman_missing.missing_state(council).persons[pid], {}))
        return
    click.echo(_("Record {id} opened.").format(id=short(pid)))


def _note(node: Node, council: bytes, person: bytes, as_json: bool, **fields: Any) -> None:
    if fields.get("text") and len(fields["text"]) > 2000:
        raise InvalidInput(_("too long: at most {n} characters").format(n=number(2000)))
    nid = node.deadman_missing.add_note(council, ck.MissingNote(person=person, **fields))
    if as_json:
        print_json({"id": nid.hex(), "person": person.hex()})
        return
    click.echo(_("Note {id} added.").format(id=short(nid)))


@missing.command("note", help=N_("Add what you know to a record: a status, a text, an area."))
@in_council
@click.argument("person_ref", metavar="PERSON", help=N_("The record's id or the person's name."))
@click.option("--status", type=click.Choice(ck.NOTE_STATUSES), help=N_("What you believe."))
@click.option("--text", default="", help=N_("What you know."))
@click.option("--area", help=AREA_HELP)
@click.option("--found", is_flag=True, help=N_("You have been in contact with the person."))
@json_option
def missing_note(node: Node, council: bytes, person_ref: str, **kw: Any) -> None:
    person = node.deadman_missing.find_person(council, person_ref)
    _note(
        node,
        council,
        person,
        kw["as_json"],
        status=kw["status"],
        text=kw["text"],
        last_known_area=kw["area"].strip().lower() if kw["area"] else None,
        found=kw["found"],
    )


@missing.command("link", help=N_("Mark two records as the same person."))
@in_council
@click.argument("person_ref", metavar="PERSON", help=N_("One record's id or name."))
@click.argument("other_ref", metavar="OTHER", help=N_("The other record's id or name."))
@click.option("--text", default="", help=N_("Why you think so."))
@json_option
def missing_link(
    node: Node, council: bytes, person_ref: str, other_ref: str, text: str, as_json: bool
) -> None:
    person = node.deadman_missing.find_person(council, person_ref)
    other = node.deadman_missing.find_person(council, other_ref)
    _note(node, council, person, as_json, text=text, linked_person=other)


@missing.command("list", help=N_("The council's person records, newest first."))
@in_council
@json_option
def missing_list(node: Node, council: bytes, as_json: bool) -> None:
    records = node.deadman_missing.persons(council)
    names = {m.key: m.name for m in node.councils.members(council)}
    if as_json:
        print_json([_person_json(p, names) for p in records])
        return
    if not records:
        click.echo(_("No person records."))
        return
    for p in records:
        line = f"{short(p.id)}  {p.body.full_name}: {_status(p.status)}"
        if p.found:
            line += " · " + _("in contact")
        if p.last_known_area:
            line += " · " + p.last_known_area
        if p.links:
            line += " · " + _("same as {ids}").format(
                ids=", ".join(short(x) for x in sorted(p.links))
            )
        click.echo(line)


@missing.command("show", help=N_("A person record with all its notes."))
@in_council
@click.argument("person_ref", metavar="PERSON", help=N_("The record's id or the person's name."))
@json_option
def missing_show(node: Node, council: bytes, person_ref: str, as_json: bool) -> None:
    person = node.deadman_missing.missing_state(council).persons[
        node.deadman_missing.find_person(council, person_ref)
    ]
    names = {m.key: m.name for m in node.councils.members(council)}
    if as_json:
        print_json(_person_json(person, names))
        return
    body = person.body
    click.echo(f"{body.full_name} ({short(person.id)})")
    if body.alternate_names:
        click.echo(_("Also known as: {names}").format(names=", ".join(body.alternate_names)))
    if person.age is not None:
        click.echo(_("Age: {age}").format(age=digits(person.age)))
    if body.description:
        click.echo(body.description)
    click.echo(_("Status: {status}").format(status=_status(person.status)))
    if person.last_known_area:
        click.echo(_("Last known area: {area}").format(area=person.last_known_area))
    for other in sorted(person.links):
        click.echo(_("Same person as record {id}").format(id=short(other)))
    for n in person.notes:
        click.echo(
            f"{format_time(n.time // MS)} {names.get(n.author, short(n.author))}: "
            f"{_status(n.body.status)}. {n.body.text}".rstrip()
        )
