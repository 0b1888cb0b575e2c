"""Community benchmark: one node holding a neighbourhood's phones.

Starts `shora community serve` (HTTPS with the node's own certificate, which the
client checks against the fingerprint the node printed), then, as real browsers
would, through the pages only:

1. P people (default 30) each create their profile (POST /welcome) in their own
   session, found a council and write a few posts; P - U of them lock again.
2. U people (default 20) stay unlocked and browse at once: each is one concurrent
   client with its own session cookie, keep-alive, walking the main pages (councils,
   council home, members, posts, sync) and a static file in turn, R requests each,
   reading each page for a moment before the next (uniform 0.5-1.5 s: a person on a
   phone, not a script). This is the measured load (page p95 against the target).
3. The same U clients again with no pause at all (a stress far beyond people
   browsing: U requests always waiting): its p95 is reported beside, not judged.
4. Reports each page's median and p95, the p95 over all pages against the target,
   the static file answered by the same server in the same run as the reference
   (ratio of page p95 to static p95), and the node process's memory (VmRSS after the
   load and its peak VmHWM, from /proc) against the budget.

The profiles are made with the test-only weak key derivation (--insecure-test-kdf):
30 default Argon2id derivations (256 MiB, about a second each, one at a time on the
node) would measure the key derivation, not the pages, and need not be paid here. With
the default derivation a creation or unlock costs that second once, per person.

Run:  python benchmarks/community.py [--people P] [--unlocked U] [--requests R] [--quick]
The last line printed is a machine-readable RESULT line. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import re
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

TARGET_P95_MS = 300.0
BUDGET_MB = 200.0  # the node process's peak resident memory, 30 profiles, 20 unlocked
PASSPHRASE = "benchmark passphrase {i}"
URL = re.compile(r"(https://[^\s]+/)")
FINGERPRINT = re.compile(r"\(SHA-256\): ([0-9A-F:]{95})")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
COUNCIL = re.compile(r"/councils/([0-9a-f]{64})")
POSTS = 10  # each person's council gets this many posts
STATIC = "/static/shora.css"


class Node:
    """`shora community serve` as a real process."""

    def __init__(self, root: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHORA_")}
        env.update(
            SHORA_HOME=str(root / "operator"),
            SHORA_INSECURE_TEST_KDF="I-know-this-is-insecure",
            LANG="C.UTF-8",
        )
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shora.cli.main",
                "community",
                "serve",
                "--dir",
                str(root / "community"),
                "--port",
                "0",
                "--lock-after",
                "0",
                "--interval",
                "3600",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        self.base = self.fingerprint = ""
        while not self.fingerprint:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit("shora community serve ended")
            if (m := URL.search(line)) is not None:
                self.base = m.group(1).rstrip("/")
            if (m := FINGERPRINT.search(line)) is not None:
                self.fingerprint = m.group(1)
        self.cafile = root / "community" / "tls" / "cert.pem"

    def check_certificate(self) -> ssl.SSLContext:
        """The certificate served must be the one printed; then trust exactly it."""
        port = int(self.base.rsplit(":", 1)[1])
        der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port)))
        served = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
        assert served == self.fingerprint, "the served certificate is not the printed one"
        context = ssl.create_default_context(cafile=str(self.cafile))
        return context

    def memory_mb(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) of the node process, in MB."""
        fields: dict[str, float] = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
        return fields["VmRSS"], fields["VmHWM"]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class Person:
    i: int
    client: httpx.AsyncClient
    csrf: str = ""
    council: str = ""

    async def get(self, path: str) -> httpx.Response:
        response = await self.client.get(path)
        if (m := CSRF.search(response.text)) is not None:
            self.csrf = m.group(1)
        return response

    async def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        return await self.client.post(path, data={"csrf": self.csrf, **data})


async def set_up(node: Node, tls: ssl.SSLContext, people: int) -> list[Person]:
    made: list[Person] = []
    for i in range(people):
        client = httpx.AsyncClient(base_url=node.base, verify=tls, timeout=120)
        person = Person(i, client)
        await person.get("/welcome")
        p = PASSPHRASE.format(i=i)
        r = await person.post("/welcome", {"name": f"Person {i}", "passphrase": p, "again": p})
        assert r.status_code == 303, (r.status_code, r.text[:300])
        await person.get("/councils")
        r = await person.post("/councils", {"name": f"Street {i} council", "founder": f"P{i}"})
        m = COUNCIL.search(r.headers.get("location", ""))
        assert m is not None, r.text[:300]
        person.council = f"/councils/{m.group(1)}"
        await person.get(person.council + "/posts")
        for k in range(POSTS):
            r = await person.post(person.council + "/posts", {"text": f"Post {k} of {i}"})
            assert r.status_code == 303, r.status_code
        made.append(person)
    return made


