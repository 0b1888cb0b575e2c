"""Start-up benchmark: how long a `shora` command takes before it does anything.

Runs, as separate processes, each --runs times in turns (the median is kept):

  - `python -c pass`: the interpreter's own start, the reference;
  - `shora --help`, the same in Persian, and `shora --version`;
  - `shora members COUNCIL` and `shora log COUNCIL`: read commands on a real profile
    (a council with a few members and posts), made with the test-only key derivation
    so that the Argon2id run, measured separately in this process with the same limits,
    does not drown what is measured. A profile's real key derivation is printed too;
  - `shora council list`, `shora result`, `shora need --list` and `shora peers`: reads
    that load their own capability (decisions, the aid pipeline, the peer book),
    printed and in the RESULT line as other_reads_ms, not in the target.

The commands run as an installed package does: byte code compiled once (into a
temporary directory, PYTHONPYCACHEPREFIX) before the runs, so nothing is compiled
while timing (the catalogues' compiled forms are kept there too). Targets (issue:
"commands start fast"): --help under 100 ms, in English and in Persian, a read command
under 150 ms plus its key derivation, each command's fastest run (the one other
programs on the machine disturbed least; the median and the CPU time are printed too).

Run:  python benchmarks/startup.py [--quick] [--runs N]
The last line printed is a machine-readable RESULT line.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
sys.path.insert(0, str(SRC))

from shora.kernel import crypto, profile  # noqa: E402

TARGET_HELP_MS = 100.0
TARGET_READ_MS = 150.0
PASSPHRASE = "benchmark passphrase"
COUNCIL = "Block 4"


def environment(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHORA_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PYTHONPATH=str(SRC),
        PYTHONPYCACHEPREFIX=str(cache),
        SHORA_LANG="en",
        SHORA_PASSPHRASE=PASSPHRASE,
        **{profile.INSECURE_TEST_KDF_ENV: profile.INSECURE_TEST_KDF_CONSENT},
    )
    return env


def shora(*args: str) -> list[str]:
    return [sys.executable, "-m", "shora.cli.main", *args]


def once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of `command`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=False, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def make_profile(home: Path, env: dict[str, str]) -> None:
    run = [shora("--home", str(home), *args) for args in (["init"],)]
    run.append(shora("--home", str(home), "council", "create", COUNCIL, "--as", "Nasrin"))
    run += [shora("--home", str(home), "post", COUNCIL, f"post {i}") for i in range(5)]
    for command in run:
        subprocess.run(command, env=env, check=True, capture_output=True)


def kdf_ms(opslimit: int, memlimit: int, runs: int) -> float:
    salt = bytes(16)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        crypto.derive_key(PASSPHRASE.encode(), salt, opslimit, memlimit)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def run(args: argparse.Namespace) -> int:
    runs = 5 if args.quick else args.runs
    with tempfile.TemporaryDirectory(prefix="shora-startup-") as tmp_name:
        tmp = Path(tmp_name)
        env = environment(tmp / "pycache")
        home = tmp / "home"
        make_profile(home, env)  # compiles every module the commands below import, too
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "shora --help": shora("--help"),
            "shora --help (fa)": shora("--lang", "fa", "--help"),
            "shora --version": shora("--version"),
            "shora members": shora("--home", str(home), "members", COUNCIL),
            "shora log": shora("--home", str(home), "log", COUNCIL),
            # Other reads, each loading its own capability: shown, not in the target.
            "shora council list": shora("--home", str(home), "council", "list"),
            "shora result": shora("--home", str(home), "result", COUNCIL),
            "shora need --list": shora("--home", str(home), "need", COUNCIL, "--list"),
            "shora peers": shora("--home", str(home), "peers"),
        }
        for name, command in commands.items():  # warm: byte code and the file cache
            done = subprocess.run(command, env=env, check=False, capture_output=True)
            if done.returncode:
                print(f"  ({name} exits with {done.returncode}: {done.stderr[-200:]!r})")
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, command in commands.items():
                wall, used = once(command, env)
                times[name].append(1000 * wall)
                cpu[name].append(1000 * used)
        weak = kdf_ms(*profile.INSECURE_TEST_KDF, runs)
        real = kdf_ms(crypto.KDF_OPSLIMIT, crypto.KDF_MEMLIMIT, 1)
    best = {name: min(values) for name, values in times.items()}
    print(f"milliseconds per command over {runs} runs: wall time fastest / median / slowest,")
    print("and CPU time (user + system) median:")
    for name, values in times.items():
        print(
            f"  {name:<18} {best[name]:7.1f} / {statistics.median(values):7.1f} / "
            f"{max(values):7.1f}   CPU {statistics.median(cpu[name]):7.1f}"
        )
    print(f"  key derivation with the test limits: {weak:.1f} ms (in the read commands)")
    print(f"  key derivation with a profile's real limits: {real:.0f} ms (not measured above)")
    read = max(best["shora members"], best["shora log"])
    others = max(
        best[name]
        for name in ("shora council list", "shora result", "shora need --list", "shora peers")
    )
    help_ok = max(best["shora --help"], best["shora --help (fa)"]) <= TARGET_HELP_MS
    read_ok = read <= TARGET_READ_MS + weak
    print(
        f"RESULT help_ms={best['shora --help']:.1f} help_fa_ms={best['shora --help (fa)']:.1f} "
        f"version_ms={best['shora --version']:.1f} "
        f"read_ms={read:.1f} other_reads_ms={others:.1f} kdf_ms={weak:.1f} "
        f"python_ms={best['python -c pass']:.1f} "
        f"target=help<={TARGET_HELP_MS:g},read<={TARGET_READ_MS:g}+kdf "
        f"met={'yes' if help_ok and read_ok else 'no'}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 runs of each command")
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (15)")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
