"""Posts: announcements and messages written to a council."""

from __future__ import annotations

from typing import Any

import msgspec

from shora.errors import InvalidInput
from shora.i18n import _
from shora.kernel import kinds
from shora.kernel.core import NodeCore
from shora.kernel.events import decode_body


class Posts:
    """Announcements and messages."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core

    def post(
        self, council: bytes, text: str, title: str | None = None, thread: bytes | None = None
    ) -> bytes:
        """Write a message (in a thread, if given), or with a title an announcement."""
        if not text.strip():
            raise InvalidInput(_("a post needs some text"))
        if title is not None:
            return self.core.append(council, "post.announcement", kinds.Announcement(title, text))
        return self.core.append(council, "post.message", kinds.Message(text, thread))

    def post_many(self, council: bytes, texts: list[str]) -> list[bytes]:
        """Write several messages at once, in order, in one transaction (all or none)."""
        if any(not text.strip() for text in texts):
            raise InvalidInput(_("a post needs some text"))
        items: list[tuple[str, msgspec.Struct]] = [
            ("post.message", kinds.Message(text)) for text in texts
        ]
        return self.core.append_many(council, items)

    def posts(self, council: bytes, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Valid announcements and messages, newest first, a page at a time."""
        posts = []
        for eid, kind, body, time_, author in self.core.store.events.posts(council, limit, offset):
            post = decode_body(kind, body)
            posts.append(
                {
                    "id": eid,
                    "kind": kind,
                    "title": getattr(post, "title", ""),
                    "text": post.text,
                    "thread": getattr(post, "thread", None),
                    "time": time_,
                    "author": author,
                }
            )
        return posts
