"""Churn benchmark: what admissions and removals cost as a council's history grows.

For each size A (admissions), a founder admits A members through `Node.admit` (one
invite and one admit each; join requests made with `tokens.make_join_request`) and,
after every tenth admission, removes an earlier member through `Node.remove` (the
council's rules let one member remove, so each removal is one `member.remove` and its
`epoch.grant`s). A member admitted first (a real profile) then imports the council's
bundle into a copy of its profile (`Node.import_bundle`), the median of nine copies for
the small sizes and of three for the large ones. The reference is a 10-member council
built the same way in the same run, three times (the median of each figure).

It reports, per size, the founder's mean CPU time per admission (process time: wall time
on a shared machine measures the other processes), the import's envelopes per
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

from ingest import cpu_with_children  # same directory
from shora.kernel import crypto, kinds, profile, tokens
from shora.node import Node

FAST_KDF = profile.INSECURE_TEST_KDF
PASSPHRASE = "benchmark passphrase"
REFERENCE = 10
TARGET_RATIO = 1.5
TARGET_SLOPE = 1.1
REMOVE_EVERY = 10
REFERENCE_RUNS = 3


@dataclass
class Size:
    admissions: int
    removals: int
    envelopes: int
    admit_ms: float
    import_seconds: float
    import_rate: float
    import_cpu: float  # CPU seconds of the import, every thread (steadier under load)
    profile_bytes: int
    build_seconds: float


def build(
    tmp: Path, admissions: int, rng: random.Random, every: int = REMOVE_EVERY
) -> tuple[Path, Path, bytes, int, float]:
    """(founder's home, the importing member's home, council, removals, seconds spent
    admitting): a removal after every `every`-th admission."""
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
        start = time.process_time()  # CPU: the machine these run on is often shared
        invitation = founder.membership.invite(council)
        request = tokens.make_join_request(
            invitation, sign_pk, sign_sk, kx_pk, f"Member {i}", int(founder.now())
        )
        assert founder.membership.admit(request).admitted
        admit_seconds += time.process_time() - start
        admitted.append(sign_pk)
        if i % every == 0:
            gone = admitted.pop(rng.randrange(len(admitted)))
            assert founder.membership.remove(council, gone).admitted
            removals += 1
    founder.close()
    return founder_home, dest_home, council, removals, admit_seconds


def measure(tmp: Path, admissions: int, rng: random.Random, every: int = REMOVE_EVERY) -> Size:
    start = time.perf_counter()
    founder_home, dest_home, council, removals, admit_seconds = build(tmp, admissions, rng, every)
    build_seconds = time.perf_counter() - start
    buf = io.BytesIO()
    with Node.open(founder_home, PASSPHRASE, allow_weak_kdf=True) as founder:
        envelopes = founder.bundles.export_bundle(buf, council)
        digest = founder.councils.state_digest(council)
    # The median: both ends of the slope matter, and a small import (0.2 s at 250
    # admissions) moves by 10-15% from run to run, which alone moves the slope by 0.05.
    repeats = 9 if envelopes < 2_000 else 3
    times = []
    cpus = []
    size = 0
    for r in range(repeats):
        copy = tmp / f"import{r}"
        shutil.copytree(dest_home, copy)
        with Node.open(copy, PASSPHRASE, allow_weak_kdf=True) as dest:
            buf.seek(0)
            t0, c0 = time.perf_counter(), cpu_with_children()
            report, damage = dest.bundles.import_bundle(buf)
            times.append(time.perf_counter() - t0)
            cpus.append(cpu_with_children() - c0)  # its checking processes' too
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
        statistics.median(cpus),
        size,
        build_seconds,
    )


def median_size(runs: list[Size]) -> Size:
    """Each figure's median over runs of one size."""
    if len(runs) == 1:
        return runs[0]
    return Size(
        *(statistics.median(getattr(r, f) for r in runs) for f in Size.__dataclass_fields__)
    )


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def slope(a: Size, b: Size, cpu: bool = False) -> float:
    ta, tb = (a.import_cpu, b.import_cpu) if cpu else (a.import_seconds, b.import_seconds)
    return math.log(tb / ta) / math.log(b.admissions / a.admissions)


