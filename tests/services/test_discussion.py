"""Discussion on real profiles: comments, replies and mentions travel between nodes in
bundles; what is new since one last looked; notifications; the comment decoder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import T0, Clock, council_of_three, everyone, send
from shora.domain.aid import kinds as ak
from shora.domain.decisions import kinds as dck
from shora.domain.discussion import kinds as dk
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.kernel.events import MalformedEvent, decode_body
from shora.node import Node
from shora.services import decisions as dec

DAY = 86_400
AREAS = ak.Areas([ak.Area("block-4", "Block 4")], [])


@pytest.fixture
def council3(tmp_path: Path) -> Iterator[tuple[list[Node], bytes, Clock]]:
    with council_of_three(tmp_path, AREAS) as made:
        yield made


def _proposal(node: Node, council: bytes) -> bytes:
    body = dck.Propose(title="Water", text="Who fetches it?", method="yes_no", deadline=T0 + DAY)
    return node.decisions.propose(council, body)


def _key(node: Node, council: bytes) -> bytes:
    return dec._me(node, council)


def test_comments_replies_and_mentions_travel(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, b, c), council, clock = council3
    pid = _proposal(a, council)
    everyone([a, b, c])
    first = b.discussion.comment(council, pid, "I can go at six", mentions=[_key(c, council)])
    clock.t += 60
    send(b, c)
    reply = c.discussion.comment(council, pid, "I come with you", reply_to=first)
    everyone([a, b, c])
    for node in (a, b, c):
        thread = node.discussion.comments(council, pid)
        assert [x.id for x in thread] == [first, reply]
        assert thread[1].reply_to == first
        assert thread[0].mentions == (_key(c, council),)
    # b wrote the comment c answered; c was mentioned; a wrote the proposal
    assert [(n.why, n.comment.id) for n in b.discussion.notifications(council)] == [
        ("reply", reply)
    ]
    assert [(n.why, n.comment.id) for n in c.discussion.notifications(council)] == [
        ("mention", first)
    ]
    assert [n.why for n in a.discussion.notifications(council)] == ["comment", "comment"]
    assert a.discussion.unread(council) == 2
    a.discussion.mark_looked(council, "notifications")
    assert a.discussion.unread(council) == 0


def test_comments_on_needs_and_offers(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, b, _c), council, _clock = council3
    need = a.aid.post_need(
        council, ak.Need(category="water", quantity=5, area="block-4", urgency="urgent")
    )
    offer = a.aid.post_offer(council, ak.Offer(category="water", quantity=5, area="block-4"))
    send(a, b)
    for subject in (need, offer):
        b.discussion.comment(council, subject, "seen")
    send(b, a)
    assert [len(a.discussion.comments(council, s)) for s in (need, offer)] == [1, 1]
    assert [a.discussion.subject_of(council, s) for s in (need, offer)] == ["need", "offer"]


def test_comments_on_tasks_and_not_on_other_events(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    (a, b, _c), council, _clock = council3
    task = a.decisions.create_task(council, "Fetch the water")
    post = a.posts.post(council, "hello")
    send(a, b)
    b.discussion.comment(council, task, "I can do it on Friday")
    with pytest.raises(NotFound):
        b.discussion.comment(council, post, "a post is not discussed here")
    send(b, a)
    assert [x.text for x in a.discussion.comments(council, task)] == ["I can do it on Friday"]
    assert [n.why for n in a.discussion.notifications(council)] == ["comment"]
    assert b.discussion.new_since(council, "tasks") == 1


def test_refusals(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, _b, _c), council, _clock = council3
    pid = _proposal(a, council)
    with pytest.raises(InvalidInput):
        a.discussion.comment(council, pid, "   ")
    with pytest.raises(InvalidInput):
        a.discussion.comment(council, pid, "x" * (dk.MAX_COMMENT_CHARS + 1))
    with pytest.raises(NotFound):
        a.discussion.comment(council, b"\x01" * 32, "on nothing")
    with pytest.raises(NotFound):
        a.discussion.comment(council, pid, "answer", reply_to=b"\x02" * 32)
    with pytest.raises(NotAllowed):
        a.discussion.comment(council, pid, "hey", mentions=[b"\x03" * 32])
    assert a.discussion.comments(council, pid) == []


def test_new_since_last_looked(council3: tuple[list[Node], bytes, Clock]) -> None:
    (a, b, _c), council, _clock = council3
    _proposal(a, council)
    a.aid.post_need(
        council, ak.Need(category="water", quantity=5, area="block-4", urgency="urgent")
    )
    send(a, b)
    assert b.discussion.new_since(council, "proposals") == 1
    assert b.discussion.new_since(council, "needs") == 1
    assert a.discussion.new_since(council, "proposals") == 0  # one's own writing is not news
    b.discussion.mark_looked(council, "proposals")
    assert b.discussion.new_since(council, "proposals") == 0
    assert b.discussion.new_since(council, "needs") == 1
    _proposal(a, council)
    send(a, b)
    assert b.discussion.new_since(council, "proposals") == 1
    assert b.discussion.new_since(council, "home") == 3


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_the_comment_decoder_takes_bytes_or_refuses(raw: bytes) -> None:
    try:
        body = decode_body("comment", raw)
    except MalformedEvent:
        return
    assert isinstance(body, dk.Comment)
    assert 1 <= len(body.text) <= dk.MAX_COMMENT_CHARS and len(body.subject) == 32


@settings(max_examples=100, deadline=None)
@given(
    text=st.text(min_size=0, max_size=dk.MAX_COMMENT_CHARS + 5),
    mentions=st.integers(0, dk.MAX_MENTIONS + 2),
)
def test_the_comment_decoder_holds_the_bounds(text: str, mentions: int) -> None:
    raw = msgspec.msgpack.encode(
        {"subject": b"s" * 32, "text": text, "mentions": [bytes([i]) * 32 for i in range(mentions)]}
    )
    ok = 1 <= len(text) <= dk.MAX_COMMENT_CHARS and mentions <= dk.MAX_MENTIONS
    try:
        decode_body("comment", raw)
    except MalformedEvent:
        assert not ok
    else:
        assert ok
