"""Rounds are bounded as a whole: every peer at once under one deadline, and a relay found
without NIP-77 is not asked (and waited for) again every round (docs/sync.md §2.4)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import websockets
from test_relay import run

from conftest import admit, make_node, send
from shora.kernel import kinds
from shora.node import Node
from shora.sync import messages
from shora.sync.local import NodeEnvelopes
from shora.sync.outbox import Outbox
from shora.sync.peers import NIP77_RECHECK, PeerBook
from shora.sync.relay import EmbeddedRelay
from shora.sync.relay_connection import RelayConnection
from shora.sync.runner import sync_round


def council(tmp_path: Path) -> tuple[bytes, list[Node]]:
    a, b, c = (make_node(tmp_path, n) for n in ("a", "b", "c"))
    cid = a.councils.create("Works council", "", "Azar", kinds.Rules(removal="member"))
    admit(a, b, cid, "Bahar")
    admit(a, c, cid, "Cima")
    send(a, b)
    return cid, [a, b, c]


@contextlib.asynccontextmanager
async def serving(handler: Any) -> AsyncIterator[str]:
    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


async def drip(ws: Any) -> None:
    """Accepts the connection and answers, but so slowly that a sync never ends: a
    NOTICE every second keeps each wait for a message short of its time limit."""
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            await asyncio.sleep(1)
            await ws.send(messages.notice("still here"))


def test_a_drip_relay_cannot_hold_the_round(tmp_path: Path) -> None:
    cid, (a, b, c) = council(tmp_path)
    b.posts.post(cid, "from bahar")
    c.posts.post(cid, "from cima")

    async def scenario() -> list[Any]:
        relays = [EmbeddedRelay(NodeEnvelopes(n)) for n in (b, c)]
        for relay in relays:
            await relay.start()
        try:
            async with serving(drip) as slow:
                book = PeerBook(a.store)
                for url in [slow] + [r.url for r in relays]:
                    book.add_relay(cid, url)
                return await sync_round(a, timeout=4.0)
        finally:
            for relay in relays:
                await relay.stop()

    outcomes = run(scenario())
    # The round's deadline, not the drip relay's pace, ended it:
    by_kind = {o.error is None: o for o in outcomes}
    assert len(outcomes) == 3 and sum(o.error is None for o in outcomes) == 2
    assert "cut off at the end of the round" in (by_kind[False].error or "")
    assert all(o.complete and o.mode == "nip77" for o in outcomes if o.error is None)
    posts = {p["text"] for p in a.posts.posts(cid)}
    assert {"from bahar", "from cima"} <= posts


def test_a_relay_without_nip77_is_remembered(tmp_path: Path) -> None:
    cid, (a, b, _c) = council(tmp_path)
    b.posts.post(cid, "from bahar")
    neg_opens = []

    async def ignores_nip77(ws: Any) -> None:
        """Our relay as a NIP-01 relay that ignores NEG-OPEN silently (as nostr-relay)."""
        connection = RelayConnection(NodeEnvelopes(b), negentropy=False)
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in ws:
                if str(text).startswith('["NEG-'):
                    if str(text).startswith('["NEG-OPEN'):
                        neg_opens.append(text)
                    continue
                for reply in connection.receive(text):
                    await ws.send(reply)

    async def scenario() -> list[Any]:
        async with serving(ignores_nip77) as url:
            PeerBook(a.store).add_relay(cid, url)
            rounds = []
            for _ in range(3):
                [outcome] = await sync_round(a, negentropy_timeout=2.0)
                rounds.append(outcome)
            return rounds

    o1, o2, o3 = run(scenario())
    assert o1.mode == o2.mode == o3.mode == "fallback"
    assert len(neg_opens) == 1  # asked once; the next rounds go straight to NIP-01
    assert all(o.complete and o.error is None for o in (o1, o2, o3))
    assert "from bahar" in {p["text"] for p in a.posts.posts(cid)}
    book = PeerBook(a.store)
    url = book.relays(cid)[0][1]
    assert book.lacks_nip77(url)
    assert not book.lacks_nip77(url, now=int(time.time()) + NIP77_RECHECK + 1)  # asked again


def test_the_outbox_takes_only_own_envelopes(tmp_path: Path) -> None:
    """What a running node publishes at once: its own writes (here a's), by council, each
    once; envelopes that came from others are not re-published."""
    cid, (a, b, _c) = council(tmp_path)
    other = a.councils.create("Another council", "", "Azar")
    outbox = Outbox(a.store)
    assert outbox.take() == {}
    b.posts.post(cid, "from bahar")
    send(b, a)  # arrives from a peer: not a's to publish
    assert outbox.take() == {}
    a.posts.post(cid, "from azar")
    a.posts.post(other, "elsewhere")
    taken = outbox.take()
    assert set(taken) == {cid, other} and len(taken[cid]) == len(taken[other]) == 1
    assert outbox.take() == {}  # each once


def test_a_council_that_asks_for_it_has_its_writes_held_back_and_sent_together(
    tmp_path: Path,
) -> None:
    """`upload_delay_seconds`: a council's own writes wait a random time within the delay
    and leave in one batch; a council without the rule sends at once."""
    import random

    from shora.kernel import kinds
    from shora.sync.outbox import Delay, delay_of

    cid, (a, _b, _c) = council(tmp_path)
    quiet = a.councils.create("Quiet council", "", "Azar", kinds.Rules(upload_delay_seconds=60))
    assert delay_of(a, cid) == 0 and delay_of(a, quiet) == 60
    outbox, held = Outbox(a.store), Delay(random.Random(7))
    a.posts.post(cid, "now")
    a.posts.post(quiet, "first")
    for council_id, raws in outbox.take().items():
        held.add(council_id, raws, 1000.0, delay_of(a, council_id))
    assert set(held.take(1000.0)) == {cid}  # no delay: at once
    a.posts.post(quiet, "second")
    for council_id, raws in outbox.take().items():
        held.add(council_id, raws, 1010.0, delay_of(a, council_id))
    batches = [(t, held.take(float(t))) for t in range(1000, 1061)]
    ((when, batch),) = [(t, b) for t, b in batches if b]
    assert 1000 < when <= 1060  # a random time within the delay of the first write
    assert list(batch) == [quiet] and len(batch[quiet]) == 2  # both writes, together
    assert held.take(2000.0) == {}
