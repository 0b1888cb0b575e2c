"""Membership churn costs what the change is, not what the history holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import admit, admit_stranger, make_node, send, valid_ids
from shora.kernel import kinds, membership
from shora.node import Node


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
            _rows_written(
                founder, lambda i=i: keys.append(admit_stranger(founder, council, f"m{i}"))
            )
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
        admit_stranger(founder, council, f"m{i}")
    send(founder, writer)
    writer.posts.post(council, "written before the removal was seen")
    assert founder.membership.remove(
        council, _key(writer, council)
    ).admitted  # concurrent with the post
    for i in range(4):
        admit_stranger(founder, council, f"later{i}")
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


def _holders_from_scratch(node: Node, council: bytes) -> dict[bytes, set[bytes]]:
    """Who was given each epoch, read from every state event (the definition)."""
    resolver = node.ingestor.projection.resolver(council)
    members = node.ingestor.projection.final_state(council).members
    holders: dict[bytes, set[bytes]] = {}
    for ev in resolver.events.values():
        body = ev.body
        given: set[bytes] = set()
        epochs: set[bytes] = set()
        if ev.kind == "council.create":
            epochs, given = {ev.epoch}, {ev.author}
        elif isinstance(body, kinds.Remove | kinds.Rotate | kinds.Recover):
            epochs, given = {body.new_epoch}, {ev.author}
        elif isinstance(body, kinds.EpochGrant):
            # A version-2 box names its member by the first 8 bytes of their key.
            tags = {body.boxes[i : i + 8] for i in range(0, len(body.boxes), 24)}
            given = {g.member for g in body.grants} | {m for m in members if m[:8] in tags}
            epochs = {body.epoch}
        for epoch in epochs:
            holders.setdefault(epoch, set()).update(given)
        if isinstance(body, kinds.Admit | kinds.Recover) and ev.request is not None:
            for epoch in resolver.causal_epochs(ev.id):
                holders.setdefault(epoch, set()).add(ev.request.payload.sign_pk)
    return holders


def test_the_holders_of_each_epoch_kept_up_to_date_are_those_read_from_scratch(
    tmp_path: Path,
) -> None:
    """`known_holders` reads only the state events added since its last call: after
    each admission and removal it equals the holders read from every state event, in
    the founder's node and in a member's that imported the history at once."""
    founder = make_node(tmp_path, "founder")
    council = founder.councils.create("Refinery", "", "Nasrin", kinds.Rules(removal="member"))
    member = make_node(tmp_path, "member")
    admit(founder, member, council, "Member")
    keys = []
    for i in range(14):
        keys.append(admit_stranger(founder, council, f"m{i}"))
        if i % 4 == 3:
            assert founder.membership.remove(council, keys.pop(0)).admitted
        assert founder.known_holders(council) == _holders_from_scratch(founder, council)
    assert len(founder.known_holders(council)) == 4  # the founding epoch and 3 removals
    send(founder, member)
    assert member.known_holders(council) == _holders_from_scratch(member, council)
    assert member.known_holders(council) == founder.known_holders(council)


def test_copies_of_a_layered_mapping_share_only_what_neither_wrote() -> None:
    """A council state's members and invites are copied for each state event without
    copying every entry: each copy's writes stay its own, before and after merging."""
    base = membership.Layered({i: str(i) for i in range(5)})
    copies = [base.copy() for _ in range(3)]
    for n in range(membership.Layered.FLATTEN * 2 + 3):  # past a merge or two
        copies[0][100 + n] = "first"
        if n % 2:
            copies[1][1] = "second"
        copies[0] = copies[0].copy()
    assert dict(base) == {i: str(i) for i in range(5)}
    assert dict(copies[2]) == dict(base) and len(copies[2]) == 5
    assert len(copies[0]) == 5 + membership.Layered.FLATTEN * 2 + 3
    assert copies[0].get(100) == "first" and 100 not in copies[1] and 100 not in base
    assert copies[1][1] == "second" and copies[1][0] == "0" and len(copies[1]) == 5
    assert sorted(copies[1].items())[1] == (1, "second")
    with pytest.raises(TypeError):
        del copies[1][0]


def test_copies_of_the_applied_events_share_one_list_and_stay_apart() -> None:
    """Copies of the applied events share a list; one that falls behind takes its own
    before appending, so no copy ever sees another's entries."""
    a = membership.Applied()
    for i in range(3):
        a.append((bytes([i]), b"x"))
    b = a.copy()
    a.append((b"a", b"x"))
    b.append((b"b", b"x"))
    assert list(a)[-1] == (b"a", b"x") and list(b)[-1] == (b"b", b"x")
    assert len(a) == len(b) == 4
    c = a.copy()
    c.append((b"c", b"x"))
    assert c.extends(a) and not a.extends(c) and not b.extends(a)
    assert c.since(4) == [(b"c", b"x")] and a[:3] == b[:3] and a == list(a)


def test_removals_leave_the_final_states_one_list_of_applied_events(tmp_path: Path) -> None:
    """Whether a removal is allowed is found by applying it to a trial copy of its causal
    past. What the trial applies stays out of the list the final states share: otherwise
    the next final state copies its whole part of the list first, and the projection
    compares the two entry by entry, once for every removal. In the founder's node, and
    in a member's that imports the history at once."""
    founder = make_node(tmp_path, "founder")
    council = founder.councils.create("Refinery", "", "Nasrin", kinds.Rules(removal="member"))
    member = make_node(tmp_path, "member")
    admit(founder, member, council, "Member")
    keys = [admit_stranger(founder, council, f"m{i}") for i in range(4)]

    def applied(node: Node) -> membership.Applied:
        return node.ingestor.projection.resolver(council).final().applied

    first = applied(founder)
    for i, key in enumerate(keys[:3]):
        assert founder.membership.remove(council, key).admitted
        keys.append(admit_stranger(founder, council, f"after{i}"))
    last = applied(founder)
    assert last._items is first._items  # the same list, extended in place
    assert len(last) == len(first) + 3 * 4  # each removal, its grant, an invite, an admit
    send(founder, member)
    assert applied(member) == list(last)


def test_a_newcomer_after_each_rotation_gets_every_epoch(tmp_path: Path) -> None:
    """The welcome's ring is encoded once per rotation and reused: a newcomer admitted
    after a removal (a new epoch) still receives every epoch, the new one included."""
    founder = make_node(tmp_path, "founder")
    council = founder.councils.create("Refinery", "", "Nasrin", kinds.Rules(removal="member"))
    first = make_node(tmp_path, "first")
    admit(founder, first, council, "First")
    gone = admit_stranger(founder, council, "gone")
    assert founder.membership.remove(council, gone).admitted
    second = make_node(tmp_path, "second")
    admit(founder, second, council, "Second")
    held = {e.write_pk for e in founder.epochs_of(council)}
    assert len(held) == 2
    assert {e.write_pk for e in second.epochs_of(council)} == held
    assert second.councils.state_digest(council) == founder.councils.state_digest(council)
