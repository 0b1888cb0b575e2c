"""Comments on a need only coordinators may read are sealed to the same audience. An
ordinary member whose client is modified to read everything it holds finds only
ciphertext and cannot slip a comment into the thread in the clear; a relay operator
and a courier hold opaque envelopes; a coordinator removed from the council cannot read
what is written after her removal, even handed the decrypted events. Real profiles."""

from __future__ import annotations

import io
from pathlib import Path

import msgspec
import pytest
from test_aid import AREAS, need
from test_aid_private import _holds
from test_governance import vote_and_close

from attacks.adversary import Adversary
from conftest import Clock, admit, everyone, make_node, send, three_members
from shora.domain.decisions import kinds as dck
from shora.domain.discussion import kinds as dk
from shora.errors import NotAllowed
from shora.node import Node

SECRET = "the-door-code-is-4471"
LATER = "moved-to-the-back-entrance-9"


def _key(node: Node, council: bytes) -> bytes:
    return node.identity(council).sign_pk


def _council(root: Path) -> tuple[list[Node], bytes, Clock]:
    """a and d coordinators (elected), b and c ordinary members, everyone holding all."""
    clock = Clock()
    (a, b, c), council = three_members(root, clock)
    d = make_node(root, "d")
    d.now = clock
    admit(a, d, council, "Dara")
    a.aid.set_areas(council, AREAS)
    nodes = [a, b, c, d]
    everyone(nodes)
    ka, kd = _key(a, council), _key(d, council)
    pid = a.governance.elect(council, "coordinator", [ka, kd], seats=2, method="stv")
    ballots = [dck.RankedBallot([ka.hex(), kd.hex()]), dck.RankedBallot([kd.hex(), ka.hex()])]
    vote_and_close(nodes, council, pid, clock, ballots * 2)
    now = int(clock.t * 1000)
    holders = a.state(council).role_holders("coordinator", now)
    assert holders == {ka, kd}
    return nodes, council, clock


def test_an_ordinary_members_modified_client_reads_no_comment(tmp_path: Path) -> None:
    nodes, council, _clock = _council(tmp_path)
    a, b, c, d = nodes
    nid = b.aid.post_need(council, need("water", 2, visibility="coordinators", what="x"))
    everyone(nodes)
    first = b.discussion.comment(council, nid, SECRET)
    everyone(nodes)
    a.discussion.comment(council, nid, "on my way", reply_to=first, mentions=[_key(b, council)])
    everyone(nodes)
    for reader in (a, b, d):  # the coordinators and the need's author read both
        assert [x.text for x in reader.discussion.comments(council, nid)] == [SECRET, "on my way"]
    assert [n.why for n in b.discussion.notifications(council)] == ["mention"]
    readers = {_key(x, council) for x in (a, b, d)}
    assert a.discussion.mentionable(council, nid) == readers  # the page offers only them
    with pytest.raises(NotAllowed):  # naming c would tell her of a thread she cannot read
        a.discussion.comment(council, nid, "c, look", mentions=[_key(c, council)])
    # c's client, modified to read every event it holds: a subject, a reply, ciphertext.
    assert c.discussion.comments(council, nid) == []
    assert not _holds(c, SECRET)
    rows = [(e[5], e[1]) for e in c.store.events.valid_where("kind=?", ("comment_sealed",))]
    assert len(rows) == 2
    for body, author in rows:
        sealed = msgspec.msgpack.decode(bytes(body), type=dk.SealedComment).sealed
        assert _key(c, council) not in sealed.recipients
        assert sealed.recipients == {_key(x, council) for x in (a, b, d)}
        opened = c.restricted.open_for_me(council, bytes(author), sealed, dk.COMMENT_PURPOSE)
        assert opened is None
    # Nor can c's client put words into the thread in the clear: honest readers count
    # no plain comment on a sealed need, and an honest client refuses to write one.
    liar = Adversary(c, council)
    plain = liar.forge("comment", dk.Comment(subject=nid, text="in the clear"))
    for node in (a, b, d):
        node.bundles.import_envelopes([plain.raw])
        assert "in the clear" not in [x.text for x in node.discussion.comments(council, nid)]
    with pytest.raises(NotAllowed):
        c.discussion.comment(council, nid, "let me in")


def test_a_relay_operator_and_a_courier_hold_only_opaque_envelopes(tmp_path: Path) -> None:
    nodes, council, _clock = _council(tmp_path)
    a, b, _c, _d = nodes
    nid = b.aid.post_need(council, need("water", 2, visibility="coordinators"))
    b.discussion.comment(council, nid, SECRET)
    everyone(nodes)
    # What a relay stores and serves: every envelope of the council, as it travels.
    envelopes = list(a.store.events.raws(council))
    assert envelopes and not any(SECRET.encode() in raw for raw in envelopes)
    # What a courier carries: a bundle of them.
    carried = io.BytesIO()
    assert a.bundles.export_bundle(carried, council) == len(envelopes)
    assert SECRET.encode() not in carried.getvalue()


def test_a_removed_coordinator_cannot_read_comments_written_after(tmp_path: Path) -> None:
    nodes, council, clock = _council(tmp_path)
    a, b, c, d = nodes
    nid = b.aid.post_need(council, need("water", 2, visibility="coordinators"))
    b.discussion.comment(council, nid, SECRET)
    everyone(nodes)
    assert [x.text for x in a.discussion.comments(council, nid)] == [SECRET]
    ka = _key(a, council)
    clock.t += 60
    b.membership.remove(council, ka, "informer")
    everyone([b, c, d])
    c.membership.remove(council, ka, "informer")
    everyone([b, c, d])
    assert not b.state(council).is_active(ka)
    b.discussion.comment(council, nid, LATER)
    everyone([b, c, d])
    assert [x.text for x in d.discussion.comments(council, nid)] == [SECRET, LATER]
    for node in (b, c, d):
        send(node, a)  # a's node receives everything: the new epoch is not hers to open
    assert LATER not in [x.text for x in a.discussion.comments(council, nid)]
    assert not _holds(a, LATER)
    # Handed the decrypted event itself (a member's leak of the epoch layer), she is
    # still no recipient: the comment is sealed to the active audience only.
    last = max(b.store.events.valid_where("kind=?", ("comment_sealed",)), key=lambda e: e[2])
    body, author = last[5], last[1]
    sealed = msgspec.msgpack.decode(bytes(body), type=dk.SealedComment).sealed
    assert ka not in sealed.recipients
    assert sealed.recipients == {_key(b, council), _key(d, council)}
    assert a.restricted.open_for_me(council, bytes(author), sealed, dk.COMMENT_PURPOSE) is None
