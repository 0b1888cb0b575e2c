"""The relay protocol, in process: codecs, the client session and the relay connection.

The sync session and the embedded relay's connection are sans-I/O, so they are run here
against each other with every message passed as text, as on a wire, in orders chosen
by Hypothesis: two replicas exchange until neither has anything to send, then hold the
same envelopes. The view is an in-memory set of envelopes with the semantics of
``NodeEnvelopes`` (signatures verified on the way in); the end-to-end tests with real
nodes, real relays and real websockets are in test_relay.py.
"""

from __future__ import annotations

import base64
import json
import random
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shora.errors import RemoteError
from shora.kernel import crypto, nip01
from shora.kernel.ingest import Report
from shora.sync import messages, nip77
from shora.sync.messages import ProtocolError
from shora.sync.negentropy import Negentropy, Storage
from shora.sync.relay_connection import RelayConnection, RelayLimits
from shora.sync.session import SyncFailed, SyncSession, SyncStateError

KIND = 4040
HOUR = 3600
START = 1_700_000_000 // HOUR * HOUR
_, _SECRET = crypto.write_keypair()
SIGNER = crypto.WriteSigner(_SECRET)
AUTHOR = SIGNER.public_key.hex()


def _pool(n: int, hours: int, seed: int) -> list[nip01.Envelope]:
    rng = random.Random(seed)
    return [
        nip01.sign_envelope(
            SIGNER,
            START + rng.randrange(hours) * HOUR,
            KIND,
            [],
            base64.b64encode(rng.randbytes(24)).decode(),
        )
        for _ in range(n)
    ]


POOL = _pool(240, 30, 1)
RAW = {bytes.fromhex(e.id): nip01.encode(e) for e in POOL}


@dataclass
class MemoryView:
    """An in-memory envelope set with NodeEnvelopes' semantics (checks on the way in)."""

    raws: dict[bytes, bytes] = field(default_factory=dict)
    duplicates: int = 0
    waiting: set[bytes] = field(default_factory=set)
    """Ids held back (a node's events waiting for parents or a key): not offered in
    reconciliation, but not lacking either."""

    @classmethod
    def of(cls, envelopes: Iterable[nip01.Envelope]) -> MemoryView:
        return cls({bytes.fromhex(e.id): nip01.encode(e) for e in envelopes})

    def filters(self) -> list[dict[str, Any]]:
        return [{"kinds": [KIND], "authors": [AUTHOR]}]

    def _matching(self, flt: dict[str, Any]) -> list[nip01.Envelope]:
        f = messages.decode_filter(flt)
        found = [nip01.decode(raw) for raw in self.raws.values()]
        return [e for e in found if f.matches(e)]

    def items(self, flt: dict[str, Any]) -> list[tuple[int, bytes]]:
        return [(e.created_at, bytes.fromhex(e.id)) for e in self._matching(flt)]

    def query(self, flt: dict[str, Any], limit: int = 50_000) -> list[bytes]:
        found = sorted(self._matching(flt), key=lambda e: (-e.created_at, e.id))
        n = min(limit, flt.get("limit", limit))
        return [nip01.encode(e) for e in found[:n]]

    def get(self, ids: Iterable[bytes]) -> list[bytes]:
        return [self.raws[i] for i in ids if i in self.raws]

    def lacking(self, ids: Sequence[bytes]) -> list[bytes]:
        return [i for i in ids if i not in self.raws and i not in self.waiting]

    def put(self, raws: Iterable[bytes]) -> Report:
        report = Report()
        for raw in raws:
            try:
                ok, _ = self._take(raw)
            except RemoteError as exc:
                report.refuse(exc)
                continue
            if ok:
                report.accepted += 1
            else:
                report.duplicate += 1
        return report

    def accept(self, raw: bytes) -> tuple[bool, str]:
        try:
            ok, _ = self._take(raw)
        except RemoteError as exc:
            return False, f"invalid: {exc}"
        return True, "" if ok else "duplicate: already have this event"

    def _take(self, raw: bytes) -> tuple[bool, bytes]:
        envelope = nip01.decode(raw)
        nip01.verify(envelope)
        eid = bytes.fromhex(envelope.id)
        if eid in self.raws:
            self.duplicates += 1
            return False, eid
        self.raws[eid] = raw
        return True, eid


