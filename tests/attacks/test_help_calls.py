"""A member whose client forges "on my way" answers cannot silence a call for help:
answers to one's own call, to a check-in that is not a call, or to an older check-in
count for nothing, and calling again puts the call back before everyone."""

from __future__ import annotations

from pathlib import Path

from attacks.adversary import Adversary
from conftest import council_of_three, everyone
from shora.domain.aid import kinds as ak

AREAS = ak.Areas([ak.Area("block-4", "Block 4")])


def test_forged_answers_do_not_silence_a_call_for_help(tmp_path: Path) -> None:
    with council_of_three(tmp_path, AREAS) as ((a, b, m), council, clock):
        liar = Adversary(m, council)
        own = m.safety.checkin(council, "injured", "block-4")
        clock.t += 1
        safe_checkin = a.safety.checkin(council, "safe")
        clock.t += 1
        call = b.safety.checkin(council, "need_help", "block-4")
        everyone([a, b, m])
        forged = [
            liar.forge("safety.respond", ak.Respond(own)),  # answers itself
            liar.forge("safety.respond", ak.Respond(safe_checkin)),  # not a call
            liar.forge("safety.respond", ak.Respond(bytes(32))),  # nothing at all
        ]
        a.bundles.import_envelopes([f.raw for f in forged])
        calls = {c.member: c for c in a.safety.help_calls(council)}
        assert all(not c.answered for c in calls.values()) and len(calls) == 2
        # A false "on my way" to b's call takes it off the top, until b calls again.
        a.bundles.import_envelopes([liar.forge("safety.respond", ak.Respond(call)).raw])
        assert [c.answered for c in a.safety.help_calls(council) if c.checkin == call] == [True]
        clock.t += 600
        again = b.safety.checkin(council, "need_help", "block-4")
        everyone([a, b])
        (renewed,) = [c for c in a.safety.help_calls(council) if c.checkin == again]
        assert not renewed.answered
