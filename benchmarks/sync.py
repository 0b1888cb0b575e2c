"""Sync benchmark: what it costs two nodes to agree on a large council's envelopes.

Builds a council with the ingest benchmark's builder (M members, N posts, valid and
fully signed), gives a second member's node the whole history, then, for two scenarios
— the nodes differ by 100 envelopes, then by 10,000 (half only on each side, placed at
random through the history) — measures on loopback, each method from the same state:

  (a) Shora's reconciliation: node B syncs with node A's EmbeddedRelay
      (sync_with_relay: NIP-77 Negentropy, then the difference both ways);
  (b) the naive exchange: each side sends the full list of its ids (JSON arrays of hex
      ids over a websocket), then each sends the envelopes the other lacks;
  (c) plain NIP-01: B's REQ with since = newest created_at it holds - the session's
      fall-back window, then uploads what it holds in that window and the relay did not
      send (SyncSession's fall-back); it cannot find older differences.

Bytes on the wire are counted by a TCP proxy between client and server (HTTP upgrade,
websocket framing and permessage-deflate as they really are); the JSON text the
client's counters give is reported too, with round trips and wall time.

Each method starts from a fresh copy of the same two profiles. With 100 differences each
runs --repeat times (default 3) in turns and the median wall time is reported.

Then one round with one drip relay among three (benchmarks/sync_drip.py): the round ends
at its deadline and the other two relays complete. `--drip-only` runs that part alone.

Run:  python benchmarks/sync.py [--quick] [--shared N] [--members M] [--seed S] [--repeat R]
The last line printed is a machine-readable RESULT line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import websockets

from ingest import PASSPHRASE, Author, Progress, build, compose, human_bytes, post_body, timed
from shora.kernel import crypto, nip01
from shora.node import Node
from shora.sync import messages
from shora.sync.local import NodeEnvelopes
from shora.sync.negentropy import (
    BUCKETS,
    COMPACT_BUCKETS,
    COMPACT_IDLIST_BELOW,
    IDLIST_BELOW,
    Storage,
)
from shora.sync.outcome import SyncProgress
from shora.sync.relay import EmbeddedRelay
from shora.sync.relay_connection import RelayLimits
from shora.sync.session import FALLBACK_WINDOW, SyncSession
from shora.sync.transport import sync_with_relay
from sync_drip import DripRound, drip_round

TARGET_FACTOR = 1.5
TARGET_SLACK = 16 * 1024
SCENARIOS = (100, 10_000)
FETCH_CHUNK = 500  # the naive client ingests what it receives in batches, as the session does

# --- a counting TCP proxy -------------------------------------------------------------------


class CountingProxy:
    """Forwards 127.0.0.1 connections to a server and counts the bytes both ways.

    Counts the TCP payload (HTTP upgrade, websocket frames, compressed or not), not
    TCP/IP headers. With ``strip_deflate`` it removes the client's
    Sec-WebSocket-Extensions header, so permessage-deflate is not negotiated.
    """

    def __init__(self, port: int, *, strip_deflate: bool = False) -> None:
        self.port = port
        self.strip_deflate = strip_deflate
        self.up = 0
        self.down = 0
        self.extensions: list[str] = []  # what the server's handshake answers agreed to
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> CountingProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.settle()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def settle(self) -> None:
        """Wait until every proxied connection has been closed (all bytes counted)."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
            await asyncio.gather(
                self._pipe(reader, up_writer, up=True), self._pipe(up_reader, writer, up=False)
            )
        finally:
            self._tasks.discard(task)

    async def _pipe(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, up: bool
    ) -> None:
        head = b""
        in_head = True
        try:
            while data := await src.read(1 << 16):
                if in_head:
                    head += data
                    if b"\r\n\r\n" not in head:
                        continue
                    in_head = False
                    data, head = self._handshake(head, up=up), b""
                if up:
                    self.up += len(data)
                else:
                    self.down += len(data)
                dst.write(data)
                await dst.drain()
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.close()

    def _handshake(self, data: bytes, *, up: bool) -> bytes:
        end = data.index(b"\r\n\r\n")
        lines = data[:end].split(b"\r\n")
        if up and self.strip_deflate:
            lines = [ln for ln in lines if not ln.lower().startswith(b"sec-websocket-extensions")]
        if not up:
            for ln in lines:
                name, _, value = ln.partition(b":")
                if name.strip().lower() == b"sec-websocket-extensions":
                    self.extensions.append(value.strip().decode())
        return b"\r\n".join(lines) + data[end:]


