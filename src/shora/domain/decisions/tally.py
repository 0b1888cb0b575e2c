"""Vote counting for decisions: pure functions from ballots to frozen result objects.

No I/O, no clock, no database, no randomness: the same ballots and parameters always
give the same result, whatever order the ballots come in. Every method validates its
ballots and raises :class:`BallotError` (an :class:`shora.errors.InvalidInput` and a
``ValueError``) naming the ballot and the problem; bad parameters raise
:class:`TallyError`.

Methods (rules, tie-breaks and sources in docs/voting.md):

=================================  ==========================================
:func:`count_yes_no`               yes/no/abstain against a :class:`Threshold`
:func:`check_quorum`               quorum as a fraction of an electorate
:func:`count_consent`              agree/abstain/object/block
:func:`count_approval`             approval, with min/max choices per ballot
:func:`count_scores`               score (range) voting
:func:`count_dots`                 dot voting with a budget per voter
:func:`count_time_poll`            yes/if-need-be/no per time slot
:func:`instant_runoff`             IRV, one winner, round by round
:func:`scottish_stv`               STV for several seats, stage by stage
:func:`schulze`                    Schulze (Condorcet), the full ranking
=================================  ==========================================

Ties are never broken at random: see :mod:`shora.domain.decisions.tally_common` and
:class:`TieBreak` (earlier rounds first, then the earlier-listed option is favoured).

The implementation is split over ``tally_common``, ``tally_yesno``, ``tally_choice``,
``tally_ranked`` and ``tally_stv``; everything public is re-exported here.
"""

from __future__ import annotations

from shora.domain.decisions.tally_choice import (
    Availability,
    AvailabilityCount,
    ChoiceResult,
    TimePollResult,
    count_approval,
    count_dots,
    count_scores,
    count_time_poll,
)
from shora.domain.decisions.tally_common import BallotError, TallyError, TieBreak
from shora.domain.decisions.tally_ranked import (
    IrvResult,
    IrvRound,
    SchulzeResult,
    instant_runoff,
    pairwise_counts,
    schulze,
    strongest_paths,
)
from shora.domain.decisions.tally_stv import StageAction, StvResult, StvStage, scottish_stv
from shora.domain.decisions.tally_yesno import (
    SIMPLE_MAJORITY,
    TWO_THIRDS,
    UNANIMITY,
    Consent,
    ConsentBallot,
    ConsentResult,
    QuorumResult,
    Threshold,
    Vote,
    YesNoResult,
    check_quorum,
    count_consent,
    count_yes_no,
    quorum_required,
)

__all__ = [
    "SIMPLE_MAJORITY",
    "TWO_THIRDS",
    "UNANIMITY",
    "Availability",
    "AvailabilityCount",
    "BallotError",
    "ChoiceResult",
    "Consent",
    "ConsentBallot",
    "ConsentResult",
    "IrvResult",
    "IrvRound",
    "QuorumResult",
    "SchulzeResult",
    "StageAction",
    "StvResult",
    "StvStage",
    "TallyError",
    "Threshold",
    "TieBreak",
    "TimePollResult",
    "Vote",
    "YesNoResult",
    "check_quorum",
    "count_approval",
    "count_consent",
    "count_dots",
    "count_scores",
    "count_time_poll",
    "count_yes_no",
    "instant_runoff",
    "pairwise_counts",
    "quorum_required",
    "schulze",
    "scottish_stv",
    "strongest_paths",
]