def run_pair(
    session: SyncSession,
    relay: RelayConnection,
    rng: random.Random | None = None,
    *,
    stop_after: int | None = None,
    silent_to: frozenset[str] = frozenset(),
) -> bool:
    """Pass texts between a session and a relay connection until the session is done;
    False if stopped early. Verbs in silent_to are dropped, as by a relay that ignores them."""
    to_relay: deque[str] = deque(session.start())
    to_client: deque[str] = deque()
    steps = 0
    while not session.done:
        if to_relay and (not to_client or (rng is not None and rng.random() < 0.5)):
            text = to_relay.popleft()
            if json.loads(text)[0] not in silent_to:
                to_client.extend(relay.receive(text))
        elif to_client:
            to_relay.extend(session.receive(to_client.popleft()))
            steps += 1
            if stop_after is not None and steps >= stop_after:
                return False
        else:
            to_relay.extend(session.timeout())
    return True


def sync(client: MemoryView, server: MemoryView, **kw: Any) -> SyncSession:
    session = SyncSession(client, **kw)
    assert run_pair(session, RelayConnection(server))
    return session


# --- the session against the relay connection --------------------------------------------

sync_settings = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
subsets = st.sets(st.integers(0, len(POOL) - 1), max_size=len(POOL))


@sync_settings
@given(
    client_ids=subsets,
    relay_ids=subsets,
    frame=st.sampled_from([0, 4096]),
    relay_frame=st.sampled_from([0, 4096]),
    in_flight=st.sampled_from([1, 7, 200]),
    chunk=st.sampled_from([1, 13, 500]),
    seed=st.integers(0, 2**32),
)
def test_two_replicas_converge_and_a_second_sync_moves_nothing(
    client_ids: set[int],
    relay_ids: set[int],
    frame: int,
    relay_frame: int,
    in_flight: int,
    chunk: int,
    seed: int,
) -> None:
    client = MemoryView.of(POOL[i] for i in client_ids)
    server = MemoryView.of(POOL[i] for i in relay_ids)
    limits = RelayLimits(negentropy_frame_limit=relay_frame)
    session = SyncSession(
        client, frame_size_limit=frame, max_in_flight=in_flight, fetch_chunk=chunk
    )
    assert run_pair(session, RelayConnection(server, limits), random.Random(seed))
    union = {bytes.fromhex(POOL[i].id) for i in client_ids | relay_ids}
    assert set(client.raws) == set(server.raws) == union
    result = session.result
    assert result.complete and result.modes == ["nip77"]
    assert result.fetched == len(relay_ids - client_ids) == result.report.accepted
    assert result.sent == len(client_ids - relay_ids)
    assert client.duplicates == server.duplicates == 0  # nothing moved twice
    assert session.progress.phase == "done" and result.bad_messages == 0

    again = sync(client, server)
    assert again.result.fetched == again.result.sent == 0
    assert again.result.round_trips == 1


def test_uploads_go_in_a_sliding_window() -> None:
    """Once half of the EVENTs out are answered, the session fills its window again,
    rather than waiting for the last OK (a relay a round trip away would idle)."""
    client = MemoryView.of(POOL[:12])
    server = MemoryView.of([])
    session = SyncSession(client, max_in_flight=4)
    relay = RelayConnection(server)
    oks = 0
    sent: list[int] = []  # how many OKs the session had when it sent each EVENT

    def said(texts: list[str]) -> list[str]:
        sent.extend(oks for text in texts if text.startswith('["EVENT"'))
        return texts

    to_relay: deque[str] = deque(said(session.start()))
    while not session.done:
        answers = relay.receive(to_relay.popleft()) if to_relay else session.timeout()
        for answer in answers:
            oks += answer.startswith('["OK"')
            to_relay.extend(said(session.receive(answer)))
    assert len(sent) == 12 and set(server.raws) == set(client.raws)
    assert sent[:4] == [0] * 4  # the first window
    assert sent[4] == 2  # the fifth went once two of the first four were answered


