"""An informer hides forgeries in a large bundle, or in a burst of uploads to a relay,
whose envelopes an honest member's node has checked by child processes
(kernel/checking.py).

The informer's modified client signs with every key it holds: envelopes under the
council's write key whose inner event names another member as author, envelopes whose
outer signature is another's, inner events re-signed under a key it never held. The
honest node must refuse each exactly as it would checking in line, and store nothing
of them; the checking processes' answers only spare it signature checks that passed.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import Future
from pathlib import Path

import msgspec
import pytest

from attacks.adversary import Adversary
from conftest import council_of_members
from shora.kernel import ahead, checking, crypto, nip01
from shora.kernel.kinds import Message
from shora.node import Node
from shora.sync.local import NodeEnvelopes
from shora.sync.relay import EmbeddedRelay
from shora.sync.relay_connection import RelayLimits
from shora.sync.transport import PublishResult, publish


def _forgeries(tmp_path: Path) -> tuple[tuple[Node, Node, Node], bytes, list[bytes], list[bytes]]:
    """(founder, honest member, informer), the council, the 60 honest posts the member
    lacks, and the informer's 12 forgeries (the last but one is under a write key no
    one was given, the last has another envelope's signature)."""
    (a, b, m), council, clock = council_of_members(tmp_path, 3)
    held = set(b.bundles.envelopes())
    for i in range(60):
        a.posts.post(council, f"honest {i}")
        clock.t += 1
    informer = Adversary(m, council)
    victim = a.identity(council).sign_pk
    forged: list[bytes] = []
    for i in range(10):  # inner events naming the founder as author, signed by the informer
        forged.append(
            informer.forge(
                "post.message",
                Message(text=f"forged {i}"),
                author=(victim, informer._sk),
            ).raw
        )
    honest = informer.forge("post.message", Message(text="the informer's own")).raw
    env = nip01.decode(honest)
    stranger = crypto.WriteSigner(crypto.write_keypair()[1])
    resigned = nip01.sign_envelope(stranger, env.created_at, env.kind, [], env.content)
    forged.append(  # the same content under a write key no one was given
        nip01.encode(resigned)
    )
    forged.append(  # the council's write key, another envelope's signature
        nip01.encode(msgspec.structs.replace(env, sig=nip01.decode(forged[0]).sig))
    )
    honest_posts = [r for r in a.bundles.envelopes() if r not in held]
    return (a, b, m), council, honest_posts, forged


def test_forgeries_in_a_large_bundle_are_refused_by_a_node_checking_in_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (a, b, m), council, honest_posts, forged = _forgeries(tmp_path)
    bundle = honest_posts + forged
    monkeypatch.setattr(ahead, "PROCESSES_MIN", ahead.POOL_MIN)
    monkeypatch.setattr(ahead, "PROCESS_CHUNK", 16)
    answers: list[Future[list[checking.Found]]] = []
    submit = checking.Checkers.submit

    def spy(self: checking.Checkers, raws: list[bytes]) -> Future[list[checking.Found]]:
        answers.append(submit(self, raws))
        return answers[-1]

    monkeypatch.setattr(checking.Checkers, "submit", spy)
    report = b.bundles.import_envelopes(bundle, heal=False)

    verdicts = checking.verdicts([x for f in answers for x in f.result(timeout=0)])
    assert len(verdicts) == len(bundle)
    assert verdicts[-12:-2] == bytes([checking.SIGNED]) * 10  # outer good, inner not
    assert verdicts[-2:] == bytes([checking.SIGNED, checking.NOTHING])
    assert verdicts.count(checking.OPENED) >= 60
    assert report.refused.get("BadSignature") == 11  # ten impersonations, one bad sig
    assert report.held == 1  # the key no one was given: waits for it, bounded
    texts = {p["text"] for p in b.posts.posts(council, limit=1000)}
    assert {f"honest {i}" for i in range(60)} <= texts
    assert not any(t.startswith("forged") for t in texts)
    assert "the informer's own" not in texts  # its envelope was among the forged ones
    for node in (a, b, m):
        node.close()


def test_forgeries_uploaded_to_a_relay_are_refused_by_a_node_checking_in_processes(
    tmp_path: Path,
) -> None:
    """The informer uploads the same forgeries, among honest envelopes, to the honest
    member's LAN relay, from two connections at once. The relay's batches are
    checked by the checking processes of the burst: every forgery is refused as in line,
    no more processes run than the node's one set, and none is left after the burst."""
    (a, b, m), council, honest_posts, forged = _forgeries(tmp_path)
    uploads = honest_posts + forged
    spare = (os.cpu_count() or 1) > 1
    seen: list[checking.Checkers | None] = []

    async def upload() -> list[PublishResult]:
        relay = EmbeddedRelay(NodeEnvelopes(b), limits=RelayLimits(events_per_minute=10**6))
        await relay.start()
        try:
            results = await asyncio.gather(
                *(
                    publish(relay.url, uploads, keyring=NodeEnvelopes(m), timeout=60)
                    for _ in range(2)
                )
            )
            seen.append(b.ingestor.ahead._burst)
        finally:
            await relay.stop()  # the burst's housekeeping
        return list(results)

    results = asyncio.run(upload())
    (burst,) = seen
    assert (burst is not None) == spare
    if burst is not None:
        assert len(burst._children) == (os.cpu_count() or 1) - 1
        assert all(c.proc.poll() is not None for c in burst._children)
    assert b.ingestor.ahead._burst is None
    assert sum(r.accepted for r in results) == len(honest_posts)  # the other: duplicates
    assert sum(r.duplicate for r in results) == len(honest_posts)
    assert [sum(r.refused.values()) for r in results] == [len(forged)] * 2
    texts = {p["text"] for p in b.posts.posts(council, limit=1000)}
    assert {f"honest {i}" for i in range(60)} <= texts
    assert not any(t.startswith("forged") for t in texts)
    assert "the informer's own" not in texts
    for node in (a, b, m):
        node.close()
