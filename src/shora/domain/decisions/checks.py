"""What a person writes about a decision, checked before it is written: the least
voting period the rules set, the ballot problems people make most (in their language),
and the views the readers give of minutes. Pure: `now` is passed in."""

from __future__ import annotations

import msgspec

from shora.domain.decisions import kinds as dk
from shora.domain.decisions.state import (
    EventView,
    ProposalState,
    check_ballot,
    check_params,
    min_vote_seconds,
)
from shora.domain.decisions.tally_common import BallotError
from shora.errors import InvalidInput
from shora.i18n import _, ngettext, normalize_digits, number
from shora.kernel import kinds
from shora.numbers import digits_only

MIN_ID_PREFIX = 6
PROPOSE_KINDS = ("decision.propose", "gov.propose")


def parse_share(text: str) -> str | None:
    """A share such as 1/2 or 2/3 as the rules keep it, from what a person typed (Latin,
    Persian or Arabic-Indic digits; 1 and 0 are shares too); None if it is none."""
    text = normalize_digits(text).strip().replace("⁄", "/")
    if digits_only(text):
        text += "/1"
    num, _sep, den = text.partition("/")
    if not (digits_only(num) and digits_only(den)):
        return None
    numerator, denominator = int(num), int(den)
    if denominator <= 0 or numerator > denominator:
        return None
    return f"{numerator}/{denominator}"


def proposal_body(propose: EventView) -> dk.Propose:
    """The proposal a decision.propose or gov.propose event puts."""
    body = propose.body
    return body.proposal if propose.kind == "gov.propose" else body  # type: ignore[no-any-return]


DEADLINE_SLACK_SECONDS = 60


def ballot_rule_problem(rules: kinds.Rules, secret: bool) -> str | None:
    """Why the rule `secret_ballots` refuses a new vote held this way, or None: "never"
    refuses a secret ballot, "always" an open one."""
    mode = rules.secret_ballots
    if secret and mode == "never":
        return _("the council's rules hold no vote by secret ballot")
    if not secret and mode == "always":
        return _(
            "the council's rules hold every vote by secret ballot: "
            "propose it as a secret ballot instead"
        )
    return None


def require_min_period(
    body: dk.Propose, rules: kinds.Rules, purpose: str | None, now: float
) -> None:
    """Refuse a deadline before the least voting period the rules set: the council
    would hold the vote open that long anyway (docs/decisions.md §6.1)."""
    least = min_vote_seconds(rules, purpose)
    # A deadline worked out from a form's "in 1 hour" a moment before is not short:
    # the clock may have passed a second boundary since.
    if body.deadline + DEADLINE_SLACK_SECONDS < int(now) + least:
        hours = least // 3600
        raise InvalidInput(
            ngettext(
                "the council's rules keep such a vote open at least {n} hour: "
                "give a deadline at least that far ahead",
                "the council's rules keep such a vote open at least {n} hours: "
                "give a deadline at least that far ahead",
                hours,
            ).format(n=number(hours))
        )


def explain_ballot(state: ProposalState, ballot: dk.Ballot) -> None:
    """The ballot problems people make most, in their language; then the tally's check."""
    options = state.body.options
    named: list[str] = []
    if isinstance(ballot, dk.RankedBallot | dk.ApprovalBallot):
        named = list(ballot.ranking if isinstance(ballot, dk.RankedBallot) else ballot.choices)
        for i, option in enumerate(named):
            if option in named[:i] and isinstance(ballot, dk.RankedBallot):
                raise InvalidInput(_("{option} is ranked twice").format(option=option))
            if option in named[:i]:
                raise InvalidInput(_("{option} is chosen twice").format(option=option))
    elif isinstance(ballot, dk.ScoreBallot | dk.DotsBallot | dk.TimeBallot):
        named = list(
            ballot.scores
            if isinstance(ballot, dk.ScoreBallot)
            else ballot.dots
            if isinstance(ballot, dk.DotsBallot)
            else ballot.answers
        )
    for option in named:
        if option not in options:
            raise InvalidInput(
                _("{option} is not an option; the options are: {options}").format(
                    option=option, options=", ".join(options)
                )
            )
    if isinstance(ballot, dk.ConsentBallot) and ballot.response == "block":
        if not ballot.reason.strip():
            raise InvalidInput(_("a block must give a reason (--reason)"))
    try:
        check_ballot(state.body, check_params(state.body), ballot)
    except BallotError as exc:
        raise InvalidInput(
            _("this ballot does not fit the vote: {problem}").format(problem=str(exc))
        ) from exc


class MinutesView(msgspec.Struct, frozen=True):
    id: bytes
    author: bytes
    time: int  # ms, claimed
    title: str
    text: str
    decisions: tuple[bytes, ...]


def minutes_view(view: EventView) -> MinutesView:
    body: dk.Minutes = view.body
    return MinutesView(
        view.id, view.author, view.time, body.title, body.text, tuple(body.decisions)
    )


def check_new_proposal(body: dk.Propose, now: float) -> None:
    """What any new proposal, open or secret, must have: a title, parameters its method
    can count, and a deadline still to come."""
    if not body.title.strip():
        raise InvalidInput(_("a proposal needs a title"))
    try:
        check_params(body)
    except InvalidInput as exc:
        raise InvalidInput(
            _("this proposal cannot be voted on: {problem}").format(problem=str(exc))
        ) from exc
    if body.deadline <= now:
        raise InvalidInput(_("the deadline must be in the future"))
