"""The event kinds of secret ballots. See docs/ballot-secrecy.md.

* ``ballot.propose``: a proposal (the same body as ``decision.propose``, every method
  of docs/voting.md) held by secret ballot, naming its n tellers and the k of them
  needed to count.
* ``ballot.deal``: a teller's part of the key ceremony: Feldman commitments to its
  polynomial and one sealed share for each teller.
* ``ballot.ready``: a teller checked every share it was dealt; names the joint key.
* ``ballot.cast``: an anonymous event (one-time author key): a ring signature over
  the electorate (less the members it names in ``without``: those the voter's node
  knew were removed) with its key image, and the ballot encrypted to the joint key.
  The signature covers ``sequence``, which orders one voter's ballots: of the
  ballots under one key image the highest sequence counts, so a copy of an earlier
  ballot re-published later changes nothing.
* ``ballot.close``: fixes which ballots count (those in its past), from deadline +
  grace on, as a ``decision.close`` does.
* ``ballot.decrypt``: a teller's decryption shares of the counted ballots (from
  ``offset``, in key-image order) with one Chaum–Pedersen proof.
* ``ballot.seat`` (a state kind, `shora.domain.ballots.seats`): a secret election's
  winners take the role, once every replica's recount from the event's causal past
  gives exactly them.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from shora.domain.decisions import kinds as dk
from shora.domain.governance import kinds as gk
from shora.kernel.events import Bytes32, register_kind

MAX_TELLERS = 15
MAX_RING = 1000  # a ring signature over 1,000 keys fills 32 KiB of a 40 KiB body
MAX_CIPHERTEXT = 6 * 1024
MAX_SHARES = 1000  # one decryption event covers up to 1,000 ballots
SEALED_SHARE = 32 + 48  # a scalar in a libsodium sealed box
MAX_SEQUENCE = 2**63 - 1

Sealed = Annotated[bytes, msgspec.Meta(min_length=SEALED_SHARE, max_length=SEALED_SHARE)]


class SecretPropose(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    proposal: dk.Propose
    tellers: Annotated[list[Bytes32], msgspec.Meta(min_length=1, max_length=MAX_TELLERS)]
    needed: Annotated[int, msgspec.Meta(ge=1, le=MAX_TELLERS)]  # k: tellers needed to count
    # A secret election: the role its winners take (by a `ballot.seat` after the count).
    action: gk.Election | None = None


class Deal(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    proposal: Bytes32
    commitments: Annotated[list[Bytes32], msgspec.Meta(min_length=1, max_length=MAX_TELLERS)]
    shares: Annotated[list[Sealed], msgspec.Meta(min_length=1, max_length=MAX_TELLERS)]


class Ready(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    proposal: Bytes32
    key: Bytes32  # the joint key this teller found, every share it holds checked


class Cast(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    proposal: Bytes32
    signature: Annotated[bytes, msgspec.Meta(min_length=96, max_length=32 * (MAX_RING + 2))]
    ciphertext: Annotated[bytes, msgspec.Meta(min_length=112, max_length=MAX_CIPHERTEXT)]
    # Signed with the ciphertext: orders this voter's ballots (the highest counts). An
    # honest client sets the ballot's release time in ms (what its claimed time says
    # anyway), raised past its own earlier ballots' if needed.
    sequence: Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQUENCE)]
    # Members of the electorate left out of the ring (removed since the proposal): the
    # ring is the electorate less these. Each costs 32 bytes here and saves 32 in the
    # signature, so the body never grows past a full ring's.
    without: Annotated[list[Bytes32], msgspec.Meta(max_length=MAX_RING)] = []


class Close(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    proposal: Bytes32


class Decrypt(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    proposal: Bytes32
    close: Bytes32
    offset: Annotated[int, msgspec.Meta(ge=0, lt=1_000_000)]
    shares: Annotated[list[Bytes32], msgspec.Meta(min_length=1, max_length=MAX_SHARES)]
    proof: Annotated[bytes, msgspec.Meta(min_length=64, max_length=64)]


class Seat(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The winners of a secret election take its role: valid only if the recount of the
    vote from this event's causal past is final, fixed by `close`, and elects exactly
    `winners` (the candidates' keys, in the count's order)."""

    proposal: Bytes32
    close: Bytes32
    winners: Annotated[list[Bytes32], msgspec.Meta(max_length=dk.MAX_SEATS)]


BALLOT_KINDS: dict[str, type[msgspec.Struct]] = {
    "ballot.deal": Deal,
    "ballot.ready": Ready,
    "ballot.cast": Cast,
    "ballot.close": Close,
    "ballot.decrypt": Decrypt,
}


def register() -> None:
    """Register these kinds with the kernel: shora.node calls it once, from its
    KIND_MODULES; importing this module registers nothing."""
    register_kind("ballot.propose", SecretPropose)
    for kind, schema in BALLOT_KINDS.items():
        register_kind(kind, schema, ref=lambda body: body.proposal, anonymous=kind == "ballot.cast")
