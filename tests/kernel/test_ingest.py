"""Bad input gets a specific error and leaves the store exactly as it was."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import admit, make_node
from shora.errors import (
    BadSignature,
    MalformedEvent,
    NotAMember,
    OversizedEvent,
    RemoteError,
    UnknownKind,
    WrongEpoch,
)
from shora.kernel import crypto, events, keys, kinds, nip01
from shora.node import Node


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Node, bytes]]:
    root = tmp_path_factory.mktemp("ingest")
    a, b = make_node(root, "a"), make_node(root, "b")
    council = a.councils.create("Council", "", "Ava")
    admit(a, b, council, "Bijan")
    a.posts.post(council, "hello")
    yield a, b, council
    a.close()
    b.close()


def _dump(node: Node) -> bytes:
    tables = [r[0] for r in node.store.rows("SELECT name FROM sqlite_master WHERE type='table'")]
    return msgspec.msgpack.encode(
        [node.store.rows(f"SELECT * FROM {t} ORDER BY 1") for t in sorted(tables)]
    )


def _refused(node: Node, raw: bytes, error: type[RemoteError]) -> None:
    before = _dump(node)
    with pytest.raises(error):
        node.ingestor.ingest_one(raw)
    assert _dump(node) == before


def _resign(env: nip01.Envelope, signer: crypto.WriteSigner, **changes: object) -> bytes:
    fields = {f: getattr(env, f) for f in ("created_at", "kind", "tags", "content")}
    fields.update(changes)
    return nip01.encode(nip01.sign_envelope(signer, **fields))  # type: ignore[arg-type]


def _epoch(node: Node, council: bytes) -> keys.Epoch:
    return node.writing_epoch(council)


def _inner(node: Node, cid: bytes, key: keys.Epoch, **changes: object) -> bytes:
    """An envelope around a hand-made inner event, under a real write key."""
    me = node.identity(cid)
    heads = [bytes(r[0]) for r in node.store.rows("SELECT id FROM heads WHERE council=?", (cid,))]
    clock = 1 + max(node.ingestor._event_meta(h).clock for h in heads)  # type: ignore[union-attr]
    fields: dict[str, object] = dict(
        v=1,
        council=cid,
        epoch=key.write_pk,
        author=me.sign_pk,
        parents=sorted(heads),
        clock=clock,
        time=int(node.now() * 1000),
        kind="post.message",
        body=events.encode_body(kinds.Message("hi")),
    )
    sign_sk = changes.pop("sign_sk", me.sign_sk)
    fields.update(changes)
    raw_payload = msgspec.msgpack.encode(list(fields.values()))
    content = events.seal_content(
        key.content_key, key.write_pk, events.sign_payload(sign_sk, raw_payload)
    )  # type: ignore[arg-type]
    return nip01.encode(
        nip01.sign_envelope(crypto.WriteSigner(key.write_sk), 0, events.SHORA_KIND, [], content)
    )


def test_a_good_event_is_accepted(world: tuple[Node, Node, bytes]) -> None:
    a, b, council = world
    raw = _inner(b, council, _epoch(b, council))
    assert a.bundles.import_envelopes([raw], heal=False).accepted == 1


def test_envelope_errors(world: tuple[Node, Node, bytes]) -> None:
    a, b, council = world
    good = _inner(b, council, _epoch(b, council))  # not yet known to a
    env = nip01.decode(good)
    signer = crypto.WriteSigner(_epoch(a, council).write_sk)
    _refused(a, b"{not json", MalformedEvent)
    _refused(a, b" " * (nip01.MAX_ENVELOPE_BYTES + 1), OversizedEvent)
    unsigned = json.loads(good)
    del unsigned["sig"]
    _refused(a, json.dumps(unsigned).encode(), MalformedEvent)
    zero_sig = json.loads(good) | {"sig": "0" * 128, "content": env.content + "A"}
    zero_sig["id"] = nip01.event_id(
        env.pubkey, env.created_at, env.kind, env.tags, zero_sig["content"]
    )
    _refused(a, json.dumps(zero_sig).encode(), BadSignature)
    tampered = json.loads(good) | {"created_at": env.created_at + 1}
    _refused(a, json.dumps(tampered).encode(), BadSignature)
    other = crypto.WriteSigner(crypto.write_keypair()[1])
    forged = json.loads(_resign(env, other)) | {"pubkey": env.pubkey}
    _refused(a, json.dumps(forged).encode(), BadSignature)
    _refused(a, _resign(env, signer, kind=1), UnknownKind)
    _refused(a, _resign(env, signer, content="!!!not base64"), MalformedEvent)
    # One ciphertext, one spelling: padding bits that base64 would ignore are refused.
    canonical = base64.b64encode(b"\x01" + b"\x07" * 40).decode()  # ends in "="
    sloppy = canonical[:-2] + chr(ord(canonical[-2]) + 1) + "="
    assert base64.b64decode(sloppy) == base64.b64decode(canonical)
    _refused(a, _resign(env, signer, content=sloppy), MalformedEvent)
    _refused(a, _resign(env, signer, tags=[["t", "strike"]]), MalformedEvent)
    _refused(a, _resign(env, signer, kind=events.WELCOME_KIND, tags=[]), MalformedEvent)


def test_inner_errors(world: tuple[Node, Node, bytes]) -> None:
    a, b, council = world
    epoch = _epoch(b, council)
    _refused(a, _inner(b, council, epoch, kind="no.such.kind"), UnknownKind)
    _refused(a, _inner(b, council, epoch, body=b"\x01"), MalformedEvent)
    _refused(a, _inner(b, council, epoch, clock=99), MalformedEvent)
    _refused(a, _inner(b, council, epoch, sign_sk=crypto.sign_keypair()[1]), BadSignature)
    _refused(a, _inner(b, council, epoch, epoch=b"\x02" * 32), WrongEpoch)
    _refused(a, _inner(b, council, epoch, council=b"\x03" * 32), WrongEpoch)
    _refused(a, _inner(b, council, epoch, parents=[]), MalformedEvent)
    # Someone who learnt the write key but was never admitted.
    outsider_pk, outsider_sk = crypto.sign_keypair()
    _refused(a, _inner(b, council, epoch, author=outsider_pk, sign_sk=outsider_sk), NotAMember)
    # Right write key, content sealed under another content key.
    wrong = keys.Epoch(council, epoch.write_pk, b"\x09" * 32, epoch.write_sk)
    _refused(a, _inner(b, council, wrong), WrongEpoch)


def test_unknown_write_key_is_held_then_ingested(tmp_path: Path) -> None:
    a, b = make_node(tmp_path, "a"), make_node(tmp_path, "b")
    council = a.councils.create("Council", "", "Ava")
    admit(a, b, council, "Bijan")
    c = make_node(tmp_path, "c")
    admit(a, c, council, "Cima")
    a.membership.remove(council, a.find_member(council, "Cima"), emergency=True)
    a.posts.post(council, "after the removal")
    everything = list(a.bundles.envelopes())
    grants = [r for r in everything if r not in set(b.bundles.envelopes())]
    # The post arrives before the grant that carries its key: it is held, not lost.
    post = everything[-1]
    report = b.bundles.import_envelopes([post], heal=False)
    assert report.held == 1 and report.accepted == 0
    report = b.bundles.import_envelopes(grants, heal=False)
    assert "after the removal" in [p["text"] for p in b.posts.posts(council)]
    for node in (a, b, c):
        node.close()


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.binary(max_size=2000))
def test_fuzz_arbitrary_bytes(world: tuple[Node, Node, bytes], data: bytes) -> None:
    a, _, _ = world
    try:
        a.ingestor.ingest_one(data)
    except RemoteError:
        pass


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(position=st.integers(0, 10_000), byte=st.integers(0, 255))
def test_fuzz_mutated_envelopes(world: tuple[Node, Node, bytes], position: int, byte: int) -> None:
    a, b, council = world
    raw = bytearray(_inner(b, council, _epoch(b, council)))
    raw[position % len(raw)] = byte
    try:
        a.ingestor.ingest_one(bytes(raw))
    except RemoteError:
        pass


def test_relays_see_only_opaque_envelopes(tmp_path: Path) -> None:
    a, b = make_node(tmp_path, "a"), make_node(tmp_path, "b")
    council = a.councils.create("Visible name?", "", "Founder name?")
    admit(a, b, council, "Member name?")
    a.posts.post(council, "Plain words?", title="Title?")
    member_keys = {m.key.hex() for m in a.councils.members(council)}
    for raw in a.bundles.envelopes():
        env = nip01.decode(raw)
        assert env.kind in (events.SHORA_KIND, events.WELCOME_KIND)
        assert env.created_at % 3600 == 0
        assert env.tags == ([] if env.kind == events.SHORA_KIND else [["k", env.tags[0][1]]])
        assert env.pubkey not in member_keys and council.hex() not in raw.decode()
        for word in ("Visible", "Founder", "Member", "Plain", "Title"):
            assert word.encode() not in raw
    a.close()
    b.close()


def test_a_second_founding_event_is_refused(world: tuple[Node, Node, bytes]) -> None:
    a, b, council = world
    body = events.encode_body(
        kinds.CouncilCreate("Fake", "", kinds.Rules(), "x", b"\0" * 32, b"\0" * 16)
    )
    me = b.identity(council)
    epoch = _epoch(b, council)
    payload = msgspec.msgpack.encode(
        [1, council, epoch.write_pk, me.sign_pk, [], 1, 0, "council.create", body]
    )
    content = events.seal_content(
        epoch.content_key, epoch.write_pk, events.sign_payload(me.sign_sk, payload)
    )
    raw = nip01.encode(
        nip01.sign_envelope(crypto.WriteSigner(epoch.write_sk), 0, events.SHORA_KIND, [], content)
    )
    _refused(a, raw, BadSignature)  # the council id binds the real founder and body


def test_history_before_the_welcome_goes_in_as_soon_as_the_key_arrives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newcomer's bundle may list the history before the welcome: what waited for the
    key is taken in at the welcome, so later events do not pile up waiting for it."""
    from shora.kernel import ingest

    monkeypatch.setattr(ingest, "MAX_PENDING", 5)
    a, b = make_node(tmp_path, "a"), make_node(tmp_path, "b")
    council = a.councils.create("Council", "", "Ava")
    for i in range(20):
        a.posts.post(council, f"before {i}")
    b_request = b.membership.join(a.membership.invite(council), "Bahar")
    a.membership.admit(b_request)
    for i in range(20):
        a.posts.post(council, f"after {i}")
    everything = list(a.bundles.envelopes())
    welcome = [r for r in everything if nip01.decode(r).kind == events.WELCOME_KIND]
    rest = [r for r in everything if r not in welcome]
    half = len(rest) // 2
    report = b.bundles.import_envelopes(rest[:half] + welcome + rest[half:])
    assert report.refused == {} and report.pending == 0
    assert len(b.posts.posts(council, limit=100)) == 40
    a.close()
    b.close()


def test_a_bulk_import_leaves_no_large_log_behind(tmp_path: Path) -> None:
    """During a large import the write-ahead log is copied in rarely; at its end it is
    copied in and cut back, so no large log stays on the device's storage."""
    node = make_node(tmp_path)
    council = node.councils.create("Street", "", "Ava")
    wal = Path(str(node.store.path) + "-wal")
    with node.store.bulk():
        for i in range(200):
            node.posts.post(council, f"post {i} " + "x" * 500)
        grown = wal.stat().st_size
    assert grown > 0 and wal.stat().st_size == 0
    assert len(node.posts.posts(council, limit=300)) == 200
