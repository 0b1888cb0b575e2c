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
from shora.services import aid
from shora.services import safety as safe
from shora.services.forgetting import CHECKIN_KEEP_SECONDS, forget_expired

AREAS = [ak.Area("block-4", "Block 4"), ak.Area("market", "Market")]


@pytest.fixture
def mapped(tmp_path: Path) -> Iterator[Council3]:
    with council_of_three(tmp_path, ak.Areas(AREAS)) as made:
        yield made


def _key(node: Node, council: bytes) -> bytes:
    return node._identity(council).sign_pk


def test_a_call_names_who_where_and_when_until_someone_is_on_the_way(mapped: Council3) -> None:
    (a, b, c), council, clock = mapped
    aid.checkin(b, council, "safe", "market")
    clock.t += 60
    call = aid.checkin(b, council, "need_help")  # no area: the last one b named
    everyone([a, b, c])
    (found,) = safe.help_calls(a, council)
    assert found.member == _key(b, council) and found.checkin == call
    assert found.area == "market" and found.status == "need_help" and not found.answered
    assert found.time == int(clock.t * 1000)
    clock.t += 60
    safe.respond(a, council, call)
    everyone([a, b, c])
    assert safe.help_calls(c, council)[0].responders == (_key(a, council),)
    clock.t += 60
    worse = aid.checkin(b, council, "injured", "block-4")  # nobody came: called again
    everyone([a, b, c])
    assert safe.help_calls(c, council)[0].responders == ()
    with pytest.raises(NotFound):  # an answer names the call's latest check-in
        safe.respond(a, council, call)
    safe.respond(a, council, worse)
    clock.t += 1
    safe.respond(c, council, worse)
    safe.respond(c, council, worse)  # twice: counted once
    everyone([a, b, c])
    for node in (a, b, c):
        (found,) = safe.help_calls(node, council)
        assert found.status == "injured" and found.area == "block-4"
        assert found.responders == (_key(a, council), _key(c, council))
    with pytest.raises(NotAllowed, match="Someone else"):
        safe.respond(b, council, worse)
    clock.t += 60
    aid.checkin(b, council, "safe")  # resolved
    everyone([a, b, c])
    assert safe.help_calls(c, council) == []
    with pytest.raises(NotFound, match="no longer open"):
        safe.respond(a, council, worse)
    clock.t += 1  # check-ins are leaves: their claimed times order them
    aid.checkin(b, council, "need_help")  # a new call starts with no answers
    everyone([a, b, c])
    assert [f.responders for f in safe.help_calls(a, council)] == [()]


def test_answers_and_calls_are_forgotten_with_the_check_ins(mapped: Council3) -> None:
    (a, b, c), council, clock = mapped
    call = aid.checkin(b, council, "need_help", "market")
    everyone([a, b, c])
    safe.respond(a, council, call)
    everyone([a, b, c])
    clock.t += CHECKIN_KEEP_SECONDS + 3600
    forgotten = forget_expired(c, int(clock()))
    assert forgotten.kinds == {"safety.checkin": 1, "safety.respond": 1}
    assert safe.help_calls(c, council) == []


def test_open_roll_call_closes_after_a_day(council3: Council3) -> None:
    (a, _b, _c), council, clock = council3
    assert safe.open_rollcall(a, council, int(clock())) is None
    aid.rollcall(a, council)
    assert safe.open_rollcall(a, council, int(clock())) is not None
    clock.t += safe.ROLLCALL_OPEN_SECONDS
    assert safe.open_rollcall(a, council, int(clock())) is None


def test_a_removed_members_answers_no_longer_count(mapped: Council3) -> None:
    (a, b, c), council, _clock = mapped
    call = aid.checkin(b, council, "injured", "market")
    everyone([a, b, c])
    safe.respond(c, council, call)
    everyone([a, b, c])
    assert safe.help_calls(a, council)[0].responders == (_key(c, council),)
    a.membership.remove(council, _key(c, council), "informer")
    everyone([a, b])
    assert b.membership.remove(council, _key(c, council), "informer").admitted
    everyone([a, b])
    (found,) = safe.help_calls(a, council)
    assert found.responders == () and found.member == _key(b, council)


def test_the_same_area_first_and_a_coordinator_sees_every_call_first(mapped: Council3) -> None:
    from shora.web.areas.home import help_box

    (a, b, c), council, clock = mapped
    aid.checkin(b, council, "safe", "block-4")  # b lives in block 4
    clock.t += 60
    near = aid.checkin(c, council, "need_help", "block-4")
    clock.t += 60
    far = aid.checkin(a, council, "need_help", "market")  # newer, elsewhere
    everyone([a, b, c])
    shown = help_box(b, b.councils.get(council))
    assert [(call.checkin, mine) for call, mine in shown["calls"]] == [(near, True), (far, False)]
    # The founder coordinates: every call is hers to see first, newest first.
    aid.checkin(b, council, "injured", "market")
    clock.t += 60
    aid.checkin(c, council, "need_help", "block-4")  # newer, but not injured
    everyone([a, b, c])
    calls = [call.member for call, _mine in help_box(a, a.councils.get(council))["calls"]]
    assert calls == [_key(b, council), _key(c, council)]  # the injured first