@sync_settings
@given(
    client_ids=subsets,
    relay_ids=subsets,
    stop_after=st.integers(1, 30),
    chunk=st.sampled_from([3, 500]),
    seed=st.integers(0, 2**32),
)
def test_an_interrupted_sync_resumes_without_moving_anything_twice(
    client_ids: set[int], relay_ids: set[int], stop_after: int, chunk: int, seed: int
) -> None:
    client = MemoryView.of(POOL[i] for i in client_ids)
    server = MemoryView.of(POOL[i] for i in relay_ids)
    rng = random.Random(seed)
    first = SyncSession(client, fetch_chunk=chunk, max_in_flight=5)
    run_pair(first, RelayConnection(server), rng, stop_after=stop_after)
    second = SyncSession(client, fetch_chunk=chunk, max_in_flight=5)
    assert run_pair(second, RelayConnection(server), rng)
    assert set(client.raws) == set(server.raws)
    assert first.result.fetched + second.result.fetched == len(relay_ids - client_ids)
    assert client.duplicates == server.duplicates == 0


@settings(max_examples=20, deadline=None)
@given(waiting=subsets, chunk=st.sampled_from([1, 5, 500]))
def test_envelopes_waiting_on_the_node_are_not_fetched_again(waiting: set[int], chunk: int) -> None:
    client = MemoryView.of(POOL[:50])
    client.waiting = {bytes.fromhex(POOL[i].id) for i in waiting}
    server = MemoryView.of(POOL)
    session = sync(client, server, fetch_chunk=chunk)
    assert session.result.complete
    first_50 = {bytes.fromhex(e.id) for e in POOL[:50]}
    assert session.result.fetched == len(set(RAW) - client.waiting - first_50)
    assert set(client.raws) | client.waiting == set(RAW)


def test_the_id_budget_splits_a_sync_into_sessions() -> None:
    client = MemoryView.of(POOL[:100])
    server = MemoryView.of(POOL[60:])
    sessions = 0
    while True:
        session = sync(client, server, max_ids=50)
        sessions += 1
        assert session.result.fetched + session.result.sent <= 50
        if session.result.complete and not session.result.fetched + session.result.sent:
            break
    assert set(client.raws) == set(server.raws) == set(RAW)
    assert 4 <= sessions <= 8  # 180 ids to move, at most 50 a session


@pytest.mark.parametrize("how", ["notice", "silence", "neg-err"])
def test_fall_back_to_nip01_with_a_relay_without_nip77(how: str) -> None:
    client = MemoryView.of(POOL[:150])
    server = MemoryView.of(POOL[100:])
    relay = RelayConnection(
        server,
        RelayLimits(max_negentropy_items=0 if how == "neg-err" else 500_000),
        negentropy=how != "notice",
    )
    session = SyncSession(client, fallback_window=None)
    silent = frozenset({"NEG-OPEN", "NEG-CLOSE"} if how == "silence" else ())
    assert run_pair(session, relay, silent_to=silent)
    assert session.result.modes == ["fallback"]
    assert session.nip77 is (None if how == "neg-err" else False)
    assert set(client.raws) == set(server.raws) == set(RAW)
    assert server.duplicates == 0
    assert session.result.notes[0].startswith(
        {"notice": "NOTICE", "silence": "no answer", "neg-err": "NEG-ERR"}[how]
    )

    # With the default window only the last hours are exchanged: the naive trade-off.
    client, server = MemoryView.of(POOL[:150]), MemoryView.of(POOL[100:])
    session = SyncSession(client)
    assert run_pair(session, RelayConnection(server, negentropy=False))
    newest = max(e.created_at for e in POOL[:150])
    window = {bytes.fromhex(e.id) for e in POOL if e.created_at >= newest - 2 * HOUR}
    assert window <= set(client.raws) and window <= set(server.raws)
    assert set(client.raws) != set(RAW) != set(server.raws)  # older ones stay where they were


