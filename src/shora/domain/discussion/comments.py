"""Reading the discussion: the pure fold of comment events into the comments that
count, and which of them are notifications for a member. See docs/decisions.md
("Discussion").

The kernel has already voided what a removed member wrote concurrently with their
removal. A comment counts only if its subject is a proposal, need, offer or task of the
same council, its reply names a comment on the same subject, and everyone it mentions
was admitted to the council; anything else is ignored, whoever forged it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shora.domain.decisions.state import EventView
from shora.domain.discussion import kinds as dk

# The lists that show "new since you last looked", and the kinds each counts.
LISTS: dict[str, tuple[str, ...]] = {
    "proposals": ("decision.propose", "gov.propose"),
    "needs": ("aid.need", "aid.need_sealed"),
    "tasks": ("task.create",),
    "home": (*dk.SUBJECT_KINDS, *dk.COMMENT_KINDS),
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


@dataclass(frozen=True, slots=True)
class Notice:
    why: str  # "mention", "reply" or "comment" (on what I wrote)
    comment: CommentView


def fold_comments(
    events: Iterable[EventView],
    subjects: dict[bytes, bytes],
    admitted: frozenset[bytes],
    sealed: frozenset[bytes] = frozenset(),
) -> list[CommentView]:
    """The comments that count, in (clock, id) order. `subjects` maps each subject of
    this council to its author; `admitted` is everyone ever admitted here; `sealed` are
    the subjects whose comments are sealed (needs only some can read). A plain
    ``comment`` counts only on another subject; a ``comment_sealed``, given opened (its
    body a `Comment`), only on one of those: a sealed need's words never count in the
    clear, and a comment that could not be opened is not here at all."""
    unique = sorted(
        {e.id: e for e in events if _may_count(e, sealed)}.values(), key=lambda e: e.order
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


def _may_count(e: EventView, sealed: frozenset[bytes]) -> bool:
    if e.kind == "comment":
        return e.body.subject not in sealed
    if e.kind == "comment_sealed":
        return isinstance(e.body, dk.Comment) and e.body.subject in sealed
    return False


def notices_for(me: bytes, every: list[CommentView], subjects: dict[bytes, bytes]) -> list[Notice]:
    """Mentions of `me`, replies to me and comments on what I wrote, newest first."""
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


def seen_key(council: bytes, what: str) -> str:
    """The setting that keeps when this person last looked at `what` in a council."""
    return f"seen:{council.hex()}:{what}"
