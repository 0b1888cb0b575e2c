"""A proposal's result as charts the page draws as SVG bars, from the tally's result
objects: counts for yes/no and consent, totals for approval, score and dots, who can
come for a time poll, and instant-runoff rounds and STV stages one by one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shora.i18n import _, current_language, digits, number
from shora.services.decisions import tally


@dataclass
class Bar:
    label: str
    value: str  # as people read it (Persian digits in Persian)
    percent: float  # of the longest bar, 0..100
    mark: bool = False  # a winner, or the option excluded at this round


@dataclass
class Chart:
    title: str
    bars: list[Bar]
    notes: list[str] = field(default_factory=list)


Namer = Callable[[str], str]


def _bars(values: Mapping[str, int | Decimal], name: Namer, marked: set[str]) -> list[Bar]:
    top = max([float(v) for v in values.values()] + [0.0])
    return [
        Bar(
            name(option),
            number(int(v)) if isinstance(v, int) else digits(str(v)),
            100.0 * float(v) / top if top else 0.0,
            option in marked,
        )
        for option, v in values.items()
    ]


def _counts(pairs: list[tuple[str, int]]) -> list[Bar]:
    return _bars(dict(pairs), lambda label: label, set())


def charts(result: Any, name: Namer) -> list[Chart]:
    """The charts for one tally result; [] if there is nothing to draw."""
    if isinstance(result, tally.YesNoResult):
        bars = _counts(
            [(_("yes"), result.yes), (_("no"), result.no), (_("abstain"), result.abstain)]
        )
        return [Chart(_("Ballots"), bars)]
    if isinstance(result, tally.ConsentResult):
        bars = _counts(
            [
                (_("agree"), result.agree),
                (_("stand aside"), result.abstain),
                (_("object"), result.object),
                (_("block"), result.block),
            ]
        )
        notes = [_("Block: {reason}").format(reason=r) for r in result.blocks]
        notes += [_("Objection: {reason}").format(reason=r) for r in result.objections]
        return [Chart(_("Responses"), bars, notes)]
    if isinstance(result, tally.ChoiceResult):
        marked = {result.winner} if result.winner else set()
        return [Chart(_("Totals"), _bars(dict(result.totals), name, marked))]
    if isinstance(result, tally.TimePollResult):
        possible = {o: c.possible for o, c in result.counts.items()}
        bars = _bars(possible, name, {result.best} if result.best else set())
        for bar, count in zip(bars, result.counts.values(), strict=True):
            bar.value = _("{yes} yes, {maybe} if need be").format(
                yes=number(count.yes), maybe=number(count.if_need_be)
            )
        return [Chart(_("Who can come"), bars)]
    if isinstance(result, tally.SchulzeResult):
        paths = result.strongest_paths
        wins = {
            option: sum(1 for j in range(len(paths)) if paths[i][j] > paths[j][i])
            for i, option in enumerate(result.options)
        }
        marked = set(result.winners)
        return [Chart(_("Options each one beats, head to head"), _bars(wins, name, marked))]
    if isinstance(result, tally.IrvResult):
        return [_irv_round(i, r, name) for i, r in enumerate(result.rounds, 1)]
    if isinstance(result, tally.StvResult):
        return [_stv_stage(s, name) for s in result.stages]
    return []


def _irv_round(i: int, r: tally.IrvRound, name: Namer) -> Chart:
    marked = {r.excluded} if r.excluded else set()
    chart = Chart(_("Round {n}").format(n=number(i)), _bars(dict(r.votes), name, marked))
    if r.excluded is not None:
        chart.notes.append(_("{option} is excluded.").format(option=name(r.excluded)))
        for option, n in r.transfers.items():
            chart.notes.append(
                _("{n} ballots go to {option}.").format(n=number(n), option=name(option))
            )
    if r.exhausted:
        chart.notes.append(_("Ballots with no choice left: {n}").format(n=number(r.exhausted)))
    if r.tie_break is not None:
        chart.notes.append(_("A tie was broken by the rule in the voting guide."))
    return chart


def _stv_stage(s: tally.StvStage, name: Namer) -> Chart:
    if s.action == tally.StageAction.FIRST_PREFERENCES:
        title = _("Stage {n}: first preferences").format(n=number(s.number))
    elif s.action == tally.StageAction.SURPLUS:
        title = _("Stage {n}: surplus of {option}").format(
            n=number(s.number), option=name(s.option or "")
        )
    else:
        title = _("Stage {n}: {option} excluded").format(
            n=number(s.number), option=name(s.option or "")
        )
    chart = Chart(title, _bars(dict(s.votes), name, set(s.elected)))
    if s.transfer_value is not None:
        chart.notes.append(_("Transfer value: {value}").format(value=digits(str(s.transfer_value))))
    for option in s.elected:
        chart.notes.append(_("{option} is elected.").format(option=name(option)))
    if s.tie_break is not None:
        chart.notes.append(_("A tie was broken by the rule in the voting guide."))
    return chart


def summary(result: Any, name: Namer) -> list[str]:
    """A few sentences on the result: shares, quota, ranking."""
    lines: list[str] = []
    if isinstance(result, tally.YesNoResult) and result.yes_share is not None:
        share = result.yes_share
        lines.append(
            _("Yes is {share}% of yes and no.").format(share=digits(f"{float(share) * 100:.0f}"))
        )
    if isinstance(result, tally.StvResult):
        lines.append(
            _("Quota: {quota}; valid ballots: {valid}.").format(
                quota=number(result.quota), valid=number(result.valid)
            )
        )
    if isinstance(result, tally.SchulzeResult | tally.ChoiceResult) and result.ballots:
        ranking = "، " if current_language() == "fa" else ", "
        lines.append(
            _("Ranking: {ranking}").format(ranking=ranking.join(name(o) for o in result.ranking))
        )
    return lines
