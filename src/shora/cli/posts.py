"""Writing to a council and reading its log."""

from __future__ import annotations

import sys

import click

from shora.errors import InvalidInput, NotFound
from shora.i18n import N_, _, format_time
from shora.node import Node

from .output import (
    Number,
    council_name,
    isolate,
    kind_label,
    print_json,
    short,
    table,
)
from .session import in_council, json_option

MIN_ID_PREFIX = 6
TITLES_LOOKED_UP = 200  # announcements among the latest posts whose titles the log sets apart


def _find_post(node: Node, council: bytes, ref: str) -> bytes:
    """A post by its id, or by a prefix of it as 'shora log' shows it."""
    ref = ref.strip().lower()
    if len(ref) == 64:
        try:
            return bytes.fromhex(ref)
        except ValueError:
            pass
    if len(ref) < MIN_ID_PREFIX:
        raise InvalidInput(_("give at least 6 digits of the message's id"))
    found: list[bytes] = []
    offset, page = 0, 500
    while batch := node.posts.posts(council, limit=page, offset=offset):
        found += [p["id"] for p in batch if p["id"].hex().startswith(ref)]
        offset += page
    if len(found) != 1:
        raise NotFound(
            _("no single message in this council has an id starting {id}").format(id=ref)
        )
    return bytes(found[0])


@click.command(help=N_("Write to a council: a message, or with --title an announcement."))
@in_council
@click.argument("text", help=N_("What to say; '-' reads it from standard input."))
@click.option("--title", help=N_("Make it an announcement with this title."))
@click.option(
    "--thread",
    metavar="ID",
    help=N_("Reply in the conversation that starts with this message (its id from 'shora log')."),
)
def post(node: Node, council_id: bytes, text: str, title: str | None, thread: str | None) -> None:
    if text == "-":
        text = sys.stdin.read()
    thread_id = _find_post(node, council_id, thread) if thread is not None else None
    post_id = node.posts.post(council_id, text, title, thread_id)
    info = node.councils.get(council_id)
    if title is not None:
        message = _("Announcement posted in {council} (id {id}).")
    else:
        message = _("Message posted in {council} (id {id}).")
    click.echo(message.format(council=isolate(council_name(info)), id=short(post_id)))


def _titles(node: Node, council: bytes) -> dict[bytes, str]:
    """The titles of the latest announcements, to set them apart in the log."""
    posts = node.posts.posts(council, limit=TITLES_LOOKED_UP)
    return {p["id"]: p["title"] for p in posts if p["kind"] == "post.announcement"}


@click.command(help=N_("Show a council's events, newest first."))
@in_council
@click.option(
    "--limit", type=Number(1, 10_000), default=50, show_default=True, help=N_("Events per page.")
)
@click.option(
    "--offset", type=Number(0), default=0, show_default=True, help=N_("Skip this many events.")
)
@json_option
def log(node: Node, council_id: bytes, limit: int, offset: int, as_json: bool) -> None:
    entries = node.councils.log(council_id, limit, offset)
    if as_json:
        print_json(
            [
                {
                    "id": e.id.hex(),
                    "author": e.author.hex(),
                    "author_name": e.author_name,
                    "kind": e.kind,
                    "time_ms": e.time,
                    "clock": e.clock,
                    "valid": e.valid,
                    "summary": e.summary,
                }
                for e in entries
            ]
        )
        return
    if not entries:
        click.echo(_("No events here.") if offset == 0 else _("No more events."))
        return
    titles = (
        _titles(node, council_id) if any(e.kind == "post.announcement" for e in entries) else {}
    )
    rows = []
    for e in entries:
        summary = " ".join(e.summary.split())
        title = titles.get(e.id)
        if title and summary.startswith(title + " "):  # "Title: text", not "Title text"
            summary = f"{title}: {summary[len(title) + 1 :]}"
        if not e.valid:
            summary = f"{_('(void)')} {summary}".rstrip()
        rows.append(
            [
                format_time(e.time // 1000),
                e.author_name or short(e.author),
                kind_label(e.kind),
                short(e.id),
                summary,
            ]
        )
    table(rows)
    if len(entries) == limit:
        click.echo(
            _("More: {command}").format(
                command=isolate(f"'shora log {short(council_id)} --offset {offset + limit}'")
            ),
            err=True,
        )