def row(s: Size) -> str:
    return (
        f"{s.admissions:>10,} {s.removals:>8,} {s.envelopes:>9,} {s.admit_ms:>9.2f} "
        f"{s.import_seconds:>9.2f} {s.import_cpu:>7.2f} {s.import_rate:>7,.0f} "
        f"{s.profile_bytes / s.envelopes:>7,.0f} {s.build_seconds:>8.1f} {peak_mib():>8.0f}"
    )


HEADER = (
    f"{'admissions':>10} {'removals':>8} {'envelopes':>9} {'admit ms':>9} "
    f"{'import s':>9} {'cpu s':>7} {'env/s':>7} {'B/env':>7} {'build s':>8} {'peak MiB':>8}"
)


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        sizes = [125, 250, 500]
    at = sizes[-1] if args.quick or args.at not in sizes else args.at
    results: list[Size] = []
    print(f"A removal after every {REMOVE_EVERY}th admission:")
    print(HEADER)
    for n in [REFERENCE, *sizes]:
        # The reference is small enough to build a few times: one build of ten admissions
        # moved by 50% with the load, so it is the median of REFERENCE_RUNS (each figure).
        runs = []
        for _ in range(REFERENCE_RUNS if n == REFERENCE else 1):
            with tempfile.TemporaryDirectory(prefix="shora-churn-") as tmp_name:
                runs.append(measure(Path(tmp_name), n, rng))
        s = median_size(runs)
        results.append(s)
        print(row(s), flush=True)
    # The same sizes with the same number of removals at each (spread evenly): the data
    # a removal adds (one sealed key per remaining member) then grows with A, not A².
    fixed: list[Size] = []
    if args.fixed_removals:
        print(f"{args.fixed_removals} removals at every size:")
        print(HEADER)
        for n, same in zip(sizes, results[1:], strict=True):
            every = max(1, n // args.fixed_removals)
            if every == REMOVE_EVERY:  # the size measured above, with these removals
                s = same
            else:
                with tempfile.TemporaryDirectory(prefix="shora-churn-") as tmp_name:
                    s = measure(Path(tmp_name), n, rng, every)
            fixed.append(s)
            print(row(s), flush=True)
    ref = results[0]
    target = next(s for s in results if s.admissions == at)
    k = slope(results[1], results[-1])
    k_cpu = slope(results[1], results[-1], cpu=True)
    admit_ratio = target.admit_ms / ref.admit_ms
    import_ratio = ref.import_rate / target.import_rate
    ratios_met = admit_ratio <= TARGET_RATIO and import_ratio <= TARGET_RATIO
    print(
        f"log-log slope of import time, {results[1].admissions} to {results[-1].admissions}: "
        f"{k:.2f} wall, {k_cpu:.2f} CPU (a removal after every {REMOVE_EVERY}th admission)"
    )
    fixed_part = ""
    if fixed:
        kf = slope(fixed[0], fixed[-1])
        kf_cpu = slope(fixed[0], fixed[-1], cpu=True)
        print(
            f"log-log slope of import time, {fixed[0].admissions} to {fixed[-1].admissions}: "
            f"{kf:.2f} wall, {kf_cpu:.2f} CPU ({args.fixed_removals} removals at every size)"
        )
        fixed_part = f"slope_fixed_removals={kf:.2f} fixed_removals={args.fixed_removals} "
    # The slope with a removal every tenth admission is the target: the keys a removal
    # hands out grow with the members (24 bytes each, docs/protocol.md §6.1), so that
    # data grows as admissions squared, with a small enough constant (benchmarks/README.md,
    # Churn); the slope with a fixed number of removals is shown beside it.
    met = ratios_met and k <= TARGET_SLOPE
    print(
        f"RESULT admit_ms_ref={ref.admit_ms:.2f} admit_ms={target.admit_ms:.2f} "
        f"admit_ratio={admit_ratio:.2f} import_rate_ref={ref.import_rate:.0f} "
        f"import_rate={target.import_rate:.0f} import_ratio={import_ratio:.2f} slope={k:.2f} "
        f"slope_cpu={k_cpu:.2f} {fixed_part}a={at} "
        f"target=ratios<={TARGET_RATIO},slope<={TARGET_SLOPE} "
        f"met={'yes' if met else 'no'}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="250,500,1000,2000,4000")
    parser.add_argument("--at", type=int, default=2000, help="the size compared with 10")
    parser.add_argument("--quick", action="store_true", help="sizes 125, 250, 500")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--fixed-removals",
        type=int,
        default=25,
        help="also measure every size with this many removals, for the second slope (0: not)",
    )
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
