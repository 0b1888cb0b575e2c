"""Panic wipe and duress unlock: how long each takes, against one passphrase check.

The reference, measured in the same run, is one Argon2id derivation at the default
limits: the second a person already waits at every unlock. The panic wipe of a
profile holding many posts should take a small fraction of it. So should what a
destroying duress passphrase adds to an unlock (rewriting the keystore and putting a
new spare database in place of the real one), measured as the difference between a
destroying and a keeping duress unlock of the same profile, both with the tests' tiny
Argon2id limits so that the derivation's own spread does not hide it: an unlock that
took visibly longer would tell a watcher which passphrase was typed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from shora.kernel import crypto, profile
from shora.node import Node

PASSPHRASE = "correct horse battery"
DURESS = "my cat is called Pishi"
TARGET_PANIC = 0.25  # panic time / one Argon2id derivation
TARGET_DURESS = 0.15  # what destroying adds to an unlock / one Argon2id derivation


def filled(home: Path, posts: int) -> None:
    limits = profile.INSECURE_TEST_KDF  # the wipe's cost does not depend on them
    with Node.create(home, PASSPHRASE, kdf_limits=limits, allow_weak_kdf=True) as node:
        council = node.councils.create("Tannery workers council", "", "Nasrin")
        for i in range(posts):
            node.posts.post(council, f"minutes of meeting {i}: " + "words " * 40)


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        argon = statistics.median(
            timed(lambda: crypto.derive_key(b"x" * 20, bytes(16))) for _ in range(3)
        )
        panics, keeping, destroying = [], [], []
        for round_ in range(args.rounds):
            home = root / f"p{round_}"
            filled(home, args.posts)
            size = sum(p.stat().st_size for p in home.iterdir())

            def unlock(passphrase: str, home: Path = home) -> None:
                profile.unlock(home, passphrase, allow_weak_kdf=True).close()

            weak = {"allow_weak_kdf": True}
            profile.set_duress(home, PASSPHRASE, DURESS, wipe=False, **weak)
            keeping.append(timed(lambda: unlock(DURESS)))
            profile.set_duress(home, PASSPHRASE, DURESS, wipe=True, **weak)
            destroying.append(timed(lambda: unlock(DURESS)))
            other = root / f"q{round_}"
            filled(other, args.posts)
            panics.append(timed(lambda: profile.panic(other)))  # noqa: B023
            assert not other.exists()
    panic = statistics.median(panics)
    extra = statistics.median(destroying) - statistics.median(keeping)
    panic_ratio, duress_ratio = panic / argon, extra / argon
    met = panic_ratio <= TARGET_PANIC and duress_ratio <= TARGET_DURESS
    print(f"profile of {args.posts} posts: {size / 2**20:.1f} MiB on disk")
    print(f"one Argon2id derivation (reference): {argon * 1000:.0f} ms")
    print(f"panic wipe: {panic * 1000:.1f} ms")
    print(
        f"duress unlock without the derivation: keeping {statistics.median(keeping) * 1000:.1f}"
        f" ms, destroying {statistics.median(destroying) * 1000:.1f} ms"
    )
    print(
        f"RESULT argon_ms={argon * 1000:.0f} panic_ms={panic * 1000:.1f} "
        f"duress_extra_ms={extra * 1000:.1f} "
        f"panic_ratio={panic_ratio:.3f} duress_ratio={duress_ratio:.3f} "
        f"target=panic_ratio<={TARGET_PANIC},duress_ratio<={TARGET_DURESS} "
        f"met={'yes' if met else 'no'}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="300 posts, one round")
    args = parser.parse_args(argv)
    if args.quick:
        args.posts, args.rounds = 300, 1
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
