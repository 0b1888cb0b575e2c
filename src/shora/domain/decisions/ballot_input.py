"""A ballot from what a person typed: flags and OPTION=VALUE pairs, Latin or Persian
digits (the command line uses it; a web form can too)."""

from __future__ import annotations

from typing import Any

from shora.domain.decisions import kinds as dk
from shora.errors import InvalidInput
from shora.i18n import _, normalize_digits
from shora.numbers import digits_only

HOW_TO_VOTE = {
    "yes_no": "--yes | --no | --abstain",
    "consent": "--agree | --abstain | --object | --block --reason TEXT",
    "approval": "--choice OPTION ...",
    "score": "--score OPTION=N ...",
    "dots": "--dots OPTION=N ...",
    "irv": "--rank A --rank B | --rank 'A>B'",
    "stv": "--rank A --rank B | --rank 'A>B'",
    "schulze": "--rank A --rank B | --rank 'A>B'",
    "time_poll": "--slot OPTION=yes|maybe|no ...",
}
AVAILABILITY = {"yes": "yes", "maybe": "if_need_be", "if_need_be": "if_need_be", "no": "no"}


def _pairs(values: tuple[str, ...], flag: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        option, sep, given = value.rpartition("=")
        if not sep or not option.strip():
            raise InvalidInput(
                _("{flag} takes OPTION=VALUE, not {value}").format(flag=flag, value=value)
            )
        pairs[option.strip()] = normalize_digits(given).strip()
    return pairs


def _numbers(values: tuple[str, ...], flag: str) -> dict[str, int]:
    result = {}
    for option, given in _pairs(values, flag).items():
        if not digits_only(given.removeprefix("-")):
            raise InvalidInput(_("{value} is not a whole number").format(value=given))
        result[option] = int(given)
    return result


def ballot_from_inputs(method: str, kw: dict[str, Any]) -> dk.Ballot:
    flags = [f for f in ("yes", "no", "abstain", "agree", "object", "block") if kw[f]]
    given = bool(flags or kw["choice"] or kw["rank"] or kw["score"] or kw["dots"] or kw["slot"])
    if len(flags) > 1:
        raise InvalidInput(_("give only one of --{a} and --{b}").format(a=flags[0], b=flags[1]))
    ballot: dk.Ballot | None = None
    if method == "yes_no" and flags and flags[0] in ("yes", "no", "abstain"):
        ballot = dk.YesNoBallot(flags[0])  # type: ignore[arg-type]
    elif method == "consent" and flags and flags[0] in ("agree", "abstain", "object", "block"):
        ballot = dk.ConsentBallot(flags[0], kw["reason"])  # type: ignore[arg-type]
    elif method == "approval" and kw["choice"]:
        ballot = dk.ApprovalBallot([c.strip() for c in kw["choice"]])
    elif method in dk.RANKED_METHODS and kw["rank"]:
        ranking = [part.strip() for value in kw["rank"] for part in value.split(">")]
        ballot = dk.RankedBallot([r for r in ranking if r])
    elif method == "score" and kw["score"]:
        ballot = dk.ScoreBallot(_numbers(kw["score"], "--score"))
    elif method == "dots" and kw["dots"]:
        ballot = dk.DotsBallot(_numbers(kw["dots"], "--dots"))
    elif method == "time_poll" and kw["slot"]:
        answers = {}
        for slot, answer in _pairs(kw["slot"], "--slot").items():
            if answer not in AVAILABILITY:
                raise InvalidInput(_("answer yes, maybe or no for {slot}").format(slot=slot))
            answers[slot] = AVAILABILITY[answer]
        ballot = dk.TimeBallot(answers)  # type: ignore[arg-type]
    if ballot is None or (given and _extra(method, kw)):
        raise InvalidInput(
            _("this is a {method} vote: vote with {how}").format(
                method=method, how=HOW_TO_VOTE[method]
            )
        )
    return ballot


def _extra(method: str, kw: dict[str, Any]) -> bool:
    """Inputs given that this method does not use."""
    uses = {
        "yes_no": ("yes", "no", "abstain"),
        "consent": ("agree", "abstain", "object", "block", "reason"),
        "approval": ("choice",),
        "score": ("score",),
        "dots": ("dots",),
        "time_poll": ("slot",),
    }.get(method, ("rank",))
    names = ("yes", "no", "abstain", "agree", "object", "block", "choice", "rank", "score")
    return any(kw[n] for n in (*names, "dots", "slot") if n not in uses)
