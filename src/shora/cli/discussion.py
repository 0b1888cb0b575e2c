"""Discussion on the command line: ``shora comment`` and ``shora comments``. A comment
on a need only some members can read is sealed to them (docs/security.md)."""

from __future__ import annotations

import click

from shora.i18n import N_, _, format_time
from shora.node import Node

from .output import isolate, print_json, short
from .session import in_council, json_option

SUBJECT_HELP = N_("A proposal, need, offer or task: 6 or more digits of its id.")


@click.command(help=N_("Comment on a proposal, need, offer or task, or reply to a comment."))
@in_council
@click.argument("subject", help=SUBJECT_HELP)
@click.argument("text", help=N_("What to say."))
@click.option("--reply", "reply", metavar="ID", help=N_("Answer this comment (6+ digits)."))
@click.option("--mention", "mentions", multiple=True, help=N_("Mention a member (repeat)."))
@json_option
def comment(
    node: Node,
    council: bytes,
    subject: str,
    text: str,
    reply: str | None,
    mentions: tuple[str, ...],
    as_json: bool,
) -> None:
    found = node.discussion.find_subject(council, subject)
    answers = node.discussion.find_comment(council, found, reply) if reply else None
    named = [node.find_member(council, m) for m in mentions]
    made = node.discussion.comment(council, found, text, answers, named)
    if as_json:
        print_json({"id": made.hex(), "subject": found.hex()})
    else:
        click.echo(_("Comment {id} written.").format(id=short(made)))


@click.command(help=N_("Show the comments on a proposal, need, offer or task."))
@in_council
@click.argument("subject", help=SUBJECT_HELP)
@json_option
def comments(node: Node, council: bytes, subject: str, as_json: bool) -> None:
    found = node.discussion.find_subject(council, subject)
    thread = node.discussion.comments(council, found)
    people = node.councils.names(council)
    if as_json:
        print_json(
            [
                {
                    "id": c.id.hex(),
                    "author": c.author.hex(),
                    "name": people.get(c.author, ""),
                    "time": c.time // 1000,
                    "reply_to": c.reply_to.hex() if c.reply_to else None,
                    "text": c.text,
                    "mentions": [m.hex() for m in c.mentions],
                }
                for c in thread
            ]
        )
        return
    if not thread:
        click.echo(_("No comments yet."))
        return
    for c in thread:
        said = _("{name}, {time}:").format(
            name=isolate(people.get(c.author, short(c.author))), time=format_time(c.time // 1000)
        )
        answer = " " + _("(in reply to {id})").format(id=short(c.reply_to)) if c.reply_to else ""
        click.echo(f"{short(c.id)} {said}{answer}")
        click.echo(f"  {c.text}")
