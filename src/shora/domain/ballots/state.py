"""The state of a secret ballot: a pure function of its events. See
docs/ballot-secrecy.md.

No I/O, no clock. Fed the proposal (its body already held to the council's floors),
the electorate (the active members in the proposal's causal state: the ring), the
ballot events, and a function giving an event's ancestors. Every replica holding the
same events computes the same state.

* The key: each named teller's first well-formed ``ballot.deal`` (by (clock, id));
  ready once every teller has dealt and every teller has said ``ballot.ready`` for
  the same joint key (n of n to set up, as ElectionGuard's ceremony; k of n to count).
* A ballot counts if it was claimed by the deadline, its ring signature verifies over
  its ring (the electorate less the members it names in ``without``), for this
  proposal's context, and its ciphertext carries a valid proof bound to its key image.
  Of the ballots with one key image, the one with the highest signed ``sequence``
  counts (a re-vote): only the signer sets it, so a copy of an earlier ballot,
  re-published by anyone at any clock, never undoes a later one. Two ballots of one
  key image at one sequence with different ciphertexts (only the signer can make
  them): the lesser ciphertext (bytes) counts, a rule of their content alone, which
  no re-publication moves. A ciphertext copied from another key image's ballot is
  refused.
* Removal after the proposal (strong removal for an author nobody can name): for
  every member of the electorate removed (or whose place passed to a new key) by an
  ending claimed by the deadline and in the close's causal past, a ballot that is
  not in that ending's causal past counts only if its ring leaves the member out.
  Otherwise it could be the removed member's, signed after the removal; it is
  refused ("removed") and its voter, if a member, is asked to cast it again (the
  key image is the same and the sequence higher, so the new ballot replaces it). A
  ballot the ending's author had already seen counts, as an open ballot cast before
  a removal does.
  Before the close, the endings known so far give the same verdicts.
* The first ``ballot.close`` claimed at or after deadline + grace fixes the ballots
  (its ancestors). Nothing is decrypted before it. Then each teller's
  ``ballot.decrypt`` events give shares of the counted ballots in key-image order; a
  share whose proof fails is named and ignored. A ballot is read once k tellers'
  shares cover it; the result exists once every counted ballot is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping, Set
from dataclasses import dataclass
from typing import Any

import msgspec

from shora.domain.anonymous import Ending as Ending
from shora.domain.anonymous import known, ring_less, voided, voiding
from shora.domain.ballots import kinds as bk
from shora.domain.decisions import kinds as dk
from shora.domain.decisions import tally
from shora.domain.decisions.checks import ballot_rule_problem
from shora.domain.decisions.state import (
    EventView,
    Params,
    check_ballot,
    check_params,
    count,
    effective,
)
from shora.domain.decisions.state import ballot_input as ballot_input
from shora.domain.governance import kinds as gk
from shora.domain.governance.rules import RON, action_problem
from shora.errors import InvalidInput
from shora.i18n import N_, _
from shora.kernel import curve, ring, threshold
from shora.kernel.curve import CurveError
from shora.kernel.membership import CouncilState

MS = 1000
CONTEXT_PREFIX = b"shora/ballot/v1"
MESSAGE_TAG = b"shora/ballot/msg"
VERDICT_TAG = b"shora/ballot/vrd"
PAD_SIZES = (256, 1024, 4096, bk.MAX_CIPHERTEXT - 200)
TELLER_ROLE = "teller"

# Why a ballot event does not count (shown to members; N_ so pages translate them).
REASONS: dict[str, str] = {
    "late": N_("cast after the deadline"),
    "malformed": N_("not a well-formed ballot"),
    "not_in_electorate": N_(
        "its ring signature does not verify over this vote's electorate "
        "(not cast by a member who may vote, altered, or made for another proposal)"
    ),
    "removed": N_(
        "cast before a member was removed, over a ring that still holds them: it must be cast again"
    ),
    "bad_proof": N_("its encryption proof does not verify"),
    "copied": N_("its encrypted ballot copies another ballot's"),
    "unreadable": N_("it did not decrypt to a valid ballot"),
}


def context(proposal: bytes) -> bytes:
    """What every signature and proof of this vote is bound to."""
    return CONTEXT_PREFIX + proposal


def message(proposal: bytes, ciphertext: bytes, sequence: int) -> bytes:
    """What a ballot's ring signature signs: the proposal, the ciphertext and the
    voter's sequence (8 bytes, big-endian), so only the signer orders their ballots."""
    seq = sequence.to_bytes(8, "big")
    return curve.hash_bytes(MESSAGE_TAG, proposal, ciphertext, seq, size=32)


