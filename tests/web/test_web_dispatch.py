"""The dispatch step ("on its way") has its button: on the matches page, the giver or
whoever confirmed the match says part of a commitment has left; the need then shows
how much is on its way, on both nodes, until it is delivered."""

from __future__ import annotations

import re
from pathlib import Path

from web.test_web_aid import AREAS, NEED, OFFER
from web.test_web_decisions import carry, two_members, words


def test_on_its_way_between_the_commitment_and_the_delivery(tmp_path: Path) -> None:
    with two_members(tmp_path) as (a, b, home):
        edges = {"areas": AREAS, "edges": "block-4 mosque 2"}
        assert a.post(home + "/areas", edges).status_code == 303
        assert a.post(home + "/needs/new", {**NEED, "what": "tank"}).status_code == 303
        carry(a, b, home)
        assert b.post(home + "/offers/new", {**OFFER, "what": "well water"}).status_code == 303
        carry(b, a, home)
        match = a.get(home + "/match").text
        pair = dict(re.findall(r'name="(need|offer)" value="([0-9a-f]{64})"', match))
        assert a.post(home + "/match/commit", {**pair, "quantity": "15"}).status_code == 303
        page = a.get(home + "/match").text
        commitment = re.search(r'name="commitment" value="([0-9a-f]{64})"', page)
        assert commitment is not None and f'action="{home}/match/dispatch"' in page
        sent = {"commitment": commitment.group(1)}
        too_much = a.post(home + "/match/dispatch", {**sent, "quantity": "16"})
        assert too_much.status_code == 400 and "left to send" in too_much.text
        assert a.post(home + "/match/dispatch", {**sent, "quantity": "5"}).status_code == 303
        assert "5 on its way" in words(a.get(home + "/match").text)
        carry(a, b, home)
        assert "5 on its way" in words(b.get(home + "/needs").text)  # 5 of 20 still open
        # The giver sends the rest; then it is delivered, and nothing is on its way.
        assert b.post(home + "/match/dispatch", {**sent, "quantity": "10"}).status_code == 303
        assert "15 on its way" in words(b.get(home + "/match").text)
        assert f'action="{home}/match/dispatch"' not in b.get(home + "/match").text
        assert b.post(home + "/match/fulfil", {**sent, "quantity": "15"}).status_code == 303
        assert "on its way" not in words(b.get(home + "/match").text)
