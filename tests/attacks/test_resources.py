"""Filling an honest node's store, or its memory, with what it cannot use.

The attacker is a removed member (every write key she ever held, any envelope under
them) or a stranger with a fresh write key, or anyone who hands a node a file or a
sync message. The honest nodes are unmodified profiles; each test asserts what they
stored, and that honest envelopes still get in afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from pathlib import Path

import msgspec
import pytest
import websockets
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st
from test_relay import prove

from attacks.adversary import Adversary
from conftest import Clock, admit, make_node, send, three_members
from shora.errors import FromTheFuture, TooManyWaiting
from shora.kernel import crypto, ingest, keys, kinds, nip01, waiting
from shora.kernel.events import SHORA_KIND, WELCOME_KIND, decrypt_content, seal_content
from shora.node import Node
from shora.sync import messages, nip77, summary
from shora.sync.local import NodeEnvelopes
from shora.sync.negentropy import NegentropyError
from shora.sync.relay import EmbeddedRelay
from shora.sync.relay_connection import RelayConnection, RelayLimits
from shora.sync.session import SyncSession

DAY = 24 * 3600


def _removed(tmp_path: Path) -> tuple[list[Node], bytes, Clock, Adversary]:
    """a, b, c of one council; c removed (a new epoch she never gets), holding her keys."""
    clock = Clock()
    (a, b, c), council = three_members(tmp_path, clock)
    cyrus = c.find_member(council, "Cyrus")
    a.membership.remove(council, cyrus)  # the council's rules ask for two vouches
    send(a, b)
    assert b.membership.remove(council, cyrus).admitted
    send(b, a)
    assert a.store.one("SELECT status FROM members WHERE key=?", (cyrus,)) == "removed"
    return [a, b, c], council, clock, Adversary(c, council)


def _texts(node: Node, council: bytes) -> list[str]:
    return [p["text"] for p in node.posts.posts(council, limit=500)]


def _welcome(adv: Adversary, hint: str) -> bytes:
    content = base64.b64encode(crypto.random_bytes(120)).decode()
    return adv.envelope(WELCOME_KIND, content, [["k", hint]], epoch=adv.epochs()[0])


def _hints(node: Node, council: bytes) -> int:
    return node.store.one(
        "SELECT count(*) FROM envelopes WHERE council=? AND kind=?", (council, WELCOME_KIND)
    )


def test_welcomes_under_an_old_key_are_stored_only_for_hints_the_node_can_attribute(
    tmp_path: Path,
) -> None:
    (a, b, c), council, _, adv = _removed(tmp_path)
    before = _hints(a, council)
    junk = [_welcome(adv, crypto.random_bytes(16).hex()) for _ in range(150)]
    report = a.bundles.import_envelopes(junk)
    # None is stored; a few wait for an admission that may still arrive, the rest refused.
    assert _hints(a, council) == before and report.accepted == 0
    assert report.pending == waiting.MAX_WELCOMES_WAITING
    assert report.refused == {"TooManyWaiting": 150 - waiting.MAX_WELCOMES_WAITING}
    with pytest.raises(TooManyWaiting, match="no join request admitted"):
        a.ingestor.ingest_one(_welcome(adv, crypto.random_bytes(16).hex()))
    # A hint the node can attribute (b's welcome back): at most a few of them.
    b_hint = keys.welcome_hint(keys.return_id(a.find_member(council, "Bahram")))
    report = a.bundles.import_envelopes([_welcome(adv, b_hint) for _ in range(10)])
    assert report.accepted == waiting.MAX_WELCOMES_PER_HINT
    assert report.refused == {"TooManyWaiting": 10 - waiting.MAX_WELCOMES_PER_HINT}
    # The waiting ones leave after MAX_AGE; honest events still get in.
    a.now = lambda: c.now() + waiting.MAX_AGE + 1
    assert a.ingestor.expire() >= waiting.MAX_WELCOMES_WAITING
    assert a.store.one("SELECT count(*) FROM pending") == 0
    b.posts.post(council, "after the flood")
    send(b, a)
    assert "after the flood" in _texts(a, council)
    for node in (a, b, c):
        node.close()


def test_a_welcome_before_its_admission_waits_for_it(tmp_path: Path) -> None:
    """The honest flow: a welcome may arrive before the admission it answers."""
    a, b, d = make_node(tmp_path, "a"), make_node(tmp_path, "b"), make_node(tmp_path, "d")
    council = a.councils.create("Council", "", "Ava")
    admit(a, b, council, "Bijan")
    a.membership.admit(d.membership.join(a.membership.invite(council), "Dana"))
    new = [r for r in a.bundles.envelopes() if r not in set(b.bundles.envelopes())]
    welcome = [r for r in new if nip01.decode(r).kind == WELCOME_KIND]
    report = b.bundles.import_envelopes(welcome)
    assert report.pending == 1 and report.accepted == 0 and _hints(b, council) == 1
    b.bundles.import_envelopes([r for r in new if r not in welcome])
    assert set(welcome) <= set(b.bundles.envelopes())
    assert b.store.one("SELECT count(*) FROM pending") == 0
    for node in (a, b, d):
        node.close()


def test_events_waiting_for_parents_are_bounded_per_author_and_expire(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "MAX_PENDING_PER_AUTHOR", 40)
    (a, b, c), council, clock, adv = _removed(tmp_path)
    old = adv.epochs()[0]
    orphans = [
        adv.forge(
            "post.message",
            kinds.Message(f"junk {i}"),
            parents=[crypto.random_bytes(32)],
            clock=5,
            epoch=old,
        ).raw
        for i in range(60)
    ]
    report = a.bundles.import_envelopes(orphans)
    assert report.pending == 40 and report.refused == {"TooManyWaiting": 20}
    assert a.store.one("SELECT count(*) FROM pending WHERE author=?", (adv.key,)) == 40
    b.posts.post(council, "still heard")
    send(b, a)
    assert "still heard" in _texts(a, council)
    clock.t += waiting.MAX_AGE + 1
    assert a.ingestor.expire() == 40
    assert a.store.one("SELECT count(*) FROM pending") == 0
    # Ingest itself expires too (without housekeeping).
    report = a.bundles.import_envelopes(orphans[:5])
    assert report.pending == 5
    clock.t += waiting.MAX_AGE + waiting.EXPIRY_EVERY + 1
    a.bundles.import_envelopes([])
    assert a.store.one("SELECT count(*) FROM pending") == 0
    for node in (a, b, c):
        node.close()


def test_invented_authors_share_one_quota_and_a_members_backlog_waits_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "MAX_PENDING_PER_AUTHOR", 20)
    monkeypatch.setattr(waiting, "MAX_PENDING_OUTSIDERS", 30)
    (a, b, c), council, _, adv = _removed(tmp_path)
    old = adv.epochs()[0]
    invented = [
        adv.forge(
            "post.message",
            kinds.Message(f"junk {i}"),
            parents=[crypto.random_bytes(32)],
            clock=5,
            epoch=old,
            author=crypto.sign_keypair(),
        ).raw
        for i in range(40)
    ]
    report = a.bundles.import_envelopes(invented)
    assert report.pending == 30 and report.refused == {"TooManyWaiting": 10}
    # A member's backlog of 50 (over the per-author quota), arriving newest first as
    # relays send it: everything waits, then everything goes in.
    before = set(b.bundles.envelopes())
    for i in range(50):
        b.posts.post(council, f"backlog {i}")
    backlog = [r for r in b.bundles.envelopes() if r not in before][::-1]
    report = a.bundles.import_envelopes(backlog[:49])
    assert report.pending == 49 and report.refused == {}
    a.bundles.import_envelopes(backlog[49:])
    assert sum(t.startswith("backlog") for t in _texts(a, council)) == 50
    for node in (a, b, c):
        node.close()


def _stranger_bundle(n: int, created_at: int) -> bytes:
    """n envelopes under a fresh write key no council has: all go to `held`."""
    _, secret = crypto.write_keypair()
    signer = crypto.WriteSigner(secret)
    buf = io.BytesIO()
    from shora.kernel import bundle

    bundle.write_bundle(
        buf,
        (
            nip01.encode(nip01.sign_envelope(signer, created_at, SHORA_KIND, [], f"AQ{i:06d}"))
            for i in range(n)
        ),
    )
    return buf.getvalue()


def test_envelopes_under_unknown_keys_are_bounded_per_key_and_expire(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(waiting, "MAX_HELD_PER_KEY", 30)
    monkeypatch.setattr(waiting, "MAX_HELD", 50)
    clock = Clock()
    a = make_node(tmp_path, "a")
    a.now = clock
    report, _ = a.bundles.import_bundle(io.BytesIO(_stranger_bundle(40, int(clock()))))
    assert report.held == 30 and report.refused == {"TooManyWaiting": 10}
    report, _ = a.bundles.import_bundle(io.BytesIO(_stranger_bundle(40, int(clock()))))
    assert report.held == 20 and report.refused == {"TooManyWaiting": 20}
    assert a.store.one("SELECT count(*) FROM held") == 50
    clock.t += waiting.MAX_AGE + 1
    assert a.ingestor.expire() == 50
    assert a.store.one("SELECT count(*) FROM held") == 0
    a.close()


def test_a_newcomer_importing_a_large_history_before_the_welcome_takes_it_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounds on `held` apply between imports: within one, the welcome may come last."""
    monkeypatch.setattr(waiting, "MAX_HELD_PER_KEY", 10)
    monkeypatch.setattr(waiting, "MAX_HELD", 10)
    a, b = make_node(tmp_path, "a"), make_node(tmp_path, "b")
    council = a.councils.create("Council", "", "Ava")
    request = b.membership.join(a.membership.invite(council), "Bahar")
    a.membership.admit(request)
    for i in range(40):
        a.posts.post(council, f"post {i}")
    everything = list(a.bundles.envelopes())
    welcome = [r for r in everything if nip01.decode(r).kind == WELCOME_KIND]
    rest = [r for r in everything if r not in welcome]
    report = b.bundles.import_envelopes(rest + welcome)
    assert report.refused == {} and report.held == 0 and report.pending == 0
    assert len(b.posts.posts(council, limit=100)) == 40
    assert b.store.one("SELECT count(*) FROM held") == 0
    a.close()
    b.close()