def pad(plain: bytes) -> bytes:
    """Length-prefixed and padded to the next of a few sizes, so a ballot's length
    says little about its content."""
    for size in PAD_SIZES:
        if len(plain) + 2 <= size:
            return len(plain).to_bytes(2, "big") + plain + bytes(size - 2 - len(plain))
    raise InvalidInput(_("this ballot is too long to be cast in secret"))


def unpad(padded: bytes) -> bytes | None:
    if len(padded) < 2 or len(padded) not in PAD_SIZES:
        return None
    n = int.from_bytes(padded[:2], "big")
    if 2 + n > len(padded) or any(padded[2 + n :]):
        return None
    return padded[2 : 2 + n]


_ballot_decoder = msgspec.msgpack.Decoder(dk.Ballot)


def encode_ballot(ballot: dk.Ballot) -> bytes:
    return pad(msgspec.msgpack.encode(ballot))


def decode_ballot(padded: bytes) -> dk.Ballot | None:
    plain = unpad(padded)
    if plain is None:
        return None
    try:
        found: dk.Ballot = _ballot_decoder.decode(plain)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return found


@dataclass(frozen=True, slots=True)
class SecretBallot:
    """A ballot that counts: who cast it is unknown, its key image recognises re-votes."""

    image: bytes
    event: bytes
    ciphertext: threshold.Ciphertext
    sequence: int = 0  # its signed place among its voter's ballots


@dataclass(frozen=True, slots=True)
class BadShares:
    teller: bytes
    event: bytes


@dataclass(frozen=True, slots=True)
class SecretState:
    id: bytes
    author: bytes
    time: int  # ms, claimed
    body: dk.Propose
    tellers: tuple[bytes, ...]
    needed: int
    eligible: frozenset[bytes]
    dealt: tuple[bytes, ...]  # tellers whose dealing counts
    ready: tuple[bytes, ...]  # tellers who checked their shares against the joint key
    key: bytes | None  # the joint key, once every teller dealt and said ready
    ballots: tuple[SecretBallot, ...]  # the ballots that count, by key image
    replaced: int  # earlier ballots under a key image that voted again
    removed: frozenset[bytes]  # members of the electorate whose removal voids older rings
    # key images whose highest-sequence ballot was refused as "removed" (an earlier
    # one may count)
    recast: frozenset[bytes]
    # each key image's highest sequence among its ballots whose proofs verify (counted
    # or refused as "removed"): a new ballot must go past it
    sequences: tuple[tuple[bytes, int], ...]
    refused: tuple[tuple[str, int], ...]  # (reason code, how many)
    closed_by: bytes | None
    decrypted_by: tuple[bytes, ...]  # tellers whose shares (all verified) cover every ballot
    bad_shares: tuple[BadShares, ...]  # decryption events whose proof failed
    opened: tuple[tuple[bytes, dk.Ballot | None], ...]  # (key image, ballot) once read
    problem: str | None
    quorum: tally.QuorumResult | None
    result: Any
    passed: bool | None
    winners: tuple[str, ...]
    action: gk.Election | None = None  # a secret election: the role its winners take

    @property
    def final(self) -> bool:
        """The result is known: closed, and every counted ballot read."""
        return self.result is not None

    @property
    def closes_at(self) -> int:
        return self.body.deadline + self.body.grace

    def counted(self, image: bytes) -> bool:
        return any(b.image == image for b in self.ballots)

    def sequence_of(self, image: bytes) -> int | None:
        """The highest sequence of a verified ballot under this key image (None: none)."""
        return dict(self.sequences).get(image)


