"""Test vectors for secret ballots (docs/ballot-secrecy.md): fixed seeds, fixed outputs.

`python tests/vectors/generate_ballots.py` rewrites ballots-v1.json; `--check` says
whether it is up to date. tests/kernel/test_ballot_crypto.py checks that regeneration
gives the file byte for byte and that the independent verifier accepts every vector.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import nacl.bindings as sodium

from shora.domain.ballots.state import message as ballot_message
from shora.kernel import curve, ring, threshold

HERE = Path(__file__).parent
OUT = HERE / "ballots-v1.json"


def seeded(seed: bytes) -> Callable[[int], bytes]:
    """A deterministic byte stream (BLAKE2b in counter mode) standing in for os.urandom."""
    counter = [0]

    def rng(n: int) -> bytes:
        out = b""
        while len(out) < n:
            out += hashlib.blake2b(seed + counter[0].to_bytes(8, "little")).digest()
            counter[0] += 1
        return out[:n]

    return rng


def member(i: int) -> tuple[bytes, bytes]:
    pk, sk = sodium.crypto_sign_seed_keypair(hashlib.sha256(b"member %d" % i).digest())
    return bytes(pk), bytes(sk)


def build() -> dict[str, object]:
    members = [member(i) for i in range(5)]
    ring_keys = sorted(pk for pk, _sk in members)
    context = b"shora/ballot/v1" + bytes(range(32))
    lsag = []
    for who, message in ((0, b"yes"), (3, b"no"), (0, b"abstain")):
        pk, sk = members[who]
        x = curve.ed25519_scalar(sk)
        sig = ring.sign(message, ring_keys, x, context, rng=seeded(b"lsag %d " % who + message))
        lsag.append(
            {
                "signer_seed_index": who,
                "signer": pk.hex(),
                "secret_scalar": curve.scalar(x).hex(),
                "message": message.hex(),
                "signature": sig.encode().hex(),
                "key_image": sig.image.hex(),
            }
        )
    k, n = 2, 3
    dealings = [threshold.deal(k, rng=seeded(b"teller %d" % i)) for i in range(1, n + 1)]
    commitments = [list(d.commitments) for d in dealings]
    joint = threshold.joint_key(commitments)
    secrets = {j: sum(d.share_for(j) for d in dealings) % curve.L for j in range(1, n + 1)}
    plaintexts = [b"yes", b"no", b"abstain"]
    binds = [bytes.fromhex(str(v["key_image"])) for v in lsag]
    cts = [
        threshold.encrypt(joint, p, context, b, rng=seeded(b"ballot %d" % i))
        for i, (p, b) in enumerate(zip(plaintexts, binds, strict=True))
    ]
    # Each ciphertext cast as a ballot: the ring signature over message(proposal,
    # ciphertext, sequence). Signer 0 casts twice and the ballot listed last has the
    # lower sequence, so the first counts: the signed sequence orders one voter's
    # ballots, not the order they are seen in.
    proposal = context[len(b"shora/ballot/v1") :]
    sequences = (1_800_000_002_000, 1_800_000_001_000, 1_800_000_000_000)
    casts = []
    best: dict[bytes, tuple[int, bytes, int]] = {}
    for i, (ct, sequence) in enumerate(zip(cts, sequences, strict=True)):
        who = int(str(lsag[i]["signer_seed_index"]))
        x = curve.ed25519_scalar(members[who][1])
        msg = ballot_message(proposal, ct.encode(), sequence)
        sig = ring.sign(msg, ring_keys, x, context, rng=seeded(b"cast %d" % i))
        casts.append(
            {
                "ciphertext_index": i,
                "sequence": sequence,
                "message": msg.hex(),
                "signature": sig.encode().hex(),
            }
        )
        held = best.get(sig.image)
        if held is None or (sequence, held[1]) > (held[0], ct.encode()):
            best[sig.image] = (sequence, ct.encode(), i)
    a_s = [c.a for c in cts]
    tellers = []
    for j in (1, 3):
        d_s, proof = threshold.decryption_shares(
            secrets[j], a_s, context, rng=seeded(b"dec %d" % j)
        )
        tellers.append(
            {
                "number": j,
                "public_share": threshold.public_share(commitments, j).hex(),
                "shares": [d.hex() for d in d_s],
                "proof": proof.encode().hex(),
            }
        )
    return {
        "description": "LSAG over ed25519 and threshold ElGamal; see docs/ballot-secrecy.md",
        "context": context.hex(),
        "ring": [pk.hex() for pk in ring_keys],
        "image_base": ring.image_base(context).hex(),
        "lsag": lsag,
        "proposal": proposal.hex(),
        "casts": casts,
        "counted": {image.hex(): i for image, (_s, _c, i) in sorted(best.items())},
        "threshold": {
            "k": k,
            "n": n,
            "commitments": [[c.hex() for c in cs] for cs in commitments],
            "shares_dealt": [
                [curve.scalar(d.share_for(j)).hex() for j in range(1, n + 1)] for d in dealings
            ],
            "joint_key": joint.hex(),
            "ciphertexts": [c.encode().hex() for c in cts],
            "binds": [b.hex() for b in binds],
            "plaintexts": [p.hex() for p in plaintexts],
            "tellers": tellers,
        },
    }


def render() -> str:
    return json.dumps(build(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        sys.exit(0 if OUT.read_text() == text else 1)
    OUT.write_text(text)