def test_far_future_envelopes_are_refused_by_the_node_and_its_relay(tmp_path: Path) -> None:
    (a, b, c), council, clock, _ = _removed(tmp_path)
    me = Adversary(b, council)  # a member, writing under the current epoch
    late = me.forge("post.message", kinds.Message("from the future"), created_at=2**40 - 1)
    with pytest.raises(FromTheFuture):
        a.ingestor.ingest_one(late.raw)
    report = a.bundles.import_envelopes([late.raw])
    assert report.refused == {"FromTheFuture": 1}
    soon = me.forge(
        "post.message", kinds.Message("within the hour"), created_at=int(clock()) + 3000
    )
    a.bundles.import_envelopes([soon.raw])
    assert "within the hour" in _texts(a, council)

    async def scenario() -> messages.Ok:
        relay = EmbeddedRelay(NodeEnvelopes(a))
        await relay.start()
        try:
            async with websockets.connect(relay.url) as ws:
                await prove(ws, relay.url, b)  # a member: the relay takes envelopes from her
                await ws.send(messages.event(late.raw))
                answer = messages.decode_relay(await ws.recv())
        finally:
            await relay.stop()
        assert isinstance(answer, messages.Ok)
        return answer

    ok = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert not ok.accepted and ok.message.startswith("invalid:") and "clock" in ok.message
    assert a.store.one("SELECT count(*) FROM envelopes WHERE created_at > ?", (2**39,)) == 0
    for node in (a, b, c):
        node.close()


