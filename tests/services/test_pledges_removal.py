"""A member removed after a pledge campaign starts (docs/pledges.md, "Removal after
the start"): a pledge over a ring that still holds them, and that the removal's author
had not seen, could be theirs; it does not count toward the threshold, and an honest
member whose pledge was refused so is told to pledge again, which counts. Real
profiles, real SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import T0, council_of_members, everyone, remove_by_two, send
from shora.errors import NotAllowed

DAY = 86_400


def test_a_removed_members_pledge_does_not_count_and_an_honest_one_is_asked_again(
    tmp_path: Path,
) -> None:
    nodes, council, _clock = council_of_members(tmp_path, 4)
    a, b, c, d = nodes
    d_key = d.me(council)
    assert d_key is not None
    cid = a.pledges.start(council, "Stop work on Monday", T0 + DAY, people=3)
    everyone(nodes)
    a.pledges.take(council, cid, delay=0)  # seen by the removal's authors: it stands
    send(a, b)
    c.pledges.take(council, cid, delay=0)  # not seen by them before the removal
    d.pledges.take(council, cid, delay=0)  # the member about to be removed
    remove_by_two(a, b, council, d_key)
    everyone(nodes)
    for node in (a, b, c):
        state = node.pledges.campaign(council, cid)
        assert state.removed == {d_key}
        assert (state.count, state.met, dict(state.refused)) == (1, False, {"removed": 2})
    # the honest member is told, on the campaign's page and in the notifications
    mine = c.pledges.mine(council, cid)
    assert mine.recast and not mine.counted and not mine.pledged
    assert [s.id for s in c.pledges.to_pledge_again(council)] == [cid]
    assert not a.pledges.mine(council, cid).recast
    assert a.pledges.to_pledge_again(council) == []
    with pytest.raises(NotAllowed):
        d.pledges.take(council, cid, delay=0)  # no longer a member on its own node
    c.pledges.take(council, cid, delay=0)  # the same key image, the next odd step
    everyone([a, b, c])
    mine = c.pledges.mine(council, cid)
    assert mine.counted and not mine.recast
    assert c.pledges.to_pledge_again(council) == []
    for node in (a, b, c):
        state = node.pledges.campaign(council, cid)
        assert (state.count, state.met) == (2, False)
    b.pledges.take(council, cid, delay=0)  # the third: the threshold is met
    everyone([a, b, c])
    found = [n.pledges.campaign(council, cid) for n in (a, b, c)]
    assert found[0] == found[1] == found[2]
    assert found[0].met and found[0].count == 3
    assert dict(found[0].refused) == {"removed": 2}
    assert len(found[0].recast) == 1  # the removed member's: it can never be made again
    assert c.pledges.mine(council, cid).image not in found[0].recast


def test_the_threshold_is_met_only_where_the_removal_allows_it(tmp_path: Path) -> None:
    """Two pledges meet a threshold of two unless one could be the removed member's:
    the moment it is met is the first event whose causal past holds two pledges that
    count under the endings in that past, on every replica."""
    nodes, council, _clock = council_of_members(tmp_path, 4)
    a, b, c, d = nodes
    d_key = d.me(council)
    assert d_key is not None
    cid = a.pledges.start(council, "Stop work on Monday", T0 + DAY, people=2)
    everyone(nodes)
    remove_by_two(a, b, council, d_key)
    everyone([a, b, c])
    c.pledges.take(council, cid, delay=0)  # c's node knows: its ring leaves d out
    everyone([a, b, c])
    state = a.pledges.campaign(council, cid)
    assert (state.count, state.met, state.refused) == (1, False, ())
    d.pledges.take(council, cid, delay=0)  # d's node does not know yet: the old ring
    everyone(nodes)
    for node in (a, b, c):
        state = node.pledges.campaign(council, cid)
        assert (state.count, state.met, dict(state.refused)) == (1, False, {"removed": 1})
    b.pledges.take(council, cid, delay=0)
    everyone([a, b, c])
    found = [n.pledges.campaign(council, cid) for n in (a, b, c)]
    assert found[0] == found[1] == found[2] and found[0].met and found[0].count == 2