def test_fall_back_pages_through_a_capped_relay() -> None:
    pool = _pool(1400, 4, 7)  # 350 an hour: three pages of 500 going back with `until`
    client, server = MemoryView.of(pool[:300]), MemoryView.of(pool[200:])
    session = SyncSession(client, fallback_window=None)
    assert run_pair(session, RelayConnection(server, RelayLimits(max_query=500), negentropy=False))
    assert set(client.raws) == set(server.raws) == {bytes.fromhex(e.id) for e in pool}
    assert session.result.modes == ["fallback"] and session.result.sent == 200
    assert server.duplicates == 0

    # NIP-01 cannot page inside one created_at. An hour fuller than a page is asked again
    # with a bigger limit: a relay that honours it gives the whole hour ...
    crowded = _pool(1200, 2, 8)  # 600 an hour
    client, server = MemoryView.of(crowded[:10]), MemoryView.of(crowded)
    session = SyncSession(client, fallback_window=None)
    limits = RelayLimits(max_query=6000)
    assert run_pair(session, RelayConnection(server, limits, negentropy=False))
    assert set(client.raws) == set(server.raws) and session.result.complete
    assert session.result.cut_hours == [] and session.result.shortfalls == []

    # ... one that caps every answer at 500 shows its cap (no more for a bigger limit):
    # the sync says which hours it could not get whole, and is not complete.
    client, server = MemoryView.of(crowded[:10]), MemoryView.of(crowded)
    session = SyncSession(client, fallback_window=None)
    assert run_pair(session, RelayConnection(server, negentropy=False))
    assert 1000 <= len(client.raws) < 1200 and not session.result.complete
    hours = sorted({e.created_at for e in crowded}, reverse=True)
    assert session.result.cut_hours == hours
    assert "cannot page inside an hour" in session.result.shortfalls[0]


# --- a relay that misbehaves, in process -------------------------------------------------


def _started(view: MemoryView | None = None, **kw: Any) -> SyncSession:
    session = SyncSession(view or MemoryView.of(POOL[:20]), **kw)
    session.start()
    return session


def test_junk_ends_the_session_after_a_few_messages() -> None:
    session = _started(max_bad=3)
    for _ in range(3):
        assert session.receive("garbage") == []
    with pytest.raises(SyncFailed, match="4 bad messages"):
        session.receive('["EVENT"]')
    assert session.done and session.progress.phase == "failed"
    with pytest.raises(SyncStateError):
        session.receive("[]")


def test_oversized_frames_notice_floods_and_silence_end_the_session() -> None:
    with pytest.raises(SyncFailed, match="over the limit"):
        _started(max_frame_bytes=1000).receive('["NOTICE","' + "x" * 2000 + '"]')
    session = _started()
    with pytest.raises(SyncFailed, match="notices"):
        for _ in range(100):
            session.receive('["NOTICE","rate-limited: slow down"]')
    session = _started()
    session.receive(nip77.neg_msg("shora-neg1", _idlist(POOL[:25])))  # the relay answers ...
    with pytest.raises(SyncFailed, match="stopped answering"):
        session.timeout()  # ... and then stops answering


def test_events_nobody_asked_for_and_forged_events_are_refused() -> None:
    client = MemoryView.of(POOL[:10])
    session = SyncSession(client, max_bad=5)
    session.start()
    session.receive(nip77.neg_msg("shora-neg1", _idlist(POOL[:12])))  # announces 2 more
    forged = nip01.Envelope(**{**_fields(POOL[10]), "sig": POOL[11].sig})
    sub = "shora-get2"
    session.receive(messages.relay_event(sub, nip01.encode(forged)))
    session.receive(messages.relay_event(sub, nip01.encode(POOL[30])))  # not asked for
    session.receive(messages.relay_event("nobody", nip01.encode(POOL[11])))
    session.receive(messages.eose(sub))
    assert session.result.bad_messages == 3 and session.result.report.refused == {"BadSignature": 1}
    assert set(client.raws) == {bytes.fromhex(e.id) for e in POOL[:10]}  # nothing stored


def _fields(envelope: nip01.Envelope) -> dict[str, Any]:
    return {f: getattr(envelope, f) for f in envelope.__struct_fields__}


