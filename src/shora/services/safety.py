"""Safety on a node: check-ins, roll calls and alerts, written here and read back
through the pure reducers of `shora.domain.safety.alerts`. See docs/aid.md, "Safety"."""

from __future__ import annotations

from shora.domain.aid import kinds as ak
from shora.domain.aid.kinds import CHECKIN_STATUSES as CHECKIN_STATUSES  # for the pages
from shora.domain.safety.alerts import (
    AlertState,
    RollcallState,
    latest_checkins,
    reduce_alert,
    reduce_help,
    reduce_rollcall,
)
from shora.domain.safety.alerts import HelpCall as HelpCall  # re-exported for the pages
from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _
from shora.kernel.core import NodeCore
from shora.services.aid import MIN_ID_PREFIX, Aid, views
from shora.services.restricted import COORDINATOR, Restricted

# A roll call is open (shown on the home page) this long after it was called.
ROLLCALL_OPEN_SECONDS = 24 * 3600


class Safety:
    """Safety: check-ins, roll calls, alerts, answers to calls for help."""

    def __init__(self, core: NodeCore, restricted: Restricted, aid: Aid) -> None:
        self.core = core
        self.restricted = restricted
        self.aid = aid

    def checkin(self, council: bytes, status: str, area: str | None = None) -> bytes:
        self.restricted.require_member(council)
        if status not in ak.CHECKIN_STATUSES:
            raise InvalidInput(
                _("a check-in is one of: {statuses}").format(
                    statuses=", ".join(ak.CHECKIN_STATUSES)
                )
            )
        if area is not None:
            area = self.aid.check_area(council, area)
        return self.core.append(council, "safety.checkin", ak.Checkin(status, area))  # type: ignore[arg-type]

    def rollcall(self, council: bytes, area: str | None = None) -> bytes:
        self.restricted.require_member(council)
        if area is not None:
            area = self.aid.check_area(council, area)
        return self.core.append(council, "safety.rollcall", ak.Rollcall(area))

    def _members(self, council: bytes) -> frozenset[bytes]:
        return frozenset(self.core.state(council).active_members())

    def rollcall_state(self, council: bytes, call: bytes | None = None) -> RollcallState:
        """A roll call (the latest one if None): who answered and who did not."""
        calls = views(self.core, council, ("safety.rollcall",))
        if call is not None:
            calls = [c for c in calls if c.id == call]
        if not calls:
            raise NotFound(_("there is no roll call in this council"))
        latest = max(calls, key=lambda c: (c.time, c.order))
        checkins = views(self.core, council, ("safety.checkin",))
        return reduce_rollcall(latest, self._members(council), checkins)

    def open_rollcall(self, council: bytes, now: int) -> RollcallState | None:
        """The latest roll call while it is open, or None."""
        try:
            call = self.rollcall_state(council)
        except NotFound:
            return None
        return call if call.time // 1000 + ROLLCALL_OPEN_SECONDS > now else None

    def help_calls(self, council: bytes) -> list[HelpCall]:
        """The open calls for help ("need help", "injured"), newest first."""
        checkins = views(self.core, council, ("safety.checkin",))
        responses = views(self.core, council, ("safety.respond",))
        return reduce_help(self._members(council), checkins, responses)

    def last_area(self, council: bytes, member: bytes) -> str | None:
        """The area a member last named in a check-in, if any."""
        checkins = views(self.core, council, ("safety.checkin",), member)
        named = [c for c in checkins if c.body.area is not None]
        latest = latest_checkins(named).get(member)
        return latest.body.area if latest is not None else None

    def respond(self, council: bytes, checkin_id: bytes) -> bytes:
        """Answer "on my way" to an open call for help by someone else."""
        me = self.restricted.require_member(council)
        found = [c for c in self.help_calls(council) if c.checkin == checkin_id]
        if not found:
            raise NotFound(_("This call for help is no longer open."))
        if found[0].member == me:
            raise NotAllowed(_("Someone else must answer your own call for help."))
        return self.core.append(council, "safety.respond", ak.Respond(checkin_id))

    def alert(
        self, council: bytes, kind: str, area: str, expires: int | None = None, note: str = ""
    ) -> bytes:
        self.restricted.require_member(council)
        if kind not in ak.ALERT_KINDS:
            raise InvalidInput(
                _("an alert is one of: {kinds}").format(kinds=", ".join(ak.ALERT_KINDS))
            )
        area = self.aid.check_area(council, area)
        if expires is not None and expires <= int(self.core.now()):
            raise InvalidInput(_("the expiry must be in the future"))
        return self.core.append(council, "safety.alert", ak.Alert(kind, area, expires, note))  # type: ignore[arg-type]

    def alerts(self, council: bytes, now: int, *, active_only: bool = True) -> list[AlertState]:
        """The council's alerts, newest first; only active ones (not expired, not
        retracted) unless `active_only` is False."""
        made = views(self.core, council, ("safety.alert",))
        related = views(self.core, council, ("safety.alert_confirm", "safety.alert_retract"))
        final = self.core.state(council)

        def coordinator(member: bytes, at_ms: int) -> bool:
            return member in final.role_holders(COORDINATOR, at_ms)

        states = [reduce_alert(a, related, coordinator, final.current_key) for a in made]
        states.sort(key=lambda a: (-a.time, a.id))
        return [a for a in states if a.active(now) or not active_only]

    def find_alert(self, council: bytes, ref: str) -> AlertState:
        ref = ref.strip().lower()
        if len(ref) < MIN_ID_PREFIX:
            raise InvalidInput(_("give at least 6 digits of the id"))
        found = [
            a for a in self.alerts(council, 0, active_only=False) if a.id.hex().startswith(ref)
        ]
        if len(found) != 1:
            raise NotFound(_("no single alert here has an id starting {id}").format(id=ref))
        return found[0]

    def confirm_alert(self, council: bytes, alert_id: bytes) -> bytes:
        me = self.restricted.require_member(council)
        found = [a for a in self.alerts(council, 0, active_only=False) if a.id == alert_id]
        if not found:
            raise NotFound(_("no such alert in this council"))
        if found[0].author == me:
            raise NotAllowed(_("you wrote this alert; someone else must confirm it"))
        return self.core.append(council, "safety.alert_confirm", ak.AlertConfirm(alert_id))

    def retract_alert(self, council: bytes, alert_id: bytes) -> bytes:
        """Retract an alert: its author, or a coordinator, may."""
        me = self.restricted.require_member(council)
        found = [a for a in self.alerts(council, 0, active_only=False) if a.id == alert_id]
        if not found:
            raise NotFound(_("no such alert in this council"))
        final = self.core.state(council)
        coordinators = final.role_holders(COORDINATOR, int(self.core.now() * 1000))
        if found[0].author != me and me not in coordinators:
            raise NotAllowed(_("only the alert's author or a coordinator can retract it"))
        return self.core.append(council, "safety.alert_retract", ak.AlertRetract(alert_id))
