"""Vote counting (shora.domain.decisions.tally), checked three ways.

(i)   published worked examples, stored with their sources in tests/vectors/tally/;
(ii)  properties that must hold for any ballots (ballot order never matters, the
      Condorcet winner wins Schulze, IRV between two options is a plain majority,
      STV stages add up, ...), with oracles written here from the definitions;
(iii) independent implementations on random ballots: pyrankvote 2.0.6 (IRV, and STV
      for one seat) and stvpoll 0.5.6 (Scottish STV, several seats), each compared only
      where its variant and ours must agree (the comments there say why).
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pyrankvote
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from pyrankvote import Ballot, Candidate
from stvpoll.scottish_stv import calculate_scottish_stv

from conftest import property_examples
from shora.domain.decisions import tally
from shora.domain.decisions.tally import (
    SIMPLE_MAJORITY,
    TWO_THIRDS,
    UNANIMITY,
    BallotError,
    ConsentBallot,
    StageAction,
    StvResult,
    TallyError,
    Threshold,
    TieBreak,
    check_quorum,
    count_approval,
    count_consent,
    count_dots,
    count_scores,
    count_time_poll,
    count_yes_no,
    instant_runoff,
    quorum_required,
    schulze,
    scottish_stv,
)
from shora.errors import InvalidInput

VECTORS = Path(__file__).parents[1] / "vectors" / "tally"
VECTOR_FILES = sorted(VECTORS.glob("*.json"))
NAMES = ["Azadeh", "Babak", "Chenoa", "Darius", "Elnaz", "Farid", "Golnar"]

Profile = tuple[list[str], list[list[str]]]


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def _expand(vector: dict[str, Any]) -> list[list[str]]:
    return [list(b["ranking"]) for b in vector["ballots"] for _ in range(b["count"])]


# --- (i) published examples ------------------------------------------------------------------


def test_vectors_present_and_sourced() -> None:
    assert {_load(p)["method"] for p in VECTOR_FILES} == {"irv", "stv", "schulze"}
    for path in VECTOR_FILES:
        assert _load(path)["source"].strip(), path.name


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.stem)
def test_vector(path: Path) -> None:
    v = _load(path)
    ballots = _expand(v)
    want = v["expected"]
    if v["method"] == "schulze":
        r = schulze(v["options"], ballots)
        assert [list(row) for row in r.pairwise] == want["pairwise"]
        if "strongest_paths" in want:
            assert [list(row) for row in r.strongest_paths] == want["strongest_paths"]
        assert list(r.ranking) == want["ranking"]
        assert list(r.winners) == want["winners"]
        assert r.tie_break is None
    elif v["method"] == "irv":
        r_irv = instant_runoff(v["options"], ballots)
        assert r_irv.winner == want["winner"]
        assert len(r_irv.rounds) == len(want["rounds"])
        for got, exp in zip(r_irv.rounds, want["rounds"], strict=True):
            assert dict(got.votes) == exp["votes"]
            assert got.excluded == exp["excluded"]
    else:
        r_stv = scottish_stv(v["options"], ballots, v["seats"])
        assert r_stv.quota == want["quota"]
        assert list(r_stv.elected) == want["elected"]
        assert len(r_stv.stages) == len(want["stages"])
        for got_stage, exp_stage in zip(r_stv.stages, want["stages"], strict=True):
            assert got_stage.action == exp_stage["action"]
            assert got_stage.option == exp_stage["option"]
            assert list(got_stage.elected) == exp_stage["elected"]
            for option, votes in exp_stage["votes"].items():
                assert got_stage.votes[option] == Decimal(votes), (got_stage.number, option)
            if "transfer_value" in exp_stage:
                assert got_stage.transfer_value == Decimal(exp_stage["transfer_value"])
            for field in ("non_transferable", "lost_to_fractions"):
                if field in exp_stage:
                    assert getattr(got_stage, field) == Decimal(exp_stage[field])
            assert got_stage.tie_break == exp_stage.get("tie_break")
        _check_stv_invariants(r_stv)


# --- strategies ------------------------------------------------------------------------------


@st.composite
def ranked_profiles(
    draw: st.DrawFn,
    *,
    min_options: int = 1,
    max_options: int = 6,
    max_kinds: int = 8,
    max_count: int = 12,
    empty: bool = True,
) -> Profile:
    """Options in a random listing order, and ballots: a few kinds, each several times."""
    k = draw(st.integers(min_options, max_options))
    options = draw(st.permutations(NAMES[:k]))
    shortest = 0 if empty else 1
    ranking = st.permutations(options).flatmap(
        lambda p: st.integers(shortest, len(p)).map(lambda n: list(p[:n]))
    )
    kinds = draw(
        st.lists(st.tuples(ranking, st.integers(1, max_count)), min_size=1, max_size=max_kinds)
    )
    return list(options), [list(r) for r, n in kinds for _ in range(n)]


shuffles = st.randoms(use_true_random=False)


# --- ballot validation -----------------------------------------------------------------------


def test_errors_are_invalid_input_and_value_error() -> None:
    assert issubclass(BallotError, TallyError)
    assert issubclass(BallotError, InvalidInput)
    assert issubclass(BallotError, ValueError)


@pytest.mark.parametrize("count", [instant_runoff, schulze, lambda o, b: scottish_stv(o, b, 2)])
def test_ranked_ballot_errors(count: Any) -> None:
    options = ["a", "b", "c"]
    with pytest.raises(BallotError) as info:
        count(options, [["a"], ["b", "c"], ["c", "a", "c"]])
    assert info.value.code == "duplicate_option"
    assert info.value.index == 2
    assert "'c' is ranked twice" in str(info.value)
    with pytest.raises(BallotError) as info:
        count(options, [["a"], ["a"], ["d", "a"]])
    assert (info.value.code, info.value.index) == ("unknown_option", 2)
    with pytest.raises(BallotError) as info:
        count(options, [["a"], 7])
    assert (info.value.code, info.value.index) == ("not_a_ballot", 1)
    with pytest.raises(BallotError) as info:
        count(options, [["a", ["b"]]])
    assert info.value.code == "not_a_ballot"
    with pytest.raises(TallyError) as params:
        count(["a", "a"], [])
    assert params.value.code == "duplicate_options"
    with pytest.raises(TallyError):
        count([], [])
    with pytest.raises(TallyError):
        count("abc", [])


def test_stv_seats_must_be_positive() -> None:
    for seats in (0, -1, True, 1.0):
        with pytest.raises(TallyError):
            scottish_stv(["a", "b"], [["a"]], seats)  # type: ignore[arg-type]


def test_approval_errors() -> None:
    options = ["a", "b", "c", "d"]
    ok = count_approval(options, [{"a"}, ["b", "c"]], min_choices=1, max_choices=2)
    assert dict(ok.totals) == {"a": 1, "b": 1, "c": 1, "d": 0}
    cases = [
        ([{"a"}, set()], "too_few_choices", 1),
        ([{"a", "b", "c"}], "too_many_choices", 0),
        ([["a", "a"]], "duplicate_option", 0),
        ([{"a"}, {"x"}], "unknown_option", 1),
        (["ab"], "not_a_ballot", 0),
        ([{"a": 1}], "not_a_ballot", 0),
    ]
    for ballots, code, index in cases:
        with pytest.raises(BallotError) as info:
            count_approval(options, ballots, min_choices=1, max_choices=2)
        assert (info.value.code, info.value.index) == (code, index)
    with pytest.raises(TallyError):
        count_approval(options, [], min_choices=3, max_choices=2)
    with pytest.raises(TallyError):
        count_approval(options, [], max_choices=5)


def test_score_errors() -> None:
    options = ["a", "b"]
    cases = [
        ({"a": 6}, "score_out_of_range"),
        ({"a": -1}, "score_out_of_range"),
        ({"a": 2.5}, "not_an_integer"),
        ({"a": True}, "not_an_integer"),
        ({"z": 1}, "unknown_option"),
    ]
    for ballot, code in cases:
        with pytest.raises(BallotError) as info:
            count_scores(options, [{"a": 1}, ballot], min_score=0, max_score=5)
        assert (info.value.code, info.value.index) == (code, 1)
    with pytest.raises(BallotError) as info:
        count_scores(options, [["a"]], min_score=0, max_score=5)
    assert info.value.code == "not_a_ballot"
    with pytest.raises(TallyError):
        count_scores(options, [], min_score=5, max_score=5)


def test_dot_errors() -> None:
    options = ["a", "b", "c"]
    ok = count_dots(options, [{"a": 3, "b": 2}, {"c": 5}, {}], budget=5)
    assert dict(ok.totals) == {"a": 3, "b": 2, "c": 5}
    cases = [
        ({"a": 3, "b": 3}, "budget_exceeded"),
        ({"a": -1, "b": 2}, "negative_points"),
        ({"a": 1.5}, "not_an_integer"),
        ({"x": 1}, "unknown_option"),
    ]
    for ballot, code in cases:
        with pytest.raises(BallotError) as info:
            count_dots(options, [{"a": 1}, ballot], budget=5)
        assert (info.value.code, info.value.index) == (code, 1)
    with pytest.raises(TallyError):
        count_dots(options, [], budget=0)


def test_block_needs_a_reason() -> None:
    for ballot in (ConsentBallot("block"), ConsentBallot("block", "   "), "block", ("block", "")):
        with pytest.raises(BallotError) as info:
            count_consent(["agree", ballot])
        assert (info.value.code, info.value.index) == ("block_without_reason", 1)
    with pytest.raises(BallotError) as info:
        count_consent(["agree", "maybe"])
    assert info.value.code == "invalid_response"
    with pytest.raises(BallotError):
        count_consent([42])  # type: ignore[list-item]
    with pytest.raises(TallyError):
        count_consent([], blocks_to_stop=0)


def test_yes_no_and_time_poll_errors() -> None:
    with pytest.raises(BallotError) as info:
        count_yes_no(["yes", "perhaps"])
    assert (info.value.code, info.value.index) == ("invalid_response", 1)
    with pytest.raises(BallotError) as info:
        count_time_poll(["mon"], [{"mon": "yes"}, {"mon": "maybe"}])
    assert (info.value.code, info.value.index) == ("invalid_response", 1)
    with pytest.raises(BallotError) as info:
        count_time_poll(["mon"], [{"tue": "yes"}])
    assert info.value.code == "unknown_option"
    for bad in (Fraction(3, 2), Fraction(-1, 3), 0.5):
        with pytest.raises(TallyError):
            Threshold(bad)  # type: ignore[arg-type]
    with pytest.raises(TallyError):
        Threshold(Fraction(1), inclusive=False)
    with pytest.raises(TallyError):
        count_yes_no([], electorate=10)


# --- yes / no / abstain and quorum -----------------------------------------------------------


def test_simple_majority_is_more_than_half() -> None:
    tie = count_yes_no(["yes"] * 5 + ["no"] * 5 + ["abstain"] * 20)
    assert (tie.yes, tie.no, tie.abstain, tie.participants) == (5, 5, 20, 30)
    assert tie.yes_share == Fraction(1, 2)
    assert not tie.passed
    assert count_yes_no(["yes"] * 6 + ["no"] * 5 + ["abstain"] * 20).passed


def test_two_thirds_is_at_least() -> None:
    assert count_yes_no(["yes", "yes", "no"], TWO_THIRDS).passed
    assert not count_yes_no(["yes", "yes", "no", "no"], TWO_THIRDS).passed
    # a bare Fraction means "at least": so one half lets a tie pass
    assert count_yes_no(["yes", "no"], Fraction(1, 2)).passed
    assert not count_yes_no(["yes", "no"], SIMPLE_MAJORITY).passed
    assert count_yes_no(["yes", "abstain"], UNANIMITY).passed
    assert not count_yes_no(["yes"] * 99 + ["no"], UNANIMITY).passed


def test_nobody_voting_yes_or_no_passes_nothing() -> None:
    r = count_yes_no(["abstain"] * 3, Threshold(Fraction(0)))
    assert r.yes_share is None
    assert not r.passed


def test_quorum_counts_abstentions() -> None:
    assert quorum_required(9, Fraction(1, 2)) == 5
    assert quorum_required(10, Fraction(1, 2)) == 5
    assert quorum_required(0, Fraction(1, 2)) == 0
    r = count_yes_no(
        ["yes", "yes", "no", "abstain", "abstain"], electorate=10, quorum=Fraction(1, 2)
    )
    assert r.quorum is not None and r.quorum.met and r.quorum.required == 5
    assert r.passed
    short = count_yes_no(["yes", "yes", "no", "abstain"], electorate=10, quorum=Fraction(1, 2))
    assert short.threshold_met and short.quorum is not None and not short.quorum.met
    assert not short.passed
    assert not check_quorum(4, 9, Fraction(1, 2)).met
    assert check_quorum(5, 9, Fraction(1, 2)).met


@given(
    yes=st.integers(0, 30),
    no=st.integers(0, 30),
    abstain=st.integers(0, 30),
    num=st.integers(0, 12),
    den=st.integers(1, 12),
    inclusive=st.booleans(),
)
def test_threshold_matches_its_definition(
    yes: int, no: int, abstain: int, num: int, den: int, inclusive: bool
) -> None:
    assume(num <= den and not (num == den and not inclusive))
    f = Fraction(num, den)
    r = count_yes_no(["yes"] * yes + ["no"] * no + ["abstain"] * abstain, Threshold(f, inclusive))
    if yes + no == 0:
        assert not r.passed
    else:
        share = Fraction(yes, yes + no)
        assert r.passed == (share >= f if inclusive else share > f)


# --- consent ---------------------------------------------------------------------------------


def test_consent() -> None:
    ballots: list[Any] = [
        "agree",
        ConsentBallot("agree"),
        ("abstain", ""),
        ConsentBallot("object", "too expensive"),
        ConsentBallot("object"),
        ConsentBallot("block", " puts the night watch at risk "),
    ]
    r = count_consent(ballots)
    assert (r.agree, r.abstain, r.object, r.block) == (2, 1, 2, 1)
    assert r.objections == ("too expensive",)
    assert r.blocks == ("puts the night watch at risk",)
    assert r.blocked and not r.passed
    assert count_consent(ballots, blocks_to_stop=2).passed
    assert count_consent(ballots, blocks_to_stop=None).passed
    assert count_consent(ballots[:5]).passed
    assert not count_consent(["abstain", "object"]).passed  # nobody agrees
    quorate = count_consent(["agree", "abstain"], electorate=4, quorum=Fraction(1, 2))
    assert quorate.passed
    assert not count_consent(["agree"], electorate=4, quorum=Fraction(1, 2)).passed


# --- approval, score, dots, time poll --------------------------------------------------------


def test_approval_ranking_and_ties() -> None:
    r = count_approval(["a", "b", "c"], [{"b", "c"}, {"c"}, {"b"}])
    assert dict(r.totals) == {"a": 0, "b": 2, "c": 2}
    assert r.ranking == ("b", "c", "a") and r.winner == "b"
    assert r.tie_break is TieBreak.LISTING_ORDER
    empty = count_approval(["a", "b"], [])
    assert empty.winner is None and empty.tie_break is None and empty.mean("a") is None


def test_scores_unscored_count_as_minimum() -> None:
    r = count_scores(
        ["a", "b", "c"], [{"a": 5, "b": 3}, {"b": 4, "c": 1}, {}], min_score=1, max_score=5
    )
    assert dict(r.totals) == {"a": 7, "b": 8, "c": 3}
    assert r.ranking == ("b", "a", "c") and r.tie_break is None
    assert r.mean("b") == Fraction(8, 3)


def test_time_poll_ranks_by_possible_then_yes() -> None:
    r = count_time_poll(
        ["mon", "tue", "wed"],
        [
            {"mon": "yes", "tue": "if_need_be", "wed": "no"},
            {"mon": "no", "tue": "yes", "wed": "yes"},
            {"mon": "if_need_be", "tue": "yes", "wed": "yes"},
        ],
    )
    assert (r.counts["tue"].yes, r.counts["tue"].if_need_be, r.counts["tue"].no) == (2, 1, 0)
    assert r.counts["tue"].possible == 3
    assert r.ranking == ("tue", "wed", "mon") and r.best == "tue" and r.tie_break is None
    tied = count_time_poll(["x", "y"], [{"x": "yes", "y": "yes"}])
    assert tied.best == "x" and tied.tie_break is TieBreak.LISTING_ORDER


# --- properties of the ranked methods --------------------------------------------------------


def _check_stv_invariants(r: StvResult) -> None:
    """Votes, non-transferable and truncation losses add up to the valid ballots."""
    elected: list[str] = []
    for stage in r.stages:
        total = sum(stage.votes.values()) + stage.non_transferable + stage.lost_to_fractions
        assert total == r.valid
        assert all(v >= 0 for v in stage.votes.values())
        elected += stage.elected
    assert elected == list(r.elected)
    assert len(set(elected)) == len(elected)
    if r.valid:
        assert len(r.elected) == min(r.seats, len(r.options))
    else:
        assert r.elected == ()


@settings(max_examples=150, deadline=None)
@given(ranked_profiles(), st.integers(1, 4), shuffles)
def test_ballot_order_does_not_matter(profile: Profile, seats: int, rnd: random.Random) -> None:
    options, ballots = profile
    shuffled = ballots.copy()
    rnd.shuffle(shuffled)
    assert instant_runoff(options, shuffled) == instant_runoff(options, ballots)
    assert schulze(options, shuffled) == schulze(options, ballots)
    assert scottish_stv(options, shuffled, seats) == scottish_stv(options, ballots, seats)
    approvals = [set(b) for b in ballots]
    assert count_approval(options, approvals) == count_approval(options, approvals[::-1])
    scores = [{o: len(b) - i for i, o in enumerate(b)} for b in ballots]
    assert count_scores(options, scores, min_score=0, max_score=7) == count_scores(
        options, scores[::-1], min_score=0, max_score=7
    )
    assert count_dots(options, scores, budget=28) == count_dots(options, scores[::-1], budget=28)
    polls = [{o: "yes" if i == 0 else "if_need_be" for i, o in enumerate(b)} for b in ballots]
    assert count_time_poll(options, polls) == count_time_poll(options, polls[::-1])
    votes = ["yes" if len(b) % 3 == 0 else "no" if len(b) % 3 == 1 else "abstain" for b in ballots]
    assert count_yes_no(votes) == count_yes_no(votes[::-1])
    consent = [
        ("block", f"reason {len(b)}") if len(b) == 2 else ("object", str(b)) for b in ballots
    ]
    assert count_consent(consent) == count_consent(consent[::-1])


def _naive_pairwise(options: Sequence[str], ballots: Sequence[Sequence[str]]) -> list[list[int]]:
    """d[i][j] straight from the definition: ranked above, or ranked while j is not."""
    d = [[0] * len(options) for _ in options]
    for ballot in ballots:
        place = {o: p for p, o in enumerate(ballot)}
        for i, a in enumerate(options):
            for j, b in enumerate(options):
                if a != b and a in place and place[a] < place.get(b, len(options)):
                    d[i][j] += 1
    return d


def _naive_strongest_paths(d: list[list[int]]) -> list[list[int]]:
    """The widest path by trying every simple path (fine for six options)."""
    k = len(d)
    p = [[0] * k for _ in range(k)]
    for a, b in itertools.permutations(range(k), 2):
        others = [c for c in range(k) if c not in (a, b)]
        for r in range(len(others) + 1):
            for middle in itertools.permutations(others, r):
                path = (a, *middle, b)
                links = [d[x][y] if d[x][y] > d[y][x] else 0 for x, y in itertools.pairwise(path)]
                p[a][b] = max(p[a][b], min(links))
    return p


@settings(max_examples=150, deadline=None)
@given(ranked_profiles(max_options=5))
def test_schulze_against_its_definition(profile: Profile) -> None:
    options, ballots = profile
    r = schulze(options, ballots)
    d = _naive_pairwise(options, ballots)
    assert [list(row) for row in r.pairwise] == d
    p = _naive_strongest_paths(d)
    assert [list(row) for row in r.strongest_paths] == p
    k = len(options)
    for a, b in itertools.permutations(range(k), 2):
        if p[a][b] > p[b][a]:
            assert r.ranking.index(options[a]) < r.ranking.index(options[b])
    for place, option in enumerate(r.ranking):  # earliest-listed unbeaten, place by place
        left = [options.index(o) for o in r.ranking[place:]]
        unbeaten = [i for i in left if all(p[j][i] <= p[i][j] for j in left)]
        assert options.index(option) == min(unbeaten)
    assert r.winners == tuple(
        o for i, o in enumerate(options) if all(p[i][j] >= p[j][i] for j in range(k))
    )
    if len(r.winners) > 1:
        assert r.tie_break is TieBreak.LISTING_ORDER
    condorcet = [a for a in range(k) if all(d[a][b] > d[b][a] for b in range(k) if b != a)]
    if condorcet and any(ballots):
        event("has a Condorcet winner")
        assert r.winners == (options[condorcet[0]],)
        assert r.winner == options[condorcet[0]]


@settings(max_examples=200, deadline=None)
@given(ranked_profiles(min_options=2, max_options=2))
def test_irv_with_two_options_is_plain_majority(profile: Profile) -> None:
    options, ballots = profile
    first = Counter(b[0] for b in ballots if b)
    a, b = first[options[0]], first[options[1]]
    r = instant_runoff(options, ballots)
    if a + b == 0:
        assert r.winner is None
    else:
        assert r.winner == (options[0] if a >= b else options[1])
        assert r.tie_broken == (a == b)


@settings(max_examples=200, deadline=None)
@given(ranked_profiles())
def test_stv_for_one_seat_is_irv(profile: Profile) -> None:
    # With one seat the Scottish count excludes exactly as IRV does (same tie rule, same
    # history) and an option with a majority of the continuing ballots is never the
    # lowest, so both elect the same option.
    options, ballots = profile
    irv = instant_runoff(options, ballots)
    stv = scottish_stv(options, ballots, 1)
    assert stv.elected == (() if irv.winner is None else (irv.winner,))


@settings(max_examples=200, deadline=None)
@given(ranked_profiles(max_options=7, max_kinds=10, max_count=30), st.integers(1, 5))
def test_stv_stages_add_up(profile: Profile, seats: int) -> None:
    options, ballots = profile
    r = scottish_stv(options, ballots, seats)
    _check_stv_invariants(r)
    assert r.quota == r.valid // (seats + 1) + 1
    assert r.valid + r.blank == len(ballots)
    for stage in r.stages:
        if stage.action is StageAction.SURPLUS:
            assert stage.transfer_value is not None and 0 <= stage.transfer_value < 1
        if stage.action is StageAction.EXCLUSION:
            assert stage.option is not None and stage.votes[stage.option] == 0


def test_stv_no_valid_ballots_elects_nobody() -> None:
    r = scottish_stv(["a", "b"], [[], []], 1)
    assert r.elected == () and r.blank == 2 and r.valid == 0 and len(r.stages) == 1
    assert instant_runoff(["a", "b"], [[]]).winner is None
    assert schulze(["a", "b"], []).winner is None


def test_stv_fewer_options_than_seats_elects_all() -> None:
    r = scottish_stv(["a", "b"], [["b"]], 3)
    assert r.elected == ("b", "a")


def test_exclusion_tie_decided_by_earlier_stage() -> None:
    # Stage 1: A 4, B 3, C 2, D 1. D's ballot goes to C: C 3 = B 3. Rule 51: at the
    # most recent earlier stage where they differed (stage 1) C had fewer: C goes.
    ballots = [["A"]] * 4 + [["B"]] * 3 + [["C"]] * 2 + [["D", "C"]]
    r = scottish_stv(["A", "B", "C", "D"], ballots, 1)
    assert r.stages[2].option == "C" and r.stages[2].tie_break is TieBreak.EARLIER_ROUND
    i = instant_runoff(["A", "B", "C", "D"], ballots)
    assert i.rounds[1].excluded == "C" and i.rounds[1].tie_break is TieBreak.EARLIER_ROUND


def test_stv_surplus_ties_go_by_earlier_stage_then_listing_order() -> None:
    # A and B both have 7 (quota 5: 19 ballots, 3 seats): equal surpluses at the first
    # stage and no earlier stage, so listing order decides, and B is listed first.
    ballots = [["A", "C"]] * 7 + [["B", "D"]] * 7 + [["C"]] * 2 + [["D"]] * 2 + [["E"]]
    r = scottish_stv(["B", "A", "C", "D", "E"], ballots, 3)
    assert r.stages[0].elected == ("B", "A")  # equal totals: listing order too
    assert r.stages[1].option == "B" and r.stages[1].tie_break is TieBreak.LISTING_ORDER
    assert r.stages[2].option == "A" and r.stages[2].tie_break is None


def test_tie_break_rule() -> None:
    from shora.domain.decisions.tally_common import break_tie

    position = {"a": 0, "b": 1, "c": 2}
    history = [{"a": 5, "b": 5, "c": 5}, {"a": 4, "b": 6, "c": 4}, {"a": 3, "b": 6, "c": 4}]
    assert break_tie(["a", "c"], history, position, lowest=True) == ("a", TieBreak.EARLIER_ROUND)
    assert break_tie(["a", "c"], history, position, lowest=False) == (
        "c",
        TieBreak.EARLIER_ROUND,
    )
    first = history[:1]
    assert break_tie(["a", "c"], first, position, lowest=True) == ("c", TieBreak.LISTING_ORDER)
    assert break_tie(["a", "c"], first, position, lowest=False) == ("a", TieBreak.LISTING_ORDER)
    two_low = [{"a": 1, "b": 2, "c": 1}]
    assert break_tie(["a", "b", "c"], two_low, position, lowest=True) == (
        "c",
        TieBreak.LISTING_ORDER,
    )


# --- (iii) the independent reference: pyrankvote 2.0.6 ---------------------------------------
#
# What pyrankvote implements (read from its source, multiple_seat_ranking_methods.py
# and helpers.py):
#   IRV  - each round, elect an option with at least ceil(n/2) of the n ballots still
#          counting, else exclude the lowest; several lowest options whose combined votes
#          cannot overtake the next one are excluded together ("batch" exclusion). Ties
#          are broken by counting second (third, ...) choices, then at random.
#   STV  - quota n/(seats+1) exactly, elected at >= quota (ours: floor(n/(seats+1)) + 1);
#          a surplus is shared equally over *all* papers the option holds, whatever their
#          current value (unweighted inclusive Gregory; ours, the Scottish rules: each
#          paper at surplus x its value / total, truncated to 5 decimals); all options
#          over quota are elected and transferred in one round; batch exclusion; float
#          arithmetic. It is a different variant of STV.
# Where the two must agree:
#   IRV, exactly, whenever our count broke no tie: batch exclusion removes a group of
#   options whose combined votes are below the next option, which sequential exclusion
#   would remove one by one anyway (strictly below, or a tie we would have seen); and an
#   option with exactly half the continuing ballots, which pyrankvote elects at once,
#   still wins our count unless the last two tie. The first round's counts must match.
#   STV with one seat: both reduce to IRV (quota n/2 or floor(n/2)+1: same winner unless
#   there is a tie).
#   STV with several seats only on counts where no fraction ever arises, which random
#   ballots almost never give beyond trivial ones: see stvpoll below for several seats.
# Everywhere else the variants legitimately differ, so nothing is compared.


def _reference_ballots(options: Sequence[str], ballots: Sequence[Sequence[str]]) -> Any:
    cands = {o: Candidate(o) for o in options}
    return [cands[o] for o in options], [Ballot([cands[o] for o in b]) for b in ballots]


def _reference_names(result: Any) -> list[str]:
    return [c.name for c in result.get_winners()]


@settings(
    max_examples=property_examples(dev=400, ci=200),
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much],
)
@given(ranked_profiles(min_options=2, max_count=40, empty=False))
def test_irv_matches_pyrankvote(profile: Profile) -> None:
    options, ballots = profile
    ours = instant_runoff(options, ballots)
    assume(not ours.tie_broken)
    candidates, ref_ballots = _reference_ballots(options, ballots)
    ref = pyrankvote.instant_runoff_voting(candidates, ref_ballots)
    assert _reference_names(ref) == [ours.winner]
    first_round = {r.candidate.name: r.number_of_votes for r in ref.rounds[0].candidate_results}
    assert first_round == dict(ours.rounds[0].votes)


@settings(
    max_examples=property_examples(dev=300, ci=150),
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much],
)
@given(ranked_profiles(min_options=2, max_count=40, empty=False))
def test_stv_one_seat_matches_pyrankvote(profile: Profile) -> None:
    options, ballots = profile
    ours = scottish_stv(options, ballots, 1)
    assume(not ours.tie_broken and not instant_runoff(options, ballots).tie_broken)
    candidates, ref_ballots = _reference_ballots(options, ballots)
    ref = pyrankvote.single_transferable_vote(candidates, ref_ballots, number_of_seats=1)
    assert _reference_names(ref) == list(ours.elected)


# --- (iii b) a second reference for multi-seat STV: stvpoll 0.5.6 ----------------------------
#
# pyrankvote's STV only agrees with the Scottish rules on counts where no fraction ever
# arises, and random ballots almost never give a several-seat count like that beyond
# the first stage. stvpoll's calculate_scottish_stv (read from its source, base.py and
# transfer_strategies.py) is much closer to ours: quota floor(n/(seats+1)) + 1, elected
# at >= quota, each surplus passed on with *all* the papers, each at its value times
# surplus/total (weighted inclusive Gregory), exclusions one at a time at the papers'
# values, and the remaining options elected when they are as many as the seats left.
# It differs in three ways: (1) it *rounds* each paper's new value to five decimals
# (rule 48(3) truncates); (2) when several options pass the quota at once, it hands
# papers of the first to the others before their own surplus goes (the Order treats
# them as already elected); (3) ties go by earlier rounds, then at random.
# So the two must agree (same options elected, same options excluded in the same order)
# when our count breaks no tie, elects at most one option per stage until the last, and
# no decision is closer than the rounding can move a total: each surplus transfer moves
# a paper's value by at most 0.00001, so no total differs by more than
# n x (surplus transfers so far) x 0.00001, and we ask every total to stay further than
# that from the quota and from the next-lowest total at every exclusion.


def _margin_ok(r: StvResult) -> bool:
    unit = Decimal("0.00001")
    quota = Decimal(r.quota)
    continuing = set(r.options)
    surpluses = 0
    previous: dict[str, Decimal] | None = None
    for stage in r.stages:
        if stage.action is StageAction.SURPLUS:
            surpluses += 1
        slack = r.valid * surpluses * unit
        if stage.action is StageAction.EXCLUSION and previous is not None:
            assert stage.option is not None
            others = [previous[o] for o in continuing if o != stage.option]
            if others and min(others) - previous[stage.option] <= 2 * slack:
                return False
            continuing.discard(stage.option)
        for option in continuing:
            gap = abs(stage.votes[option] - quota)
            if gap <= slack and not (gap == 0 and stage.lost_to_fractions == 0):
                return False
        last = len(r.elected) == r.seats and stage is r.stages[-1]
        if len(stage.elected) > 1 and not last:
            return False
        continuing -= set(stage.elected)
        previous = dict(stage.votes)
    return True


@settings(
    max_examples=property_examples(dev=400, ci=200),
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much],
)
@given(
    ranked_profiles(min_options=3, max_options=7, max_kinds=10, max_count=40, empty=False),
    st.integers(2, 4),
)
def test_stv_matches_stvpoll(profile: Profile, seats: int) -> None:
    options, ballots = profile
    assume(seats < len(options))
    ours = scottish_stv(options, ballots, seats)
    assume(not ours.tie_broken and _margin_ok(ours))
    surplus_stages = sum(s.action is StageAction.SURPLUS for s in ours.stages)
    event(f"compared, {'with' if surplus_stages else 'without'} surplus transfers")
    ref = calculate_scottish_stv(
        tuple(options), Counter(tuple(b) for b in ballots), seats, allow_random=False
    )
    assert ref.complete and ref.quota == ours.quota
    assert sorted(ref) == sorted(ours.elected)
    ref_excluded = [x.selected[0] for x in ref.rounds if x.status == "Excluded"]
    ours_excluded = [s.option for s in ours.stages if s.action is StageAction.EXCLUSION]
    assert ref_excluded == ours_excluded
    assert {c: Decimal(v) for c, v in ref.rounds[0].votes.items()} == dict(ours.stages[0].votes)


def test_public_names_are_exported() -> None:
    for name in tally.__all__:
        assert hasattr(tally, name), name
