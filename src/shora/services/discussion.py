"""Discussion on a node: comments and replies on proposals, needs, offers and tasks,
mentions of members, what is new since this profile last looked, and its
notifications. See docs/decisions.md ("Discussion").

Reading is a pure fold (`fold_comments`, in shora.domain.discussion.comments) over
the valid events. A comment on a need only some members can read is sealed to the same
audience (the need's audience as the council stands, its author and the commenter, all
active members): a member outside it, a relay or a courier holds only ciphertext, and
this node opens such comments in memory on each read, for its member only.

"Last looked" is kept per profile and per council in the store's settings, as the
highest local row number of the council's events when the person looked: an event that
arrives later is new to them whatever its clock. Nothing of it leaves the machine.

The interfaces read the domain's types and limits from here (re-exported below).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from shora.domain.aid.kinds import SealedNeed
from shora.domain.discussion import kinds as dk
from shora.domain.discussion.comments import LISTS as LISTS
from shora.domain.discussion.comments import CommentView as CommentView
from shora.domain.discussion.comments import Notice as Notice
from shora.domain.discussion.comments import fold_comments as fold_comments
from shora.domain.discussion.comments import notices_for, seen_key
from shora.domain.discussion.kinds import MAX_COMMENT_CHARS as MAX_COMMENT_CHARS
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _, number
from shora.kernel.core import NodeCore
from shora.kernel.events import decode_body
from shora.services.decisions import EventView, _me, require_member, views_of
from shora.services.restricted import Opener, Restricted, audience_members, seal

_content = msgspec.msgpack.Decoder(dk.CommentContent)


def _opened(opener: Opener, e: EventView) -> EventView | None:
    """A sealed comment opened for this member, as a plain one (None: not for us, or
    not a valid content once opened)."""
    if e.kind != "comment_sealed":
        return e
    plain = opener.open(e.body.sealed, dk.COMMENT_PURPOSE, e.author)
    if plain is None:
        return None
    try:
        content = _content.decode(plain)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    body = dk.Comment(
        subject=e.body.subject, reply_to=e.body.reply_to, text=content.text,
        mentions=content.mentions,
    )  # fmt: skip
    return EventView(e.id, e.author, e.clock, e.time, e.kind, body)


class Discussion:
    """Comments, replies, mentions and what is new."""

    def __init__(self, core: NodeCore, restricted: Restricted) -> None:
        self.core = core
        self.restricted = restricted

    def _subjects(self, council: bytes, only: bytes | None = None) -> dict[bytes, bytes]:
        return self.core.store.events.valid_authors(council, tuple(dk.SUBJECT_KINDS), only)

    def _sealed(self, council: bytes, only: bytes | None = None) -> frozenset[bytes]:
        """The subjects whose comments are sealed: needs only some members can read."""
        return frozenset(
            self.core.store.events.valid_authors(council, dk.SEALED_SUBJECT_KINDS, only)
        )

    def _admitted(self, council: bytes) -> frozenset[bytes]:
        return frozenset(self.core.state(council).members)

    def _comment_events(self, council: bytes, subject: bytes | None = None) -> list[EventView]:
        events = self.core.store.events
        found = views_of(events.valid_of_kind(council, "comment", subject))
        sealed = views_of(events.valid_of_kind(council, "comment_sealed", subject))
        if sealed:
            opener = self.restricted.opener(council)
            found += [o for e in sealed if (o := _opened(opener, e)) is not None]
        return found

    def comments(self, council: bytes, subject: bytes) -> list[CommentView]:
        """The comments on one subject, oldest first (replies follow what they answer);
        on a need only some can read, those this member may read."""
        events = self._comment_events(council, subject)
        return fold_comments(
            events,
            self._subjects(council, subject),
            self._admitted(council),
            self._sealed(council, subject),
        )

    def find_subject(self, council: bytes, ref: str) -> bytes:
        """A proposal, need, offer or task by its id or a prefix of it (6 digits or more)."""
        ref = ref.strip().lower()
        found = [s for s in self._subjects(council) if s.hex().startswith(ref)]
        if len(ref) < 6 or len(found) != 1:
            raise NotFound(_("no proposal, need, offer or task here has that id"))
        return found[0]

    def find_comment(self, council: bytes, subject: bytes, ref: str) -> bytes:
        """A comment on `subject` that this member can read, by a prefix of its id."""
        ref = ref.strip().lower()
        found = [c.id for c in self.comments(council, subject) if c.id.hex().startswith(ref)]
        if len(ref) < 6 or len(found) != 1:
            raise NotFound(_("the comment you answer is not on this page"))
        return found[0]

    def mentionable(self, council: bytes, subject: bytes | None = None) -> frozenset[bytes]:
        """The members a comment (on `subject`, if given) may mention now: the active
        ones; on a need only some can read, those it would be sealed to."""
        state = self.core.state(council)
        if subject is not None and subject in self._sealed(council, subject):
            readers = self._readers(council, subject)
            return frozenset(readers) if readers is not None else frozenset()
        return frozenset(m for m in state.members if state.is_active(m))

    def _readers(self, council: bytes, subject: bytes) -> dict[bytes, bytes] | None:
        """Who a comment by this member on a sealed need would be sealed to (member key
        -> X25519 key), or None if this member may not comment on it."""
        row = self.core.store.events.valid_event(council, dk.SEALED_SUBJECT_KINDS, subject)
        me = self.core.me(council)
        if row is None or me is None:
            return None
        need: SealedNeed = decode_body(row[4], row[5])
        if me not in need.sealed.recipients:
            return None
        state = self.core.state(council)
        now_ms = int(self.core.now() * 1000)
        return audience_members(state, need.audience, me, now_ms, extra=[row[1]])

    def comment(
        self,
        council: bytes,
        subject: bytes,
        text: str,
        reply_to: bytes | None = None,
        mentions: Sequence[bytes] = (),
    ) -> bytes:
        """Comment on a proposal, need, offer or task of this council, or reply to a
        comment."""
        require_member(self.core, council)
        text = text.strip()
        if not text:
            raise InvalidInput(_("a comment says something: write a text"))
        if len(text) > dk.MAX_COMMENT_CHARS:
            raise InvalidInput(
                _("a comment is at most {n} characters: shorten it").format(
                    n=number(dk.MAX_COMMENT_CHARS)
                )
            )
        if subject not in self._subjects(council, subject):
            raise NotFound(_("no proposal, need, offer or task here has that id"))
        if reply_to is not None and reply_to not in {c.id for c in self.comments(council, subject)}:
            raise NotFound(_("the comment you answer is not on this page"))
        unique = list(dict.fromkeys(mentions))
        if len(unique) > dk.MAX_MENTIONS:
            raise InvalidInput(
                _("a comment mentions at most {n} members").format(n=number(dk.MAX_MENTIONS))
            )
        state = self.core.state(council)
        if any(not state.is_active(m) for m in unique):
            raise NotAllowed(_("you can mention only members of this council"))
        if subject in self._sealed(council, subject):
            return self._comment_sealed(council, subject, reply_to, text, unique)
        body = dk.Comment(subject=subject, reply_to=reply_to, text=text, mentions=unique)
        return self.core.append(council, "comment", body)

    def _comment_sealed(
        self,
        council: bytes,
        subject: bytes,
        reply_to: bytes | None,
        text: str,
        mentions: list[bytes],
    ) -> bytes:
        """A comment on a need only some can read, sealed to the need's audience as the
        council stands now, the need's author and this member (active members only)."""
        me = self.restricted.require_member(council)
        readers = self._readers(council, subject)
        if readers is None:
            raise NotAllowed(_("only the people this need is shown to can comment on it"))
        if any(m not in readers for m in mentions):
            raise NotAllowed(_("you can mention only people this need is shown to"))
        content = msgspec.msgpack.encode(dk.CommentContent(text=text, mentions=mentions))
        sealed = seal(readers, content, dk.COMMENT_PURPOSE, council, me)
        body = dk.SealedComment(subject=subject, reply_to=reply_to, sealed=sealed)
        return self.core.append(council, "comment_sealed", body)

    # --- what is new, and notifications -------------------------------------------------

    def last_looked(self, council: bytes, what: str) -> int:
        value = self.core.store.councils.setting(seen_key(council, what))
        return int(value) if value is not None else 0

    def mark_looked(self, council: bytes, what: str) -> None:
        """This person has now seen everything the node holds for `what` in this council."""
        if what not in LISTS and what != "notifications":
            raise ValueError(what)
        top = self.core.store.events.last_row(council)
        self.core.store.councils.set_setting(seen_key(council, what), str(top))

    def new_since(self, council: bytes, what: str) -> int:
        """How many items of `what` others wrote after this person last looked."""
        return self.core.store.events.count_valid_since(
            council, LISTS[what], self.last_looked(council, what), self.core.me(council)
        )

    def notifications(self, council: bytes) -> list[Notice]:
        """Mentions of me, replies to me and comments on what I wrote, newest first."""
        me = _me(self.core, council)
        subjects = self._subjects(council)
        every = fold_comments(
            self._comment_events(council), subjects, self._admitted(council), self._sealed(council)
        )
        return notices_for(me, every, subjects)

    def unread(self, council: bytes) -> int:
        """Notifications newer than this person's last look at the notifications page."""
        seen = self.last_looked(council, "notifications")
        events = self.core.store.events
        fresh = set().union(*(events.ids_since(council, k, seen) for k in dk.COMMENT_KINDS))
        return sum(1 for n in self.notifications(council) if n.comment.id in fresh)

    def subject_of(self, council: bytes, subject: bytes) -> str:
        """What `subject` is ("proposal", "need", "offer" or "task"), if it is one here."""
        kind = self.core.store.events.valid_kind(council, subject)
        if kind not in dk.SUBJECT_KINDS:
            raise NotFound(_("no proposal, need, offer or task here has that id"))
        return dk.SUBJECT_KINDS[str(kind)]