def _idlist(envelopes: list[nip01.Envelope]) -> bytes:
    """A relay's whole answer as one IdList range (what a small relay sends)."""
    server = Negentropy(Storage((e.created_at, bytes.fromhex(e.id)) for e in envelopes))
    client = Negentropy(Storage())
    return server.reconcile(client.initiate())


# --- the relay connection -----------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_relay_answers_req_then_pushes_live_events_to_matching_subscriptions() -> None:
    server = MemoryView.of(POOL[:5])
    watcher, writer = RelayConnection(server), RelayConnection(server)
    answer = watcher.receive(messages.req("live", [{"kinds": [KIND], "limit": 2}]))
    assert [json.loads(t)[0] for t in answer] == ["EVENT", "EVENT", "EOSE"]
    assert watcher.receive(messages.req("none", [{"limit": 0}])) == [messages.eose("none")]
    assert watcher.receive(messages.close("none")) == []
    ok = writer.receive(messages.event(RAW[bytes.fromhex(POOL[6].id)]))
    assert json.loads(ok[0]) == ["OK", POOL[6].id, True, ""]
    [(envelope, raw)] = writer.take_accepted()
    assert watcher.deliver(envelope, raw) == [messages.relay_event("live", raw)]
    assert json.loads(writer.receive(messages.event(raw))[0])[3].startswith("duplicate:")
    assert writer.take_accepted() == []  # a duplicate is not pushed again
    watcher.receive(messages.close("live"))
    assert watcher.deliver(envelope, raw) == [] and watcher.subscriptions == 0


def test_relay_limits_subscriptions_rate_size_and_negentropy_sessions() -> None:
    clock = Clock()
    limits = RelayLimits(
        max_subscriptions=2,
        events_per_minute=3,
        requests_per_minute=1000,
        max_message_bytes=2000,
        max_negentropy_sessions=1,
        max_bad_messages=2,
    )
    relay = RelayConnection(MemoryView(), limits, clock=clock)
    relay.receive(messages.req("a", [{}]))
    relay.receive(messages.req("b", [{}]))
    assert json.loads(relay.receive(messages.req("c", [{}]))[0])[2].startswith("blocked:")
    answers = [
        json.loads(relay.receive(messages.event(RAW[bytes.fromhex(e.id)]))[0]) for e in POOL[:5]
    ]
    assert [a[2] for a in answers] == [True, True, True, False, False]
    assert answers[3][3].startswith("rate-limited:")
    clock.now += 20  # a third of a minute: one more event
    assert json.loads(relay.receive(messages.event(RAW[bytes.fromhex(POOL[5].id)]))[0])[2]
    first = Negentropy(Storage()).initiate()
    assert json.loads(relay.receive(nip77.neg_open("n1", {}, first))[0])[0] == "NEG-MSG"
    assert json.loads(relay.receive(nip77.neg_open("n2", {}, first))[0])[2].startswith("blocked:")
    assert json.loads(relay.receive("x" * 3000)[0])[0] == "NOTICE"
    assert relay.closing is None
    relay.receive("[1]")
    relay.receive("{}")
    assert relay.closing is not None  # too many malformed messages


def test_relay_refuses_unsupported_filters_clearly() -> None:
    relay = RelayConnection(MemoryView())
    [notice] = relay.receive('["REQ","s",{"search":"strike"}]')
    assert "unknown field `search`" in json.loads(notice)[1]
    [err] = relay.receive(nip77.neg_open("n", {"#p": ["x"]}, b"\x61"))
    assert json.loads(err)[:2] == ["NEG-ERR", "n"] and "unsupported filter" in json.loads(err)[2]
    [ok] = relay.receive(
        messages.event(RAW[bytes.fromhex(POOL[0].id)]).replace('"sig":"', '"sig":"0')
    )
    assert json.loads(ok)[0] in {"OK", "NOTICE"}


# --- codecs -----------------------------------------------------------------------------


