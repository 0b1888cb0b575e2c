"""Several posts written at once: in order, one transaction, all or none."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import admit, make_node, send
from shora.errors import InvalidInput, NotAllowed
from shora.kernel import kinds


def test_post_many_writes_in_order_and_replicas_agree(tmp_path: Path) -> None:
    a, b = make_node(tmp_path, "a"), make_node(tmp_path, "b")
    council = a.councils.create("Council", "", "Ava")
    admit(a, b, council, "Bijan")
    ids = a.posts.post_many(council, ["one", "two", "three"])
    assert len(ids) == 3
    assert [p["text"] for p in a.posts.posts(council)][:3] == ["three", "two", "one"]
    send(a, b)
    assert b.councils.state_digest(council) == a.councils.state_digest(council)
    assert [p["id"] for p in b.posts.posts(council)][:3] == ids[::-1]
    a.close()
    b.close()


def test_post_many_writes_nothing_if_one_is_refused(tmp_path: Path) -> None:
    a = make_node(tmp_path, "a")
    council = a.councils.create("Council", "", "Ava")
    before = a.councils.get(council).events
    with pytest.raises(InvalidInput):
        a.posts.post_many(council, ["one", " "])
    # Refused by ingest after the first was stored: the first goes too.
    with pytest.raises(NotAllowed):
        items = [("post.message", kinds.Message("one")), ("no.such", kinds.Message("x"))]
        a.append_many(council, items)  # type: ignore[arg-type]
    assert a.councils.get(council).events == before
    a.posts.post(council, "after")  # the caches still match the store
    assert [p["text"] for p in a.posts.posts(council)] == ["after"]
    a.close()
