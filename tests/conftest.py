"""Shared helpers: real profiles (real encrypted SQLite files) with fast key derivation."""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from shora.kernel import tokens
from shora.node import Node

FAST_KDF = (1, 8192)  # tests only: real Argon2id, tiny limits
_counter = itertools.count()


def make_node(root: Path, name: str | None = None) -> Node:
    home = root / (name or f"node{next(_counter)}")
    return Node.create(home, "correct horse battery", kdf_limits=FAST_KDF)


def send(src: Node, dst: Node) -> None:
    """Carry everything src holds to dst in a bundle, as a courier would."""
    buf = io.BytesIO()
    src.export_bundle(buf)
    buf.seek(0)
    _, damage = dst.import_bundle(buf)
    assert damage is None


def admit(admitter: Node, newcomer: Node, council: bytes, name: str) -> None:
    """The whole admission flow: invitation text → join request text → admit → bundle."""
    invitation = admitter.invite(council)
    request = newcomer.join(tokens.parse_invitation(tokens.invitation_text(invitation)), name)
    result = admitter.admit(tokens.parse_join_request_text(tokens.join_request_text(request)))
    assert result.admitted
    send(admitter, newcomer)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[list[Node]]:
    made = [make_node(tmp_path, n) for n in ("a", "b", "c", "d")]
    yield made
    for node in made:
        node.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI a skipped test is a failure: a skip there hides a missing dependency."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must have every dependency: {report.longrepr}"


T0 = 1_800_000_000  # unix seconds: "now" at the start of a test with a Clock


class Clock:
    """A shared, settable clock for the nodes of one test."""

    def __init__(self, start: float = T0) -> None:
        self.t = float(start)

    def __call__(self) -> float:
        return self.t


def three_members(root: Path, clock: Clock) -> tuple[list[Node], bytes]:
    """Three members a, b, c of one council on one clock, everyone holding everything."""
    a, b, c = (make_node(root, n) for n in ("a", "b", "c"))
    for node in (a, b, c):
        node.now = clock
    council = a.create_council("Block 4 committee", "", "Azadeh")
    admit(a, b, council, "Bahram")
    admit(a, c, council, "Cyrus")
    for node in (b, c):
        send(a, node)
    return [a, b, c], council


def everyone(nodes: list[Node]) -> None:
    """Every node sends every other node everything it holds."""
    for src in nodes:
        for dst in nodes:
            if src is not dst:
                send(src, dst)
