"""Self-government on a node: the rules, roles and their terms, elections, recall
petitions and votes, and ratifying emergency actions. See docs/decisions.md §6.

The proposals these open are voted on and closed like any other (`node.decisions.vote`,
`node.decisions.close`); the kernel enacts them when a close counts them as passed.

The interfaces read the domain's types and words from here (re-exported below).
"""

from __future__ import annotations

from typing import Any

from shora.domain.decisions import kinds as dk
from shora.domain.decisions.checks import require_min_period
from shora.domain.decisions.state import min_vote_seconds
from shora.domain.governance import kinds as gk
from shora.domain.governance.kinds import Election as Election
from shora.domain.governance.role_names import builtin_words, role_for
from shora.domain.governance.rule_words import MODES as MODES
from shora.domain.governance.rule_words import RULE_LABELS as RULE_LABELS
from shora.domain.governance.rule_words import SECRET_BALLOTS as SECRET_BALLOTS
from shora.domain.governance.rule_words import SHARE_RULES as SHARE_RULES
from shora.domain.governance.rule_words import SHARE_WORDS as SHARE_WORDS
from shora.domain.governance.rule_words import change_line, rule_changes
from shora.domain.governance.rules import (
    RON,
    action_problem,
    elected_terms,
    petition_needed,
)
from shora.domain.governance.views import HOUR, changed_rules, emergency_views, role_terms, yes_no
from shora.domain.governance.views import ROLE_NAMES as ROLE_NAMES
from shora.domain.governance.views import EmergencyView as EmergencyView
from shora.domain.governance.views import RoleTerm as RoleTerm
from shora.domain.governance.views import check_emergency_removal as _check_emergency_removal
from shora.domain.governance.views import petition_counts as _petition_counts
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _, check_time_zone, join_names, ngettext, number
from shora.kernel import kinds
from shora.kernel.core import NodeCore
from shora.kernel.events import decode_body
from shora.kernel.kinds import Role as Role
from shora.kernel.kinds import Rules as Rules
from shora.services.councils import Councils
from shora.services.decisions import require_member


def check_emergency_removal(core: NodeCore, council: bytes) -> None:
    """Refuse an emergency removal the council's limits would not authorise (for the
    membership actions, which remove members before any service is built)."""
    _check_emergency_removal(core.state(council))


