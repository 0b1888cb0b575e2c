"""A sync round with one drip relay among three: the round ends at its deadline and the
other two relays complete (benchmarks/sync.py prints it with its RESULT line).

Three members of a small council, each with posts of their own; A's council lists B's
and C's embedded relays (NIP-77) and a "drip" relay, which accepts the websocket and
answers so slowly (a NOTICE a second, each well inside the client's per-message time
limit) that a sync with it never ends. A runs one round (`sync_round`) with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websockets

from shora.kernel import profile, tokens
from shora.node import Node
from shora.sync import messages
from shora.sync.local import NodeEnvelopes
from shora.sync.peers import PeerBook
from shora.sync.relay import EmbeddedRelay
from shora.sync.runner import sync_round

DEADLINE = 10.0
POSTS = 200


@dataclass(frozen=True, slots=True)
class DripRound:
    seconds: float
    deadline: float
    others_complete: int
    drip_cut: bool
    received: int

    @property
    def met(self) -> bool:
        return self.seconds <= self.deadline + 1.0 and self.others_complete == 2 and self.drip_cut


async def _drip(ws: Any) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            await asyncio.sleep(1)
            await ws.send(messages.notice("still here"))


def _node(root: Path, name: str) -> Node:
    return Node.create(
        root / name, "drip round", kdf_limits=profile.INSECURE_TEST_KDF, allow_weak_kdf=True
    )


def _council(root: Path) -> tuple[bytes, list[Node]]:
    a, b, c = (_node(root, n) for n in ("a", "b", "c"))
    cid = a.councils.create("Drip round", "", "A")
    for node, name in ((b, "B"), (c, "C")):
        invitation = tokens.parse_invitation(tokens.invitation_text(a.membership.invite(cid)))
        request = node.membership.join(invitation, name)
        assert a.membership.admit(
            tokens.parse_join_request_text(tokens.join_request_text(request))
        ).admitted
        node.import_envelopes(a.envelopes(cid))
    for node in (b, c):
        node.import_envelopes(a.envelopes(cid))
        for i in range(POSTS):
            node.posts.post(cid, f"{i} from {node.home.name}")
    return cid, [a, b, c]


async def _round(cid: bytes, a: Node, b: Node, c: Node, deadline: float) -> DripRound:
    relays = [EmbeddedRelay(NodeEnvelopes(n)) for n in (b, c)]
    for relay in relays:
        await relay.start()
    try:
        async with websockets.serve(_drip, "127.0.0.1", 0) as server:
            drip = f"ws://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}"
            book = PeerBook(a.store)
            for url in [drip] + [r.url for r in relays]:
                book.add_relay(cid, url)
            began = time.monotonic()
            outcomes = await sync_round(a, timeout=deadline)
            seconds = time.monotonic() - began
    finally:
        for relay in relays:
            await relay.stop()
    others = [o for o in outcomes if o.address != drip]
    cut = [o for o in outcomes if o.address == drip and o.error and "cut off" in o.error]
    return DripRound(
        seconds,
        deadline,
        sum(o.complete and o.error is None for o in others),
        bool(cut),
        sum(o.received for o in others),
    )


def drip_round(root: Path, deadline: float = DEADLINE) -> DripRound:
    """Build the three nodes under root, run the round, print and return what it took."""
    print(f"\n[drip] one round, three relays, one of them drips; deadline {deadline:g} s")
    cid, (a, b, c) = _council(root)
    try:
        result = asyncio.run(_round(cid, a, b, c, deadline))
    finally:
        for node in (a, b, c):
            node.close()
    print(
        f"  round took {result.seconds:.2f} s (deadline {deadline:g} s); the other two "
        f"relays: {result.others_complete} of 2 complete, {result.received} envelopes "
        f"received; the drip relay {'was cut off' if result.drip_cut else 'was NOT cut off'}"
    )
    return result