def test_messages_round_trip() -> None:
    raw = RAW[bytes.fromhex(POOL[0].id)]
    assert messages.decode_client(messages.event(raw)) == messages.ClientEvent(POOL[0], raw)
    req = messages.decode_client(messages.req("s", [{"kinds": [1], "#k": ["ab"], "since": 5}]))
    assert isinstance(req, messages.Req) and req.filters[0].k == ["ab"]
    assert messages.decode_client(messages.close("s")) == messages.Close("s")
    assert messages.decode_relay(messages.relay_event("s", raw)) == messages.RelayEvent(
        "s", POOL[0], raw
    )
    assert messages.decode_relay(messages.ok(POOL[0].id, False, "blocked: no")).code == "blocked"
    assert messages.decode_relay(messages.eose("s")) == messages.Eose("s")
    assert messages.decode_relay(messages.closed("s", "x")) == messages.Closed("s", "x")
    assert messages.decode_relay(messages.notice("hi")) == messages.Notice("hi")
    assert messages.decode_relay('["AUTH","c"]') == messages.Auth("c")
    assert isinstance(messages.decode_relay(nip77.neg_err("s", "closed: x")), nip77.NegErr)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{}",
        '["REQ","s"]',
        '["REQ","",{}]',
        '["REQ","' + "s" * 65 + '",{}]',
        '["REQ","s",' + ",".join(["{}"] * 11) + "]",
        '["REQ","s",{"ids":["' + "a" * 64 + '"],"x":1}]',
        '["REQ","s",{"kinds":[' + ",".join(["1"] * 21) + "]}]",
        '["REQ","s",{"authors":["' + "A" * 64 + '"]}]',
        '["REQ","s",{"#k":["' + "k" * 65 + '"]}]',
        '["REQ","s",{"since":-1}]',
        '["EVENT",{}]',
        '["EVENT",1,2]',
        '["CLOSE"]',
        '["COUNT","s",{}]',
        '["NEG-MSG","s","zz"]',
        '["NEG-ERR","s","x"]',
        "[" * 10000,
    ],
)
def test_client_decoder_refuses(text: str) -> None:
    with pytest.raises(ProtocolError):
        messages.decode_client(text)


def test_decoders_refuse_oversized_frames() -> None:
    with pytest.raises(ProtocolError, match="exceeds"):
        messages.decode_client('["CLOSE","s"]' + " " * 100, max_bytes=50)
    with pytest.raises(ProtocolError, match="exceeds"):
        messages.decode_relay(b'["EOSE","s"]' + b" " * 100, max_bytes=50)


fuzz_settings = settings(max_examples=400, deadline=None)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
verbs = st.sampled_from(
    ["EVENT", "REQ", "CLOSE", "OK", "EOSE", "CLOSED", "NOTICE", "AUTH", "NEG-OPEN", "NEG-MSG"]
)
# Text and bytes strategies are kept apart: under `python -b` Hypothesis' own cache
# would compare the two kinds of choices.
frames = st.text(max_size=300) | st.builds(
    lambda verb, rest: json.dumps([verb, *rest]), verbs, st.lists(json_values, max_size=4)
)


def _decode_all(text: str | bytes) -> None:
    for decode in (messages.decode_client, messages.decode_relay):
        try:
            decode(text)
        except ProtocolError:
            pass


@fuzz_settings
@given(frames)
def test_fuzz_decoders(text: str) -> None:
    _decode_all(text)
    _decode_all(text.encode())


@fuzz_settings
@given(st.binary(max_size=300))
def test_fuzz_decoders_on_bytes(data: bytes) -> None:
    _decode_all(data)


@fuzz_settings
@given(st.lists(frames, max_size=6))
def test_fuzz_relay_connection_answers_everything_with_protocol_messages(
    texts: list[str],
) -> None:
    relay = RelayConnection(MemoryView.of(POOL[:3]), RelayLimits(max_bad_messages=10**6))
    for text in texts:
        for reply in relay.receive(text):  # never raises
            messages.decode_relay(reply)  # and every answer is a valid relay message


@fuzz_settings
@given(st.lists(frames, max_size=12))
def test_fuzz_session_raises_only_remote_errors(texts: list[str]) -> None:
    session = _started()
    for text in texts:
        try:
            for out in session.receive(text):
                messages.decode_client(out)
        except RemoteError:
            assert session.done or session.result.bad_messages <= session.max_bad
            if session.done:
                break