def phase(state: SecretState, now: float) -> str:
    """setup (tellers have not all dealt and checked), open, grace, closable,
    counting (closed, waiting for k tellers), or counted."""
    if state.final:
        return "counted"
    if state.closed_by is not None:
        return "counting"
    if now >= state.closes_at:
        return "closable"
    if now > state.body.deadline:
        return "grace"
    return "open" if state.key is not None else "setup"


@dataclass(frozen=True, slots=True)
class Tellers:
    """Who counts a secret ballot: the members holding the elected role "teller" when
    it is proposed (sorted by key), and k of them needed, from the council's rule."""

    keys: tuple[bytes, ...]
    needed: int


def needed_of(n: int, share: str) -> int:
    """k of n: the rule's share of n, rounded up, at least 1 (0 with no tellers)."""
    num, den = (int(x) for x in share.split("/"))
    return min(n, max(1, -(-n * num // den))) if n else 0


def elected_tellers(state: CouncilState, at_ms: int) -> Tellers:
    """The tellers a secret ballot proposed at `at_ms` in `state` must name."""
    keys = tuple(sorted(state.role_holders(TELLER_ROLE, at_ms)))
    return Tellers(keys, needed_of(len(keys), state.rules.teller_threshold))


def _problem(secret: bk.SecretPropose, eligible: Set[bytes], elected: Tellers) -> str | None:
    tellers = secret.tellers
    if not elected.keys:
        return _("the council had no elected tellers when this vote was proposed")
    if tuple(tellers) != elected.keys or secret.needed != elected.needed:
        return _(
            "its tellers are not the council's elected tellers, or not the number of them "
            "the rules need to count"
        )
    if len(set(tellers)) != len(tellers):
        return _("a teller is named twice")
    if not 1 <= secret.needed <= len(tellers):
        return _("the tellers needed must be between 1 and the number of tellers")
    if any(t not in eligible for t in tellers):
        return _("every teller must be a member when the vote is proposed")
    if len(eligible) > bk.MAX_RING:
        return _("a secret ballot holds at most {n} members").format(n=bk.MAX_RING)
    return None


def counted_deals(secret: bk.SecretPropose, events: Iterable[EventView]) -> dict[bytes, bk.Deal]:
    """Each teller's dealing that counts: its first well-formed one by (clock, id)."""
    n, k = len(secret.tellers), secret.needed
    deals: dict[bytes, bk.Deal] = {}
    for e in sorted(events, key=lambda e: e.order):
        if e.kind != "ballot.deal" or e.author not in secret.tellers or e.author in deals:
            continue
        body: bk.Deal = e.body
        if len(body.shares) == n and threshold.valid_commitments(body.commitments, k):
            deals[e.author] = body
    return deals


def _key(
    secret: bk.SecretPropose, ordered: list[EventView]
) -> tuple[dict[bytes, bk.Deal], set[bytes], bytes | None]:
    n = len(secret.tellers)
    deals = counted_deals(secret, ordered)
    if len(deals) != n:
        return deals, set(), None
    try:
        joint = threshold.joint_key([deals[t].commitments for t in secret.tellers])
    except CurveError:
        return deals, set(), None
    if not curve.valid_point(joint):  # the identity: no key (tellers colluding in full)
        return deals, set(), None
    ready = {
        e.author
        for e in ordered
        if e.kind == "ballot.ready" and e.author in deals and e.body.key == joint
    }
    return deals, ready, joint if len(ready) == n else None


Verdict = tuple[str | None, bytes, threshold.Ciphertext | None]


def ring_of(electorate: Set[bytes], body: bk.Cast) -> list[bytes] | None:
    """The ring a ballot signs over (`anonymous.ring_less`)."""
    return ring_less(electorate, body.without)


def verdict_key(event: bytes, ring_keys: list[bytes], digest: bytes | None = None) -> bytes:
    """What a kept verdict is filed under: the event and the ring it was checked
    against (`digest`, its `ring.ring_digest`, if already known), so that a verdict
    over one ring is never read back for another."""
    found = digest if digest is not None else ring.ring_digest(ring_keys)
    return curve.hash_bytes(VERDICT_TAG, event, found, size=32)


Rings = dict[tuple[bytes, ...], tuple[list[bytes], bytes] | None]


def _ring_and_digest(
    electorate: Set[bytes], body: bk.Cast, rings: Rings
) -> tuple[list[bytes], bytes] | None:
    """`ring_of` and its digest, once per distinct `without` (most ballots share one)."""
    left_out = tuple(body.without)
    if left_out not in rings:
        keys = ring_of(electorate, body)
        rings[left_out] = None if keys is None else (keys, ring.ring_digest(keys))
    return rings[left_out]


def cast_verdict(body: bk.Cast, reason: str | None) -> Verdict:
    """A ballot's verdict from the reason its proofs were found to fail (None: they
    verify), as `check_cast` gives it, without checking them again."""
    try:
        sig = ring.Signature.decode(body.signature)
        ct = threshold.Ciphertext.decode(body.ciphertext)
    except ValueError:
        return "malformed", b"", None
    return (reason, sig.image, None) if reason is not None else (None, sig.image, ct)


def check_cast(proposal: bytes, body: bk.Cast, ring_keys: list[bytes]) -> Verdict:
    """(reason it does not count or None, key image, ciphertext)."""
    try:
        sig = ring.Signature.decode(body.signature)
        ct = threshold.Ciphertext.decode(body.ciphertext)
    except ValueError:
        return "malformed", b"", None
    ctx = context(proposal)
    if not ring.verify(message(proposal, body.ciphertext, body.sequence), ring_keys, sig, ctx):
        return "not_in_electorate", sig.image, None
    if not threshold.check_ciphertext(ct, ctx, sig.image):
        return "bad_proof", sig.image, None
    return None, sig.image, ct


def verdict_of(
    proposal: bytes,
    e: EventView,
    electorate: Set[bytes],
    cache: MutableMapping[bytes, Any],
    rings: Rings | None = None,
) -> Verdict:
    """A ballot's verdict over its own ring, kept in `cache` under `verdict_key`."""
    known = _ring_and_digest(electorate, e.body, {} if rings is None else rings)
    if known is None:
        return cast_verdict(e.body, "malformed")
    keys, digest = known
    found = verdict_key(e.id, keys, digest)
    if found not in cache:
        cache[found] = check_cast(proposal, e.body, keys)
    verdict: Verdict = cache[found]
    return verdict


def _choose(
    counting: Mapping[bytes, list[tuple[int, bytes, bytes, threshold.Ciphertext]]],
) -> tuple[dict[bytes, SecretBallot], int]:
    """Per key image, the ballot that counts: the highest signed sequence; at one
    sequence, the lesser ciphertext (only the signer can sign two at one sequence; a
    rule of content, so re-publishing either at any clock moves nothing); of identical
    copies, the first by (clock, id) (the same vote whichever). And how many earlier
    sequences re-votes replaced."""
    chosen: dict[bytes, SecretBallot] = {}
    replaced = 0
    for image, found in counting.items():
        best = max(seq for seq, _ct, _e, _c in found)
        seq, _raw, event, ct = min((f for f in found if f[0] == best), key=lambda f: f[1])
        chosen[image] = SecretBallot(image, event, ct, seq)
        replaced += len({f[0] for f in found}) - 1
    return chosen, replaced


def reduce_secret(
    propose: EventView,
    body: dk.Propose,
    eligible: Set[bytes],
    events: Iterable[EventView],
    ancestors: Callable[[bytes], Set[bytes]],
    elected: Tellers,
    cache: MutableMapping[bytes, Any] | None = None,
    rule_problem: str | None = None,
    endings: Callable[[bytes | None], Iterable[Ending]] | None = None,
) -> SecretState:
    """The state of one secret ballot. `body` is the proposal held to the council's
    floors; `elected` the tellers its causal state elected (it must name exactly
    them, and the k the rules need); `cache` (`verdict_key` -> verdict, or a share
    event's id -> bool) may carry verifications between calls: a verdict depends only
    on the event, its ring and this proposal, never on what came later; `rule_problem`
    why the council's rules refuse a secret ballot there (rule `secret_ballots`), or
    None; `endings` the memberships ended in the causal state of an event (the close),
    or, given None, in everything known (before the close)."""
    cache = {} if cache is None else cache
    secret: bk.SecretPropose = propose.body
    unique: Mapping[bytes, EventView] = {
        e.id: e for e in events if getattr(e.body, "proposal", None) == propose.id
    }
    ordered = sorted(unique.values(), key=lambda e: e.order)
    problem = rule_problem or _problem(secret, eligible, elected)
    params: Params | None = None
    if problem is None:
        try:
            params = check_params(body)
        except InvalidInput as exc:
            problem = str(exc)
    deals, ready, key = _key(secret, ordered) if problem is None else ({}, set(), None)

    closes_at_ms = (body.deadline + body.grace) * MS
    close = next((e for e in ordered if e.kind == "ballot.close" and e.time >= closes_at_ms), None)
    scope: Set[bytes] | None = ancestors(close.id) if close is not None else None

    refused: dict[str, int] = {}
    # key image -> its ballots that may count, in (clock, id) order
    counting: dict[bytes, list[tuple[int, bytes, bytes, threshold.Ciphertext]]] = {}
    top: dict[bytes, int] = {}  # key image -> highest sequence whose proofs verify
    refused_top: dict[bytes, int] = {}  # key image -> highest sequence refused as "removed"
    seen_a: dict[bytes, bytes] = {}
    electorate = frozenset(eligible)
    ended = voiding(
        endings(close.id if close is not None else None) if endings is not None else (),
        electorate,
        body.deadline * MS,
    )
    knew = known(ended, ancestors)
    rings: Rings = {}
    for e in ordered:
        if e.kind != "ballot.cast" or (scope is not None and e.id not in scope):
            continue
        if e.time > body.deadline * MS:
            refused["late"] = refused.get("late", 0) + 1
            continue
        reason, image, ct = verdict_of(propose.id, e, electorate, cache, rings)
        if reason is None and voided(e.id, e.body.without, knew):
            reason = "removed"
        cast: bk.Cast = e.body
        if reason in (None, "removed"):
            top[image] = max(top.get(image, -1), cast.sequence)
            if reason == "removed":
                refused_top[image] = max(refused_top.get(image, -1), cast.sequence)
        if reason is None and ct is not None and seen_a.get(ct.a, image) != image:
            reason = "copied"
        if reason is not None or ct is None:
            refused[reason or "malformed"] = refused.get(reason or "malformed", 0) + 1
            continue
        seen_a[ct.a] = image
        counting.setdefault(image, []).append((cast.sequence, cast.ciphertext, e.id, ct))
    counts, replaced = _choose(counting)
    ballots = tuple(counts[i] for i in sorted(counts))
    recast = frozenset(
        i for i, seq in refused_top.items() if i not in counts or seq > counts[i].sequence
    )

    decrypted_by: list[bytes] = []
    bad: list[BadShares] = []
    opened: list[tuple[bytes, dk.Ballot | None]] = []
    result: Any = None
    passed: bool | None = None
    winners: tuple[str, ...] = ()
    quorum: tally.QuorumResult | None = None
    if close is not None and key is not None and params is not None:
        numbers = {t: j for j, t in enumerate(secret.tellers, start=1)}
        commitments = [deals[t].commitments for t in secret.tellers]
        a_s = [b.ciphertext.a for b in ballots]
        got: dict[bytes, dict[int, bytes]] = {}  # teller -> {ballot index: share}
        for e in ordered:
            if e.kind != "ballot.decrypt" or e.author not in numbers or e.body.close != close.id:
                continue
            d: bk.Decrypt = e.body
            end = d.offset + len(d.shares)
            if end > len(ballots):
                bad.append(BadShares(e.author, e.id))
                continue
            if e.id not in cache:
                y_j = threshold.public_share(commitments, numbers[e.author])
                cache[e.id] = threshold.check_shares(
                    y_j,
                    a_s[d.offset : end],
                    d.shares,
                    threshold.SharesProof.decode(d.proof),
                    context(propose.id),
                )
            if not cache[e.id]:
                bad.append(BadShares(e.author, e.id))
                continue
            mine = got.setdefault(e.author, {})
            for i, share in enumerate(d.shares):
                mine.setdefault(d.offset + i, share)
        full = [t for t in secret.tellers if len(got.get(t, {})) == len(ballots)]
        decrypted_by = full
        if len(full) >= secret.needed:
            chosen = full[: secret.needed]
            for i, b in enumerate(ballots):
                shared = threshold.combine({numbers[t]: got[t][i] for t in chosen})
                plain = threshold.open_box(shared, b.ciphertext, context(propose.id))
                found = decode_ballot(plain) if plain is not None else None
                if found is not None:
                    try:
                        check_ballot(body, params, found)
                    except InvalidInput:
                        found = None
                opened.append((b.image, found))
            valid = [ballot for _image, ballot in opened if ballot is not None]
            unreadable = len(opened) - len(valid)
            if unreadable:
                refused["unreadable"] = unreadable
            quorum = tally.check_quorum(len(valid), len(eligible), params.quorum)
            inputs = [ballot_input(ballot) for ballot in valid]
            result, passed, winners = count(body, params, inputs, len(eligible))
            if not quorum.met:
                winners = ()
    return SecretState(
        id=propose.id,
        author=propose.author,
        time=propose.time,
        body=body,
        tellers=tuple(secret.tellers),
        needed=secret.needed,
        eligible=electorate,
        dealt=tuple(t for t in secret.tellers if t in deals),
        ready=tuple(t for t in secret.tellers if t in ready),
        key=key,
        ballots=ballots,
        replaced=replaced,
        removed=frozenset(end.member for end in ended),
        recast=recast,
        sequences=tuple(sorted(top.items())),
        refused=tuple(sorted(refused.items())),
        closed_by=close.id if close is not None else None,
        decrypted_by=tuple(decrypted_by),
        bad_shares=tuple(bad),
        opened=tuple(opened),
        problem=problem,
        quorum=quorum,
        result=result,
        passed=passed,
        winners=winners,
        action=secret.action,
    )


def purpose(secret: bk.SecretPropose) -> str | None:
    """The governance purpose a secret ballot is held to: "election" for an election."""
    return None if secret.action is None else gk.purpose(secret.action)


def reduce_in_state(
    propose: EventView,
    causal: CouncilState,
    events: Iterable[EventView],
    ancestors: Callable[[bytes], Set[bytes]],
    cache: MutableMapping[bytes, Any] | None = None,
    endings: Callable[[bytes | None], Iterable[Ending]] | None = None,
) -> SecretState:
    """The state of one secret ballot from its proposal's causal state (`causal`: the
    rules, the electorate, the elected tellers there), as every node computes it, and as
    the fold recounts a secret election before seating its winners (`seats.py`);
    `cache` and `endings` as `reduce_secret` takes them."""
    secret: bk.SecretPropose = propose.body
    body = effective(secret.proposal, causal.rules, purpose(secret), propose.time)
    problem = ballot_rule_problem(causal.rules, secret=True)
    if problem is None and secret.action is not None:
        problem = action_problem(secret.action, secret.proposal, causal, propose.time)
    return reduce_secret(
        propose,
        body,
        frozenset(causal.active_members()),
        events,
        ancestors,
        elected_tellers(causal, propose.time),
        cache,
        problem,
        endings,
    )


def elected_keys(state: SecretState) -> tuple[bytes, ...] | None:
    """The members a counted secret election elects (its winners but "re-open
    nominations"), or None if it is no election or is not counted."""
    if state.action is None or not state.final:
        return None
    return tuple(bytes.fromhex(w) for w in state.winners if w != RON)