class Governance:
    """Rules, roles, elections, recalls and emergency actions."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core

    def _now_ms(self) -> int:
        return int(self.core.now() * 1000)

    def rules(self, council: bytes) -> kinds.Rules:
        return self.core.state(council).rules

    def roles(self, council: bytes, *, include_past: bool = False) -> list[RoleTerm]:
        """Who holds which role now (and, asked, who held it before), by role then start."""
        return role_terms(self.core.state(council), self._now_ms(), include_past=include_past)

    def council_roles(self, council: bytes) -> dict[str, str]:
        """The council's own roles (beyond the built-in ones), key -> the name people
        gave it, in the order they were first named."""
        return Councils(self.core).own_roles(council)

    def role_name(self, council: bytes, role: str) -> str:
        """A role in the person's words: a built-in role translated, the council's own
        by its name."""
        if role in ROLE_NAMES:
            return _(ROLE_NAMES[role])
        return self.council_roles(council).get(role, role)

    def role_choices(self, council: bytes) -> dict[str, str]:
        """Every role a person may choose here, key -> name: the built-in ones, then
        the council's own, then any held only by its key."""
        own = self.council_roles(council)
        found = {k: _(w) for k, w in ROLE_NAMES.items()} | own
        for role in sorted(self.core.state(council).terms):
            found.setdefault(role, role)
        return found

    def find_role(self, council: bytes, typed: str) -> tuple[str, str | None]:
        """The role a person names (in any language or script) and the name an
        election records with it: a new name makes a new role of the council."""
        held = self.core.state(council).terms
        return role_for(typed, builtin_words(ROLE_NAMES), self.council_roles(council), held)

    def petitions(self, council: bytes) -> dict[tuple[str, bytes], int]:
        """How many support each recall petition, by (role, member)."""
        return _petition_counts(self.core.state(council))

    def emergencies(self, council: bytes) -> list[EmergencyView]:
        return emergency_views(self.core.state(council))

    def _deadline(self, hours: int, deadline: int | None) -> int:
        return deadline if deadline is not None else int(self.core.now()) + hours * HOUR

    def _open(self, council: bytes, action: gk.Action, body: dk.Propose) -> bytes:
        state = self.core.state(council)
        problem = action_problem(action, body, state, self._now_ms())
        if problem is not None:
            raise InvalidInput(_("this proposal cannot be put: {problem}").format(problem=problem))
        if body.deadline <= self.core.now():
            raise InvalidInput(_("the deadline must be in the future"))
        require_min_period(body, state.rules, gk.purpose(action), self.core.now())
        return self.core.append(council, "gov.propose", gk.GovPropose(body, action))

    def change_rules(
        self,
        council: bytes,
        changes: dict[str, Any],
        *,
        text: str = "",
        hours: int = 72,
        deadline: int | None = None,
    ) -> bytes:
        """Propose new rules: the current ones with `changes`; they apply if the vote
        passes under the threshold the current rules set for rule changes."""
        require_member(self.core, council)
        current = self.rules(council)
        zone = changes.get("time_zone")
        if isinstance(zone, str):  # replicas check only its shape: the writer checks it exists
            changes = {**changes, "time_zone": check_time_zone(zone)}
        new = changed_rules(current, changes)
        # Written in the proposer's language: each rule by its label, old → new in words.
        changed = rule_changes(current, new, lambda r: self.role_name(council, r))
        lines = [change_line(*c) for c in changed]
        title = _("Change the rules: {changes}").format(changes="; ".join(lines))
        if len(title) > 200:
            named = join_names(label for label, _old, _new in changed)
            title = _("Change the rules: {changes}").format(changes=named)[:200]
        described = "\n".join(lines)
        text = f"{text}\n\n{described}" if text else described
        body = yes_no(title, text, self._deadline(hours, deadline), current.grace_hours)
        return self._open(council, gk.RuleChange(new), body)

    def rule_change(self, council: bytes, proposal: bytes) -> list[tuple[str, str, str]] | None:
        """What a proposal to change the rules would change, in the reader's language:
        (rule, old value, new value) against the rules its author saw; None if it is no
        rule change."""
        state = self.core.store.events.valid_event(council, ("gov.propose",), proposal)
        if state is None:
            return None
        action = decode_body(state[4], state[5]).action
        if not isinstance(action, gk.RuleChange):
            return None
        before = self.core.causal_state(council, proposal).rules
        return rule_changes(before, action.rules, lambda r: self.role_name(council, r))

    def elect(self, council: bytes, role: str, candidates: list[bytes], **kw: Any) -> bytes:
        """Open an election to a role (its key, or its name in any language: a new name
        makes a new role of the council): IRV for one seat, Scottish STV for several,
        or Schulze; the winners' terms start when the vote is closed. The arguments are
        those of `election`."""
        action, body = self.election(council, role, candidates, **kw)
        return self._open(council, action, body)

    def election(
        self,
        council: bytes,
        role: str,
        candidates: list[bytes],
        *,
        seats: int = 1,
        method: str | None = None,
        term_days: int | None = None,
        hours: int = 72,
        deadline: int | None = None,
        text: str = "",
    ) -> tuple[gk.Election, dk.Propose]:
        """An election to a role, checked, as (action, proposal): opened by `elect`,
        or held by secret ballot (`node.ballots.propose(council, body, action)`)."""
        require_member(self.core, council)
        role, role_name = self.find_role(council, role)
        shown = self.role_name(council, role) if role_name is None else role_name
        state = self.core.state(council)
        if not candidates:
            raise InvalidInput(_("an election needs at least one candidate"))
        if len(set(candidates)) != len(candidates):
            raise InvalidInput(_("a candidate is named twice"))
        for key in candidates:
            if not state.is_active(key):
                raise NotFound(_("a candidate is not an active member"))
            limit = state.rules.term_limit
            if limit and elected_terms(state, role, key) >= limit:
                raise NotAllowed(
                    _("{name} has served {n} terms as {role}, the most the rules allow").format(
                        name=state.members[key].name, n=limit, role=shown
                    )
                )
        method = method or ("stv" if seats > 1 else "irv")
        if method not in ("irv", "stv", "schulze"):
            raise InvalidInput(_("an election is counted by irv, stv or schulze"))
        if seats > len(candidates) or (seats > 1 and method != "stv"):
            raise InvalidInput(_("several seats need stv and at least as many candidates"))
        names = join_names(state.members[k].name for k in candidates)
        # Written in the proposer's language: the role in words, the seats counted by Babel.
        title = ngettext(
            "Election: {role} ({seats} seat)", "Election: {role} ({seats} seats)", seats
        ).format(role=shown, seats=number(seats))
        body = dk.Propose(
            title=title[:200],
            text=text or _("Candidates: {names}").format(names=names),
            method=method,  # type: ignore[arg-type]
            # One candidate stands against "re-open nominations", so that they can lose.
            options=[k.hex() for k in candidates] + ([RON] if len(candidates) == 1 else []),
            seats=seats,
            deadline=self._deadline(hours, deadline),
            grace=state.rules.grace_hours * HOUR,
        )
        term = term_days if term_days is not None else state.rules.term_days
        return gk.Election(role, term, role_name), body

    def petition(self, council: bytes, role: str, member: bytes, reason: str = "") -> int:
        """Support recalling `member` from `role`; returns how many more supporters the
        petition needs before a recall vote can open (0: it can open now)."""
        me = require_member(self.core, council)
        state = self.core.state(council)
        if member not in state.role_holders(role, self._now_ms()):
            raise NotFound(_("that member does not hold that role"))
        supporters = state.petitions.get((role, member), frozenset())
        if me not in supporters:
            self.core.append(council, "role.petition", gk.Petition(role, member, reason))
            supporters = self.core.state(council).petitions.get((role, member), frozenset())
        return max(0, petition_needed(state, state.rules.recall_petition) - len(supporters))

    def recall(
        self, council: bytes, role: str, member: bytes, *, hours: int = 72, text: str = ""
    ) -> bytes:
        """Open the recall vote a petition has earned; a passed recall ends the term at
        once."""
        require_member(self.core, council)
        state = self.core.state(council)
        if member not in state.role_holders(role, self._now_ms()):
            raise NotFound(_("that member does not hold that role"))
        needed = petition_needed(state, state.rules.recall_petition)
        have = len(state.petitions.get((role, member), frozenset()))
        if have < needed:
            raise NotAllowed(
                _("the recall petition has {have} of the {needed} supporters the rules ask").format(
                    have=have, needed=needed
                )
            )
        name = state.members[member].name
        title = _("Recall {name} as {role}").format(name=name, role=self.role_name(council, role))
        title = title[:200]
        body = yes_no(title, text or title, self._deadline(hours, None), state.rules.grace_hours)
        return self._open(council, gk.Recall(role, member), body)

    def emergency_id(self, council: bytes, ref: str) -> bytes:
        ref = ref.strip().lower()
        found = [a for a in self.core.state(council).emergencies if a.hex().startswith(ref)]
        if len(ref) < 6 or len(found) != 1:
            raise NotFound(
                _("no single emergency action here has an id starting {id}").format(id=ref)
            )
        return found[0]

    def ratify(self, council: bytes, action: bytes, *, hours: int | None = None) -> bytes:
        """Put an emergency action to the council: ratified, it stands; rejected or not
        ratified in time, it is undone."""
        require_member(self.core, council)
        state = self.core.state(council)
        emergency = state.emergencies.get(action)
        if emergency is None or emergency.status != "pending":
            raise NotFound(_("there is no pending emergency action with that id"))
        now = int(self.core.now())
        left_s = (emergency.deadline // 1000) - now - state.rules.grace_hours * HOUR
        if left_s < min_vote_seconds(state.rules, "ratify"):
            raise NotAllowed(_("too late to ratify: the time the rules give has run out"))
        deadline = now + (hours * HOUR if hours else left_s)
        name = state.members[emergency.member].name
        title = _("Ratify the emergency removal of {name}").format(name=name)[:200]
        return self._open(council, gk.Ratify(action), yes_no(title, title, deadline, 0))

    def check_emergency_removal(self, council: bytes) -> None:
        """Refuse an emergency removal the council's limits would not authorise."""
        _check_emergency_removal(self.core.state(council))

    def record_lapses(self, council: bytes) -> int:
        """Record every emergency action whose time to be ratified has run out; each
        undoes its removal. Any member's node does this; two at once are harmless."""
        state = self.core.state(council)
        me = self.core.me(council)
        if me is None or not state.is_active(me):
            return 0
        done = 0
        for action, emergency in sorted(state.emergencies.items()):
            if emergency.status == "pending" and self._now_ms() >= emergency.deadline:
                self.core.append(council, "emergency.lapse", kinds.Lapse(action))
                done += 1
        return done
