"""Churn benchmark: what admissions and removals cost as a council's history grows.

For each size A (admissions), a founder admits A members through `Node.admit` (one
invite and one admit each; join requests made with `tokens.make_join_request`) and,
after every tenth admission, removes an earlier member through `Node.remove` (the
council's rules let one member remove, so each removal is one `member.remove` and its
`epoch.grant`s). A member admitted first (a real profile) then imports the council's
bundle into a copy of its profile (`Node.import_bundle`), median of a few copies for the
small sizes. The reference is a 10-member council built the same way in the same run.

It reports, per size, the founder's mean time per admission, the import's envelopes per
second, the bytes of the importing profile and the process's peak memory, then the
log-log slope of the import time against A between the second smallest and the largest
size (the reference is too small for a slope), and ends with one line:

  RESULT admit_ms_ref=<ms> admit_ms=<ms> admit_ratio=<x> import_rate_ref=<env/s>
         import_rate=<env/s> import_ratio=<x> slope=<s> a=<A>
         target=ratios<=1.5,slope<=1.1 met=yes|no

(on one line), where the ratios compare the size named by --at (default 2,000; the
largest with --quick) with the reference: admit_ratio is time per admission over the
reference's, import_ratio the reference's rate over this one's.

Run:  python benchmarks/churn.py [--quick] [--sizes 250,500,1000,2000,4000] [--at 2000]
"""

from __future__ import annotations

import argparse
import io
import math
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from shora.kernel import crypto, kinds, profile, tokens
from shora.node import Node

FAST_KDF = profile.INSECURE_TEST_KDF
PASSPHRASE = "benchmark passphrase"
REFERENCE = 10
TARGET_RATIO = 1.5
TARGET_SLOPE = 1.1
REMOVE_EVERY = 10


@dataclass
class Size:
    admissions: int
    removals: int
    envelopes: int
    admit_ms: float
    import_seconds: float
    import_rate: float
    profile_bytes: int
    build_seconds: float


def build(tmp: Path, admissions: int, rng: random.Random) -> tuple[Path, Path, bytes, int, float]:
    """(founder's home, the importing member's home, council, removals, seconds spent
    admitting)."""
    founder_home, dest_home = tmp / "founder", tmp / "member"
    founder = Node.create(founder_home, PASSPHRASE, kdf_limits=FAST_KDF, allow_weak_kdf=True)
    rules = kinds.Rules(removal="member")
    council = founder.councils.create("Refinery workers' council", "", "Nasrin", rules)
    with Node.create(dest_home, PASSPHRASE, kdf_limits=FAST_KDF, allow_weak_kdf=True) as dest:
        request = dest.membership.join(founder.membership.invite(council), "Importer")
        assert founder.membership.admit(request).admitted
    admitted: list[bytes] = []
    removals = 0
    admit_seconds = 0.0
    for i in range(1, admissions + 1):
        sign_pk, sign_sk = crypto.sign_keypair()
        kx_pk, _kx_sk = crypto.kx_keypair()
        start = time.perf_counter()
        invitation = founder.membership.invite(council)
        request = tokens.make_join_request(
            invitation, sign_pk, sign_sk, kx_pk, f"Member {i}", int(founder.now())
        )
        assert founder.membership.admit(request).admitted
        admit_seconds += time.perf_counter() - start
        admitted.append(sign_pk)
        if i % REMOVE_EVERY == 0:
            gone = admitted.pop(rng.randrange(len(admitted)))
            assert founder.membership.remove(council, gone).admitted
            removals += 1
    founder.close()
    return founder_home, dest_home, council, removals, admit_seconds


def measure(tmp: Path, admissions: int, rng: random.Random) -> Size:
    start = time.perf_counter()
    founder_home, dest_home, council, removals, admit_seconds = build(tmp, admissions, rng)
    build_seconds = time.perf_counter() - start
    buf = io.BytesIO()
    with Node.open(founder_home, PASSPHRASE, allow_weak_kdf=True) as founder:
        envelopes = founder.export_bundle(buf, council)
        digest = founder.councils.state_digest(council)
    repeats = 5 if envelopes < 2_000 else 1
    times = []
    size = 0
    for r in range(repeats):
        copy = tmp / f"import{r}"
        shutil.copytree(dest_home, copy)
        with Node.open(copy, PASSPHRASE, allow_weak_kdf=True) as dest:
            buf.seek(0)
            t0 = time.perf_counter()
            report, damage = dest.import_bundle(buf)
            times.append(time.perf_counter() - t0)
            assert damage is None and not (report.refused or report.pending), report
            assert dest.councils.state_digest(council) == digest
            dest.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = sum(f.stat().st_size for f in copy.rglob("*") if f.is_file())
        shutil.rmtree(copy)
    shutil.rmtree(founder_home)
    shutil.rmtree(dest_home)
    seconds = statistics.median(times)
    return Size(
        admissions,
        removals,
        envelopes,
        1000 * admit_seconds / admissions,
        seconds,
        envelopes / seconds,
        size,
        build_seconds,
    )


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def slope(a: Size, b: Size) -> float:
    return math.log(b.import_seconds / a.import_seconds) / math.log(b.admissions / a.admissions)


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        sizes = [125, 250, 500]
    at = sizes[-1] if args.quick or args.at not in sizes else args.at
    results: list[Size] = []
    print(
        f"{'admissions':>10} {'removals':>8} {'envelopes':>9} {'admit ms':>9} "
        f"{'import s':>9} {'env/s':>7} {'B/env':>7} {'build s':>8} {'peak MiB':>8}"
    )
    for n in [REFERENCE, *sizes]:
        with tempfile.TemporaryDirectory(prefix="shora-churn-") as tmp_name:
            s = measure(Path(tmp_name), n, rng)
        results.append(s)
        print(
            f"{s.admissions:>10,} {s.removals:>8,} {s.envelopes:>9,} {s.admit_ms:>9.2f} "
            f"{s.import_seconds:>9.2f} {s.import_rate:>7,.0f} "
            f"{s.profile_bytes / s.envelopes:>7,.0f} {s.build_seconds:>8.1f} {peak_mib():>8.0f}",
            flush=True,
        )
    ref = results[0]
    target = next(s for s in results if s.admissions == at)
    k = slope(results[1], results[-1])
    admit_ratio = target.admit_ms / ref.admit_ms
    import_ratio = ref.import_rate / target.import_rate
    met = admit_ratio <= TARGET_RATIO and import_ratio <= TARGET_RATIO and k <= TARGET_SLOPE
    print(
        f"log-log slope of import time, {results[1].admissions} to {results[-1].admissions}: "
        f"{k:.2f}"
    )
    print(
        f"RESULT admit_ms_ref={ref.admit_ms:.2f} admit_ms={target.admit_ms:.2f} "
        f"admit_ratio={admit_ratio:.2f} import_rate_ref={ref.import_rate:.0f} "
        f"import_rate={target.import_rate:.0f} import_ratio={import_ratio:.2f} slope={k:.2f} "
        f"a={at} target=ratios<={TARGET_RATIO},slope<={TARGET_SLOPE} "
        f"met={'yes' if met else 'no'}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="250,500,1000,2000,4000")
    parser.add_argument("--at", type=int, default=2000, help="the size compared with 10")
    parser.add_argument("--quick", action="store_true", help="sizes 125, 250, 500")
    parser.add_argument("--seed", type=int, default=1)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
