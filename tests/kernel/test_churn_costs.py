"""Membership churn costs what the change is, not what the history holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import admit, make_node, send, valid_ids
from shora.kernel import crypto, kinds, membership, tokens
from shora.node import Node


def _admit_one(founder: Node, council: bytes, name: str) -> bytes:
    sign_pk, sign_sk = crypto.sign_keypair()
    kx_pk, _ = crypto.kx_keypair()
    request = tokens.make_join_request(
        founder.membership.invite(council), sign_pk, sign_sk, kx_pk, name, int(founder.now())
    )
    assert founder.membership.admit(request).admitted
    return sign_pk


def _rows_written(node: Node, action: object) -> int:
    before = node.store.db.total_changes()
    assert callable(action)
    action()
    return int(node.store.db.total_changes() - before)


def test_an_admission_writes_as_many_rows_whatever_the_council_size(tmp_path: Path) -> None:
    """Admitting a member writes the same rows (events, envelopes, the new member's row,
    the validity of the new events) in a council of 3 and in one of 40 with removals:
    the projection never rewrites every member or every event."""
    founder = make_node(tmp_path, "founder")
    council = founder.councils.create("Refinery", "", "Nasrin", kinds.Rules(removal="member"))
    written, keys = [], []
    for i in range(40):
        written.append(
            _rows_written(founder, lambda i=i: keys.append(_admit_one(founder, council, f"m{i}")))
        )
        if i % 10 == 9:
            assert founder.membership.remove(council, keys.pop()).admitted
    assert written[-1] == written[2], written


def test_causal_states_forgotten_by_the_cache_are_recomputed_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member whose projection keeps only two causal states, importing a council with
    admissions, a removal and a post concurrent with it, ends with the same state and
    the same valid events as the founder."""
    founder = make_node(tmp_path, "founder")
    council = founder.councils.create("Refinery", "", "Nasrin", kinds.Rules(removal="member"))
    writer = make_node(tmp_path, "writer")
    admit(founder, writer, council, "Writer")
    for i in range(6):
        _admit_one(founder, council, f"m{i}")
    send(founder, writer)
    writer.posts.post(council, "written before the removal was seen")
    assert founder.membership.remove(
        council, _key(writer, council)
    ).admitted  # concurrent with the post
    for i in range(4):
        _admit_one(founder, council, f"later{i}")
        founder.posts.post(council, f"post {i}")
    send(writer, founder)
    monkeypatch.setattr(membership, "STATES_CACHED", 2)
    small = make_node(tmp_path, "small")
    admit(founder, small, council, "Small")
    send(founder, small)
    assert small.councils.state_digest(council) == founder.councils.state_digest(council)
    assert valid_ids(small, council) == valid_ids(founder, council)


def _key(node: Node, council: bytes) -> bytes:
    return node.identity(council).sign_pk
