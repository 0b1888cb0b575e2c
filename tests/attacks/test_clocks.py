"""A member whose clock runs fast (or who lies about it) cannot end anything early.

The honest nodes hold an event dated further ahead of their own clock than the council's
skew allows and apply it when their clock gets there; an event may not claim a time
before its parents'. Real profiles on a shared test clock; the liar's node runs 73 hours
ahead, or a modified client writes whatever time it likes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from attacks.adversary import Adversary
from conftest import Clock, admit, everyone, make_node, send
from shora.domain.decisions import kinds as dk
from shora.errors import BadClock
from shora.kernel import kinds
from shora.node import Node

HOUR = 3600


def _four(tmp_path: Path) -> tuple[list[Node], bytes, Clock]:
    """a (the founding coordinator), b, c and m, m's node 73 hours ahead."""
    clock = Clock()
    nodes = [make_node(tmp_path, n) for n in "abcm"]
    a, b, c, m = nodes
    for node in (a, b, c):
        node.now = clock
    m.now = lambda: clock.t + 73 * HOUR
    council = a.councils.create("Block 4", "", "Azadeh")
    for node, name in ((b, "Bahram"), (c, "Cyrus")):
        admit(a, node, council, name)
    m.now = clock  # joined with an honest clock; it goes wrong afterwards
    admit(a, m, council, "Mina")
    m.now = lambda: clock.t + 73 * HOUR
    everyone(nodes)
    return nodes, council, clock


def test_a_fast_clock_cannot_lapse_an_emergency_removal_early(tmp_path: Path) -> None:
    """m's node, 73 hours ahead, records the lapse a minute after the removal: its
    envelopes are dated past the hour and refused. A modified client dating the
    envelope honestly and only the event ahead gets it held until its time."""
    (a, b, c, m), council, clock = _four(tmp_path)
    cyrus = c.identity(council).sign_pk
    a.membership.remove(council, cyrus, "reported to the police", emergency=True)
    action = a.governance.emergencies(council)[0].action
    send(a, b)
    clock.t += 60
    send(a, m)  # m's node records the lapse at once: by its clock, 72 hours have passed
    assert m.governance.emergencies(council)[0].status == "lapsed"
    assert b.bundles.import_envelopes(m.bundles.envelopes()).refused.get("FromTheFuture", 0) >= 1
    liar = Adversary(m, council)
    lapse = liar.forge(
        "emergency.lapse",
        kinds.Lapse(action),
        parents=[action],
        time_ms=int((clock.t + 73 * HOUR) * 1000),
        created_at=int(clock.t) // HOUR * HOUR,
    )
    for node in (a, b):
        assert node.bundles.import_envelopes([lapse.raw]).early == 1
        assert not node.ingestor.projection.final_state(council).is_active(cyrus)
        assert node.governance.emergencies(council)[0].status == "pending"
    clock.t += 73 * HOUR  # the lapse's time has come: the honest nodes apply it now
    for node in (a, b):
        node.bundles.import_envelopes([], heal=False)
        assert node.store.one("SELECT count(*) FROM early") == 0
        assert node.governance.emergencies(council)[0].status == "lapsed"
        assert node.ingestor.projection.final_state(council).is_active(cyrus)


def test_a_fast_clock_cannot_close_a_vote_early(tmp_path: Path) -> None:
    (a, b, c, m), council, clock = _four(tmp_path)
    body = dk.Propose(
        title="Strike on Monday?", text="", method="yes_no", deadline=int(clock.t) + 72 * HOUR
    )
    pid = a.decisions.propose(council, body)
    everyone([a, b, c, m])
    a.decisions.vote(council, pid, dk.YesNoBallot("no"))
    clock.t += 60
    m.decisions.close(council, pid)  # m's node believes the deadline is past
    liar = Adversary(m, council)
    close = liar.forge(
        "decision.close",
        dk.Close(pid),
        parents=[pid],
        time_ms=int((clock.t + 73 * HOUR) * 1000),
        created_at=int(clock.t) // HOUR * HOUR,
    )
    for node in (a, b):
        assert (
            node.bundles.import_envelopes(m.bundles.envelopes()).refused.get("FromTheFuture", 0)
            >= 1
        )
        assert node.bundles.import_envelopes([close.raw]).early == 1
        assert not node.decisions.proposal(council, pid).final
    everyone([a, b])
    b.decisions.vote(council, pid, dk.YesNoBallot("yes"))  # the vote goes on
    send(b, a)
    clock.t += 73 * HOUR  # now the close is due: it closes what its causal past saw
    a.bundles.import_envelopes([], heal=False)
    assert a.store.one("SELECT count(*) FROM early") == 0
    assert a.decisions.proposal(council, pid).final


def test_an_event_cannot_claim_a_time_before_its_parents(tmp_path: Path) -> None:
    (a, b, _c, m), council, clock = _four(tmp_path)
    liar = Adversary(m, council)
    parents = liar.heads()
    backdated = liar.forge(
        "post.message",
        kinds.Message("dated before what it answers"),
        parents=parents,
        time_ms=liar.time_of(parents) - 1,
        created_at=int(clock.t) // HOUR * HOUR,
    )
    with pytest.raises(BadClock):
        a.ingestor.ingest_one(backdated.raw)
    assert b.bundles.import_envelopes([backdated.raw]).refused == {"BadClock": 1}


def test_an_event_from_the_far_future_waits_and_nothing_builds_on_it(tmp_path: Path) -> None:
    """Held, it is no head: honest events written meanwhile do not wait for it."""
    (a, b, _c, m), council, clock = _four(tmp_path)
    liar = Adversary(m, council)
    ahead = liar.forge(
        "post.message",
        kinds.Message("from next year"),
        time_ms=int((clock.t + 365 * 86400) * 1000),
        created_at=int(clock.t) // HOUR * HOUR,
    )
    assert a.bundles.import_envelopes([ahead.raw]).early == 1
    a.posts.post(council, "today")
    send(a, b)
    texts = [p["text"] for p in b.posts.posts(council)]
    assert "today" in texts and "from next year" not in texts
    assert a.bundles.import_envelopes([ahead.raw]).accepted == 0  # held once, not stored twice
    assert a.store.one("SELECT count(*) FROM early") == 1


def test_a_clock_set_back_does_not_hold_the_nodes_own_writes(tmp_path: Path) -> None:
    """An honest node whose clock is set back past the skew writes at its parents'
    time: it claims nothing new, so neither it nor anyone else holds the write back."""
    (a, b, _c, _m), council, clock = _four(tmp_path)
    a.posts.post(council, "before the clock was set back")
    clock.t -= HOUR
    a.posts.post(council, "after")
    assert a.store.one("SELECT count(*) FROM early") == 0
    send(a, b)
    assert "after" in [p["text"] for p in b.posts.posts(council)]