def test_the_fallback_sync_is_not_blinded_by_far_future_or_far_past_dates(
    tmp_path: Path,
) -> None:
    (a, b, c), council, clock, _ = _removed(tmp_path)
    me = Adversary(b, council)
    # An envelope dated far ahead, kept by an older version (before the rule above).
    late = me.forge("post.message", kinds.Message("far ahead"), created_at=2**40 - 1)
    env = nip01.decode(late.raw)
    a.store.events.add_envelope(
        (
            bytes.fromhex(env.id),
            council,
            SHORA_KIND,
            env.created_at,
            late.raw,
            bytes.fromhex(env.pubkey),
            None,
        )
    )
    early = me.forge("post.message", kinds.Message("far back"), created_at=0)
    b.bundles.import_envelopes([early.raw])
    clock.t += 3 * DAY
    b.posts.post(council, "news of today")
    session = SyncSession(NodeEnvelopes(a))
    relay = RelayConnection(NodeEnvelopes(b), negentropy=False)
    out = session.start()
    for _ in range(200):
        replies = [r for text in out for r in relay.receive(text)]
        if session.done:
            break
        if not replies:
            out = session.timeout()
            continue
        out = [m for text in replies for m in session.receive(text)]
    assert "news of today" in _texts(a, council)
    for node in (a, b, c):
        node.close()


