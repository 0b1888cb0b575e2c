"""The council's rules in words: each rule's label, and its value as people say it (a
share as "half", "two thirds" or a percentage; a duration in hours or days; a time
zone by its city; a role by its name), so that a proposal to change the rules says
what changes, old → new, in the reader's language. Pure."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import msgspec

from shora.domain.fund.money import format_amount
from shora.i18n import COMMON_TIME_ZONES, N_, _, digits, join_names, ngettext, number
from shora.kernel import kinds

SHARE_WORDS = {
    "0/1": N_("none"),
    "1/4": N_("a quarter"),
    "1/3": N_("a third"),
    "1/2": N_("half"),
    "2/3": N_("two thirds"),
    "3/4": N_("three quarters"),
    "1/1": N_("all"),
}
MODES = {
    "member": N_("any one member"),
    "vouches": N_("a number of vouches"),
    "vote": N_("a vote of the members"),
    "majority": N_("a majority of members"),
}
RULE_LABELS = {
    "admission": N_("Who admits a new member"),
    "removal": N_("Who removes a member"),
    "admission_vouches": N_("Vouches needed to admit"),
    "removal_vouches": N_("Vouches needed to remove"),
    "emergency_removal_roles": N_("Roles that may remove a member at once"),
    "quorum": N_("Quorum of every vote (a share such as 1/3)"),
    "threshold": N_("Share of yes for an ordinary vote"),
    "blocks_to_stop": N_("Blocks that stop a consent vote"),
    "governance_quorum": N_("Quorum for rule changes, elections and recalls"),
    "rule_change_threshold": N_("Share of yes to change the rules"),
    "recall_threshold": N_("Share of yes to recall someone"),
    "ratify_threshold": N_("Share of yes to ratify an emergency action"),
    "grace_hours": N_("Least grace period after a deadline, in hours"),
    "recall_petition": N_("Supporters a recall petition needs"),
    "term_days": N_("Length of a term, in days"),
    "term_limit": N_("Terms one person may serve in a role (0: no limit)"),
    "emergency_ratify_hours": N_("Hours to ratify an emergency action (0: never lapses)"),
    "federation": N_("A federation of councils"),
    "seats_per_council": N_("Seats for each council in the federation"),
    "max_pending_emergencies": N_("Emergency removals that may wait for ratification at once"),
    "min_vote_hours": N_("Least hours any vote stays open"),
    "min_governance_vote_hours": N_("Least hours a rule change, recall or ratification stays open"),
    "clock_skew_minutes": N_("Minutes a member's clock may run ahead of this device's"),
    "upload_delay_seconds": N_("Most seconds a node holds its writes back to send them together"),
    "time_zone": N_("Time zone of the council's times"),
    "treasurer_limits": N_("What the treasurers may pay out without a vote"),
}
SHARE_RULES = (
    "quorum",
    "threshold",
    "governance_quorum",
    "rule_change_threshold",
    "recall_threshold",
    "ratify_threshold",
)
# The short label a changed rule goes by in a proposal's title and text.
SHORT_LABELS = {
    "quorum": N_("Quorum of every vote"),
    "grace_hours": N_("Least grace period after a deadline"),
    "term_days": N_("Length of a term"),
    "term_limit": N_("Terms one person may serve in a role"),
    "emergency_ratify_hours": N_("Time to ratify an emergency action"),
    "min_vote_hours": N_("Least time any vote stays open"),
    "min_governance_vote_hours": N_("Least time a rule change, recall or ratification stays open"),
    "clock_skew_minutes": N_("How far a member's clock may run ahead"),
    "upload_delay_seconds": N_("Longest a node holds its writes back"),
}


def share_words(value: str) -> str:
    """A share in words: "half", "two thirds", else a percentage ("60%")."""
    if value in SHARE_WORDS:
        return _(SHARE_WORDS[value])
    try:
        f = Fraction(value)
    except (ValueError, ZeroDivisionError):
        return digits(value)
    percent = f * 100
    if percent.denominator == 1:
        return _("{n}%").format(n=number(int(percent)))
    return _("{n}%").format(n=digits(f"{float(percent):.1f}"))


def hours_words(hours: int) -> str:
    """A number of hours, in days when it is whole days."""
    if hours and hours % 24 == 0:
        days = hours // 24
        return ngettext("{n} day", "{n} days", days).format(n=number(days))
    return ngettext("{n} hour", "{n} hours", hours).format(n=number(hours))


def _days(n: int) -> str:
    return ngettext("{n} day", "{n} days", n).format(n=number(n))


def _minutes(n: int) -> str:
    return ngettext("{n} minute", "{n} minutes", n).format(n=number(n))


def _seconds(n: int) -> str:
    if n == 0:
        return _("at once")
    return ngettext("{n} second", "{n} seconds", n).format(n=number(n))


def zone_words(name: str) -> str:
    """A time zone by its city ("Tehran"), UTC for none, else its name."""
    if not name:
        return _("UTC")
    return _(COMMON_TIME_ZONES[name]) if name in COMMON_TIME_ZONES else name


def _limits(limits: Any) -> str:
    """Treasurers' limits: "1,000 rial in 30 days, ..." or "every payment by vote"."""
    if not limits:
        return _("every payment by vote")
    return join_names(
        _("{amount} in {days}").format(
            amount=format_amount(int(_field(x, "amount")), str(_field(x, "currency"))),
            days=_days(int(_field(x, "days"))),
        )
        for x in limits
    )


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, dict) else getattr(item, name)


def _count(n: int | None) -> str:
    return _("none") if n is None else number(n)


def rule_words(name: str, value: Any, role_name: Callable[[str], str] = str) -> str:
    """One rule's value as people say it, in the current language."""
    if name in SHARE_RULES:
        return share_words(str(value))
    if name in ("admission", "removal"):
        return _(MODES[value]) if value in MODES else str(value)
    if name == "emergency_removal_roles":
        return join_names(role_name(r) for r in value) if value else _("none")
    if name == "time_zone":
        return zone_words(str(value))
    if name == "federation":
        return _("yes") if value else _("no")
    if name == "term_limit" and value == 0:
        return _("no limit")
    if name == "emergency_ratify_hours" and value == 0:
        return _("never lapses")
    if name.endswith("_hours"):
        return hours_words(int(value))
    if name == "term_days":
        return _days(int(value))
    if name == "clock_skew_minutes":
        return _minutes(int(value))
    if name == "upload_delay_seconds":
        return _seconds(int(value))
    if name == "treasurer_limits":
        return _limits(value)
    return _count(value)


def rule_label(name: str) -> str:
    """A rule's short label in the current language."""
    words = SHORT_LABELS.get(name) or RULE_LABELS.get(name)
    return _(words) if words else name


def rule_changes(
    old: kinds.Rules, new: kinds.Rules, role_name: Callable[[str], str] = str
) -> list[tuple[str, str, str]]:
    """What changes between two sets of rules, in the rules' order: (label, old value,
    new value), each in words."""
    before, after = msgspec.structs.asdict(old), msgspec.structs.asdict(new)
    return [
        (
            rule_label(name),
            rule_words(name, before[name], role_name),
            rule_words(name, after[name], role_name),
        )
        for name in kinds.Rules.__struct_fields__
        if before[name] != after[name]
    ]


def change_line(label: str, old: str, new: str) -> str:
    return _("{rule}: {old} → {new}").format(rule=label, old=old, new=new)