# --- the scenario ---------------------------------------------------------------------------


@dataclass
class Scenario:
    differing: int
    a_only: set[bytes]
    b_only: set[bytes]
    diff_bytes: int
    diff_created: dict[bytes, int]
    hours: int  # distinct created_at hours the differences fall in
    history_hours: int
    shared: int

    @property
    def target(self) -> int:
        return int(TARGET_FACTOR * self.diff_bytes + TARGET_SLACK)


@dataclass
class Measure:
    method: str
    wire_up: int = 0
    wire_down: int = 0
    json_up: int = 0
    json_down: int = 0
    round_trips: int = 0
    seconds: float = 0.0
    fetched: int = 0
    sent: int = 0
    missed: int = 0
    deflate: bool = False
    notes: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    @property
    def wire(self) -> int:
        return self.wire_up + self.wire_down


def envelope_ids(node: Node, council: bytes) -> set[bytes]:
    rows = node.store.rows("SELECT id FROM envelopes WHERE council=?", (council,))
    return {bytes(eid) for (eid,) in rows}


def add_differences(
    a: Node, b: Node, council: bytes, count: int, rng: random.Random
) -> tuple[list[bytes], list[bytes]]:
    """count posts at random points of the history: half written on A, half on B, each
    replying to the history at that point and seen by nobody else (valid, fully signed)."""
    history = a.store.rows(
        "SELECT id, clock, time FROM events WHERE council=? AND kind LIKE 'post.%' "
        "ORDER BY time, id",
        (council,),
    )
    spots = [rng.randrange(1, len(history)) for _ in range(count)]
    progress = Progress("compose", count)
    out: tuple[list[bytes], list[bytes]] = ([], [])
    for side, (node, positions) in enumerate(((a, spots[: count // 2]), (b, spots[count // 2 :]))):
        me = node.identity(council)
        author = Author(me.sign_pk, me.sign_sk)
        epoch = node.writing_epoch(council)
        signer = crypto.WriteSigner(epoch.write_sk)
        for pos in positions:
            parents = [history[pos]] if rng.random() < 0.45 else [history[pos - 1], history[pos]]
            clock = 1 + max(c for _, c, _ in parents)
            time_ms = history[pos][2] + rng.randint(1, 3000)
            kind, body = post_body(rng, [])
            raw, _ = compose(
                epoch,
                signer,
                council,
                author,
                [bytes(p) for p, _, _ in parents],
                clock,
                time_ms,
                kind,
                body,
            )
            out[side].append(raw)
            progress()
    for node, raws in ((a, out[0]), (b, out[1])):
        report = node.bundles.import_envelopes(raws)
        assert report.accepted == len(raws), report
        assert not (report.refused or report.pending or report.held), report
    return out


def make_scenario(
    base: Path, work: Path, council: bytes, count: int, rng: random.Random
) -> Scenario:
    """Copy the base profiles and add the differences; the copy is the scenario's state."""
    print(f"\n[3] scenario: the nodes differ by {count:,} envelopes", flush=True)
    done = timed("copying both profiles and composing the differences")
    copy_profiles(base, work)
    a, b = Node.open(work / "A", PASSPHRASE, allow_weak_kdf=True), Node.open(work / "B", PASSPHRASE)
    with a, b:
        shared = len(envelope_ids(a, council))
        a_raws, b_raws = add_differences(a, b, council, count, rng)
        history_hours = a.store.one(
            "SELECT count(DISTINCT created_at) FROM envelopes WHERE council=?", (council,)
        )
    done()
    created = {}
    for raw in a_raws + b_raws:
        env = nip01.decode(raw)
        created[bytes.fromhex(env.id)] = env.created_at
    return Scenario(
        differing=count,
        a_only={envelope_id(r) for r in a_raws},
        b_only={envelope_id(r) for r in b_raws},
        diff_bytes=sum(len(r) for r in a_raws + b_raws),
        diff_created=created,
        hours=len(set(created.values())),
        history_hours=history_hours,
        shared=shared,
    )


def envelope_id(raw: bytes) -> bytes:
    return bytes.fromhex(nip01.decode(raw).id)


def copy_profiles(src: Path, dst: Path) -> None:
    shutil.rmtree(dst, ignore_errors=True)
    for name in ("A", "B"):
        shutil.copytree(src / name, dst / name)


# --- (a) and (c): SyncSession against A's EmbeddedRelay ----------------------------------------


def phase_printer(label: str) -> Callable[[SyncProgress], None]:
    last = [""]
    start = time.perf_counter()

    def show(p: SyncProgress) -> None:
        if p.phase != last[0]:
            last[0] = p.phase
            print(
                f"      {label}: {p.phase:<12} {time.perf_counter() - start:6.2f} s  "
                f"to fetch {p.to_fetch:,}, to send {p.to_send:,}",
                flush=True,
            )

    return show


async def session_sync(
    a: Node,
    b: Node,
    council: bytes,
    method: str,
    *,
    fallback: bool = False,
    split: tuple[int, int] = (COMPACT_BUCKETS, COMPACT_IDLIST_BELOW),
    strip_deflate: bool = False,
    verbose: bool = True,
) -> Measure:
    """B syncs with A's EmbeddedRelay through the counting proxy until nothing is left."""
    buckets, idlist_below = split
    limits = RelayLimits(negentropy_buckets=buckets, negentropy_idlist_below=idlist_below)
    relay = EmbeddedRelay(NodeEnvelopes(a), limits=limits)
    await relay.start()
    m = Measure(method)
    try:
        async with CountingProxy(relay.port, strip_deflate=strip_deflate) as proxy:
            for _ in range(1 if fallback else 3):  # (c) does not converge: one session
                view = NodeEnvelopes(b)
                start = time.perf_counter()
                session = SyncSession(
                    view, negentropy_buckets=buckets, negentropy_idlist_below=idlist_below
                )
                if fallback:
                    session.nip77 = False  # plain NIP-01 from the start, no NEG-OPEN probe
                result = await sync_with_relay(
                    proxy.url,
                    view,
                    session=session,
                    progress=phase_printer(method) if verbose else None,
                )
                m.seconds += time.perf_counter() - start
                m.json_up += result.bytes_up
                m.json_down += result.bytes_down
                m.round_trips += result.round_trips
                m.fetched += result.fetched
                m.sent += result.sent - result.sent_duplicate
                if result.sent_duplicate:
                    m.notes.append(f"{result.sent_duplicate:,} uploads the relay already had")
                if result.refused_by_relay:
                    m.notes.append(f"refused by the relay: {result.refused_by_relay}")
                if fallback or envelope_ids(a, council) == envelope_ids(b, council):
                    break  # (a): until both hold the same set
            await proxy.settle()
        m.wire_up, m.wire_down = proxy.up, proxy.down
        m.deflate = any("permessage-deflate" in e for e in proxy.extensions)
    finally:
        await relay.stop()
    return m


# --- (b): the naive exchange of every id ----------------------------------------------------

_array = msgspec.json.Decoder(list[msgspec.Raw])
_ids_message = msgspec.json.Decoder(tuple[str, str, list[str]])
_open_message = msgspec.json.Decoder(tuple[str, str, dict[str, object], list[str]])
_encode = msgspec.json.Encoder()


async def naive_server(view: NodeEnvelopes) -> websockets.asyncio.server.Server:
    """["IDS", sub, filter, [hex...]] → ["IDS", sub, [hex...]], then EVENT for each
    envelope the client lacks and EOSE; EVENT from the client → OK, as a relay does."""

    async def handle(ws: websockets.asyncio.server.ServerConnection) -> None:
        async for text in ws:
            verb = msgspec.json.decode(_array.decode(text)[0], type=str)
            if verb == "IDS":
                _, sub, flt, ids = _open_message.decode(text)
                mine = view.items(flt)
                theirs = {bytes.fromhex(i) for i in ids}
                await ws.send(_encode.encode(["IDS", sub, [eid.hex() for _, eid in mine]]))
                lacking = [eid for _, eid in mine if eid not in theirs]
                for raw in view.get(lacking):
                    await ws.send(messages.relay_event(sub, raw))
                await ws.send(messages.eose(sub))
            elif verb == "EVENT":
                message = messages.decode_client(text)
                assert isinstance(message, messages.ClientEvent)
                accepted, why = view.accept(message.raw)
                await ws.send(messages.ok(message.envelope.id, accepted, why))

    return await websockets.serve(handle, "127.0.0.1", 0, max_size=None)


async def naive_client(url: str, view: NodeEnvelopes, m: Measure) -> None:
    async with websockets.connect(url, max_size=None, ping_interval=None) as ws:

        async def send(text: str | bytes) -> None:
            m.json_up += len(text)
            await ws.send(text)

        async def recv() -> str | bytes:
            frame = await ws.recv(decode=False)
            m.json_down += len(frame)
            return frame

        for k, flt in enumerate(view.filters()):
            sub = f"naive{k}"
            mine = view.items(flt)
            await send(_encode.encode(["IDS", sub, flt, [eid.hex() for _, eid in mine]]))
            m.round_trips += 1
            _, _, ids = _ids_message.decode(await recv())
            theirs = {bytes.fromhex(i) for i in ids}
            have = [eid for _, eid in mine if eid not in theirs]
            uploads = view.get(have)

            async def upload(raws: list[bytes] = uploads) -> None:
                for raw in raws:
                    await send(messages.event(raw))

            if uploads:
                m.round_trips += 1  # sent while the envelopes we lack come down
            # Read while sending: the server pushes what we lack as we upload.
            sender = asyncio.get_running_loop().create_task(upload())
            waiting_ok, eose, batch = len(uploads), False, []
            while waiting_ok or not eose:
                message = messages.decode_relay(await recv())
                if isinstance(message, messages.RelayEvent):
                    nip01.check_id(message.envelope)
                    batch.append(message.raw)
                    if len(batch) >= FETCH_CHUNK:
                        m.fetched += view.put(batch).accepted
                        batch = []
                elif isinstance(message, messages.Eose):
                    eose = True
                elif isinstance(message, messages.Ok):
                    waiting_ok -= 1
                    m.sent += message.accepted
            await sender
            if batch:
                m.fetched += view.put(batch).accepted


async def naive_sync(a: Node, b: Node, method: str, *, verbose: bool = True) -> Measure:
    server = await naive_server(NodeEnvelopes(a))
    m = Measure(method)
    try:
        port = next(iter(server.sockets)).getsockname()[1]
        async with CountingProxy(port) as proxy:
            start = time.perf_counter()
            if verbose:
                print(f"      {method}: exchanging every id, then the envelopes", flush=True)
            await naive_client(proxy.url, NodeEnvelopes(b), m)
            m.seconds = time.perf_counter() - start
            await proxy.settle()
        m.wire_up, m.wire_down = proxy.up, proxy.down
        m.deflate = any("permessage-deflate" in e for e in proxy.extensions)
    finally:
        server.close()
        await server.wait_closed()
    return m


# --- running the methods ------------------------------------------------------------------------

METHODS = (
    ("a", "(a) Shora NIP-77, split 8/8"),
    ("a-ref", f"(a) with the reference split {BUCKETS}/{IDLIST_BELOW}"),
    ("a-raw", "(a) without permessage-deflate"),
    ("b", "(b) naive: every id both ways"),
    ("c", "(c) NIP-01 since, 2 h window"),
)


def run_method(
    key: str, label: str, state: Path, work: Path, council: bytes, sc: Scenario, verbose: bool
) -> Measure:
    copy_profiles(state, work)
    a, b = Node.open(work / "A", PASSPHRASE, allow_weak_kdf=True), Node.open(work / "B", PASSPHRASE)
    with a, b:
        # The fall-back's window, as SyncSession computes it: B's newest created_at - 2 h.
        [flt] = NodeEnvelopes(b).filters()
        since = max(0, max(ts for ts, _ in NodeEnvelopes(b).items(flt)) - FALLBACK_WINDOW)
        if key == "a":
            coro = session_sync(a, b, council, label, verbose=verbose)
        elif key == "a-ref":
            split = (BUCKETS, IDLIST_BELOW)
            coro = session_sync(a, b, council, label, split=split, verbose=verbose)
        elif key == "a-raw":
            coro = session_sync(a, b, council, label, strip_deflate=True, verbose=verbose)
        elif key == "b":
            coro = naive_sync(a, b, label, verbose=verbose)
        else:
            coro = session_sync(a, b, council, label, fallback=True, verbose=verbose)
        m = asyncio.run(coro)
        ids_a, ids_b = envelope_ids(a, council), envelope_ids(b, council)
        differing = sc.a_only | sc.b_only
        m.missed = len(differing - (ids_a & ids_b))
        if key != "c":
            assert ids_a == ids_b, f"{label}: the nodes differ after the sync"
            assert m.missed == 0
            assert m.fetched == len(sc.a_only) and m.sent == len(sc.b_only), m
        else:
            missed = differing - (ids_a & ids_b)
            older = sum(1 for i in missed if sc.diff_created[i] < since)
            m.notes.append(
                f"since={since}: missed {m.missed:,} of {sc.differing:,} differences, "
                f"{older:,} older than the window (out of its reach), "
                f"{m.missed - older:,} inside it (the relay answers at most 500 envelopes "
                "per REQ and NIP-01 cannot page within one created_at hour)"
            )
    shutil.rmtree(work)
    return m


def print_table(sc: Scenario, results: list[Measure], repeats: int) -> None:
    print(
        f"\n  {sc.differing:,} differing envelopes ({len(sc.a_only):,} only on A, "
        f"{len(sc.b_only):,} only on B) among {sc.shared:,} shared, in {sc.hours} of the "
        f"history's {sc.history_hours} created_at hours; they weigh "
        f"{sc.diff_bytes:,} B ({human_bytes(sc.diff_bytes)}, "
        f"{sc.diff_bytes / sc.differing:,.0f} B each)"
    )
    print(
        f"  target for (a): {TARGET_FACTOR} x {sc.diff_bytes:,} + {TARGET_SLACK:,} = "
        f"{sc.target:,} B on the wire"
    )
    head = (
        f"  {'method':<40} {'wire up':>11} {'wire down':>11} {'wire total':>11} "
        f"{'x diff':>6} {'JSON up':>11} {'JSON down':>11} {'rt':>4} {'seconds':>8} "
        f"{'fetched':>7} {'sent':>6} {'missed':>6}"
    )
    print(head)
    print("  " + "-" * (len(head) - 2))
    for m in results:
        print(
            f"  {m.method:<40} {m.wire_up:>11,} {m.wire_down:>11,} {m.wire:>11,} "
            f"{m.wire / sc.diff_bytes:>6.2f} {m.json_up:>11,} {m.json_down:>11,} "
            f"{m.round_trips:>4} {m.seconds:>8.2f} {m.fetched:>7,} {m.sent:>6,} {m.missed:>6,}"
        )
    if repeats > 1:
        print(f"    seconds: the median of {repeats} runs of each method, taken in turns:")
        for m in results:
            print(f"    {m.method}: {', '.join(f'{t:.2f}' for t in m.times)} s")
    for m in results:
        for note in m.notes:
            print(f"    {m.method}: {note}")
    deflate = {m.method: m.deflate for m in results}
    on = [k for k, v in deflate.items() if v]
    off = [k for k, v in deflate.items() if not v]
    print(f"    permessage-deflate negotiated: {', '.join(on) or 'none'}; not: {', '.join(off)}")


LINKS = ((1e6, 0.1), (10e6, 0.05))
"""Links for the estimate printed after the measurements: (bits per second, RTT)."""


def median_run(runs: list[Measure]) -> Measure:
    """The run with the median wall time (its bytes and round trips with it)."""
    ordered = sorted(runs, key=lambda m: m.seconds)
    m = ordered[len(ordered) // 2]
    m.times = [r.seconds for r in runs]
    return m


@dataclass
class FixedCosts:
    items: int
    read: float
    storage: float


def fixed_costs(state: Path, work: Path, council: bytes) -> FixedCosts:
    """What every Negentropy sync pays per side before the first message: read the
    filter's (created_at, id) pairs and build the Storage (median of three)."""
    copy_profiles(state, work)
    reads, builds = [], []
    with Node.open(work / "B", PASSPHRASE) as b:
        view = NodeEnvelopes(b)
        [flt] = view.filters()
        for _ in range(3):
            start = time.perf_counter()
            items = view.items(flt)
            reads.append(time.perf_counter() - start)
            start = time.perf_counter()
            Storage(items).fingerprint(0, len(items))
            builds.append(time.perf_counter() - start)
    shutil.rmtree(work)
    return FixedCosts(len(items), statistics.median(reads), statistics.median(builds))


# --- main ----------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    n_shared = 10_000 if args.quick else args.shared
    with tempfile.TemporaryDirectory(prefix="shora-bench-sync-") as tmp_name:
        tmp = Path(tmp_name)
        founder, council, dest_home, _ = build(tmp, n_shared, args.members, rng)
        shutil.rmtree(tmp / "members")  # the members' own profiles are not needed any more
        print("\n[2] node B (the destination member) takes in the whole history", flush=True)
        total = founder.store.one("SELECT count(*) FROM envelopes WHERE council=?", (council,))
        done = timed(f"importing {total:,} envelopes into B")
        with founder, Node.open(dest_home, PASSPHRASE) as dest:
            dest.ingestor.progress = Progress("import", total)
            try:
                report = dest.bundles.import_envelopes(founder.bundles.envelopes(council))
            finally:
                dest.ingestor.progress = None
            assert not (report.refused or report.pending or report.held), report
            assert envelope_ids(dest, council) == envelope_ids(founder, council)
            shared = len(envelope_ids(founder, council))
        done(total)
        base = tmp / "base"
        base.mkdir()
        shutil.move(tmp / "source", base / "A")
        shutil.move(dest_home, base / "B")
        print(f"  both nodes hold the same {shared:,} envelopes", flush=True)

        by_scenario: dict[int, tuple[Scenario, dict[str, Measure]]] = {}
        costs: FixedCosts | None = None
        for count in SCENARIOS:
            state = tmp / f"diff{count}"
            sc = make_scenario(base, state, council, count, rng)
            repeats = args.repeat if count == SCENARIOS[0] else 1
            runs: dict[str, list[Measure]] = {key: [] for key, _ in METHODS}
            for rep in range(repeats):
                if repeats > 1:
                    print(f"  run {rep + 1} of {repeats} of every method", flush=True)
                for key, label in METHODS:  # in turns, so that all see the same load
                    m = run_method(key, label, state, tmp / "work", council, sc, repeats == 1)
                    print(
                        f"    {label}: {m.wire:,} B on the wire, {m.round_trips} round trips, "
                        f"{m.seconds:.2f} s",
                        flush=True,
                    )
                    runs[key].append(m)
            results = {key: median_run(ms) for key, ms in runs.items()}
            if costs is None:
                costs = fixed_costs(state, tmp / "work", council)
            shutil.rmtree(state)
            print_table(sc, list(results.values()), repeats)
            by_scenario[count] = (sc, results)

        drip = drip_round(tmp / "drip")

    small, small_r = by_scenario[SCENARIOS[0]]
    large, large_r = by_scenario[SCENARIOS[1]]
    a, b, c = small_r["a"], small_r["b"], small_r["c"]
    bytes_ok = a.wire <= small.target
    fastest = a.seconds < b.seconds and a.seconds < c.seconds
    met = bytes_ok and fastest and drip.met
    print("\nsummary")
    print(
        f"  {small.differing} differences: (a) {a.wire:,} B on the wire "
        f"({'within' if bytes_ok else 'OVER'} the target {small.target:,} B = "
        f"{TARGET_FACTOR} x {small.diff_bytes:,} + {TARGET_SLACK:,}), {a.round_trips} round "
        f"trips, {a.seconds:.2f} s; (b) naive {b.wire:,} B, {b.seconds:.2f} s; "
        f"(c) since {c.wire:,} B, {c.seconds:.2f} s, missing {c.missed} of "
        f"{small.differing}; (a) is {'the fastest' if fastest else 'NOT the fastest'}"
    )
    ref = small_r["a-ref"]
    print(
        f"  Negentropy split 8 buckets / IdList below 8 (Shora's client and relay) vs the "
        f"reference's {BUCKETS}/{IDLIST_BELOW}: {a.wire:,} vs {ref.wire:,} B, "
        f"{a.round_trips} vs {ref.round_trips} round trips ({small.differing} differences); "
        f"{large_r['a'].wire:,} vs {large_r['a-ref'].wire:,} B, {large_r['a'].round_trips} vs "
        f"{large_r['a-ref'].round_trips} round trips ({large.differing:,} differences)"
    )
    assert costs is not None
    print(
        f"  where (a)'s {a.seconds:.2f} s go, besides moving {small.differing} envelopes: "
        f"each side reads the filter's {costs.items:,} (created_at, id) pairs from SQLite "
        f"({costs.read:.2f} s: NodeEnvelopes.items reads the envelope rows, no covering "
        f"index) and sorts them into a Negentropy Storage ({costs.storage:.2f} s): "
        f"{2 * (costs.read + costs.storage):.2f} s for both sides; (c) reads them once, on B, "
        "to find the newest"
    )
    for link_bits, rtt in LINKS:
        est = {
            k: m.seconds + m.wire * 8 / link_bits + m.round_trips * rtt for k, m in small_r.items()
        }
        print(
            f"  estimated over a {link_bits / 1e6:g} Mbit/s link with {rtt * 1000:.0f} ms round "
            f"trips (loopback time + bytes / rate + round trips x RTT): "
            f"(a) {est['a']:.1f} s, (b) {est['b']:.1f} s, (c) {est['c']:.1f} s"
        )
    raw = small_r["a-raw"]
    print(
        f"  permessage-deflate (websockets' default on both sides): (a) {a.wire:,} B with it, "
        f"{raw.wire:,} B without ({a.wire / raw.wire:.0%}); {large_r['a'].wire:,} vs "
        f"{large_r['a-raw'].wire:,} B with {large.differing:,} differences "
        f"({large_r['a'].wire / large_r['a-raw'].wire:.0%})"
    )
    print(
        "  (c) exchanges only the last "
        f"{FALLBACK_WINDOW // 3600} h: it cannot find differences older than the window "
        f"(missed {c.missed} of {small.differing}, {large_r['c'].missed:,} of "
        f"{large.differing:,})"
    )
    print(
        f"RESULT diff100_bytes={a.wire} diff100_target_bytes={small.target} "
        f"naive_bytes={b.wire} since_bytes={c.wire} diff100_s={a.seconds:.3f} "
        f"naive_s={b.seconds:.3f} since_s={c.seconds:.3f} diff10000_bytes={large_r['a'].wire} "
        f"{drip_fields(drip)} "
        f"target=bytes<=1.5*diff+16KB,fastest,drip_round<=deadline met={'yes' if met else 'no'}"
    )
    return 0


def drip_fields(drip: DripRound) -> str:
    return (
        f"drip_round_s={drip.seconds:.3f} drip_deadline_s={drip.deadline:g} "
        f"drip_others_complete={drip.others_complete}/2"
    )


def drip_only() -> int:
    with tempfile.TemporaryDirectory(prefix="shora-bench-drip-") as tmp:
        drip = drip_round(Path(tmp))
    print(
        f"RESULT {drip_fields(drip)} target=drip_round<=deadline,others_complete "
        f"met={'yes' if drip.met else 'no'}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=int, default=100_000, help="posts (default 100000)")
    parser.add_argument("--members", type=int, default=100, help="members (default 100)")
    parser.add_argument("--quick", action="store_true", help="10000 posts, for smoke runs")
    parser.add_argument("--seed", type=int, default=1, help="seed of the text, DAG and spots")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each method, 100 differences (default 3)"
    )
    parser.add_argument(
        "--drip-only", action="store_true", help="only the round with a drip relay (seconds)"
    )
    args = parser.parse_args(argv)
    if args.drip_only:
        return drip_only()
    if args.members < 2 or args.shared < 1000 or args.repeat < 1:
        parser.error("need at least 2 members, 1000 posts and 1 run")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
