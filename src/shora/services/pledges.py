"""Threshold pledges on a node: "I will stop work on Monday if at least 60% of us
pledge the same". A campaign names an action, a threshold and a deadline; members
pledge (and may withdraw until the threshold is met) under a linkable ring signature,
so the count grows for everyone to see while nobody learns who pledged. The threshold
is met, for every replica, at one event of the causal order. See docs/pledges.md.

The interfaces read the domain's types from here (re-exported below).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from shora.domain.decisions.checks import MIN_ID_PREFIX, parse_share
from shora.domain.decisions.state import EventView
from shora.domain.federation import kinds as fk
from shora.domain.federation import rules as fr
from shora.domain.pledges import kinds as pk
from shora.domain.pledges.federated import Across as Across
from shora.domain.pledges.federated import count_across
from shora.domain.pledges.state import (
    MOVES,
    check_move,
    context,
    message,
    move_verdict,
    problem_of,
    reduce_campaign,
)
from shora.domain.pledges.state import REASONS as REASONS
from shora.domain.pledges.state import Campaign as Campaign
from shora.domain.pledges.state import phase as phase
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _, format_time, normalize_digits
from shora.kernel import ring
from shora.kernel.core import NodeCore
from shora.numbers import digits_only
from shora.services.anonymous import (
    active_member,
    active_member_or_none,
    endings,
    left_out,
    publish_delay,
    ring_secret,
)
from shora.services.decisions import view_of
from shora.services.federation import seat_of
from shora.services.verdicts import checked_once

START_KIND = "pledge.start"
SETTLE_AFTER_DEADLINE = 7 * 86_400  # a mark may still join pledges made on time
MAX_ACTION = pk.MAX_ACTION

__all__ = [
    "REASONS",
    "Across",
    "Campaign",
    "MyPledge",
    "Pledges",
    "parse_share",
    "phase",
    "share_of_text",
]


def share_of_text(text: str) -> str | None:
    """A share of the members as the campaign keeps it ("3/5"), from a fraction or a
    percentage as a person typed it ("2/3", "60%", "۶۰٪"); None if it is neither or
    not between 0 (excluded) and all."""
    text = normalize_digits(text).strip().replace("٪", "%")
    if text.endswith("%"):
        number = text[:-1].strip()
        if not digits_only(number) or not 0 < int(number) <= 100:
            return None
        found = Fraction(int(number), 100)
        return f"{found.numerator}/{found.denominator}"
    share = parse_share(text)
    if share is None or share.startswith("0/"):
        return None
    found = Fraction(share)
    return f"{found.numerator}/{found.denominator}"


@dataclass(frozen=True, slots=True)
class MyPledge:
    """What a member can check of their own pledge: its key image (only they can
    compute it), whether it is counted, and whether a move of theirs is still waiting
    to be published (its random delay)."""

    image: bytes
    counted: bool
    waiting: bool
    pledged: bool  # where this member stands, their waiting move included
    # Their latest pledge was refused because its ring still holds a member removed
    # since (nobody can tell it was not the removed member's): they must pledge again.
    recast: bool = False


class Pledges:
    """Pledge campaigns: start, pledge, withdraw, and the count every node makes."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core
        self._cache: dict[bytes, dict[bytes, Any]] = {}  # campaign -> event -> verdict

    # --- reading --------------------------------------------------------------------

    def _start_view(self, council: bytes, campaign: bytes) -> EventView:
        found = self.core.store.events.valid_event(council, (START_KIND,), campaign)
        if found is None:
            raise NotFound(_("no such pledge campaign in this council"))
        return view_of(found)

    def _reduce(self, council: bytes, start: EventView) -> Campaign:
        rows = self.core.store.events.valid_on(council, tuple(pk.PLEDGE_KINDS), start.id)
        views = [view_of(r) for r in rows]
        electorate = self.core.causal_members(council, start.id)
        cache = self._cache.setdefault(start.id, {})
        body: pk.Start = start.body
        # Signatures not yet checked on this device: a thread per core, verdicts kept.
        todo = [
            e
            for e in views
            if e.kind in MOVES
            and e.id not in cache
            and e.time <= body.deadline * 1000
            and not body.across
        ]
        rings: dict[tuple[bytes, ...], list[bytes] | None] = {}

        def check(e: EventView) -> str:
            return check_move(start.id, e, electorate, rings)[0] or ""

        kept = checked_once(self.core, todo, check)
        for e in todo:
            cache[e.id] = move_verdict(e, kept[e.id] or None)
        return reduce_campaign(
            start,
            electorate,
            views,
            self.core.ancestors,
            cache,
            lambda at: endings(self.core, council, at),
        )

    def campaign(self, council: bytes, campaign: bytes) -> Campaign:
        """One campaign's state: the count, whether and when the threshold was met."""
        return self._reduce(council, self._start_view(council, campaign))

    def campaigns(self, council: bytes, limit: int = 50) -> list[Campaign]:
        """The council's campaigns, newest first."""
        rows = self.core.store.events.valid_of_kind(council, START_KIND, order="newest")
        return [self._reduce(council, view_of(r)) for r in rows[:limit]]

    def met_recently(self, council: bytes, since: float) -> list[Campaign]:
        """Campaigns whose threshold was met at or after `since` (seconds): the banner
        every member sees."""
        across = self.met_across(council)
        return [
            c
            for c in self.campaigns(council)
            if c.problem is None
            and (
                (c.met_at is not None and c.met_at >= since * 1000)
                or (c.id in across and c.body.deadline >= since)
            )
        ]

    def find(self, council: bytes, ref: str) -> bytes:
        ref = ref.strip().lower()
        if len(ref) < MIN_ID_PREFIX:
            raise InvalidInput(_("give at least 6 digits of the campaign's id"))
        ids = self.core.store.events.valid_ids_any_order(council, (START_KIND,))
        found = [i for i in ids if i.hex().startswith(ref)]
        if len(found) != 1:
            raise NotFound(
                _("no single pledge campaign here has an id starting {id}").format(id=ref)
            )
        return found[0]

    def _secret(self, council: bytes) -> int:
        return ring_secret(self.core, council)

    def _step_key(self, campaign: bytes) -> str:
        return "pledge-step:" + campaign.hex()

    def mine(self, council: bytes, campaign: bytes) -> MyPledge:
        """Check one's own pledge: counted or not, and whether a move waits."""
        state = self.campaign(council, campaign)
        image = ring.key_image(self._secret(council), context(campaign))
        seen = state.step_of(image)
        local = int(self.core.store.councils.setting(self._step_key(campaign)) or 0)
        counted, waiting = state.counts(image), local > seen
        recast = image in state.recast and not waiting
        # A withdrawal refused once the threshold was met leaves the pledge counted.
        return MyPledge(image, counted, waiting, local % 2 == 1 if waiting else counted, recast)

    def to_pledge_again(self, council: bytes) -> list[Campaign]:
        """The open campaigns where this member's latest pledge was refused because its
        ring holds a member removed since: they must pledge again (for the
        notifications and the council's pages)."""
        me = active_member_or_none(self.core, council)
        if me is None:
            return []
        now = self.core.now()
        found = []
        for state in self.campaigns(council):
            if not state.recast or me not in state.electorate or now > state.body.deadline:
                continue
            if self.mine(council, state.id).recast:
                found.append(state)
        return found

    def _member(self, council: bytes) -> bytes:
        return active_member(self.core, council)

    # --- writing --------------------------------------------------------------------

    def start(
        self,
        council: bytes,
        action: str,
        deadline: int,
        *,
        people: int = 0,
        share: str = "",
        across: bool = False,
    ) -> bytes:
        """Open a campaign: `action` is what each pledges to do; the threshold is
        `people` (a number) or `share` (of the members now, "3/5"). `across`: a
        federation's campaign, pledged in each member council (docs/pledges.md §6)."""
        self._member(council)
        if across and not self.core.state(council).rules.federation:
            raise InvalidInput(_("only a federation can start a campaign across its councils"))
        action = action.strip()
        if not action:
            raise InvalidInput(_("say what each person pledges to do"))
        if len(action) > MAX_ACTION:
            raise InvalidInput(_("the action is at most {n} characters").format(n=MAX_ACTION))
        if bool(people) == bool(share):
            raise InvalidInput(_("give the threshold as a number of people or as a share"))
        if share:
            found = share_of_text(share)
            if found is None:
                raise InvalidInput(
                    _("{value} is not a share such as 1/2, 2/3 or 60%").format(value=share)
                )
            share = found
        if deadline <= self.core.now():
            raise InvalidInput(_("the deadline must be in the future"))
        body = pk.Start(
            action=action, people=people, share=share or "0/1", deadline=deadline, across=across
        )
        electorate = frozenset(self.core.state(council).active_members())
        problem = problem_of(body, electorate)
        if problem is not None:
            raise InvalidInput(_(problem))
        return self.core.append(council, START_KIND, body)

    def _move(self, council: bytes, campaign: bytes, take: bool, delay: int | None) -> bytes:
        me = self._member(council)
        state = self.campaign(council, campaign)
        if state.problem is not None:
            raise NotAllowed(_(state.problem))
        if state.body.across:
            raise NotAllowed(
                _("this campaign is pledged in each member council: pledge in your own council")
            )
        if me not in state.electorate:
            raise NotAllowed(
                _("you were not a member when this campaign started, so you cannot pledge in it")
            )
        now = self.core.now()
        if now > state.body.deadline:
            raise NotAllowed(
                _("the deadline for pledges passed on {time}").format(
                    time=format_time(state.body.deadline)
                )
            )
        mine = self.mine(council, campaign)
        if take and mine.pledged:
            raise NotAllowed(_("you have already pledged in this campaign"))
        if not take and not mine.pledged:
            raise NotAllowed(_("you have no pledge to withdraw in this campaign"))
        if not take and state.met:
            raise NotAllowed(_("the threshold was met: pledges are final now"))
        secret = self._secret(council)
        local = int(self.core.store.councils.setting(self._step_key(campaign)) or 0)
        step = max(state.step_of(mine.image), local) + 1
        if (step % 2 == 1) != take:  # pledging again after a pledge the rule refused
            step += 1
        kind = "pledge.take" if take else "pledge.withdraw"
        # The ring leaves out every member of the electorate whose membership has ended
        # as far as this node knows: a pledge over a ring still holding a removed member
        # does not count (docs/pledges.md, "Removal after the start").
        without = left_out(self.core, council, state.electorate)
        keys = sorted(state.electorate - set(without))
        sig = ring.sign(message(campaign, kind, step), keys, secret, context(campaign))
        schema = pk.Take if take else pk.Withdraw
        delay = publish_delay(state.body.deadline, now, delay)
        made = self.core.append_anonymous(
            council, kind, schema(campaign, step, sig.encode(), without), delay_ms=delay * 1000
        )
        self.core.store.councils.set_setting(self._step_key(campaign), str(step))
        if delay == 0:
            self.settle(council, campaign)
        return made

    def take(self, council: bytes, campaign: bytes, delay: int | None = None) -> bytes:
        """Pledge, under a one-time key and a ring signature, after a random delay
        (`delay` seconds if given; 0 publishes now)."""
        return self._move(council, campaign, True, delay)

    def withdraw(self, council: bytes, campaign: bytes, delay: int | None = None) -> bytes:
        """Withdraw one's pledge, while the threshold is not met."""
        return self._move(council, campaign, False, delay)

    def settle(self, council: bytes, campaign: bytes) -> bytes | None:
        """If this node holds enough pledges but no single campaign event has them all
        in its causal past (pledges made at once on different devices), write the
        anonymous mark that joins them, so the threshold is met for everyone."""
        state = self.campaign(council, campaign)
        if state.met or state.problem is not None or state.count < state.needed:
            return None
        if self.core.me(council) is None:
            return None
        return self.core.append_anonymous(council, "pledge.mark", pk.Mark(campaign))

    def settle_all(self, council: bytes) -> None:
        """Housekeeping: settle every open campaign of a council this node is in; as a
        seated delegate, open the federation's campaigns in the base council and carry
        the base council's counts up."""
        me = self.core.me(council)
        if me is None or not self.core.state(council).is_active(me):
            return
        self.open_across(council)
        self.report_across(council)
        # Pledges made on time count even if the mark joining them comes a little late.
        since = self.core.now() - SETTLE_AFTER_DEADLINE
        rows = self.core.store.events.valid_of_kind(council, START_KIND, order="newest")
        for row in rows[:50]:
            start = view_of(row)
            if start.body.deadline >= since:
                self.settle(council, start.id)

    # --- across a federation -------------------------------------------------------------

    def across(self, federation: bytes, campaign: bytes) -> Across:
        """Where the member councils stand on a federation's campaign: each council's
        reported count, and whether the double majority has met the threshold."""
        rows = self.core.store.events.valid_on(federation, ("pledge.report",), campaign)
        return count_across(
            self.core.state(federation),
            campaign,
            [view_of(r) for r in rows],
            lambda event: self.core.causal_state(federation, event),
        )

    def council_name(self, council: bytes) -> str | None:
        """A member council's name, if this profile holds it (a delegate's does)."""
        return self.core.store.councils.name(council)

    def _my_seat(self, federation: bytes) -> fr.Seat | None:
        """This node's active seat in a federation, or None."""
        return seat_of(self.core, federation)

    def _opened_in(self, base: bytes) -> dict[bytes, EventView]:
        """The base council's parts of federations' campaigns, by the source campaign."""
        rows = self.core.store.events.valid_of_kind(base, START_KIND)
        found: dict[bytes, EventView] = {}
        for view in sorted((view_of(r) for r in rows), key=lambda v: v.order):
            if view.body.source is not None:
                found.setdefault(view.body.source, view)
        return found

    def open_across(self, federation: bytes) -> int:
        """As a seated delegate, open each open campaign of the federation in the base
        council (once). Returns how many were opened."""
        seat = self._my_seat(federation)
        base = seat.base if seat is not None else None
        if base is None or self.core.me(base) is None:
            return 0
        opened = self._opened_in(base)
        now, done = self.core.now(), 0
        for row in self.core.store.events.valid_of_kind(federation, START_KIND):
            start = view_of(row)
            body: pk.Start = start.body
            if not body.across or start.id in opened or body.deadline <= now:
                continue
            part = pk.Start(
                action=body.action,
                people=body.people,
                share=body.share,
                deadline=body.deadline,
                federation=federation,
                source=start.id,
            )
            self.core.append(base, START_KIND, part)
            done += 1
        done += self._tell_down(federation, base)
        return done

    def _told(self, base: bytes) -> set[bytes]:
        """The federation campaigns met across, as the delegate told the base council."""
        rows = self.core.store.events.valid_of_kind(base, "federation.notice")
        return {
            v.body.source
            for v in (view_of(r) for r in rows)
            if v.body.kind == "decision" and v.body.source in self._opened_in(base)
        }

    def _tell_down(self, federation: bytes, base: bytes) -> int:
        """As a seated delegate, tell the base council (a federation notice) that a
        campaign was met across the federation, once."""
        told, done = self._told(base), 0
        name = self.core.store.councils.name(federation) or ""
        for source in self._opened_in(base):
            if source in told:
                continue
            found = self.across(federation, source)
            if not found.met:
                continue
            start = self._start_view(federation, source)
            title = _("Threshold met across the federation: {action}").format(
                action=start.body.action
            )
            text = _("{met} of {councils} councils met it.").format(
                met=found.councils_met, councils=found.councils
            )
            body = fk.Notice(federation, name[:200], "decision", title[:200], text, source)
            self.core.append(base, "federation.notice", body)
            done += 1
        return done

    def met_across(self, base: bytes) -> set[bytes]:
        """This council's parts of federation campaigns met across the federation (as
        its delegate told it): the base campaigns' ids."""
        told = self._told(base)
        return {start.id for source, start in self._opened_in(base).items() if source in told}

    def report_across(self, base: bytes) -> int:
        """As a seated delegate of `base`, carry each changed count of the base
        council's parts of federation campaigns up. Returns how many reports."""
        done = 0
        for source, start in self._opened_in(base).items():
            federation = start.body.federation
            seat = self._my_seat(federation) if federation is not None else None
            if federation is None or seat is None or seat.base != base:
                continue
            state = self._reduce(base, start)
            report = pk.Report(
                source, base, state.count, state.needed, len(state.electorate), state.met
            )
            if self.core.store.events.valid_event(federation, (START_KIND,), source) is None:
                continue
            rows = self.core.store.events.valid_on(federation, ("pledge.report",), source)
            mine = [v for v in (view_of(r) for r in rows) if v.body.base == base]
            last = max(mine, key=lambda v: v.order).body if mine else None
            if last != report:
                self.core.append(federation, "pledge.report", report)
                done += 1
        return done
