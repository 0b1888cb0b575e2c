"""Secret-ballot benchmark: what one node spends to verify and count a secret ballot of
1,000 members (ring size 1,000), against the same vote by open ballot.

Builds, in one process, with the real cryptography (shora.kernel.ring, .threshold)
and the real reducer (shora.domain.ballots.state.reduce_secret):

  1,000 member keys; 5 tellers of whom 3 are needed, their key ceremony (deal, check
  every share, joint key); S ballots (default 30; --full: one per member), each a ring
  signature over the 1,000 keys and a ballot encrypted to the joint key; the close and
  3 tellers' decryption shares with their proofs.

Then it times, as a node does when it folds the vote from its events:

  secret: reduce_secret over the ballot events with an empty verification cache (every
          ring signature, proof of knowledge and decryption proof checked, every ballot
          decrypted and counted), per ballot;
  open:   the reference measured in the same run: for each of the same number of open
          ballots, the Ed25519 check the kernel makes of a signed event (crypto.verify)
          plus the open reducer (shora.domain.decisions.state.reduce_proposal).

With S < members the secret per-ballot cost is measured on S ballots and scaled to one
ballot per member (the cost of each ballot is the same: one ring of 1,000 keys), and the
output says so. The voter's own cost (signing one ballot) is printed too.

Run:  python benchmarks/ballots.py [--members N] [--ballots S] [--full] [--quick]
--quick: 100 members, 10 ballots. The last line printed is a machine-readable RESULT line.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Set
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shora.domain.ballots import kinds as bk
from shora.domain.ballots.state import (
    Tellers,
    cast_verdict,
    check_cast,
    context,
    encode_ballot,
    message,
    reduce_secret,
    verdict_key,
)
from shora.domain.decisions import kinds as dk
from shora.domain.decisions.state import EventView, reduce_proposal
from shora.kernel import crypto, curve, ring, threshold
from shora.kernel.events import encode_body

T0 = 1_800_000_000
MS = 1000
TARGET_S = 60.0
TELLERS, NEEDED = 5, 3
BODY = dk.Propose(title="Strike on Monday?", text="", method="yes_no", deadline=T0 + 3600)
VOTES = ("yes", "no", "abstain")


def _id(*parts: bytes) -> bytes:
    return hashlib.sha256(b"|".join(parts)).digest()


def run(args: argparse.Namespace) -> int:
    members = 100 if args.quick else args.members
    n_ballots = members if args.full else min(members, 10 if args.quick else args.ballots)
    print(f"members (ring size) {members}, ballots signed and timed {n_ballots}")
    secrets = [curve.random_scalar() for _ in range(members)]
    keys = sorted(curve.base(x) for x in secrets)
    pid = _id(b"proposal")
    ctx = context(pid)

    # the tellers' key ceremony
    dealings = [threshold.deal(NEEDED) for _ in range(TELLERS)]
    commitments = [d.commitments for d in dealings]
    for j in range(1, TELLERS + 1):
        assert all(threshold.check_share(d.commitments, j, d.share_for(j)) for d in dealings)
    joint = threshold.joint_key(commitments)
    teller_keys = [curve.base(x) for x in secrets[-TELLERS:]]  # tellers are members
    teller_secret = {
        j: sum(d.share_for(j) for d in dealings) % curve.L for j in range(1, TELLERS + 1)
    }
    secret = bk.SecretPropose(proposal=BODY, tellers=teller_keys, needed=NEEDED)
    propose = EventView(pid, teller_keys[0], 0, T0 * MS, "ballot.propose", secret)
    events: list[EventView] = []
    clock = 1

    def add(author: bytes, kind: str, body: object, when: int) -> EventView:
        nonlocal clock
        view = EventView(_id(b"%d" % clock), author, clock, when * MS, kind, body)
        clock += 1
        events.append(view)
        return view

    for key, dealing in zip(teller_keys, dealings, strict=True):
        shares = [bytes(bk.SEALED_SHARE)] * TELLERS  # sealed shares are not read here
        add(key, "ballot.deal", bk.Deal(pid, list(dealing.commitments), shares), T0 + 1)
    for key in teller_keys:
        add(key, "ballot.ready", bk.Ready(pid, joint), T0 + 2)

    sign_times = []
    for i in range(n_ballots):
        x = secrets[i]
        vote = dk.YesNoBallot(VOTES[i % 3])  # type: ignore[arg-type]
        start = time.perf_counter()
        image = ring.key_image(x, ctx)
        ct = threshold.encrypt(joint, encode_ballot(vote), ctx, image).encode()
        sig = ring.sign(message(pid, ct, 1), keys, x, ctx)
        sign_times.append(time.perf_counter() - start)
        cast = bk.Cast(pid, sig.encode(), ct, 1)
        assert len(encode_body(cast)) <= 40 * 1024
        add(crypto.sign_keypair()[0], "ballot.cast", cast, T0 + 10 + i)
        if (i + 1) % 50 == 0:
            print(f"  {i + 1} ballots signed")
    close = add(teller_keys[0], "ballot.close", bk.Close(pid), T0 + 7200)

    def ancestors(eid: bytes) -> Set[bytes]:
        return {e.id for e in events if e.clock < close.clock}

    elected = Tellers(tuple(teller_keys), NEEDED)
    pre = reduce_secret(propose, BODY, frozenset(keys), events, ancestors, elected)
    a_s = [b.ciphertext.a for b in pre.ballots]
    for j in range(1, NEEDED + 1):
        d_s, proof = threshold.decryption_shares(teller_secret[j], a_s, ctx)
        body = bk.Decrypt(pid, close.id, 0, d_s, proof.encode())
        add(teller_keys[j - 1], "ballot.decrypt", body, T0 + 7300)

    start = time.perf_counter()
    state = reduce_secret(propose, BODY, frozenset(keys), events, ancestors, elected, {})
    secret_s = time.perf_counter() - start
    assert state.final and len(state.ballots) == n_ballots and not state.refused
    per_ballot = secret_s / n_ballots
    secret_total = per_ballot * members

    # As a node does it (services.ballots): the ring signatures checked on a thread per
    # core, then the count with every verdict known; and a later read, verdicts kept.
    casts = [e for e in events if e.kind == "ballot.cast"]
    threads = os.cpu_count() or 1
    start, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        found = list(pool.map(lambda e: check_cast(pid, e.body, keys)[0], casts))
    cpu_parallel = time.process_time() - cpu
    ring_keys = sorted(keys)  # no member left out: verdicts are filed under event and ring
    cache: dict[bytes, Any] = {
        verdict_key(e.id, ring_keys): cast_verdict(e.body, reason)
        for e, reason in zip(casts, found, strict=True)
    }
    again = reduce_secret(propose, BODY, frozenset(keys), events, ancestors, elected, cache)
    parallel_s = time.perf_counter() - start
    assert again == state
    cpu_over_wall = cpu_parallel / parallel_s if parallel_s else 0.0
    start = time.perf_counter()
    kept = {verdict_key(e.id, ring_keys): cast_verdict(e.body, None) for e in casts}
    reduce_secret(propose, BODY, frozenset(keys), events, ancestors, elected, kept)
    repeat_s = time.perf_counter() - start
    parallel_total = parallel_s / n_ballots * members

    # the open reference: the same votes signed by their members, checked and counted
    open_events = []
    signed = []
    for i in range(n_ballots):
        pk, sk = crypto.sign_keypair()
        body_bytes = encode_body(dk.Vote(pid, dk.YesNoBallot(VOTES[i % 3])))  # type: ignore[arg-type]
        signed.append((pk, body_bytes, crypto.sign(sk, body_bytes)))
        open_events.append(
            EventView(
                _id(b"o%d" % i),
                pk,
                i + 1,
                (T0 + 10) * MS,
                "decision.vote",
                dk.Vote(pid, dk.YesNoBallot(VOTES[i % 3])),
            )  # type: ignore[arg-type]
        )
    open_propose = EventView(pid, keys[0], 0, T0 * MS, "decision.propose", BODY)
    start = time.perf_counter()
    for pk, body_bytes, sig_bytes in signed:
        crypto.verify(pk, body_bytes, sig_bytes)
    eligible = frozenset(pk for pk, _b, _s in signed)
    open_state = reduce_proposal(open_propose, eligible, open_events, lambda _e: set())
    open_s = time.perf_counter() - start
    assert open_state.result is not None
    open_total = open_s / n_ballots * members

    sign_avg = sum(sign_times) / len(sign_times)
    scaled = "" if n_ballots == members else f" (measured on {n_ballots}, scaled to {members})"
    print(f"voter: one ballot signed and encrypted in {sign_avg * 1000:.0f} ms")
    print(
        f"secret: {per_ballot * 1000:.1f} ms per ballot, {secret_total:.1f} s for {members}{scaled}"
    )
    print(
        f"open:   {open_s / n_ballots * 1000:.3f} ms per ballot, {open_total:.2f} s for {members}"
    )
    print(
        f"secret on {threads} threads: {parallel_s / n_ballots * 1000:.1f} ms per ballot, "
        f"{parallel_total:.1f} s for {members}{scaled} (CPU time / wall time "
        f"{cpu_over_wall:.2f}: how many cores the checks really used)"
    )
    print(
        f"secret, CPU time: {cpu_parallel / n_ballots * 1000:.1f} ms per ballot, "
        f"{cpu_parallel / n_ballots * members:.1f} s for {members}: on {threads} idle cores "
        f"about {cpu_parallel / n_ballots * members / threads:.0f} s"
    )
    print(
        f"secret, verdicts kept (every later read on this device): "
        f"{repeat_s / n_ballots * 1000:.2f} ms per ballot"
    )
    ratio = parallel_total / open_total if open_total else float("inf")
    met = parallel_total <= TARGET_S
    print(
        f"RESULT members={members} ring={members} ballots_timed={n_ballots} "
        f"secret_per_ballot_ms={per_ballot * 1000:.1f} secret_total_s={secret_total:.1f} "
        f"threads={threads} parallel_per_ballot_ms={parallel_s / n_ballots * 1000:.1f} "
        f"parallel_total_s={parallel_total:.1f} cpu_over_wall={cpu_over_wall:.2f} "
        f"cpu_per_ballot_ms={cpu_parallel / n_ballots * 1000:.1f} "
        f"cpu_total_s={cpu_parallel / n_ballots * members:.1f} "
        f"kept_per_ballot_ms={repeat_s / n_ballots * 1000:.2f} "
        f"open_per_ballot_ms={open_s / n_ballots * 1000:.3f} open_total_s={open_total:.2f} "
        f"ratio={ratio:.0f} sign_ms={sign_avg * 1000:.0f} "
        f"target=parallel_total_s<={TARGET_S:.0f} met={'yes' if met else 'no'}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--ballots", type=int, default=30, help="ballots signed and timed")
    parser.add_argument("--full", action="store_true", help="one ballot per member")
    parser.add_argument("--quick", action="store_true", help="100 members, 10 ballots")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
