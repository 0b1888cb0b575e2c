"""Calls for help ("need help", "injured" check-ins) and "on my way" answers, on real
profiles: who is calling, where, who answered, and when a call is over."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Council3, council_of_three, everyone
from shora.domain.aid import kinds as ak
from shora.errors import NotAllowed, NotFound
from shora.node import Node
from shora.services import safety as safe
from shora.services.forgetting import CHECKIN_KEEP_SECONDS

AREAS = [ak.Area("block-4", "Block 4"), ak.Area("market", "Market")]


@pytest.fixture
def mapped(tmp_path: Path) -> Iterator[Council3]:
    with council_of_three(tmp_path, ak.Areas(AREAS)) as made:
        yield made


def _key(node: Node, council: bytes) -> bytes:
    return node.identity(council).sign_pk


def test_a_call_names_who_where_and_when_until_someone_is_on_the_way(mapped: Council3) -> None:
    (a, b, c), council, clock = mapped
    b.safety.checkin(council, "safe", "market")
    clock.t += 60
    call = b.safety.checkin(council, "need_help")  # no area: the last one b named
    everyone([a, b, c])
    (found,) = a.safety.help_calls(council)
    assert found.member == _key(b, council) and found.checkin == call
    assert found.area == "market" and found.status == "need_help" and not found.answered
    assert found.time == int(clock.t * 1000)
    clock.t += 60
    a.safety.respond(council, call)
    everyone([a, b, c])
    assert c.safety.help_calls(council)[0].responders == (_key(a, council),)
    clock.t += 60
    worse = b.safety.checkin(council, "injured", "block-4")  # nobody came: called again
    everyone([a, b, c])
    assert c.safety.help_calls(council)[0].responders == ()
    with pytest.raises(NotFound):  # an answer names the call's latest check-in
        a.safety.respond(council, call)
    a.safety.respond(council, worse)
    clock.t += 1
    c.safety.respond(council, worse)
    c.safety.respond(council, worse)  # twice: counted once
    everyone([a, b, c])
    for node in (a, b, c):
        (found,) = node.safety.help_calls(council)
        assert found.status == "injured" and found.area == "block-4"
        assert found.responders == (_key(a, council), _key(c, council))
    with pytest.raises(NotAllowed, match="Someone else"):
        b.safety.respond(council, worse)
    clock.t += 60
    b.safety.checkin(council, "safe")  # resolved
    everyone([a, b, c])
    assert c.safety.help_calls(council) == []
    with pytest.raises(NotFound, match="no longer open"):
        a.safety.respond(council, worse)
    clock.t += 1  # check-ins are leaves: their claimed times order them
    b.safety.checkin(council, "need_help")  # a new call starts with no answers
    everyone([a, b, c])
    assert [f.responders for f in a.safety.help_calls(council)] == [()]


def test_answers_and_calls_are_forgotten_with_the_check_ins(mapped: Council3) -> None:
    (a, b, c), council, clock = mapped
    call = b.safety.checkin(council, "need_help", "market")
    everyone([a, b, c])
    a.safety.respond(council, call)
    everyone([a, b, c])
    clock.t += CHECKIN_KEEP_SECONDS + 3600
    forgotten = c.forgetting.forget_expired(int(clock()))
    assert forgotten.kinds == {"safety.checkin": 1, "safety.respond": 1}
    assert c.safety.help_calls(council) == []


def test_open_roll_call_closes_after_a_day(council3: Council3) -> None:
    (a, _b, _c), council, clock = council3
    assert a.safety.open_rollcall(council, int(clock())) is None
    a.safety.rollcall(council)
    assert a.safety.open_rollcall(council, int(clock())) is not None
    clock.t += safe.ROLLCALL_OPEN_SECONDS
    assert a.safety.open_rollcall(council, int(clock())) is None


def test_a_removed_members_answers_no_longer_count(mapped: Council3) -> None:
    (a, b, c), council, _clock = mapped
    call = b.safety.checkin(council, "injured", "market")
    everyone([a, b, c])
    c.safety.respond(council, call)
    everyone([a, b, c])
    assert a.safety.help_calls(council)[0].responders == (_key(c, council),)
    a.membership.remove(council, _key(c, council), "informer")
    everyone([a, b])
    assert b.membership.remove(council, _key(c, council), "informer").admitted
    everyone([a, b])
    (found,) = a.safety.help_calls(council)
    assert found.responders == () and found.member == _key(b, council)


def test_the_same_area_first_and_a_coordinator_sees_every_call_first(mapped: Council3) -> None:
    from shora.web.areas.home import help_box

    (a, b, c), council, clock = mapped
    b.safety.checkin(council, "safe", "block-4")  # b lives in block 4
    clock.t += 60
    near = c.safety.checkin(council, "need_help", "block-4")
    clock.t += 60
    far = a.safety.checkin(council, "need_help", "market")  # newer, elsewhere
    everyone([a, b, c])
    shown = help_box(b, b.councils.get(council))
    assert [(call.checkin, mine) for call, mine in shown["calls"]] == [(near, True), (far, False)]
    # The founder coordinates: every call is hers to see first, newest first.
    b.safety.checkin(council, "injured", "market")
    clock.t += 60
    c.safety.checkin(council, "need_help", "block-4")  # newer, but not injured
    everyone([a, b, c])
    calls = [call.member for call, _mine in help_box(a, a.councils.get(council))["calls"]]
    assert calls == [_key(b, council), _key(c, council)]  # the injured first
