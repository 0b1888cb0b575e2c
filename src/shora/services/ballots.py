"""Secret ballots on a node: proposing one, the tellers' key ceremony, casting a
ballot nobody can trace, closing, the tellers' decryption shares, and the count every
node makes from the events alone. See docs/ballot-secrecy.md.

The interfaces read the domain's types from here (re-exported below).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from shora.domain.ballots import kinds as bk
from shora.domain.ballots.seats import SEAT_KIND, SEATED
from shora.domain.ballots.state import REASONS as REASONS
from shora.domain.ballots.state import TELLER_ROLE as TELLER_ROLE
from shora.domain.ballots.state import Ending as Ending
from shora.domain.ballots.state import SecretState as SecretState
from shora.domain.ballots.state import Tellers as Tellers
from shora.domain.ballots.state import (
    cast_verdict,
    check_cast,
    context,
    counted_deals,
    elected_keys,
    elected_tellers,
    encode_ballot,
    message,
    purpose,
    reduce_in_state,
    ring_of,
    verdict_key,
)
from shora.domain.ballots.state import needed_of as needed_of
from shora.domain.ballots.state import phase as phase
from shora.domain.decisions import kinds as dk
from shora.domain.decisions.checks import (
    MIN_ID_PREFIX,
    ballot_rule_problem,
    check_new_proposal,
    explain_ballot,
    require_min_period,
)
from shora.domain.decisions.state import EventView, effective
from shora.domain.governance import kinds as gk
from shora.domain.governance.rules import action_problem
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _, format_time
from shora.kernel import crypto, curve, ring, threshold
from shora.kernel.core import NodeCore
from shora.services.anonymous import (
    active_member,
    active_member_or_none,
    endings,
    left_out,
    publish_delay,
    ring_secret,
)
from shora.services.decisions import view_of
from shora.services.verdicts import checked_once

PROPOSE_KIND = "ballot.propose"


@dataclass(frozen=True, slots=True)
class MyBallot:
    """What a member can check of their own ballot: its key image (only they can
    compute it), whether a ballot under it counts, and what it read once counted."""

    image: bytes
    counted: bool
    read: dk.Ballot | None
    # Their latest ballot (the highest sequence) was refused because its ring still
    # holds a member removed since (an earlier one may count): it must be cast again
    # (the choice is not kept on the device to do it silently: a seized phone must not
    # say how its owner voted).
    recast: bool = False


class SecretBallots:
    """Votes held by secret ballot, counted by k of n tellers."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core
        self._cache: dict[bytes, dict[bytes, Any]] = {}  # proposal -> event -> verdict
        self._counted: set[bytes] = set()  # votes with nothing left for this teller

    # --- reading --------------------------------------------------------------------

    def _propose_view(self, council: bytes, proposal: bytes) -> EventView:
        found = self.core.store.events.valid_event(council, (PROPOSE_KIND,), proposal)
        if found is None:
            raise NotFound(_("no such secret ballot in this council"))
        return view_of(found)

    def _reduce(self, council: bytes, propose: EventView) -> SecretState:
        causal = self.core.causal_state(council, propose.id)
        secret: bk.SecretPropose = propose.body
        body = effective(secret.proposal, causal.rules, purpose(secret), propose.time)
        rows = self.core.store.events.valid_on(council, tuple(bk.BALLOT_KINDS), propose.id)
        views = [view_of(r) for r in rows]
        eligible = self.core.causal_members(council, propose.id)
        cache = self._cache.setdefault(propose.id, {})
        self._verify_casts(propose.id, body, eligible, views, cache)
        return reduce_in_state(
            propose,
            causal,
            views,
            self.core.ancestors,
            cache,
            lambda at: endings(self.core, council, at),
        )

    def _verify_casts(
        self,
        proposal: bytes,
        body: dk.Propose,
        eligible: frozenset[bytes],
        views: list[EventView],
        cache: dict[bytes, Any],
    ) -> None:
        """Check the ring signatures and proofs of the ballots not yet checked on this
        device, a thread per core, and keep each verdict (services/verdicts.py) filed
        under the event and its ring (`verdict_key`), never the event alone."""
        rings: dict[bytes, tuple[bytes, list[bytes]]] = {}  # event -> (verdict key, ring)
        digests: dict[tuple[bytes, ...], tuple[list[bytes], bytes] | None] = {}
        todo = []
        for e in views:
            if e.kind != "ballot.cast" or e.time > body.deadline * 1000:
                continue
            left_out = tuple(e.body.without)
            if left_out not in digests:
                keys = ring_of(eligible, e.body)
                digests[left_out] = None if keys is None else (keys, ring.ring_digest(keys))
            known = digests[left_out]
            if known is None:
                continue
            keys = known[0]
            key = verdict_key(e.id, keys, known[1])
            if key not in cache:
                rings[e.id] = (key, keys)
                todo.append(e)

        def check(e: EventView) -> str:
            return check_cast(proposal, e.body, rings[e.id][1])[0] or ""

        kept = checked_once(self.core, todo, check, key=lambda e: rings[e.id][0])
        for e in todo:
            key = rings[e.id][0]
            cache[key] = cast_verdict(e.body, kept[key] or None)

    def ballot(self, council: bytes, proposal: bytes) -> SecretState:
        """One secret ballot's state; its result only once counted."""
        return self._reduce(council, self._propose_view(council, proposal))

    def ballots(self, council: bytes, limit: int = 50) -> list[SecretState]:
        rows = self.core.store.events.valid_of_kind(council, PROPOSE_KIND, order="newest")
        return [self._reduce(council, view_of(r)) for r in rows[:limit]]

    def find(self, council: bytes, ref: str) -> bytes:
        ref = ref.strip().lower()
        if len(ref) < MIN_ID_PREFIX:
            raise InvalidInput(_("give at least 6 digits of the proposal's id"))
        ids = self.core.store.events.valid_ids_any_order(council, (PROPOSE_KIND,))
        found = [i for i in ids if i.hex().startswith(ref)]
        if len(found) != 1:
            raise NotFound(_("no single secret ballot here has an id starting {id}").format(id=ref))
        return found[0]

    def _secret(self, council: bytes) -> int:
        return ring_secret(self.core, council)

    def my_ballot(self, council: bytes, proposal: bytes) -> MyBallot:
        """Check one's own ballot: counted (its key image in the counted set), and as
        what, once the tellers have read them."""
        state = self.ballot(council, proposal)
        image = ring.key_image(self._secret(council), context(proposal))
        read = next((b for i, b in state.opened if i == image), None)
        return MyBallot(image, state.counted(image), read, image in state.recast)

    def to_cast_again(self, council: bytes) -> list[SecretState]:
        """The votes still open where this member's latest ballot was refused because its
        ring holds a member removed since: they must cast it again (for the
        notifications and the council's pages)."""
        me = active_member_or_none(self.core, council)
        if me is None:
            return []
        now = self.core.now()
        found = []
        rows = self.core.store.events.valid_of_kind(council, PROPOSE_KIND, order="newest")
        for row in rows[:50]:
            state = self._reduce(council, view_of(row))
            if not state.recast or me not in state.eligible or phase(state, now) != "open":
                continue
            if ring.key_image(self._secret(council), context(state.id)) in state.recast:
                found.append(state)
        return found

    def _member(self, council: bytes) -> bytes:
        return active_member(self.core, council)

    # --- proposing and the key ceremony ---------------------------------------------

    def tellers(self, council: bytes) -> Tellers:
        """The council's elected tellers now, and how many of them count a vote."""
        return elected_tellers(self.core.state(council), int(self.core.now() * 1000))

    def propose(self, council: bytes, body: dk.Propose, action: gk.Election | None = None) -> bytes:
        """Put a proposal to a secret ballot counted by k of the council's n elected
        tellers (k from its rule `teller_threshold`); with `action`, an election whose
        winners take the role once counted (`seat`)."""
        me = self._member(council)
        state = self.core.state(council)
        refused = ballot_rule_problem(state.rules, secret=True)
        if refused is not None:
            raise NotAllowed(refused)
        if action is not None:
            problem = action_problem(action, body, state, int(self.core.now() * 1000))
            if problem is not None:
                raise InvalidInput(
                    _("this proposal cannot be put: {problem}").format(problem=problem)
                )
        elected = self.tellers(council)
        if not elected.keys:
            raise NotAllowed(
                _(
                    "this council has no elected tellers, so it cannot hold a secret ballot: "
                    "elect some first, on the roles page or with "
                    "'shora elect COUNCIL teller NAME NAME NAME'"
                )
            )
        if len(elected.keys) > bk.MAX_TELLERS:
            raise NotAllowed(
                _("a secret ballot is counted by at most {n} tellers").format(n=bk.MAX_TELLERS)
            )
        tellers, needed = list(elected.keys), elected.needed
        check_new_proposal(body, self.core.now())
        held_to = None if action is None else gk.purpose(action)
        require_min_period(body, state.rules, held_to, self.core.now())
        active = sum(1 for m in state.members if state.is_active(m))
        if active > bk.MAX_RING:
            raise NotAllowed(_("a secret ballot holds at most {n} members").format(n=bk.MAX_RING))
        proposal = self.core.append(
            council,
            PROPOSE_KIND,
            bk.SecretPropose(proposal=body, tellers=tellers, needed=needed, action=action),
        )
        if me in tellers:
            self.deal(council, proposal)
        return proposal

    def _teller(self, council: bytes, state: SecretState) -> tuple[bytes, int]:
        me = self._member(council)
        if me not in state.tellers:
            raise NotAllowed(_("you are not a teller of this vote"))
        return me, state.tellers.index(me) + 1

    def deal(self, council: bytes, proposal: bytes) -> bytes | None:
        """A teller's part of the key ceremony (once): commitments and sealed shares."""
        state = self.ballot(council, proposal)
        me, _number = self._teller(council, state)
        if me in state.dealt:
            return None
        if phase(state, self.core.now()) not in ("setup", "open"):
            raise NotAllowed(_("the vote is past its deadline"))
        members = self.core.state(council).members
        dealing = threshold.deal(state.needed)
        shares = [
            self._seal(members[t].kx, dealing.share_for(j))
            for j, t in enumerate(state.tellers, start=1)
        ]
        return self.core.append(
            council, "ballot.deal", bk.Deal(proposal, list(dealing.commitments), shares)
        )

    @staticmethod
    def _seal(kx: bytes, share: int) -> bytes:
        return crypto.seal(kx, curve.scalar(share))

    def _my_shares(self, council: bytes, state: SecretState) -> int:
        """Open and check every share dealt to this teller; its secret s_j."""
        _me, number = self._teller(council, state)
        deals = self._deals(council, state)
        total = 0
        for teller in state.tellers:
            deal: bk.Deal = deals[teller]
            plain = self.core.open_sealed(council, deal.shares[number - 1])
            share = curve.read_scalar(plain) if plain is not None and len(plain) == 32 else None
            if share is None or not threshold.check_share(deal.commitments, number, share):
                raise NotAllowed(
                    _(
                        "the share {teller} dealt to you does not match their commitments: "
                        "do not count with this key; propose the vote again with other tellers"
                    ).format(teller=teller.hex()[:12])
                )
            total = (total + share) % curve.L
        return total

    def ready(self, council: bytes, proposal: bytes) -> bytes:
        """Check every share dealt to this teller, then say the joint key is good."""
        state = self.ballot(council, proposal)
        if len(state.dealt) != len(state.tellers):
            raise NotAllowed(_("not every teller has dealt yet"))
        self._my_shares(council, state)
        commitments_key = self._joint(council, state)
        if not curve.valid_point(commitments_key):
            raise NotAllowed(_("the tellers' commitments add up to no usable key"))
        return self.core.append(council, "ballot.ready", bk.Ready(proposal, commitments_key))

    def _deals(self, council: bytes, state: SecretState) -> dict[bytes, bk.Deal]:
        """The dealings that count, as the count chooses them."""
        propose = self._propose_view(council, state.id)
        rows = self.core.store.events.valid_on(council, ("ballot.deal",), state.id)
        return counted_deals(propose.body, [view_of(r) for r in rows])

    def _joint(self, council: bytes, state: SecretState) -> bytes:
        deals = self._deals(council, state)
        return threshold.joint_key([deals[t].commitments for t in state.tellers])

    def take_part(self, council: bytes, proposal: bytes) -> list[str]:
        """What this teller can do now, done: deal, check and say ready, or publish its
        decryption shares after the close. Returns what was done."""
        state = self.ballot(council, proposal)
        me, _number = self._teller(council, state)
        done = []
        if me not in state.dealt:
            self.deal(council, proposal)
            done.append("dealt")
            state = self.ballot(council, proposal)
        if len(state.dealt) == len(state.tellers) and me not in state.ready:
            self.ready(council, proposal)
            done.append("ready")
            state = self.ballot(council, proposal)
        if state.closed_by is not None and me not in state.decrypted_by and state.ballots:
            self.publish_shares(council, proposal)
            done.append("shares")
            if self._seat_due(council, self.ballot(council, proposal)):
                self.seat(council, proposal)
                done.append("seated")
        return done

    def teller_duties(self, council: bytes) -> list[tuple[bytes, str]]:
        """Once per sync round of a running node: this member's part as a teller in
        every secret ballot not yet counted (deal, check and say ready, publish its
        shares after the close). A step that cannot be done now waits for the next
        round; a share that fails its check stops this teller (it is said on the page)."""
        me = self.core.me(council)
        if me is None:
            return []
        done: list[tuple[bytes, str]] = []
        rows = self.core.store.events.valid_of_kind(council, PROPOSE_KIND, order="newest")
        for row in rows[:50]:
            propose = view_of(row)
            if propose.id in self._counted or me not in propose.body.tellers:
                continue
            state = self._reduce(council, propose)
            if state.final or state.problem is not None:
                self._counted.add(propose.id)  # nothing more for a teller to do there
                continue
            try:
                done += [(state.id, step) for step in self.take_part(council, state.id)]
            except (InvalidInput, NotAllowed, NotFound):
                continue
        return done

    # --- voting ---------------------------------------------------------------------

    def vote(
        self, council: bytes, proposal: bytes, ballot: dk.Ballot, delay: int | None = None
    ) -> bytes:
        """Cast (or change) one's secret ballot. It is published under a one-time key
        after a random delay (`delay` seconds if given; 0 publishes now)."""
        me = self._member(council)
        state = self.ballot(council, proposal)
        if state.problem is not None:
            raise NotAllowed(
                _("this proposal cannot be voted on: {problem}").format(problem=state.problem)
            )
        if me not in state.eligible:
            raise NotAllowed(
                _("you were not a member when this proposal was made, so you cannot vote on it")
            )
        now = self.core.now()
        if now > state.body.deadline:
            raise NotAllowed(
                _("the deadline for voting passed on {time}").format(
                    time=format_time(state.body.deadline)
                )
            )
        if state.key is None:
            raise NotAllowed(_("the tellers have not finished setting up this vote's key yet"))
        explain_ballot(SimpleNamespace(body=state.body), ballot)  # type: ignore[arg-type]
        secret = self._secret(council)
        ctx = context(proposal)
        image = ring.key_image(secret, ctx)
        ct = threshold.encrypt(state.key, encode_ballot(ballot), ctx, image).encode()
        # The ring leaves out every member of the electorate whose membership has ended
        # as far as this node knows: a ballot over a ring still holding a removed
        # member does not count (docs/ballot-secrecy.md §5).
        without = left_out(self.core, council, state.eligible)
        keys = sorted(state.eligible - set(without))
        delay = publish_delay(state.body.deadline, now, delay)
        # The sequence orders this member's ballots (the highest counts): the release
        # time in ms, which the event's claimed time says anyway, raised past every
        # earlier ballot of theirs, seen or still held back on this device.
        earlier = max(
            state.sequence_of(image) or 0,
            int(self.core.store.councils.setting(self._sequence_key(proposal)) or 0),
        )
        sequence = max(int(now * 1000) + delay * 1000, earlier + 1)
        sig = ring.sign(message(proposal, ct, sequence), keys, secret, ctx)
        cast = bk.Cast(proposal, sig.encode(), ct, sequence, without)
        found = self.core.append_anonymous(council, "ballot.cast", cast, delay_ms=delay * 1000)
        self.core.store.councils.set_setting(self._sequence_key(proposal), str(sequence))
        return found

    @staticmethod
    def _sequence_key(proposal: bytes) -> str:
        return "ballot-sequence:" + proposal.hex()

    def close(self, council: bytes, proposal: bytes) -> bytes:
        """Close the vote (from deadline + grace): fixes which ballots count."""
        self._member(council)
        state = self.ballot(council, proposal)
        if state.closed_by is not None:
            raise NotAllowed(_("this proposal is already closed"))
        if self.core.now() < state.closes_at:
            raise NotAllowed(
                _("this proposal can be closed from {time} (deadline plus grace period)").format(
                    time=format_time(state.closes_at)
                )
            )
        return self.core.append(council, "ballot.close", bk.Close(proposal))

    def publish_shares(self, council: bytes, proposal: bytes) -> list[bytes]:
        """A teller's decryption shares of the counted ballots, after the close."""
        state = self.ballot(council, proposal)
        self._teller(council, state)
        if state.closed_by is None:
            raise NotAllowed(_("the tellers publish their shares only after the vote is closed"))
        if not state.ballots:
            return []
        secret = self._my_shares(council, state)
        a_s = [b.ciphertext.a for b in state.ballots]
        ids = []
        for offset in range(0, len(a_s), bk.MAX_SHARES):
            part = a_s[offset : offset + bk.MAX_SHARES]
            d_s, proof = threshold.decryption_shares(secret, part, context(proposal))
            body = bk.Decrypt(proposal, state.closed_by, offset, d_s, proof.encode())
            ids.append(self.core.append(council, "ballot.decrypt", body))
        return ids

    # --- a secret election seats its winners ---------------------------------------

    def seated_by(self, council: bytes, proposal: bytes) -> bytes | None:
        """The `ballot.seat` that gave a secret election's winners their role, if any."""
        found: dict[bytes, bytes] = self.core.state(council).ext.get(SEATED, {})
        return found.get(proposal)

    def holders(self, council: bytes, proposal: bytes) -> tuple[bytes, ...]:
        """The members a secret election seated (by its seat event), in the count's order."""
        source = self.seated_by(council, proposal)
        if source is None:
            return ()
        state = self.core.state(council)
        return tuple(
            t.member for terms in state.terms.values() for t in terms if t.source == source
        )

    def _seat_due(self, council: bytes, state: SecretState) -> bool:
        """A counted secret election that elects someone and is not seated yet."""
        elected = elected_keys(state)
        return bool(elected) and self.seated_by(council, state.id) is None

    def seat(self, council: bytes, proposal: bytes) -> bytes:
        """Publish the seat of a counted secret election: its winners take the role.
        Any member may; every replica recounts the vote from the seat's causal past and
        applies it only if the count there elects exactly these winners."""
        self._member(council)
        state = self.ballot(council, proposal)
        if state.action is None:
            raise NotAllowed(_("this secret ballot is no election"))
        if self.seated_by(council, proposal) is not None:
            raise NotAllowed(_("the winners of this election already hold the role"))
        elected = elected_keys(state)
        if elected is None or state.closed_by is None:
            raise NotAllowed(_("the election is not counted yet"))
        if not elected:
            raise NotAllowed(_("the election elected nobody"))
        body = bk.Seat(proposal, state.closed_by, list(elected))
        return self.core.append(council, SEAT_KIND, body)

    def seat_elected(self, council: bytes) -> list[bytes]:
        """Once per sync round of a running node: seat the winners of every counted
        secret election not yet seated (any member's node does; the first seat in the
        council's order counts, the others are refused). Returns the seats written."""
        me = self.core.me(council)
        if me is None or not self.core.state(council).is_active(me):
            return []
        seated = self.core.state(council).ext.get(SEATED, {})
        written = []
        rows = self.core.store.events.valid_of_kind(council, PROPOSE_KIND, order="newest")
        for row in rows[:50]:
            propose = view_of(row)
            if propose.body.action is None or propose.id in seated:
                continue
            if self.core.now() < propose.body.proposal.deadline:  # not closable yet
                continue
            state = self._reduce(council, propose)
            if not self._seat_due(council, state):
                continue
            try:
                written.append(self.seat(council, state.id))
            except (InvalidInput, NotAllowed, NotFound):
                continue
        return written
