"""Helpers shared by the commands: words for states, JSON, numbers typed by people."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import msgspec

from shora.i18n import N_, _, current_language, join_names, normalize_digits, number
from shora.node import CouncilInfo, MemberInfo
from shora.numbers import digits_only
from shora.services.councils import Rules
from shora.services.decisions import plain
from shora.ui.labels import COUNCIL_STATUS, MEMBER_STATUS, role_label

from .session import LocalTime

SHORT_ID = 12
WHEN_HELP = N_("Unix seconds or a date (in the council's time zone).")
ISOLATE_START, ISOLATE_END = "\u2068", "\u2069"  # FSI ... PDI: the plain-text <bdi>
BIDI_ISOLATES = str.maketrans("", "", "\u2066\u2067\u2068\u2069")

KIND_LABELS = {
    "council.create": N_("council founded"),
    "council.update": N_("council changed"),
    "invite.create": N_("invitation"),
    "member.vouch": N_("vouch"),
    "member.admit": N_("admission"),
    "member.remove": N_("removal"),
    "member.leave": N_("left the council"),
    "epoch.rotate": N_("new council key"),
    "epoch.grant": N_("key shared"),
    "post.announcement": N_("announcement"),
    "post.message": N_("message"),
}
REFUSAL_REASONS = {
    "MalformedEvent": N_("malformed"),
    "OversizedEvent": N_("too large"),
    "BadSignature": N_("bad signature"),
    "WrongEpoch": N_("wrong council key"),
    "UnknownKind": N_("unknown kind (a newer version of Shora?)"),
    "NotAMember": N_("not written by a member"),
    "UnknownWriteKey": N_("under a council key this profile does not hold"),
    "FromTheFuture": N_("dated ahead of this computer's clock"),
    "TooManyWaiting": N_("too many already waiting here"),
}


# --- text ---------------------------------------------------------------------


def isolate(text: str) -> str:
    """Keep a name or a command in one piece inside Persian text (no effect in English).

    Not for a path or an id on its own: copied from the terminal, the invisible marks
    would come along. run() removes them from arguments, for names copied back in.
    """
    return f"{ISOLATE_START}{text}{ISOLATE_END}" if current_language() == "fa" else text


def short(raw: bytes) -> str:
    return raw.hex()[:SHORT_ID]


def council_name(info: CouncilInfo) -> str:
    """The council's name, or its short id while the name has not arrived yet."""
    return info.name or short(info.id)


def council_status(status: str) -> str:
    return _(COUNCIL_STATUS[status]) if status in COUNCIL_STATUS else status


def member_status(status: str) -> str:
    return _(MEMBER_STATUS[status]) if status in MEMBER_STATUS else status


def kind_label(kind: str) -> str:
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def refusal_reason(reason: str) -> str:
    return _(REFUSAL_REASONS[reason]) if reason in REFUSAL_REASONS else reason


def _mode(mode: str, vouches: int) -> str:
    if mode == "member":
        return _("any one member")
    if mode == "vouches":
        return _("{n} members vouching").format(n=number(vouches))
    return _("a majority of the members")


def describe_rules(rules: Rules | None) -> str:
    if rules is None:
        return _("not known yet")
    text = _("admission: {admission}; removal: {removal}").format(
        admission=_mode(rules.admission, rules.admission_vouches),
        removal=_mode(rules.removal, rules.removal_vouches),
    )
    if rules.emergency_removal_roles:
        text += _("; emergency removal by: {roles}").format(
            roles=join_names(isolate(role_label(r)) for r in rules.emergency_removal_roles)
        )
    return text + _("; time zone: {zone}").format(zone=isolate(rules.time_zone or "UTC"))


def table(rows: list[list[str]]) -> None:
    """Print rows in columns (widths by character count: fine for Latin and Persian)."""
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]).rstrip())


T = TypeVar("T")


def show_list(items: Sequence[T], as_json: bool, empty: str, row: Callable[[T], list[str]]) -> None:
    """A list as JSON (dataclasses through `plain`), or a table, or the empty message."""
    if as_json:
        print_json(plain.plain(list(items)))
    elif not items:
        click.echo(empty)
    else:
        table([row(item) for item in items])


# --- JSON ---------------------------------------------------------------------


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def council_json(info: CouncilInfo) -> dict[str, Any]:
    return {
        "id": info.id.hex(),
        "name": info.name,
        "description": info.description,
        "status": info.status,
        "rules": msgspec.to_builtins(info.rules) if info.rules is not None else None,
        "members": info.members,
        "events": info.events,
        "my_key": info.my_key.hex() if info.my_key is not None else None,
    }


def member_json(member: MemberInfo) -> dict[str, Any]:
    return {
        "key": member.key.hex(),
        "name": member.name,
        "status": member.status,
        "roles": list(member.roles),
        "me": member.me,
    }


# --- input ----------------------------------------------------------------------


class Number(click.ParamType[int]):
    """A whole number in Latin or Persian digits, within [low, high]."""

    name = "number"

    def __init__(self, low: int = 0, high: int | None = None) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            result = value
        else:
            try:
                result = int(normalize_digits(str(value)).strip())
            except ValueError:
                self.fail(_("{value} is not a whole number").format(value=value), param, ctx)
        if result < self.low or (self.high is not None and result > self.high):
            bounds = (
                _("at least {low}").format(low=number(self.low))
                if self.high is None
                else _("from {low} to {high}").format(low=number(self.low), high=number(self.high))
            )
            self.fail(
                _("{value} is out of range: give {bounds}").format(value=value, bounds=bounds),
                param,
                ctx,
            )
        return result


class Since(click.ParamType[int]):
    """An instant: Unix seconds, or an ISO 8601 date or date and time (in the council's
    zone if it gives none; UTC outside a council)."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = normalize_digits(str(value)).strip()
        if digits_only(text):
            return int(text)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                _("{value} is neither Unix seconds nor a date such as 2026-01-31").format(
                    value=value
                ),
                param,
                ctx,
            )
        if moment.tzinfo is None:  # in the council's zone, once the command knows it
            return LocalTime(moment)
        return max(0, int(moment.timestamp()))


def text_or_file(value: str) -> str:
    """The text given, or the content of FILE when the value is @FILE."""
    if value.startswith("@"):
        return Path(value[1:]).read_text(encoding="utf-8")
    return value