def test_hostile_inputs_leave_honest_envelopes_getting_in(tmp_path: Path) -> None:
    (a, b, c), council, _, adv = _removed(tmp_path)
    junk = adv.forge("post.message", kinds.Message("x"), epoch=adv.epochs()[0]).raw
    report = a.bundles.import_envelopes([junk] * 5000)
    assert report.duplicate >= 4999
    b.posts.post(council, "after the repeats")
    send(b, a)
    assert "after the repeats" in _texts(a, council)
    for node in (a, b, c):
        node.close()


# --- the decoders changed for bounded memory (Hypothesis) -------------------------------

HEX = "0123456789abcdefABCDEF"


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=HEX + "g \n\u0660", max_size=200) | st.text(max_size=50))
def test_negentropy_payloads_decode_exactly_when_they_are_hex(text: str) -> None:
    frame = json.dumps(["NEG-MSG", "s", text])
    valid = len(text) % 2 == 0 and all(ch in HEX for ch in text)
    try:
        message = nip77.parse(frame)
    except NegentropyError:
        assert not valid
        return
    assert valid and isinstance(message, nip77.NegMsg)
    assert message.message == bytes.fromhex(text)


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=3000)
    | st.binary(max_size=3000).map(lambda b: zstandard.ZstdCompressor().compress(b))
    | st.binary(max_size=300)
    .map(lambda b: summary.MAGIC + b)
    .map(lambda b: zstandard.ZstdCompressor().compress(b)),
    cut=st.integers(0, 4000),
)
def test_summaries_decode_or_fail_with_one_error(data: bytes, cut: int) -> None:
    for candidate in (data, data[:cut], data + b"\0"):
        try:
            summary.read_summary(candidate)
        except summary.SummaryError:
            pass


def test_a_summary_round_trips_and_trailing_or_missing_bytes_are_refused() -> None:
    made = summary.Summary(
        [b"\1" * 32], ["ab" * 16], [summary.Bucket(b"\1" * 32, 5, 2, b"\2" * 16)]
    )
    body = summary.MAGIC + msgspec.msgpack.encode(made)
    data = zstandard.ZstdCompressor(level=10).compress(body)
    assert summary.read_summary(data) == made
    for bad in (data[:-1], data + data, data + b"x"):
        with pytest.raises(summary.SummaryError):
            summary.read_summary(bad)


def test_a_relay_answer_is_capped_in_bytes(tmp_path: Path) -> None:
    a = make_node(tmp_path, "a")
    council = a.councils.create("Council", "", "Ava")
    for i in range(20):
        a.posts.post(council, f"post {i} " + "x" * 500)
    relay = RelayConnection(NodeEnvelopes(a), RelayLimits(max_query_bytes=5000))
    answer = relay.receive(messages.req("s", [{"kinds": [SHORA_KIND]}]))
    events = [m for m in answer if m.startswith('["EVENT"')]
    assert 0 < len(events) < 21 and sum(len(m) for m in events[:-1]) < 5000
    assert answer[-1] == messages.eose("s")
    a.close()


def test_one_event_sealed_twice_and_waiting_for_its_parent_is_stored_once(
    tmp_path: Path,
) -> None:
    """A member seals someone's event again (a new envelope, the same inner event) and
    hands both copies, ahead of their parent, to a node: once the parent arrives the
    event is taken in once and the copy counts as a duplicate; the import goes through
    (it used to fail on the second insert and take the whole batch down with it)."""
    clock = Clock()
    (a, b, c), council = three_members(tmp_path, clock)
    a.posts.post(council, "water at six")
    a.posts.post(council, "bread at seven")
    parent, child = list(a.bundles.envelopes(council))[-2:]
    epoch = c.writing_epoch(council)  # any member holds the key
    env = nip01.decode(child)
    plain = decrypt_content(env, epoch.content_key, epoch.write_pk)
    signer = crypto.WriteSigner(epoch.write_sk)
    sealed = seal_content(epoch.content_key, epoch.write_pk, plain)
    copy = nip01.encode(nip01.sign_envelope(signer, env.created_at, env.kind, [], sealed))
    assert copy != child
    report = b.bundles.import_envelopes([child, copy, parent])
    assert (report.accepted, report.duplicate, report.pending) == (2, 1, 0), report
    assert not report.refused
    assert _texts(b, council)[:2] == ["bread at seven", "water at six"]
    assert b.store.one("SELECT count(*) FROM pending") == 0
    b.posts.post(council, "still writing")
    send(b, a)
    assert _texts(a, council)[0] == "still writing"
