"""The council's map and what it shares: ``shora areas | summary | forget``."""

from __future__ import annotations

from pathlib import Path

import click

from shora.errors import InvalidInput
from shora.i18n import N_, _, format_time, number
from shora.node import Node
from shora.services.aid import summary as aid_summary
from shora.ui.aid_labels import label

from .aid_items import forget_first
from .output import print_json, table
from .session import Session, in_council, json_option, pass_session


def edge_line(text: str) -> str:
    """AREA:AREA[:LENGTH] (names or ids) as a pair of neighbours "AREA, AREA[, LENGTH]"."""
    parts = [p.strip() for p in text.split(":")]
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidInput(
            _("an edge is AREA:AREA or AREA:AREA:LENGTH, not {value}").format(value=text)
        )
    return ", ".join(parts)


@click.command(
    help=N_(
        "Show the council's areas, or replace them: give their names, in any script "
        "(ids are made for them; an area already on the map keeps its id)."
    )
)
@in_council
@click.argument("names", nargs=-1)
@click.option(
    "--area",
    "defs",
    multiple=True,
    help=N_("An area's name (repeat); ID=NAME renames an area and keeps its id."),
)
@click.option("--edge", "edges", multiple=True, help=N_("AREA:AREA[:LENGTH], neighbours (repeat)."))
@json_option
def areas(
    node: Node,
    council: bytes,
    names: tuple[str, ...],
    defs: tuple[str, ...],
    edges: tuple[str, ...],
    as_json: bool,
) -> None:
    forget_first(node)
    if names or defs:
        node.aid.name_areas(council, [*names, *defs], [edge_line(e) for e in edges])
    elif edges:
        raise click.UsageError(_("give the areas' names with the neighbours"))
    known = node.aid.areas(council)
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
    names_of = dict(rows)
    table([[n] for _a, n in rows])
    if known is not None and known.edges:
        click.echo(_("Neighbours:"))
        table([[names_of.get(a, a), names_of.get(b, b), number(n)] for a, b, n in known.edges])


@click.command(
    help=N_(
        "Counts of the open needs and offers by category, triage level and area, with no "
        "names and no free text: to share with a federation (--json) or with humanitarian "
        "organisations (--csv FILE, with HXL hashtags)."
    )
)
@in_council
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("Write the summary as CSV with HXL hashtags to this file ('-' for the output)."),
)
@json_option
def summary(node: Node, council: bytes, csv_file: Path | None, as_json: bool) -> None:
    forget_first(node)
    now = int(node.now())
    made = aid_summary.summarise(node.aid.state(council, now), now)
    if csv_file is not None:
        text = aid_summary.to_csv(made)
        if str(csv_file) == "-":
            click.echo(text, nl=False)
        else:
            csv_file.write_text(text, encoding="utf-8")
            click.echo(_("Summary written to {file}.").format(file=csv_file), err=as_json)
    if as_json:
        click.echo(aid_summary.encode(made).decode("utf-8"))
        return
    if csv_file is not None:
        return
    click.echo(_("Counted at {time}.").format(time=format_time(made.at)))
    if not made.rows:
        click.echo(_("Nothing open."))
    hidden = _("fewer than {n}").format(n=number(made.suppress_below))
    table(
        [
            [
                label("category", r.category),
                label("urgency", r.urgency) if r.urgency else _("offer"),
                r.area,
                hidden if r.count is None else number(r.count),
                "" if r.quantity is None else number(r.quantity),
            ]
            for r in made.rows
        ]
    )
    if made.restricted is not None:
        click.echo(_("and {n} needs that only others may read").format(n=number(made.restricted)))


@click.command(
    help=N_(
        "Forget now, on this device, the needs, offers, alerts and check-ins that are "
        "over: expired, or closed a week ago (every aid command does it as it starts)."
    )
)
@json_option
@pass_session
def forget(session: Session, /, as_json: bool) -> None:
    node = session.open()
    done = node.forgetting.forget_expired(int(node.now()))
    if as_json:
        print_json({"forgotten": done.total, "kinds": done.kinds})
        return
    click.echo(_("Forgot {n} records that were over.").format(n=number(done.total)))
