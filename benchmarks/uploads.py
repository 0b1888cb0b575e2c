"""Uploads benchmark: what an envelope costs a node when a peer uploads it to its relay,
against what it costs when it comes in a bundle.

A member (B) writes N posts its council's founder (A) lacks. From copies of the same
profile of A, in one run, each measured --repeat times in turns (the median is kept):

  (a) bundle: `node.bundles.import_bundle` of the N envelopes (what `shora bundle
      import` does: decode, verify, decrypt, authorise, store, project, housekeeping);
  (b) relay: B publishes the N envelopes to A's EmbeddedRelay on loopback
      (`transport.publish`, NIP-42 AUTH with B's keys, EVENTs in windows, every OK
      awaited), then the relay's housekeeping for the burst. B uploads from a process
      of its own, as the other device it stands for does; it runs on the same two
      cores as A, so its work still slows A's;
  (c) relay, one envelope at a time: as (b) with the relay's batches cut to one EVENT
      (one transaction per EVENT, as before batching), for comparison;
  (d) as (b), with B uploading from A's own process and event loop, as this
      benchmark measured before (every client's message in A's time), for comparison.

Run:  python benchmarks/uploads.py [--quick] [--envelopes N] [--repeat R]
The last line printed is a machine-readable RESULT line: the ratio (b)/(a) of the time
per envelope, target <= 2 (and (d)/(a) beside it, `in_process_ratio`).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from ingest import cpu_with_children  # same directory
from shora.kernel import kinds, profile, tokens
from shora.node import Node
from shora.sync.local import NodeEnvelopes
from shora.sync.relay import EmbeddedRelay
from shora.sync.relay_connection import RelayLimits
from shora.sync.transport import publish

PASSPHRASE = "benchmark passphrase"
TARGET_RATIO = 2.0
WEAK = {"kdf_limits": profile.INSECURE_TEST_KDF, "allow_weak_kdf": True}


def open_node(home: Path) -> Node:
    return Node.open(home, PASSPHRASE, allow_weak_kdf=True)


def carry(src: Node, dst: Node) -> None:
    buf = io.BytesIO()
    src.bundles.export_bundle(buf)
    buf.seek(0)
    dst.bundles.import_bundle(buf)


def prepare(tmp: Path, n: int) -> tuple[Path, list[bytes]]:
    """A's profile, and the N envelopes of B's posts A lacks (B's profile is at tmp/b)."""
    a = Node.create(tmp / "a", PASSPHRASE, **WEAK)
    b = Node.create(tmp / "b", PASSPHRASE, **WEAK)
    cid = a.councils.create("Works council", "", "Azar")
    invitation = a.membership.invite(cid)
    request = b.membership.join(
        tokens.parse_invitation(tokens.invitation_text(invitation)), "Bahar"
    )
    joined = tokens.parse_join_request_text(tokens.join_request_text(request))
    assert a.membership.admit(joined).admitted
    carry(a, b)
    held = set(b.bundles.envelopes(cid))
    # Posts in a chain of small steps, as a person writes them: each step's posts have
    # the step before as parents.
    for start in range(0, n, 20):
        raws = [
            b.compose(cid, "post.message", kinds.Message(f"post {i}: a few words", None))[0]
            for i in range(start, min(n, start + 20))
        ]
        b.bundles.import_envelopes(raws, heal=False)
    fresh = [raw for raw in b.bundles.envelopes(cid) if raw not in held]
    a.close()
    b.close()
    assert len(fresh) == n, len(fresh)
    return tmp / "a", fresh


def fresh_copy(state: Path, where: Path) -> Path:
    if where.exists():
        shutil.rmtree(where)
    shutil.copytree(state, where)
    return where


def by_bundle(home: Path, raws: list[bytes], n: int) -> tuple[float, float]:
    """Wall and CPU seconds (every thread of the process, and its checking processes)
    of the import."""
    buf = io.BytesIO()
    with open_node(home) as node:
        node.bundles.export_bundle(buf, records=raws)
        buf.seek(0)
        start, cpu = time.perf_counter(), cpu_with_children()
        report, damage = node.bundles.import_bundle(buf)
        seconds, cpu = time.perf_counter() - start, cpu_with_children() - cpu
    assert damage is None and report.accepted == n, report
    return seconds, cpu


async def _upload(node: Node, b: Node, raws: list[bytes], batch: int) -> tuple[float, float, int]:
    limits = RelayLimits(events_per_minute=10**9, max_batch=batch)
    relay = EmbeddedRelay(NodeEnvelopes(node), limits=limits)
    await relay.start()
    try:
        start, cpu = time.perf_counter(), time.process_time()
        result = await publish(relay.url, raws, keyring=NodeEnvelopes(b), timeout=3600)
    finally:
        await relay.stop()  # the housekeeping of the burst, as after SETTLE_DELAY
    return time.perf_counter() - start, time.process_time() - cpu, result.accepted


def by_relay_in_process(
    home: Path, b_home: Path, raws: list[bytes], n: int, batch: int
) -> tuple[float, float]:
    """(d): wall and CPU seconds (client, relay and the ingest's pool) of the upload."""
    with open_node(home) as node, open_node(b_home) as b:
        seconds, cpu, accepted = asyncio.run(_upload(node, b, raws, batch))
    assert accepted == n, accepted
    return seconds, cpu


async def _serve_upload(
    node: Node, b_home: Path, raws_file: Path, batch: int
) -> tuple[float, float]:
    limits = RelayLimits(events_per_minute=10**9, max_batch=batch)
    relay = EmbeddedRelay(NodeEnvelopes(node), limits=limits)
    await relay.start()
    uploader = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--upload",
        relay.url,
        str(b_home),
        str(raws_file),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert uploader.stdin is not None and uploader.stdout is not None
    try:
        # The uploader has started, read the envelopes and opened B's profile: the
        # measure starts with its first message.
        ready = await uploader.stdout.readline()
        assert ready == b"ready\n", ready
        start, cpu = time.perf_counter(), cpu_with_children()
        uploader.stdin.write(b"go\n")
        await uploader.stdin.drain()
        done = (await uploader.stdout.readline()).split()
    finally:
        await relay.stop()  # the housekeeping of the burst, as after SETTLE_DELAY
    seconds = time.perf_counter() - start
    await uploader.wait()
    # What A spent: this process and its checking processes, without the uploader (a
    # child too, whose whole CPU time is counted once it has ended).
    cpu = cpu_with_children() - cpu - float(done[2])
    assert done[:2] == [b"done", str(len(msgspec.msgpack.decode(raws_file.read_bytes()))).encode()]
    return seconds, cpu


def by_relay(home: Path, b_home: Path, raws_file: Path, batch: int) -> tuple[float, float]:
    """(b), (c): wall and CPU seconds of the upload to A's relay (A's process and its
    checking processes), B uploading from a process of its own."""
    with open_node(home) as node:
        return asyncio.run(_serve_upload(node, b_home, raws_file, batch))


def upload(url: str, b_home: Path, raws_file: Path) -> int:
    """The uploader's process: B's profile, the envelopes, then one `publish` when told."""
    raws = msgspec.msgpack.decode(raws_file.read_bytes(), type=list[bytes])
    with open_node(b_home) as b:
        print("ready", flush=True)
        sys.stdin.readline()
        result = asyncio.run(publish(url, raws, keyring=NodeEnvelopes(b), timeout=3600))
    t = os.times()
    print(f"done {result.accepted} {t.user + t.system:.6f}", flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    n = 500 if args.quick else args.envelopes
    with tempfile.TemporaryDirectory(prefix="shora-uploads-") as tmp_name:
        tmp = Path(tmp_name)
        start = time.perf_counter()
        state, raws = prepare(tmp / "state", n)
        print(f"{n:,} envelopes written by a member ({time.perf_counter() - start:.1f} s)")
        b_home = tmp / "state" / "b"
        raws_file = tmp / "raws"
        raws_file.write_bytes(msgspec.msgpack.encode(raws))
        methods = ("a", "b", "c", "d")
        times: dict[str, list[float]] = {m: [] for m in methods}
        cpus: dict[str, list[float]] = {m: [] for m in methods}
        batch = RelayLimits().max_batch
        for i in range(args.repeat):
            for method in methods:
                home = fresh_copy(state, tmp / "run")
                if method == "a":
                    seconds, cpu = by_bundle(home, raws, n)
                elif method == "d":
                    seconds, cpu = by_relay_in_process(home, b_home, raws, n, batch)
                else:
                    seconds, cpu = by_relay(home, b_home, raws_file, batch if method == "b" else 1)
                times[method].append(seconds)
                cpus[method].append(cpu)
                print(f"  run {i + 1}, ({method}): {seconds:.2f} s", flush=True)
        ms = {k: 1000 * statistics.median(v) / n for k, v in times.items()}
        spread = {k: (max(v) - min(v)) / statistics.median(v) for k, v in times.items()}
        cpu_ms = {k: 1000 * statistics.median(v) / n for k, v in cpus.items()}
        print(
            f"\nper envelope (median of {args.repeat}; spread max-min / median; CPU time of "
            "A's process and its checking processes, which a busy machine does not stretch):"
        )
        labels = {
            "a": "bundle import",
            "b": "relay uploads, batched",
            "c": "relay uploads, one per commit",
            "d": "(b) with B in A's process",
        }
        for m in methods:
            also = " (and B's)" if m == "d" else ""
            print(
                f"  ({m}) {labels[m] + ':':<32} {ms[m]:.3f} ms  ({spread[m]:.0%})"
                f"  CPU {cpu_ms[m]:.3f} ms{also}"
            )
        ratio = ms["b"] / ms["a"]
        met = ratio <= TARGET_RATIO
        print(
            f"RESULT n={n} bundle_ms={ms['a']:.3f} relay_ms={ms['b']:.3f} "
            f"relay_one_by_one_ms={ms['c']:.3f} ratio={ratio:.2f} "
            f"in_process_ratio={ms['d'] / ms['a']:.2f} "
            f"target=ratio<={TARGET_RATIO:g} met={'yes' if met else 'no'}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 envelopes, for smoke runs")
    parser.add_argument("--envelopes", type=int, default=5000, help="default 5000")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each method (3)")
    parser.add_argument(
        "--upload", nargs=3, metavar=("URL", "HOME", "ENVELOPES"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.upload:  # the uploader's process of (b) and (c)
        url, home, envelopes = args.upload
        return upload(url, Path(home), Path(envelopes))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
