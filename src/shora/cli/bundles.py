"""``shora bundle``: carry a council's events on a file, to sync without a network."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shora.i18n import N_, _, ngettext, number, using_time_zone
from shora.services.bundles import MAX_COMPRESSED, Report

from .output import Since, council_name, council_status, isolate, print_json, refusal_reason
from .session import LocalTime, Session, pass_session

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from click._termui_impl import ProgressBar


class _CountingReader(io.RawIOBase):
    """Reports how many bytes were read, to move a progress bar."""

    def __init__(self, inner: io.BufferedReader, update: Callable[[int], None]) -> None:
        self._inner, self._update = inner, update

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        n = self._inner.readinto(buffer)
        self._update(n)
        return n


def _progressbar(length: int, label: str) -> ProgressBar[int]:
    """A progress bar on stderr, shown only to a person at a terminal."""
    return click.progressbar(
        length=length, label=label, file=sys.stderr, hidden=not sys.stderr.isatty()
    )


def _events(n: int) -> str:
    return ngettext("{n} event", "{n} events", n).format(n=number(n))


@click.group(help=N_("Carry events between profiles on a file (a USB stick, a messenger ...)."))
def bundle() -> None:
    pass


@bundle.command(
    "export", help=N_("Write the events of this profile (or of one council) to a bundle file.")
)
@click.option(
    "--council",
    "council_ref",
    metavar="COUNCIL",
    help=N_("Only this council (its name, or the first digits of its id)."),
)
@click.option(
    "--since",
    type=Since(),
    help=N_(
        "Only events from this time on: Unix seconds or a date such as 2026-01-31, in the "
        "time zone of the council given with --council, else in UTC."
    ),
)
@click.option(
    "--for",
    "summary_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=N_("Only what the holder of this summary lacks (made with 'shora bundle summary')."),
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("The bundle file to write."),
)
@pass_session
def export(
    session: Session,
    council_ref: str | None,
    since: int | None,
    summary_file: Path | None,
    output: Path,
) -> None:
    node = session.open()
    council = node.find_council(council_ref) if council_ref is not None else None
    if council is not None and isinstance(since, LocalTime):  # a date in the council's zone
        rules = node.councils.get(council).rules
        with using_time_zone(rules.time_zone if rules is not None else ""):
            since = since.in_zone()
    records = None
    if summary_file is not None:
        with summary_file.open("rb") as f:  # no more than a summary can be: read_summary says so
            records = node.bundles.difference(f.read(MAX_COMPRESSED + 1))
    total = (
        len(records)
        if records is not None
        else sum(1 for _ in node.bundles.envelopes(council, since or 0))
    )
    partial = output.with_name(output.name + ".part")
    try:
        with (
            partial.open("wb") as out,
            _progressbar(total, _("Exporting")) as bar,
        ):
            count = node.bundles.export_bundle(
                out, council, since or 0, progress=bar.update, records=records
            )
        partial.replace(output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    click.echo(_("{events} written to {file}.").format(events=_events(count), file=output))


@bundle.command(
    "summary",
    help=N_(
        "Write a small file saying what this profile holds. Whoever has more can then "
        "export just the difference for you with 'shora bundle export --for FILE'."
    ),
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("The summary file to write."),
)
@pass_session
def summary(session: Session, output: Path) -> None:
    data = session.open().bundles.summary()
    output.write_bytes(data)
    click.echo(
        _("Summary written to {file} ({size} bytes).").format(file=output, size=number(len(data)))
    )


@bundle.command("import", help=N_("Read a bundle file: take in the events this profile lacks."))
@click.argument(
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=N_("The bundle file."),
)
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON for scripts."))
@pass_session
def import_(session: Session, file: Path, as_json: bool) -> None:
    node = session.open()
    with (
        file.open("rb") as raw,
        _progressbar(file.stat().st_size, _("Importing")) as bar,
    ):
        report, damage = node.bundles.import_bundle(
            io.BufferedReader(_CountingReader(raw, bar.update))
        )
    # Node.import_bundle heals key epochs itself (report.healed); asking again is harmless
    # and covers a node that was told not to.
    healed = {
        c: c in report.healed or node.membership.heal_epochs(c) is not None for c in report.councils
    }
    if as_json:
        print_json(
            {
                "accepted": report.accepted,
                "duplicate": report.duplicate,
                "pending": report.pending,
                "held": report.held,
                "refused": report.refused,
                "keys_learned": report.keys_learned,
                "councils": [c.hex() for c in sorted(report.councils)],
                "healed": sorted(c.hex() for c, done in healed.items() if done),
                "damage": str(damage) if damage is not None else None,
            }
        )
    else:
        _summary(report)
        for council, done in sorted(healed.items()):
            info = node.councils.get(council)
            name = isolate(council_name(info))
            click.echo(
                _("{council}: your status: {status}; {members} members.").format(
                    council=name,
                    status=council_status(info.status),
                    members=number(info.members),
                )
            )
            if done:
                click.echo(
                    _(
                        "{council}: the council's keys were brought up to date (a new key after "
                        "someone left or was removed, or keys shared with members who lacked "
                        "them). Send the members a bundle."
                    ).format(council=name)
                )
    if damage is not None:
        raise damage


def _summary(report: Report) -> None:
    click.echo(_("Accepted: {events}").format(events=_events(report.accepted)))
    click.echo(_("Already had: {events}").format(events=_events(report.duplicate)))
    if report.pending:
        click.echo(_("Waiting for earlier events: {events}").format(events=_events(report.pending)))
    if report.held:
        click.echo(
            _("Waiting for a council key this profile does not hold: {events}").format(
                events=_events(report.held)
            )
        )
    if report.keys_learned:
        click.echo(_("Council keys received: {n}").format(n=number(report.keys_learned)))
    refused = sum(report.refused.values())
    if refused:
        reasons = ", ".join(
            f"{refusal_reason(reason)}: {number(n)}" for reason, n in sorted(report.refused.items())
        )
        click.echo(
            _("Refused: {events} ({reasons})").format(events=_events(refused), reasons=reasons)
        )