@dataclass
class Load:
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.latencies.setdefault(name, []).append(seconds)


def p95(values: list[float]) -> float:
    return 1000 * statistics.quantiles(values, n=20)[-1]


async def browse(person: Person, requests: int, load: Load, think: float = 0.0) -> None:
    pages = {
        "councils": "/councils",
        "home": person.council,
        "members": person.council + "/members",
        "posts": person.council + "/posts",
        "sync": "/sync",
        "static": STATIC,
    }
    names = list(pages)
    for k in range(requests):
        name = names[(k + person.i) % len(names)]
        start = time.perf_counter()
        r = await person.client.get(pages[name])
        load.add(name, time.perf_counter() - start)
        assert r.status_code == 200, (name, r.status_code)
        if think:
            await asyncio.sleep(think * random.uniform(0.5, 1.5))


async def measure(node: Node, args: argparse.Namespace) -> int:
    tls = node.check_certificate()
    print(f"[1] {args.people} people create their profiles and councils", flush=True)
    start = time.perf_counter()
    people = await set_up(node, tls, args.people)
    print(f"    {time.perf_counter() - start:.1f} s", flush=True)
    for person in people[args.unlocked :]:
        r = await person.post("/lock", {})
        assert r.status_code == 303
    idle_rss, _ = node.memory_mb()
    browsing = people[: args.unlocked]
    print(f"[2] {len(browsing)} unlocked people browse at once, {args.requests} requests each")
    warm = Load()
    await asyncio.gather(*(browse(p, 6, warm) for p in browsing))
    load = Load()
    start = time.perf_counter()
    await asyncio.gather(*(browse(p, args.requests, load, args.think) for p in browsing))
    seconds = time.perf_counter() - start
    print("[3] the same, with no pause between requests (a stress, reported only)")
    stress = Load()
    await asyncio.gather(*(browse(p, args.requests // 2, stress) for p in browsing))
    stress_pages = [v for n, values in stress.latencies.items() if n != "static" for v in values]
    rss, hwm = node.memory_mb()
    for person in people:
        await person.client.aclose()
    print(f"\n    {'page':<10} {'median ms':>10} {'p95 ms':>8}")
    for name, values in load.latencies.items():
        print(f"    {name:<10} {1000 * statistics.median(values):>10.1f} {p95(values):>8.1f}")
    pages = [v for name, values in load.latencies.items() if name != "static" for v in values]
    page_p95 = p95(pages)
    static_p95 = p95(load.latencies["static"])
    total = sum(len(v) for v in load.latencies.values())
    print(f"    {total} requests in {seconds:.1f} s ({total / seconds:.0f}/s)")
    print(f"    with no pause: page p95 {p95(stress_pages):.1f} ms")
    print(f"    memory: {idle_rss:.0f} MB before the load, {rss:.0f} MB after, peak {hwm:.0f} MB")
    met = "yes" if page_p95 < TARGET_P95_MS and hwm < BUDGET_MB else "no"
    print(
        f"RESULT people={args.people} unlocked={len(browsing)} page_p95_ms={page_p95:.1f} "
        f"page_median_ms={1000 * statistics.median(pages):.1f} static_p95_ms={static_p95:.1f} "
        f"p95_vs_static={page_p95 / static_p95:.1f} rss_mb={rss:.0f} peak_rss_mb={hwm:.0f} "
        f"rps={total / seconds:.0f} stress_page_p95_ms={p95(stress_pages):.1f} "
        f"think_s={args.think} target=p95<{TARGET_P95_MS:.0f}ms,peak_rss<{BUDGET_MB:.0f}MB "
        f"met={met}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=30, help="profiles (default 30)")
    parser.add_argument("--unlocked", type=int, default=20, help="browsing at once (20)")
    parser.add_argument("--requests", type=int, default=60, help="per person (default 60)")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause, s (default 1)")
    parser.add_argument("--quick", action="store_true", help="6 people, 4 browsing, 12 each")
    args = parser.parse_args(argv)
    if args.quick:
        args.people, args.unlocked, args.requests = 6, 4, 12
    args.unlocked = min(args.unlocked, args.people)
    with tempfile.TemporaryDirectory(prefix="shora-community-bench-") as tmp:
        node = Node(Path(tmp))
        try:
            return asyncio.run(measure(node, args))
        finally:
            node.stop()


if __name__ == "__main__":
    sys.exit(main())
