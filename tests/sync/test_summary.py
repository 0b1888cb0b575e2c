"""Bundle summaries: a courier carries the difference, not the history."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FAST_KDF, Clock, admit
from shora.node import Node
from shora.sync.summary import SummaryError, read_summary


def _node(root: Path, name: str, clock: Clock) -> Node:
    return Node.create(
        root / name, "correct horse battery", kdf_limits=FAST_KDF, allow_weak_kdf=True, now=clock
    )


def test_export_for_a_summary_carries_only_the_difference(tmp_path: Path) -> None:
    clock = Clock(1_790_000_000)
    a, b = _node(tmp_path, "a", clock), _node(tmp_path, "b", clock)
    council = a.councils.create("Street 12", "", "Ava")
    admit(a, b, council, "Bahar")
    for day in range(30):  # a month of history, one post a day
        clock.t += 24 * 3600
        a.posts.post(council, f"day {day}")
    b.bundles.import_envelopes(a.bundles.envelopes())
    clock.t += 24 * 3600
    a.posts.post(council, "new today")
    a.posts.post(council, "and another")
    summary = b.bundles.summary()
    assert len(summary) < 4096
    diff = a.bundles.difference(summary)
    assert 2 <= len(diff) < 5  # the new hour only, not the month
    report = b.bundles.import_envelopes(diff)
    assert report.accepted == 2
    assert b.councils.state_digest(council) == a.councils.state_digest(council)
    # Nothing left to carry; importing the same difference again changes nothing.
    assert a.bundles.difference(b.bundles.summary()) == []
    assert b.bundles.import_envelopes(diff).accepted == 0
    # Several bundles in turn, each a part of the difference, converge the same way.
    a.posts.post(council, "one more")
    clock.t += 3 * 3600
    a.posts.post(council, "and the last")
    parts = a.bundles.difference(b.bundles.summary())
    for part in parts:
        buf = io.BytesIO()
        a.bundles.export_bundle(buf, records=[part])
        buf.seek(0)
        b.bundles.import_bundle(buf)
    assert b.councils.state_digest(council) == a.councils.state_digest(council)


def test_a_joining_node_gets_its_welcome_through_a_summary(tmp_path: Path) -> None:
    clock = Clock(1_790_000_000)
    a, b = _node(tmp_path, "a", clock), _node(tmp_path, "b", clock)
    council = a.councils.create("Street 12", "", "Ava")
    invitation = a.membership.invite(council)
    request = b.membership.join(invitation, "Bahar")
    a.membership.admit(request)
    b.bundles.import_envelopes(a.bundles.difference(b.bundles.summary()))
    assert b.councils.get(council).status == "member"


@settings(max_examples=200, deadline=None)
@given(blob=st.binary(max_size=300))
def test_bad_summaries_are_refused(blob: bytes) -> None:
    with pytest.raises(SummaryError):
        read_summary(blob)
