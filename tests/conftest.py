"""Shared helpers: real profiles (real encrypted SQLite files) with fast key derivation."""

from __future__ import annotations

import io
import itertools
import os
import random
import shutil
import struct
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from shora.kernel import crypto, profile, tokens
from shora.node import Node

# The tests are grouped like the code (docs/architecture.md); a test may use another
# group's helpers by module name (`from test_cli import Profile`), as pytest names them.
for _group in ("kernel", "sync", "domain", "services", "cli"):
    _path = str(Path(__file__).parent / _group)
    if _path not in sys.path:
        sys.path.insert(0, _path)

# Tests only: real Argon2id, tiny limits. A profile made so opens only when the call
# says allow_weak_kdf=True, as the command line does only with --insecure-test-kdf.
FAST_KDF = profile.INSECURE_TEST_KDF
INSECURE_KDF_ENV = {profile.INSECURE_TEST_KDF_ENV: profile.INSECURE_TEST_KDF_CONSENT}
"""What a command-line run needs in its environment to accept FAST_KDF profiles."""
_counter = itertools.count()

# Hypothesis loads its own "ci" settings profile when $CI is set (as .ci/run does, on a
# loaded 2-core machine): derandomized (the same examples on every run), no per-example
# deadline, the blob that replays a failure printed. The property tests whose examples
# cost seconds run fewer of them there (property_examples).
PROPERTY_EXAMPLES_ENV = "SHORA_PROPERTY_EXAMPLES"


def property_examples(dev: int, ci: int) -> int:
    """How many examples a property test runs whose examples are expensive (real profiles,
    thousands of envelopes, a reference implementation): `dev` by default, `ci` under
    Hypothesis's "ci" profile, and $SHORA_PROPERTY_EXAMPLES for every such test if set (a
    long, thorough run)."""
    given = os.environ.get(PROPERTY_EXAMPLES_ENV)
    if given:
        return int(given)
    return ci if settings.get_current_profile_name() == "ci" else dev


def make_node(root: Path, name: str | None = None) -> Node:
    home = root / (name or f"node{next(_counter)}")
    return Node.create(home, "correct horse battery", kdf_limits=FAST_KDF, allow_weak_kdf=True)


def send(src: Node, dst: Node) -> None:
    """Carry everything src holds to dst in a bundle, as a courier would."""
    buf = io.BytesIO()
    src.bundles.export_bundle(buf)
    buf.seek(0)
    _, damage = dst.bundles.import_bundle(buf)
    assert damage is None


def admit(admitter: Node, newcomer: Node, council: bytes, name: str) -> None:
    """The whole admission flow: invitation text → join request text → admit → bundle."""
    invitation = admitter.membership.invite(council)
    request = newcomer.membership.join(
        tokens.parse_invitation(tokens.invitation_text(invitation)), name
    )
    result = admitter.membership.admit(
        tokens.parse_join_request_text(tokens.join_request_text(request))
    )
    assert result.admitted
    send(admitter, newcomer)


def admit_stranger(node: Node, council: bytes, name: str) -> bytes:
    """Admit a member who never syncs (a join request made from fresh keys); their key."""
    sign_pk, sign_sk = crypto.sign_keypair()
    kx_pk, _ = crypto.kx_keypair()
    request = tokens.make_join_request(
        node.membership.invite(council), sign_pk, sign_sk, kx_pk, name, int(node.now())
    )
    assert node.membership.admit(request).admitted
    return sign_pk


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[list[Node]]:
    made = [make_node(tmp_path, n) for n in ("a", "b", "c", "d")]
    yield made
    for node in made:
        node.close()


@pytest.fixture(autouse=True)
def _fresh_struct_cache() -> Iterator[None]:
    """segno packs PNG chunks with bytes struct formats; struct caches formats by value,
    so under `python -b` a later str format that meets a cached bytes one in that cache
    warns (an error here) in whichever test happens to run next. Start each test clean."""
    struct._clearcache()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI a skipped test is a failure: a skip there hides a missing dependency."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must have every dependency: {report.longrepr}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In worker processes (pytest-xdist, as scripts/test.sh runs the tests) the slow tests
    go first, in their usual order: the workers take tests from the front of one list, so
    the longest ones start early and the short ones fill in around them, rather than a
    few minutes of browser walks starting last. A single process keeps the files' order."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


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
    council = a.councils.create("Block 4 committee", "", "Azadeh")
    admit(a, b, council, "Bahram")
    admit(a, c, council, "Cyrus")
    for node in (b, c):
        send(a, node)
    return [a, b, c], council


def council_of_members(root: Path, n: int, name: str = "Depot") -> tuple[list[Node], bytes, Clock]:
    """Members m0 … m(n-1) of one council `name` that m0 founded, on one clock,
    everyone holding everything."""
    clock = Clock()
    nodes = [make_node(root, f"m{i}") for i in range(n)]
    for node in nodes:
        node.now = clock
    council = nodes[0].councils.create(name, "", "m0")
    for i, node in enumerate(nodes[1:], start=1):
        admit(nodes[0], node, council, f"m{i}")
    everyone(nodes)
    return nodes, council, clock


