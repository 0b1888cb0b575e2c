"""A stranger on the same network: no keys, or the keys of another council.

Real nodes, real sockets on the loopback, and `shora serve --lan` as its own process.
The stranger asks the embedded relay for everything, by write key, by id, by
Negentropy, uploads, and answers AUTH with keys it holds; it receives no envelope and
nothing that names a write key. A fake LAN peer that a node dials receives nothing at
all. A flood of connections from one address leaves a member served.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import websockets
from test_cli import COUNCIL, Profile, bring_in
from test_network import free_port, serve, texts

from conftest import admit, make_node
from shora.kernel import crypto, keys, kinds, nip01, tokens
from shora.node import Node
from shora.sync import auth, messages, nip77
from shora.sync.local import NodeEnvelopes
from shora.sync.negentropy import Negentropy, Storage
from shora.sync.relay import EmbeddedRelay
from shora.sync.relay_connection import RelayLimits
from shora.sync.runner import sync_round
from shora.sync.session import SyncSession
from shora.sync.transport import ConnectionFailed, sync_with_relay

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def two_councils(tmp_path: Path) -> tuple[bytes, Node, Node, Node]:
    """A council of a and b with posts, and a stranger s who founded another council."""
    a, b, s = (make_node(tmp_path, n) for n in ("a", "b", "s"))
    cid = a.councils.create("Tenants", "", "Azar", kinds.Rules())
    admit(a, b, cid, "Bahar")
    for i in range(5):
        a.posts.post(cid, f"rent strike plan {i}")
    s.councils.create("Elsewhere", "", "Sina", kinds.Rules())
    return cid, a, b, s


def write_keys(node: Node) -> set[str]:
    return {e.write_pk.hex() for e in node.ingestor.keyring.all_epochs()}


@contextlib.asynccontextmanager
async def relay_of(node: Node, **kw: Any) -> AsyncIterator[EmbeddedRelay]:
    relay = EmbeddedRelay(NodeEnvelopes(node), **kw)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


async def probe(
    url: str, node_keys: list[keys.Epoch], targets: set[str], ids: list[str]
) -> list[str]:
    """Everything a stranger tries on one connection; returns every text it received."""
    got: list[str] = []
    async with websockets.connect(url) as ws:

        async def ask(text: str, answers: int = 1) -> None:
            await ws.send(text)
            for _ in range(answers):
                got.append(str(await asyncio.wait_for(ws.recv(), 5)))

        got.append(str(await asyncio.wait_for(ws.recv(), 5)))  # the challenge
        challenge = json.loads(got[0])[1]
        target = sorted(targets)[0]
        await ask(messages.req("all", [{}]))
        await ask(messages.req("kinds", [{"kinds": [4040, 4041]}]))
        await ask(messages.req("by-key", [{"authors": sorted(targets)}]))
        await ask(messages.req("by-id", [{"ids": ids}]))
        await ask(messages.req("since", [{"since": 0, "limit": 500}]))
        neg = Negentropy(Storage([]), 0)
        await ask(nip77.neg_open("neg", {"authors": [target]}, neg.initiate()))
        for epoch in node_keys:  # keys of its own council: proven, but not of this one
            await ask(auth.answer(epoch, url, challenge, 0))
        await ask(messages.req("after-auth", [{"authors": sorted(targets)}]))
        await ask(messages.req("ids-after-auth", [{"ids": ids}]))
        # A forged answer: a member's write key with the stranger's signature.
        forged = json.loads(auth.answer(node_keys[0], url, challenge, 0))
        forged[1]["pubkey"] = target
        await ask(json.dumps(forged))
    return got


def assert_learned_nothing(got: list[str], targets: set[str]) -> None:
    assert got, "the stranger was not even answered"
    assert not [t for t in got if t.startswith('["EVENT"')]
    assert not [t for t in got if t.startswith('["NEG-MSG"')]
    for text in got:
        assert not any(key in text for key in targets), text


def test_a_stranger_gets_nothing_from_the_embedded_relay(tmp_path: Path) -> None:
    cid, a, _b, s = two_councils(tmp_path)
    targets = write_keys(a)
    ids = [nip01.decode(raw).id for raw in a.bundles.envelopes(cid)]
    raw = list(a.bundles.envelopes(cid))[-1]

    async def scenario() -> tuple[list[str], list[str], int]:
        async with relay_of(a) as relay:
            got = await probe(relay.url, s.ingestor.keyring.all_epochs(), targets, ids)
            async with websockets.connect(relay.url) as ws:  # an upload without a key
                await ws.recv()
                await ws.send(messages.event(raw))
                upload = [str(await ws.recv())]
            return got, upload, a.store.one("SELECT count(*) FROM envelopes")

    before = a.store.one("SELECT count(*) FROM envelopes")
    got, upload, after = run(scenario())
    assert_learned_nothing(got, targets)
    refusals = [json.loads(t) for t in got[1:]]
    assert refusals[0] == ["CLOSED", "all", refusals[0][2]]
    assert refusals[0][2].startswith("restricted:")
    assert refusals[1][2].startswith("restricted:")  # kinds alone name no key
    for answer in refusals[2:5]:
        assert answer[0] == "CLOSED" and answer[2].startswith(("auth-required:", "restricted:"))
    assert refusals[5][0] == "NEG-ERR" and refusals[5][2].startswith("auth-required:")
    own = refusals[6 : 6 + len(s.ingestor.keyring.all_epochs())]
    assert own and all(r[0] == "OK" and r[2] is False and "restricted" in r[3] for r in own)
    assert all(r[0] == "CLOSED" for r in refusals[-3:-1])
    assert refusals[-1][0] == "NOTICE" and refusals[-1][1].startswith("invalid:")
    assert json.loads(upload[0])[2] is False and "auth-required" in json.loads(upload[0])[3]
    assert after == before


def test_the_challenge_names_no_key_and_changes_with_every_connection(tmp_path: Path) -> None:
    _cid, a, _b, _s = two_councils(tmp_path)

    async def scenario() -> list[str]:
        async with relay_of(a) as relay:
            seen = []
            for _ in range(2):
                async with websockets.connect(relay.url) as ws:
                    seen.append(json.loads(await ws.recv())[1])
            return seen

    first, second = run(scenario())
    assert first != second
    proofs = first.split(":")[1].split(",")
    assert len(proofs) % auth.PROOF_PAD == 0 and not set(proofs) & set(
        second.split(":")[1].split(",")
    )
    for key in write_keys(a):
        assert key not in first + second


def test_a_member_proves_a_key_and_syncs(tmp_path: Path) -> None:
    cid, a, b, _s = two_councils(tmp_path)
    b.posts.post(cid, "from bahar")

    async def scenario() -> tuple[Any, Any]:
        async with relay_of(a) as relay:
            at_url = await sync_with_relay(relay.url, NodeEnvelopes(b))
            on_lan = await sync_with_relay(relay.url, NodeEnvelopes(b), mutual=True)
            return at_url, on_lan

    at_url, on_lan = run(scenario())
    assert at_url.complete and at_url.fetched == 5 and at_url.sent == 1
    assert on_lan.complete and on_lan.fetched == on_lan.sent == 0
    assert a.councils.state_digest(cid) == b.councils.state_digest(cid)


def test_a_newcomer_fetches_its_welcome_by_hint_and_then_proves_the_new_key(
    tmp_path: Path,
) -> None:
    cid, a, _b, _s = two_councils(tmp_path)
    newcomer = make_node(tmp_path, "n")
    invitation = a.membership.invite(cid)
    request = newcomer.membership.join(
        tokens.parse_invitation(tokens.invitation_text(invitation)), "Nima"
    )
    assert a.membership.admit(
        tokens.parse_join_request_text(tokens.join_request_text(request))
    ).admitted

    async def scenario() -> Any:
        async with relay_of(a) as relay:
            return await sync_with_relay(relay.url, NodeEnvelopes(newcomer))

    result = run(scenario())
    assert result.complete and result.report.keys_learned
    assert "rent strike plan 4" in {p["text"] for p in newcomer.posts.posts(cid)}


def test_a_member_of_two_councils_proves_only_the_one_the_peer_holds(tmp_path: Path) -> None:
    cid, a, b, _s = two_councils(tmp_path)
    other = b.councils.create("Second", "", "Bahar", kinds.Rules())
    url = "ws://127.0.0.1:9"
    nonce = crypto.random_bytes(16)
    challenge = auth.challenge(NodeEnvelopes(a).recent_epochs(), nonce, url)
    made: list[set[bytes] | None] = []

    def make(councils: set[bytes] | None) -> Any:
        made.append(councils)
        return SyncSession(NodeEnvelopes(b).scoped(councils or set()))

    exchange = auth.Authenticated(url, NodeEnvelopes(b), make, mutual=True, now=b.now)
    assert exchange.start() == []
    out = exchange.receive(messages.auth(challenge))
    proven = {json.loads(t)[1]["pubkey"] for t in out if t.startswith('["AUTH"')}
    assert proven and proven <= write_keys(a)
    other_keys = {e.write_pk.hex() for e in b.ingestor.keyring.epochs_of(other)}
    assert not any(k in "".join(out) for k in other_keys)
    assert made == [{cid}]
    # The same challenge seen at another address (replayed by a stranger) proves nothing.
    elsewhere = auth.Authenticated(
        "ws://127.0.0.1:10", NodeEnvelopes(b), make, mutual=True, now=b.now
    )
    elsewhere.start()
    assert elsewhere.receive(messages.auth(challenge)) == [] and elsewhere.done


@contextlib.asynccontextmanager
async def fake_peer(greeting: list[str]) -> AsyncIterator[tuple[str, list[str]]]:
    """A 'LAN peer' that records all it receives and says only what it is told to."""
    received: list[str] = []

    async def handler(ws: Any) -> None:
        for text in greeting:
            await ws.send(text)
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in ws:
                received.append(str(text))

    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}", received


def test_a_fake_lan_peer_receives_nothing_and_learns_no_key(tmp_path: Path) -> None:
    _cid, a, b, _s = two_councils(tmp_path)
    targets = write_keys(b)

    async def scenario() -> tuple[list[list[str]], list[Any]]:
        seen, outcomes = [], []
        async with relay_of(a) as real:
            async with websockets.connect(real.url) as ws:  # a genuine challenge, to replay
                genuine = str(await ws.recv())
        made_up = messages.auth("00" * 16 + ":" + ",".join(["11" * 16] * 8))
        for greeting in ([], [made_up], [genuine], [messages.notice("hello")]):
            async with fake_peer(greeting) as (url, received):
                outcomes += await sync_round(b, lan_peers=[url], timeout=3)
                seen.append(list(received))
        return seen, outcomes

    seen, outcomes = run(scenario(), timeout=120)
    assert seen == [[], [], [], []]
    assert len(outcomes) == 4 and all(o.received == o.sent == 0 for o in outcomes)
    for text in (t for received in seen for t in received):
        assert not any(k in text for k in targets)


def test_a_flood_from_one_address_leaves_a_member_served(tmp_path: Path) -> None:
    _cid, a, b, _s = two_councils(tmp_path)
    # Time enough to open all 20 on a loaded machine (tests run two at a time): a first
    # 4 closed before the last tried would free places for more of the flood.
    limits = RelayLimits(max_connections=12, max_per_address=4, auth_timeout=5.0)

    async def scenario() -> tuple[list[str], Any]:
        async with relay_of(a, limits=limits) as relay:
            opened, reasons = [], []
            for _ in range(20):
                try:
                    ws = await websockets.connect(relay.url, local_addr=("127.0.0.2", 0))
                except websockets.InvalidStatus as exc:
                    reasons.append(f"HTTP {exc.response.status_code}")
                else:
                    opened.append(ws)
            result = await sync_with_relay(relay.url, NodeEnvelopes(b))
            for ws in opened:
                with contextlib.suppress(websockets.ConnectionClosed):
                    while True:
                        await asyncio.wait_for(ws.recv(), 15)
                reasons.append(str(ws.close_reason))
            return reasons, result

    reasons, result = run(scenario())
    assert result.complete and result.fetched == 5  # the member, from another address
    assert reasons.count("no key proven in time") == 4  # the flood: 4 served a moment
    assert len(reasons) == 20 and set(reasons) <= {
        "HTTP 503",
        "too many connections",
        "no key proven in time",
    }


def test_idle_connections_close_sooner_when_the_relay_is_full(tmp_path: Path) -> None:
    _cid, a, b, _s = two_councils(tmp_path)
    limits = RelayLimits(max_connections=8, max_per_address=2, busy_idle_timeout=0.5)

    async def scenario() -> tuple[int, Any]:
        async with relay_of(a, limits=limits) as relay:
            flood = [
                await websockets.connect(relay.url, local_addr=(f"127.0.0.{host}", 0))
                for host in range(2, 6)
                for _ in range(2)
            ]
            refused = 0
            while True:  # a member retries, as a node's next round would
                try:
                    result = await sync_with_relay(relay.url, NodeEnvelopes(b))
                    break
                except ConnectionFailed:
                    refused += 1
                    await asyncio.sleep(0.2)
            for ws in flood:
                await ws.close()
            return refused, result

    refused, result = run(scenario())
    # The relay was full, and the silent ones were closed long before their 30 s to
    # prove a key: a few retries 0.2 s apart got in.
    assert 1 <= refused <= 20
    assert result.complete and result.fetched == 5


def test_serve_lan_gives_a_stranger_nothing_and_serves_a_member(tmp_path: Path) -> None:
    a, b = Profile(tmp_path, "ava"), Profile(tmp_path, "babak")
    for p in (a, b):
        p.ok("init")
    a.ok("council", "create", COUNCIL, "--as", "Ava")
    bring_in(a, b, "Babak")
    a.ok("post", COUNCIL, "meeting at the bakery")
    stranger = make_node(tmp_path, "stranger")
    stranger.councils.create("Elsewhere", "", "Sina", kinds.Rules())
    with Node.open(a.home, a.passphrase, allow_weak_kdf=True) as node:
        targets = write_keys(node)
        ids = [nip01.decode(raw).id for raw in node.bundles.envelopes(node.find_council(COUNCIL))]
    port = free_port()
    serving = serve(a, "--lan", "--lan-address", "127.0.0.1", "--lan-port", str(port))
    try:
        assert "Serving the local network" in serving.first_line()
        url = f"ws://127.0.0.1:{port}"
        got = run(probe(url, stranger.ingestor.keyring.all_epochs(), targets, ids))
        assert_learned_nothing(got, targets)
        b.ok("relays", "add", COUNCIL, url)
        b.ok("sync")
        assert "meeting at the bakery" in texts(b)
    finally:
        serving.stop()


def test_a_relay_operator_sees_size_buckets_not_kinds(tmp_path: Path) -> None:
    """What a relay holds shows a size bucket per envelope: a post, an invitation and an
    admission look alike, and a post's length shows only as its bucket."""
    cid, a, _b, _s = two_councils(tmp_path)
    a.posts.post(cid, "ok")
    a.posts.post(cid, "a longer message " * 20)
    a.membership.invite(cid)
    rows = [
        (a.store.events.raw(bytes(env)), kind)
        for env, kind in a.store.rows(
            "SELECT v.envelope, v.kind FROM envelopes e JOIN events v ON v.envelope = e.id "
            "WHERE e.council = ? AND e.kind = 4040",
            (cid,),
        )
    ]
    by_kind: dict[str, set[int]] = {}
    for raw, kind in rows:
        blob = base64.b64decode(nip01.decode(bytes(raw)).content)
        assert blob[0] == 2
        padded = len(blob) - 1 - 24 - 16
        assert padded in (256, 512, 1024, 2048, 4096) or padded % 4096 == 0, (kind, padded)
        by_kind.setdefault(kind, set()).add(padded)
    assert {"post.message", "invite.create", "member.admit"} <= set(by_kind)
    shared = by_kind["invite.create"] | by_kind["member.admit"]
    assert len(shared) == 1 and shared <= by_kind["post.message"]  # three kinds, one size
    assert len(by_kind["post.message"]) >= 2  # short and long posts: a bucket apart
    sizes = {size for found in by_kind.values() for size in found}
    assert len(sizes) <= 4 < len(rows)  # the relay sees a few sizes, whatever was written
