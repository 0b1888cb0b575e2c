"""Memory benchmark: a node's memory follows its councils' members, not their history.

Builds a council of M members (the founder admits them by the real admit flow, from join
requests made with the kernel's own functions, as benchmarks/web.py does) and N posts by
those members as concurrent writers (ingest.py's generator); a member with a profile of
their own joined before the posts. Then, in the same run:

(a) `shora serve` on the founder's profile (a real process), idle: its resident memory
    (VmRSS) a few seconds after it is up, and its peak (VmHWM);
(b) that member imports the council's bundle (every envelope) in a process of its own:
    its peak resident memory (VmHWM) during the import, and that peak plus the largest
    peak of its checking processes times their number (they end with the import: an
    upper bound of what the import held at once);
(c) the reference: a Python process that imports shora.node and opens the same member's
    profile, nothing more (what any node costs before a council is read).

Profiles use the test-only key derivation: Argon2id at the default limits takes 256 MiB
by itself, once per unlock, whatever the council.

Run:  python benchmarks/memory.py [--events N] [--members M] [--quick]
The last line printed is a machine-readable RESULT line.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from ingest import Author, Progress, generate_posts, timed  # same directory
from shora.kernel import crypto, profile, tokens
from shora.node import Node
from web import PASSPHRASE, Served

FAST_KDF = profile.INSECURE_TEST_KDF
TARGET_IDLE_MIB = 150
TARGET_IMPORT_MIB = 300
IDLE_SECONDS = 5.0


def build(tmp: Path, n_events: int, n_members: int, rng: random.Random) -> tuple[Path, Path]:
    """The founder's profile with every event, the member's (joined before the posts),
    and the council's bundle written next to them."""
    print(f"\n[1] building a council of {n_members:,} members and {n_events:,} posts", flush=True)
    founder_home, member_home = tmp / "founder", tmp / "member"
    founder = Node.create(founder_home, PASSPHRASE, kdf_limits=FAST_KDF, allow_weak_kdf=True)
    council = founder.councils.create("Block 4 neighbourhood council", "", "Nasrin")
    me = founder.identity(council)
    authors = [Author(me.sign_pk, me.sign_sk)]
    with Node.create(member_home, PASSPHRASE, kdf_limits=FAST_KDF, allow_weak_kdf=True) as member:
        invitation = tokens.parse_invitation(
            tokens.invitation_text(founder.membership.invite(council))
        )
        request = member.membership.join(invitation, "Member")
        assert founder.membership.admit(request).admitted
        buf = io.BytesIO()
        founder.bundles.export_bundle(buf, council)
        buf.seek(0)
        member.bundles.import_bundle(buf)
        assert member.councils.get(council).status == "member"
    done = timed(f"founder admits {n_members - 2:,} more members")
    progress = Progress("members", n_members - 2)
    for i in range(2, n_members):
        invitation = founder.membership.invite(council)
        sign_pk, sign_sk = crypto.sign_keypair()
        kx_pk, _kx_sk = crypto.kx_keypair()
        request = tokens.make_join_request(
            invitation, sign_pk, sign_sk, kx_pk, f"Member {i}", int(founder.now())
        )
        assert founder.membership.admit(request).admitted
        authors.append(Author(sign_pk, sign_sk))
        progress()
    done(n_members - 2)
    done = timed(f"composing and ingesting {n_events:,} posts")
    raws, _shape = generate_posts(
        founder, council, authors, n_events, rng, Progress("compose", n_events)
    )
    report = founder.bundles.import_envelopes(raws)
    assert report.accepted == n_events, report
    del raws
    done(n_events)
    with (tmp / "council.bundle").open("wb") as out:
        founder.bundles.export_bundle(out, council)
    founder.close()
    return founder_home, member_home


def status_mib(pid: int | str, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def measure_serve(home: Path) -> tuple[float, float]:
    print("\n[2a] shora serve, idle", flush=True)
    served = Served(home)
    try:
        time.sleep(IDLE_SECONDS)
        rss, peak = status_mib(served.proc.pid, "VmRSS"), status_mib(served.proc.pid, "VmHWM")
    finally:
        served.stop()
    print(f"  idle: {rss:,.0f} MiB resident (peak {peak:,.0f} MiB)", flush=True)
    return rss, peak


CHILD = """
import resource, sys, time
from pathlib import Path
from shora.node import Node

def mib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024

node = Node.open(Path(sys.argv[1]), sys.argv[2], allow_weak_kdf=True)
print("opened", mib("VmRSS"), mib("VmHWM"), flush=True)
if sys.argv[3] == "import":
    start = time.perf_counter()
    with open(sys.argv[4], "rb") as f:
        report, damage = node.bundles.import_bundle(f)
    assert damage is None and not (report.refused or report.pending or report.held), report
    print("imported", report.accepted, time.perf_counter() - start, flush=True)
print("done", mib("VmRSS"), mib("VmHWM"), flush=True)
# the largest checking process's peak (kernel/checking.py), ended with the import
print("children", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, flush=True)
node.close()
"""


def child(home: Path, *args: str) -> dict[str, list[float]]:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(home), PASSPHRASE, *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {line.split()[0]: [float(x) for x in line.split()[1:]] for line in out.splitlines()}


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    n_events, n_members = (5000, 100) if args.quick else (args.events, args.members)
    with tempfile.TemporaryDirectory(prefix="shora-memory-") as tmp_name:
        tmp = Path(tmp_name)
        founder_home, member_home = build(tmp, n_events, n_members, rng)
        idle, idle_peak = measure_serve(founder_home)
        print("\n[2b] the member imports the bundle", flush=True)
        got = child(member_home, "import", str(tmp / "council.bundle"))
        accepted, seconds = got["imported"]
        import_peak = got["done"][1]
        processes = max(1, (os.cpu_count() or 1) - 1)  # one per core but one
        checkers = got["children"][0] * processes
        import_total = import_peak + checkers
        print(
            f"  {int(accepted):,} envelopes in {seconds:.1f} s; peak {import_peak:,.0f} MiB "
            f"resident (after opening: {got['opened'][0]:,.0f} MiB); with its checking "
            f"processes at most {import_total:,.0f} MiB",
            flush=True,
        )
        print("\n[2c] reference: open the member's profile, nothing more", flush=True)
        ref = child(member_home, "open")["done"][1]
        print(f"  peak {ref:,.0f} MiB resident", flush=True)
    met = idle < TARGET_IDLE_MIB and import_total < TARGET_IMPORT_MIB
    print(
        f"RESULT members={n_members} events={n_events} serve_idle_mib={idle:.0f} "
        f"serve_peak_mib={idle_peak:.0f} import_peak_mib={import_peak:.0f} "
        f"import_with_checkers_mib={import_total:.0f} "
        f"open_reference_mib={ref:.0f} "
        f"target=idle<{TARGET_IDLE_MIB}MiB,import<{TARGET_IMPORT_MIB}MiB "
        f"met={'yes' if met else 'no'}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="posts (default 100000)")
    parser.add_argument("--members", type=int, default=1000, help="members (default 1000)")
    parser.add_argument("--quick", action="store_true", help="100 members, 5000 posts")
    parser.add_argument("--seed", type=int, default=1, help="seed of the text and DAG shape")
    args = parser.parse_args(argv)
    if args.members < 2 or args.events < 1:
        parser.error("need at least 2 members and 1 event")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
