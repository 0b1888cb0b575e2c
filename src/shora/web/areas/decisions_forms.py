"""Reading the proposal form and the ballot form of each voting method.

Options are named by their index in the ballot (score:0, rank:3, slot:1): an option's
text can be anything, a field name cannot. Every value is bounded and checked; what
the method allows is checked by the domain (decisions.vote) with translated errors.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import msgspec
from starlette.datastructures import FormData

from shora.errors import InvalidInput
from shora.i18n import _, digits, normalize_digits, number
from shora.numbers import digits_only
from shora.services.decisions import kinds as dk
from shora.services.decisions import parse_share
from shora.services.governance import SHARE_WORDS
from shora.web.areas.kit import build, duration, field, whole
from shora.web.forms import TEXT_CHARS, TITLE_CHARS

SHARES = ("0/1", "1/4", "1/3", "1/2", "2/3", "3/4", "1/1")
# Shares chosen in words or as a percentage; the values are the fractions the rules keep
# (the words: shora.domain.governance.rule_words).
PERCENTS = (10, 20, 30, 40, 60, 70, 80, 90)


def share_choices(current: str | None = None) -> list[tuple[str, str]]:
    """(value, words) for a share select, smallest first; `current` is kept if it is
    none of them (a share set in figures, shown as such)."""
    choices = [(value, _(words)) for value, words in SHARE_WORDS.items()]
    for p in PERCENTS:
        f = Fraction(p, 100)
        choices.append((f"{f.numerator}/{f.denominator}", _("{n}%").format(n=number(p))))
    if current is not None and current not in dict(choices):
        choices.append((current, digits(current)))
    return sorted(choices, key=lambda choice: Fraction(choice[0]))


def share(form: FormData, name: str, default: str) -> str:
    """A share such as 1/2 or 2/3 (Persian digits welcome); 0 and 1 too."""
    text = normalize_digits(field(form, name, 20)).replace("⁄", "/") or default
    found = parse_share(text)
    if found is None:
        raise InvalidInput(_("{value} is not a share such as 1/2 or 2/3.").format(value=text))
    return found


def options_of(form: FormData) -> list[str]:
    """One option per line, blank lines dropped."""
    raw = field(form, "options", 50 * 210)
    options = [line.strip() for line in raw.splitlines() if line.strip()]
    if len(options) > dk.MAX_OPTIONS:
        raise InvalidInput(_("At most {n} options, please.").format(n=dk.MAX_OPTIONS))
    for option in options:
        if len(option) > 200:
            raise InvalidInput(_("An option is at most 200 characters."))
    if len(set(options)) != len(options):
        raise InvalidInput(_("An option is listed twice."))
    return options


def proposal_body(form: FormData, now: int) -> dk.Propose:
    """A proposal from the form: title, text, method, options, deadline and settings."""
    title = field(form, "title", TITLE_CHARS)
    text = field(form, "text", TEXT_CHARS)
    if not title:
        raise InvalidInput(_("A proposal needs a title."))
    method = field(form, "method", 20) or "yes_no"
    if method not in dk.METHODS:
        raise InvalidInput(_("Please choose a voting method."))
    options = [] if method in dk.METHODS_WITHOUT_OPTIONS else options_of(form)
    if method not in dk.METHODS_WITHOUT_OPTIONS and len(options) < 2:
        raise InvalidInput(_("This method needs at least two options, one per line."))
    closes_in = duration(form, "deadline", 72)
    assert closes_in is not None
    threshold = share(form, "threshold", "1/2")
    data: dict[str, Any] = {
        "title": title,
        "text": text,
        "method": method,
        "options": options,
        "seats": whole(form, "seats", 1, 1, dk.MAX_SEATS),
        "threshold": threshold,
        "inclusive": threshold != "1/2",
        "blocks_to_stop": whole(form, "blocks_to_stop", 1, 1, 1000),
        "min_choices": whole(form, "min_choices", 0, 0, dk.MAX_OPTIONS),
        "max_choices": whole(form, "max_choices", None, 0, dk.MAX_OPTIONS),
        "min_score": whole(form, "min_score", 0, -1000, 1000),
        "max_score": whole(form, "max_score", 5, -1000, 1000),
        "budget": whole(form, "budget", 10, 1, 1_000_000),
        "quorum": share(form, "quorum", "0/1"),
        "deadline": now + closes_in,
        "grace": (whole(form, "grace_hours", 0, 0, 720) or 0) * 3600,
    }
    return build(dk.Propose, data)


def _indexed(form: FormData, prefix: str, options: tuple[str, ...] | list[str]) -> dict[str, str]:
    """{option: value} from fields prefix:INDEX, empty values left out."""
    found = {}
    for i, option in enumerate(options):
        value = field(form, f"{prefix}:{i}", 20)
        if value:
            found[option] = normalize_digits(value)
    return found


def _numbers(values: dict[str, str]) -> dict[str, int]:
    result = {}
    for option, value in values.items():
        unsigned = value[1:] if value.startswith("-") else value
        if not digits_only(unsigned) or len(value) > 9:
            raise InvalidInput(_("{value} is not a whole number.").format(value=value))
        result[option] = int(normalize_digits(value))
    return result


def _index(text: str) -> bool:
    """Whether a checkbox's value is an option's index (at most 3 digits)."""
    return digits_only(text) and len(text) < 4


def ballot_of(form: FormData, method: str, options: tuple[str, ...] | list[str]) -> dk.Ballot:
    """The ballot a person filled in for `method`; InvalidInput with what to do if empty."""
    ballot: Any = None
    if method == "yes_no":
        vote = field(form, "vote", 10)
        if vote in ("yes", "no", "abstain"):
            ballot = dk.YesNoBallot(vote)  # type: ignore[arg-type]
    elif method == "consent":
        response = field(form, "response", 10)
        reason = field(form, "reason", 1000)
        if response == "block" and not reason:
            raise InvalidInput(_("A block must give a reason."))
        if response in ("agree", "abstain", "object", "block"):
            ballot = dk.ConsentBallot(response, reason)  # type: ignore[arg-type]
    elif method == "approval":
        chosen = {str(c) for c in form.getlist("choice") if _index(str(c))}
        indexes = [int(normalize_digits(c)) for c in chosen]
        picks = sorted(i for i in indexes if i < len(options))
        ballot = dk.ApprovalBallot([options[i] for i in picks])
    elif method == "score":
        ballot = dk.ScoreBallot(_numbers(_indexed(form, "score", options)))
    elif method == "dots":
        dots = _numbers(_indexed(form, "dots", options))
        if any(n < 0 for n in dots.values()):
            raise InvalidInput(_("Give each option no dots or more, never fewer."))
        ballot = dk.DotsBallot(dots)
    elif method in dk.RANKED_METHODS:
        ranks = _numbers(_indexed(form, "rank", options))
        if len(set(ranks.values())) != len(ranks):
            raise InvalidInput(_("Two options have the same rank; give each its own number."))
        if any(n < 1 for n in ranks.values()):
            raise InvalidInput(_("Ranks start at 1 (your first choice)."))
        ballot = dk.RankedBallot(sorted(ranks, key=ranks.__getitem__))
    elif method == "time_poll":
        answers = _indexed(form, "slot", options)
        if any(a not in ("yes", "if_need_be", "no") for a in answers.values()):
            raise InvalidInput(_("Answer yes, if need be or no for each time."))
        ballot = dk.TimeBallot(answers)  # type: ignore[arg-type]
    empty = isinstance(ballot, dk.RankedBallot) and not ballot.ranking
    for kind, attr in (
        (dk.ScoreBallot, "scores"),
        (dk.DotsBallot, "dots"),
        (dk.TimeBallot, "answers"),
    ):
        empty = empty or (isinstance(ballot, kind) and not getattr(ballot, attr))
    if ballot is None or empty:
        raise InvalidInput(_("Please fill in your ballot before sending it."))
    checked: dk.Ballot = build(dk.Ballot, msgspec.to_builtins(ballot))  # type: ignore[arg-type]
    return checked
