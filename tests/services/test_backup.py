"""A key backup held by trusted members (docs/protocol.md §9.2): split 2 of 3 among
members, given back to the person's new profile with two shares and their passphrase;
one share, or the wrong passphrase, gives nothing."""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest

from conftest import FAST_KDF, Clock, admit, everyone, make_node, send
from shora.errors import InvalidInput, NotFound
from shora.kernel import shamir
from shora.node import Node


def test_shamir_any_k_of_n_and_not_fewer() -> None:
    secret = os.urandom(32)
    shares = shamir.split(secret, 3, 5, os.urandom)
    for chosen in itertools.combinations(shares, 3):
        assert shamir.combine(list(chosen)) == secret
    assert shamir.combine(shares) == secret
    assert shamir.combine(shares[:2]) != secret
    with pytest.raises(InvalidInput):
        shamir.split(secret, 4, 3, os.urandom)


def _council(tmp_path: Path) -> tuple[list[Node], bytes, Clock]:
    clock = Clock()
    nodes = [make_node(tmp_path, n) for n in ("a", "b", "c", "d")]
    for node in nodes:
        node.now = clock
    a, b, c, d = nodes
    council = a.councils.create("Block 4 committee", "", "Azadeh")
    for node, name in ((b, "Bahram"), (c, "Cyrus"), (d, "Dara")):
        admit(a, node, council, name)
    everyone(nodes)
    return nodes, council, clock


def test_a_lost_device_comes_back_with_two_shares_and_the_passphrase(tmp_path: Path) -> None:
    (a, b, c, d), council, clock = _council(tmp_path)
    old = a.identity(council).sign_pk
    trusted = [n.identity(council).sign_pk for n in (b, c, d)]
    a.backup.deposit(council, trusted, 2, "my own words", FAST_KDF)
    a.posts.post(council, "before the loss")
    everyone([a, b, c, d])
    a.close()
    shutil.rmtree(a.home)  # the phone is lost

    fresh = make_node(tmp_path, "a-new")
    fresh.now = clock
    request = fresh.recovery.ask(council, "Azadeh")
    one = b.backup.release(request)
    assert one.startswith("shora:share/")
    with pytest.raises(InvalidInput):
        fresh.backup.restore([one], "my own words")  # one share is not enough
    two = c.backup.release(request)
    with pytest.raises(InvalidInput):
        fresh.backup.restore([one, two], "not my words")
    assert fresh.backup.restore([one, two], "my own words") == council
    assert fresh.identity(council).sign_pk == old
    send(d, fresh)
    assert "before the loss" in [p["text"] for p in fresh.posts.posts(council, limit=10)]
    fresh.posts.post(council, "back with my own key")
    everyone([fresh, b, c, d])
    texts = [p["text"] for p in b.posts.posts(council, limit=10)]
    assert "back with my own key" in texts
    final = b.state(council)
    assert final.is_active(old) and final.roles_of(old, int(clock.t * 1000)) == ("coordinator",)


def test_only_trusted_members_hold_a_share(tmp_path: Path) -> None:
    (a, b, c, d), council, clock = _council(tmp_path)
    trusted = [n.identity(council).sign_pk for n in (b, c)]
    a.backup.deposit(council, trusted, 2, "my own words", FAST_KDF)
    everyone([a, b, c, d])
    # What the backup page shows each member: only the trusted hold a share.
    for node in (b, c):
        [held] = node.backup.held(council)
        assert (held.name, held.needed, held.shares) == ("Azadeh", 2, 2)
        assert held.owner == a.identity(council).sign_pk
    assert d.backup.held(council) == [] and a.backup.held(council) == []
    fresh = make_node(tmp_path, "a-new")
    fresh.now = clock
    request = fresh.recovery.ask(council, "Azadeh")
    with pytest.raises(NotFound):
        d.backup.release(request)  # Dara was not trusted with a share
    # A share released to one profile opens on no other.
    other = make_node(tmp_path, "other")
    other.now = clock
    other_request = other.recovery.ask(council, "Azadeh")
    shares = [b.backup.release(other_request), c.backup.release(other_request)]
    with pytest.raises(InvalidInput):
        fresh.backup.restore(shares, "my own words")
    with pytest.raises(InvalidInput):
        a.backup.deposit(council, [a.identity(council).sign_pk], 1, "x", FAST_KDF)
