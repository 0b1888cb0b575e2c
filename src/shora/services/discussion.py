"""Discussion on a node: comments and replies on proposals, needs, offers and tasks,
mentions of members, what is new since this profile last looked, and its
notifications. See docs/decisions.md ("Discussion").

Reading is a pure fold (`fold_comments`) over the valid events: the kernel has already
voided what a removed member wrote concurrently with their removal. A comment counts
only if its subject is a proposal, need, offer or task of the same council, its reply
names a comment on the same subject, and everyone it mentions was admitted to the
council; anything else is ignored, whoever forged it.

"Last looked" is kept per profile and per council in the store's settings table, as the
highest local row number of the council's events when the person looked: an event that
arrives later is new to them whatever its clock. Nothing of it leaves the machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shora.domain.decisions.state import EventView
from shora.domain.discussion import kinds as dk
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _, number
from shora.kernel.core import NodeCore
from shora.services.decisions import _me, _require_member, _views

if TYPE_CHECKING:
    from shora.node import Node

# The lists that show "new since you last looked", and the kinds each counts.
LISTS: dict[str, tuple[str, ...]] = {
    "proposals": ("decision.propose", "gov.propose"),
    "needs": ("aid.need", "aid.need_sealed"),
    "tasks": ("task.create",),
    "home": (*dk.SUBJECT_KINDS, "comment"),
}


@dataclass(frozen=True, slots=True)
class CommentView:
    id: bytes
    author: bytes
    clock: int
    time: int  # ms, as the author claims
    subject: bytes
    reply_to: bytes | None
    text: str
    mentions: tuple[bytes, ...]


def fold_comments(
    events: Iterable[EventView], subjects: dict[bytes, bytes], admitted: frozenset[bytes]
) -> list[CommentView]:
    """The comments that count, in (clock, id) order. `subjects` maps each subject of
    this council to its author; `admitted` is everyone ever admitted here."""
    unique = sorted(
        {e.id: e for e in events if e.kind == "comment"}.values(), key=lambda e: e.order
    )
    kept: dict[bytes, CommentView] = {}
    for e in unique:
        body: dk.Comment = e.body
        if body.subject not in subjects or not set(body.mentions) <= admitted:
            continue
        if body.reply_to is not None:
            parent = kept.get(body.reply_to)
            if parent is None or parent.subject != body.subject:
                continue
        kept[e.id] = CommentView(
            e.id,
            e.author,
            e.clock,
            e.time,
            body.subject,
            body.reply_to,
            body.text,
            tuple(dict.fromkeys(body.mentions)),
        )
    return list(kept.values())


def _subjects(node: Node, council: bytes, only: bytes | None = None) -> dict[bytes, bytes]:
    marks = ",".join("?" * len(dk.SUBJECT_KINDS))
    where = f"council=? AND kind IN ({marks})" + (" AND id=?" if only else "")
    params = (council, *dk.SUBJECT_KINDS, *([only] if only else []))
    rows = node.store.rows(f"SELECT id, author FROM events WHERE valid=1 AND {where}", params)  # noqa: S608
    return {bytes(i): bytes(a) for i, a in rows}


def _admitted(node: Node, council: bytes) -> frozenset[bytes]:
    return frozenset(node.ingestor.projection.final_state(council).members)


def comments(node: Node, council: bytes, subject: bytes) -> list[CommentView]:
    """The comments on one subject, oldest first (replies follow what they answer)."""
    events = _views(node, "council=? AND kind='comment' AND ref=?", (council, subject))
    return fold_comments(events, _subjects(node, council, subject), _admitted(node, council))


def comment(
    node: Node,
    council: bytes,
    subject: bytes,
    text: str,
    reply_to: bytes | None = None,
    mentions: Sequence[bytes] = (),
) -> bytes:
    """Comment on a proposal, need, offer or task of this council, or reply to a comment."""
    _require_member(node, council)
    text = text.strip()
    if not text:
        raise InvalidInput(_("a comment says something: write a text"))
    if len(text) > dk.MAX_COMMENT_CHARS:
        raise InvalidInput(
            _("a comment is at most {n} characters: shorten it").format(
                n=number(dk.MAX_COMMENT_CHARS)
            )
        )
    if subject not in _subjects(node, council, subject):
        raise NotFound(_("no proposal, need, offer or task here has that id"))
    if reply_to is not None and reply_to not in {c.id for c in comments(node, council, subject)}:
        raise NotFound(_("the comment you answer is not on this page"))
    unique = list(dict.fromkeys(mentions))
    if len(unique) > dk.MAX_MENTIONS:
        raise InvalidInput(
            _("a comment mentions at most {n} members").format(n=number(dk.MAX_MENTIONS))
        )
    state = node.ingestor.projection.final_state(council)
    if any(not state.is_active(m) for m in unique):
        raise NotAllowed(_("you can mention only members of this council"))
    body = dk.Comment(subject=subject, reply_to=reply_to, text=text, mentions=unique)
    return node.append(council, "comment", body)


# --- what is new, and notifications -----------------------------------------------------


def _seen_key(council: bytes, what: str) -> str:
    return f"seen:{council.hex()}:{what}"


def last_looked(node: Node, council: bytes, what: str) -> int:
    value = node.store.one("SELECT value FROM settings WHERE key=?", (_seen_key(council, what),))
    return int(value) if value is not None else 0


def mark_looked(node: Node, council: bytes, what: str) -> None:
    """This person has now seen everything the node holds for `what` in this council."""
    if what not in LISTS and what != "notifications":
        raise ValueError(what)
    top = node.store.one("SELECT MAX(rowid) FROM events WHERE council=?", (council,))
    node.store.execute(
        "INSERT OR REPLACE INTO settings VALUES(?, ?)", (_seen_key(council, what), str(top or 0))
    )


def new_since(node: Node, council: bytes, what: str) -> int:
    """How many items of `what` others wrote after this person last looked."""
    kinds = LISTS[what]
    marks = ",".join("?" * len(kinds))
    me = node.store.one("SELECT sign_pk FROM identities WHERE council=?", (council,))
    found = node.store.one(
        f"SELECT COUNT(*) FROM events WHERE valid=1 AND council=? AND kind IN ({marks})"  # noqa: S608
        " AND rowid>? AND author IS NOT ?",
        (council, *kinds, last_looked(node, council, what), me),
    )
    return int(found or 0)


@dataclass(frozen=True, slots=True)
class Notice:
    why: str  # "mention", "reply" or "comment" (on what I wrote)
    comment: CommentView


def notifications(node: Node, council: bytes) -> list[Notice]:
    """Mentions of me, replies to me and comments on what I wrote, newest first."""
    me = _me(node, council)
    subjects = _subjects(node, council)
    events = _views(node, "council=? AND kind='comment'", (council,))
    every = fold_comments(events, subjects, _admitted(node, council))
    mine = {c.id for c in every if c.author == me}
    found: list[Notice] = []
    for c in reversed(every):
        if c.author == me:
            continue
        if me in c.mentions:
            found.append(Notice("mention", c))
        elif c.reply_to in mine:
            found.append(Notice("reply", c))
        elif subjects.get(c.subject) == me:
            found.append(Notice("comment", c))
    return found


def unread(node: Node, council: bytes) -> int:
    """Notifications newer than this person's last look at the notifications page."""
    seen = last_looked(node, council, "notifications")
    rows = node.store.rows(
        "SELECT id FROM events WHERE council=? AND kind='comment' AND rowid>?", (council, seen)
    )
    fresh = {bytes(r[0]) for r in rows}
    return sum(1 for n in notifications(node, council) if n.comment.id in fresh)


def subject_of(node: Node, council: bytes, subject: bytes) -> str:
    """What `subject` is ("proposal", "need", "offer" or "task"), if it is one here."""
    kind = node.store.one(
        "SELECT kind FROM events WHERE valid=1 AND council=? AND id=?", (council, subject)
    )
    if kind not in dk.SUBJECT_KINDS:
        raise NotFound(_("no proposal, need, offer or task here has that id"))
    return dk.SUBJECT_KINDS[str(kind)]


class Discussion:
    """Comments, replies, mentions and what is new."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core
