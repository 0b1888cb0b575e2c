"""The event kind of discussion: a comment on a proposal, need, offer or task, perhaps
a reply to another comment, perhaps mentioning members. See docs/decisions.md
("Discussion").

A comment on a need only some members can read (``aid.need_sealed``) is sealed to the
same audience (``comment_sealed``): its text and mentions are a `CommentContent` sealed
like the need (shora.domain.aid.restricted), and only the subject and the comment it
answers stay readable to every member. The reader counts only a sealed comment on such
a need, and only a plain comment on anything else.

The body is bounded like every other: the text at most 4,000 characters, at most 16
mentions, ids of 32 bytes. The reader (shora.services.discussion) ignores a comment whose
subject is not a proposal, need, offer or task of the same council, whose reply names a
comment on another subject, or which mentions someone who was not a member.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from shora.domain.aid.restricted import Sealed
from shora.kernel.events import Bytes32, register_kind

MAX_COMMENT_CHARS = 4000
MAX_MENTIONS = 16

CommentText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_COMMENT_CHARS)]


class Comment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A comment on `subject` (the inner id of a proposal, need, offer or task)."""

    subject: Bytes32
    reply_to: Bytes32 | None = None
    text: CommentText
    mentions: Annotated[list[Bytes32], msgspec.Meta(max_length=MAX_MENTIONS)] = msgspec.field(
        default_factory=list
    )


class CommentContent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a sealed comment says: its text and mentions, sealed to the need's audience."""

    text: CommentText
    mentions: Annotated[list[Bytes32], msgspec.Meta(max_length=MAX_MENTIONS)] = msgspec.field(
        default_factory=list
    )


class SealedComment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A comment on a need only some members can read (kind ``comment_sealed``): the
    subject and the comment it answers in the clear, the rest sealed."""

    subject: Bytes32
    reply_to: Bytes32 | None = None
    sealed: Sealed


COMMENT_PURPOSE = b"comment"
SEALED_SUBJECT_KINDS = ("aid.need_sealed",)  # their comments are sealed to their audience

# What a comment may be about: the kinds that start a proposal, a need, an offer, a task.
SUBJECT_KINDS: dict[str, str] = {
    "decision.propose": "proposal",
    "gov.propose": "proposal",
    "aid.need": "need",
    "aid.need_sealed": "need",
    "aid.offer": "offer",
    "task.create": "task",
}
DISCUSSION_KINDS: dict[str, type[msgspec.Struct]] = {
    "comment": Comment,
    "comment_sealed": SealedComment,
}
COMMENT_KINDS = tuple(DISCUSSION_KINDS)


def register() -> None:
    """Register these kinds with the kernel: shora.node calls it once, from its
    KIND_MODULES; importing this module registers nothing."""
    register_kind("comment", Comment, ref=lambda body: body.subject)
    register_kind("comment_sealed", SealedComment, ref=lambda body: body.subject)
