"""Proposals, votes, results, minutes and tasks: ``shora propose | amend | vote | close |
result | minutes | task``. The rules are in docs/decisions.md."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from shora.i18n import N_, _, format_time, number
from shora.node import Node
from shora.services.decisions import (
    HOW_TO_VOTE,
    ProposalState,
    ballot_from_inputs,
    parse_share,
    phase,
    state_json,
    task_json,
)
from shora.services.decisions import kinds as dk
from shora.ui.labels import PHASES, TASK_STATUS

from .output import WHEN_HELP, Number, Since, isolate, print_json, short, table, text_or_file
from .session import in_council, json_option

F = TypeVar("F", bound=Callable[..., Any])

PROPOSAL_HELP = N_("The proposal: the first 6 or more digits of its id (see 'shora result').")


class FractionType(click.ParamType[str]):
    """A share such as 1/2 or 2/3 (Latin or Persian digits); 1 and 0 are accepted too."""

    name = "fraction"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        found = parse_share(str(value))
        if found is None:
            self.fail(
                _("{value} is not a share such as 1/2 or 2/3").format(value=value), param, ctx
            )
        return found


# --- propose, amend -------------------------------------------------------------------


def _stacked(decorators: tuple[Callable[[F], F], ...], command: F) -> F:
    """The decorators applied as if written one above the other, in this order."""
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


_PROPOSAL_OPTIONS = (
    click.argument("title", help=N_("A short title.")),
    click.argument("text", help=N_("The proposal's text; @FILE reads it from a file.")),
    click.option(
        "--method",
        type=click.Choice(dk.METHODS),
        default="yes_no",
        show_default=True,
        help=N_(
            "How to vote: yes/no, consent, approval, score, dots, IRV, STV, Schulze, time poll."
        ),
    ),
    click.option(
        "--option", "options", multiple=True, help=N_("An option (repeat; in ballot order).")
    ),
    click.option(
        "--seats", type=Number(1, dk.MAX_SEATS), default=1, help=N_("Seats to fill (STV).")
    ),
)


def proposal_options(command: F) -> F:
    """A proposal's title, text, method, options and seats: the same for open and secret ballots."""
    return _stacked(_PROPOSAL_OPTIONS, command)