def admit_others(node: Node, council: bytes, root: Path, clock: Clock, n: int) -> list[Node]:
    """`n` new members o0 … o(n-1) that `node` admits to its council; then all of them
    (node first) on `clock`, everyone holding everything."""
    others = [make_node(root, f"o{i}") for i in range(n)]
    for i, other in enumerate(others):
        admit(node, other, council, f"o{i}")
    nodes = [node, *others]
    for each in nodes:
        each.now = clock
    everyone(nodes)
    return nodes


def remove_by_two(a: Node, b: Node, council: bytes, member: bytes) -> None:
    """`a` and then `b` remove `member` as an informer: a's request, carried to b, is
    admitted by b's second signature."""
    a.membership.remove(council, member, "informer")
    send(a, b)
    assert b.membership.remove(council, member, "informer").admitted


Council3 = tuple[list[Node], bytes, "Clock"]


@contextmanager
def council_of_three(root: Path, areas: Any = None) -> Iterator[Council3]:
    """Three members a, b, c of one council on one clock, everyone holding everything
    (and, given `areas`, the council's map of areas set by a)."""
    clock = Clock()
    nodes, council = three_members(root, clock)
    if areas is not None:
        nodes[0].aid.set_areas(council, areas)
        everyone(nodes)
    try:
        yield nodes, council, clock
    finally:
        for node in nodes:
            node.close()


@pytest.fixture
def council3(tmp_path: Path) -> Iterator[Council3]:
    with council_of_three(tmp_path) as made:
        yield made


def everyone(nodes: list[Node]) -> None:
    """Every node sends every other node everything it holds."""
    for src in nodes:
        for dst in nodes:
            if src is not dst:
                send(src, dst)


# --- convergence: the projected state is a function of the event set ----------------


def envelope_ids(node: Node, council: bytes) -> set[bytes]:
    rows = node.store.rows("SELECT id FROM envelopes WHERE council=?", (council,))
    return {bytes(r[0]) for r in rows}


def valid_ids(node: Node, council: bytes) -> set[bytes]:
    rows = node.store.rows("SELECT id FROM events WHERE council=? AND valid=1", (council,))
    return {bytes(r[0]) for r in rows}


def all_envelopes(nodes: list[Node]) -> list[bytes]:
    seen: dict[bytes, bytes] = {}
    for node in nodes:
        for raw in node.bundles.envelopes():
            seen.setdefault(raw, raw)
    return list(seen)


def partial_sync(src: Node, dst: Node, rnd: random.Random) -> None:
    """Some of src's envelopes, shuffled, some twice, into dst."""
    raws = list(src.bundles.envelopes())
    chosen = rnd.sample(raws, k=rnd.randint(0, len(raws)))
    chosen += rnd.sample(chosen, k=len(chosen) // 3)
    rnd.shuffle(chosen)
    dst.bundles.import_envelopes(chosen)


def freeze_observer(founder: Node, root: Path) -> Path:
    """A second device of the founder, frozen now, fed only at the end."""
    founder.store.db.pragma("wal_checkpoint", "TRUNCATE")
    shutil.copytree(founder.home, root / "observer")
    return root / "observer"


def check_convergence(
    people: list[Node],
    council: bytes,
    observer_home: Path,
    rnd: random.Random,
    now: Callable[[], float] | None = None,
) -> None:
    """Everyone exchanges everything until nothing new arrives; then replicas holding
    the same envelopes have byte-identical state, the observer fed the union in any
    order, in chunks, with duplicates, ends with the founder's state, and delivering
    everything again changes nothing."""
    for _ in range(len(people) + 1):
        union = all_envelopes(people)
        if sum(p.bundles.import_envelopes(union).accepted for p in people) == 0:
            break
    by_set: dict[frozenset[bytes], bytes] = {}
    for p in people:
        ids = frozenset(envelope_ids(p, council))
        if ids:
            digest = p.councils.state_digest(council)
            assert by_set.setdefault(ids, digest) == digest
    observer = Node.open(observer_home, "correct horse battery", allow_weak_kdf=True)
    if now is not None:
        observer.now = now
    union = all_envelopes(people)
    deliveries = union + rnd.sample(union, k=len(union) // 2)
    rnd.shuffle(deliveries)
    while deliveries:
        cut = rnd.randint(1, len(deliveries))
        observer.bundles.import_envelopes(deliveries[:cut], heal=False)
        deliveries = deliveries[cut:]
    # A second round, as the next sync would bring: a removed member's event that was
    # refused, and that an honest event written before the removal was seen names as a
    # parent, is taken then (docs/protocol.md §8).
    observer.bundles.import_envelopes(union, heal=False)
    assert valid_ids(observer, council) == valid_ids(people[0], council)
    assert observer.councils.state_digest(council) == people[0].councils.state_digest(council)
    before = observer.councils.state_digest(council)
    assert observer.bundles.import_envelopes(union, heal=False).accepted == 0
    assert observer.councils.state_digest(council) == before
    observer.close()