@click.command(help=N_("Put a proposal to the council's vote."))
@in_council
@proposal_options
@click.option(
    "--threshold", type=FractionType(), default="1/2", help=N_("Share of yes among yes and no.")
)
@click.option(
    "--at-least/--more-than",
    "inclusive",
    default=None,
    help=N_("Whether the threshold itself is enough (default: more than 1/2, at least others)."),
)
@click.option("--quorum", type=FractionType(), default="0/1", help=N_("Share who must vote."))
@click.option("--blocks-to-stop", type=Number(1, 1000), default=1, help=N_("Blocks that stop it."))
@click.option("--min-choices", type=Number(0, dk.MAX_OPTIONS), default=0, help=N_("Approval."))
@click.option("--max-choices", type=Number(0, dk.MAX_OPTIONS), help=N_("Approval."))
@click.option("--min-score", type=Number(0, 1000), default=0, help=N_("Lowest score."))
@click.option("--max-score", type=Number(1, 1000), default=5, help=N_("Highest score."))
@click.option("--budget", type=Number(1, 1_000_000), default=10, help=N_("Dots per voter."))
@click.option("--deadline", type=Since(), help=WHEN_HELP)
@click.option("--hours", type=Number(1, 24 * 366), default=72, help=N_("Hours to vote."))
@click.option(
    "--grace-hours",
    type=Number(0, dk.MAX_GRACE // 3600),
    default=0,
    help=N_("After the deadline, hours to wait for ballots cast in time but carried late."),
)
@json_option
def propose(node: Node, council: bytes, /, title: str, text: str, **kw: Any) -> None:
    inclusive = kw["inclusive"] if kw["inclusive"] is not None else kw["threshold"] != "1/2"
    deadline = kw["deadline"] or int(node.now()) + kw["hours"] * 3600
    body = dk.Propose(
        title=title,
        text=text_or_file(text),
        method=kw["method"],
        options=list(kw["options"]),
        seats=kw["seats"],
        threshold=kw["threshold"],
        inclusive=inclusive,
        blocks_to_stop=kw["blocks_to_stop"],
        min_choices=kw["min_choices"],
        max_choices=kw["max_choices"],
        min_score=kw["min_score"],
        max_score=kw["max_score"],
        budget=kw["budget"],
        quorum=kw["quorum"],
        deadline=deadline,
        grace=kw["grace_hours"] * 3600,
    )
    pid = node.decisions.propose(council, body)
    if kw["as_json"]:
        print_json(state_json(node.decisions.proposal(council, pid), None, node.now()))
        return
    click.echo(
        _("Proposal {id} put to the vote until {time}.").format(
            id=short(pid), time=format_time(deadline)
        )
    )
    click.echo(
        _("Vote with: {command}").format(
            command=isolate(f"shora vote {short(council)} {short(pid)} {HOW_TO_VOTE[body.method]}")
        )
    )


@click.command(
    help=N_("Propose a new text for a proposal; its author accepts it, or the council votes.")
)
@in_council
@click.argument("proposal", required=False, help=PROPOSAL_HELP)
@click.argument("text", required=False, help=N_("The new text; @FILE reads it from a file."))
@click.option("--reason", default="", help=N_("Why, for the other members."))
@click.option("--accept", metavar="AMENDMENT", help=N_("Accept this amendment (its id)."))
@click.option(
    "--to-vote", metavar="AMENDMENT", help=N_("Put this amendment to the council's vote.")
)
@click.option("--hours", type=Number(1, 24 * 366), default=72, help=N_("Hours to vote."))
def amend(
    node: Node,
    council: bytes,
    proposal: str | None,
    text: str | None,
    reason: str,
    accept: str | None,
    to_vote: str | None,
    hours: int,
) -> None:
    if to_vote is not None:
        amendment = node.decisions.find_amendment(council, to_vote)
        pid = node.decisions.put_amendment_to_vote(council, amendment, hours)
        click.echo(
            _("The amendment is put to the vote ({id}); passed, it changes the text.").format(
                id=short(pid)
            )
        )
        return
    if accept is not None:
        node.decisions.accept_amendment(council, node.decisions.find_amendment(council, accept))
        click.echo(_("Amendment accepted: the proposal's text is changed."))
        return
    if proposal is None or text is None:
        raise click.UsageError(_("give the proposal and the new text, or --accept AMENDMENT"))
    aid = node.decisions.amend(
        council, node.decisions.find_proposal(council, proposal), text_or_file(text)
    )
    click.echo(
        _("Amendment {id} proposed; it applies once the author accepts it.").format(id=short(aid))
    )


# --- vote ------------------------------------------------------------------------------


_BALLOT_OPTIONS = (
    click.option("--yes", is_flag=True, help=N_("Yes (yes/no vote).")),
    click.option("--no", is_flag=True, help=N_("No (yes/no vote).")),
    click.option("--abstain", is_flag=True, help=N_("Abstain (yes/no or consent).")),
    click.option("--agree", is_flag=True, help=N_("Agree (consent).")),
    click.option("--object", is_flag=True, help=N_("Object, without stopping it (consent).")),
    click.option("--block", is_flag=True, help=N_("Block it (consent; give --reason).")),
    click.option("--reason", default="", help=N_("Why you object or block.")),
    click.option("--choice", multiple=True, help=N_("An option you approve (repeat).")),
    click.option("--rank", multiple=True, help=N_("Options in your order: repeat, or 'A>B>C'.")),
    click.option("--score", multiple=True, help=N_("OPTION=N: your score for an option (repeat).")),
    click.option("--dots", multiple=True, help=N_("OPTION=N: your dots for an option (repeat).")),
    click.option("--slot", multiple=True, help=N_("OPTION=yes|maybe|no (time poll; repeat).")),
)


def ballot_options(command: F) -> F:
    """The options that say how one votes, shared by open and secret ballots."""
    return _stacked(_BALLOT_OPTIONS, command)


@click.command(help=N_("Cast your ballot, or change it until the vote is closed."))
@in_council
@click.argument("proposal", help=PROPOSAL_HELP)
@ballot_options
def vote(node: Node, council: bytes, /, proposal: str, **kw: Any) -> None:
    pid = node.decisions.find_proposal(council, proposal)
    state = node.decisions.proposal(council, pid)
    ballot = ballot_from_inputs(state.body.method, kw)
    if state.action is not None and isinstance(ballot, dk.RankedBallot):
        # An election's options are the candidates' keys: rank them by name or key.
        ranking = [
            o if o in state.body.options else node.find_member(council, o).hex()
            for o in ballot.ranking
        ]
        ballot = dk.RankedBallot(ranking)
    node.decisions.vote(council, pid, ballot)
    click.echo(_("Your ballot is recorded; you can change it until the vote is closed."))
    click.echo(_("Share a bundle so the other members count it."))


# --- close, result ---------------------------------------------------------------------


@click.command(help=N_("Close a vote after its deadline and grace period: the result is final."))
@in_council
@click.argument("proposal", help=PROPOSAL_HELP)
@click.option("--outcome", help=N_("Also record what the council decided, in words."))
def close(node: Node, council: bytes, proposal: str, outcome: str | None) -> None:
    pid = node.decisions.find_proposal(council, proposal)
    node.decisions.close(council, pid)
    if outcome:
        node.decisions.record_outcome(council, pid, outcome)
    click.echo(_("The vote is closed."))
    _show(node, council, node.decisions.proposal(council, pid))


def _names(node: Node, council: bytes) -> dict[str, str]:
    """Members' names by key in hex: an election's options are keys."""
    return {m.key.hex(): m.name for m in node.councils.members(council)}


def _summary(state: ProposalState, names: dict[str, str] | None = None) -> str:
    r = state.result
    if r is None:
        return _("no result: {problem}").format(problem=state.problem)
    winners = [(names or {}).get(w, w) for w in state.winners]
    return tally_words(state.body.method, r, winners, state.passed)


def tally_words(method: str, r: Any, winners: Iterable[str], passed: bool | None) -> str:
    """A count in words, and whether it passed: the same for open and secret ballots."""
    if method == "yes_no":
        counts = _("yes {yes}, no {no}, abstain {abstain}").format(
            yes=number(r.yes), no=number(r.no), abstain=number(r.abstain)
        )
    elif method == "consent":
        counts = _("agree {agree}, abstain {abstain}, object {object}, block {block}").format(
            agree=number(r.agree),
            abstain=number(r.abstain),
            object=number(r.object),
            block=number(r.block),
        )
    else:
        counts = _("winner: {winners}").format(
            winners=", ".join(isolate(w) for w in winners) or "-"
        )
    if passed is None:
        return counts
    return counts + " — " + (_("passed") if passed else _("not passed"))


def _show(node: Node, council: bytes, state: ProposalState) -> None:
    click.echo(f"{state.body.title} ({short(state.id)})")
    click.echo(state.text)
    click.echo(_("Status: {phase}").format(phase=_(PHASES[phase(state, node.now())])))
    click.echo(
        _("Deadline: {time}; can be closed from {close}").format(
            time=format_time(state.body.deadline), close=format_time(state.closes_at)
        )
    )
    click.echo(
        _("Ballots: {n} of {eligible}").format(
            n=number(len(state.ballots)), eligible=number(len(state.eligible))
        )
    )
    if state.quorum is not None and state.quorum.required:
        click.echo(
            _("Quorum: {required} ballots, {met}").format(
                required=number(state.quorum.required),
                met=_("met") if state.quorum.met else _("not met"),
            )
        )
    label = _("Result") if state.final else _("Provisional result")
    click.echo(f"{label}: {_summary(state, _names(node, council))}")
    for _id, _author, statement in state.outcomes:
        click.echo(_("Outcome: {statement}").format(statement=statement))


@click.command(help=N_("Show the council's proposals, or one proposal and its result."))
@in_council
@click.argument("proposal", required=False, help=PROPOSAL_HELP)
@click.option("--limit", type=Number(1, 1000), default=50, help=N_("Proposals per page."))
@click.option("--offset", type=Number(0), default=0, help=N_("Skip this many proposals."))
@json_option
def result(
    node: Node,
    council: bytes,
    proposal: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    me = node.councils.get(council).my_key
    if proposal is not None:
        state = node.decisions.proposal(council, node.decisions.find_proposal(council, proposal))
        if as_json:
            print_json(state_json(state, me, node.now()))
        else:
            _show(node, council, state)
        return
    states = node.decisions.proposals(council, limit, offset)
    if as_json:
        print_json([state_json(s, me, node.now()) for s in states])
        return
    if not states:
        click.echo(_("No proposals here."))
        return
    names = _names(node, council)
    table(
        [
            [short(s.id), _(PHASES[phase(s, node.now())]), s.body.title, _summary(s, names)]
            for s in states
        ]
    )


# --- minutes, tasks ----------------------------------------------------------------------


@click.group(help=N_("Write and read the council's minutes."))
def minutes() -> None:
    pass


@minutes.command("write", help=N_("Record minutes, naming the decisions they record."))
@in_council
@click.argument("title", help=N_("A short title."))
@click.argument("text", help=N_("The minutes; @FILE reads them from a file."))
@click.option("--decision", multiple=True, help=PROPOSAL_HELP)
def minutes_write(
    node: Node, council: bytes, title: str, text: str, decision: tuple[str, ...]
) -> None:
    ids = [node.decisions.find_proposal(council, d) for d in decision]
    mid = node.decisions.write_minutes(council, title, text_or_file(text), ids)
    click.echo(_("Minutes recorded (id {id}).").format(id=short(mid)))


@minutes.command("list", help=N_("Show the minutes, newest first."))
@in_council
@json_option
def minutes_list(node: Node, council: bytes, as_json: bool) -> None:
    found = node.decisions.minutes(council)
    if as_json:
        print_json(
            [
                {
                    "id": m.id.hex(),
                    "author": m.author.hex(),
                    "time_ms": m.time,
                    "title": m.title,
                    "text": m.text,
                    "decisions": [d.hex() for d in m.decisions],
                }
                for m in found
            ]
        )
        return
    for m in found:
        click.echo(f"{format_time(m.time // 1000)}  {m.title} ({short(m.id)})")
        click.echo(m.text)


@click.group(help=N_("Tasks: who does what by when, and how far they got."))
def task() -> None:
    pass


@task.command("add", help=N_("Add a task, perhaps carrying out a decision."))
@in_council
@click.argument("what", help=N_("What is to be done."))
@click.option("--decision", help=PROPOSAL_HELP)
@click.option("--who", default="", help=N_("A member's name, or anyone described in words."))
@click.option("--due", type=Since(), help=WHEN_HELP)
def task_add(
    node: Node,
    council: bytes,
    what: str,
    decision: str | None,
    who: str,
    due: int | None,
) -> None:
    pid = node.decisions.find_proposal(council, decision) if decision else None
    names = {m.name: m.key for m in node.councils.members(council) if m.status == "active"}
    member = names.get(who)
    tid = node.decisions.create_task(
        council, what, decision=pid, who="" if member else who, who_member=member, due=due
    )
    click.echo(_("Task added (id {id}).").format(id=short(tid)))


@task.command("update", help=N_("Change a task's status: open, doing, done or dropped."))
@in_council
@click.argument("task_ref", metavar="TASK", help=N_("The first 6 or more digits of its id."))
@click.argument("status", type=click.Choice(dk.TASK_STATUSES))
@click.option("--note", default="", help=N_("A note for the others."))
def task_update(node: Node, council: bytes, task_ref: str, status: str, note: str) -> None:
    node.decisions.update_task(council, node.decisions.find_task(council, task_ref), status, note)
    click.echo(_("Task updated."))


@task.command("list", help=N_("List the tasks."))
@in_council
@click.option("--status", type=click.Choice(dk.TASK_STATUSES), help=N_("Only these."))
@json_option
def task_list(node: Node, council: bytes, status: str | None, as_json: bool) -> None:
    found = node.decisions.tasks(council, status)
    if as_json:
        print_json([task_json(t) for t in found])
        return
    names = {m.key: m.name for m in node.councils.members(council)}
    table(
        [
            [
                short(t.id),
                _(TASK_STATUS[t.status]),
                names.get(t.who_member, t.who) if t.who_member else t.who or "-",
                format_time(t.due) if t.due else "-",
                t.what,
            ]
            for t in found
        ]
    )
