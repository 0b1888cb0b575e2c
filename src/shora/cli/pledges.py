"""Threshold pledges: ``shora pledge start | take | withdraw | show | list``.
How they work, and what they hide, is in docs/pledges.md."""

from __future__ import annotations

from typing import Any

import click

from shora.i18n import N_, _, format_time, number
from shora.node import Node
from shora.services.pledges import REASONS, Campaign, phase, share_of_text

from .output import WHEN_HELP, Number, Since, isolate, print_json, short
from .session import in_council, json_option

CAMPAIGN_HELP = N_("The campaign: the first 6 or more digits of its id (see 'shora pledge list').")
PHASES = {
    "open": N_("open for pledges"),
    "met": N_("threshold met"),
    "missed": N_("the deadline passed without the threshold"),
}


class ShareType(click.ParamType[str]):
    """A share of the members: a fraction (2/3) or a percentage (60%)."""

    name = "share"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        found = share_of_text(str(value))
        if found is None:
            self.fail(
                _("{value} is not a share such as 1/2, 2/3 or 60%").format(value=value), param, ctx
            )
        return found


@click.group(help=N_("Pledges: I will do it if enough of us pledge the same; nobody learns who."))
def pledge() -> None:
    pass


@pledge.command("start", help=N_("Start a pledge campaign: an action, a threshold, a deadline."))
@in_council
@click.argument("action", help=N_("What each person pledges to do."))
@click.option("--people", type=Number(1, 1000), help=N_("The threshold as a number of people."))
@click.option("--share", type=ShareType(), help=N_("The threshold as a share: 2/3, 60%."))
@click.option("--deadline", type=Since(), help=WHEN_HELP)
@click.option("--hours", type=Number(1, 24 * 366), default=72, help=N_("Hours to pledge."))
@click.option(
    "--across",
    is_flag=True,
    help=N_("In a federation: pledged in each member council, met by a double majority."),
)
@json_option
def start(node: Node, council: bytes, /, action: str, **kw: Any) -> None:
    deadline = kw["deadline"] or int(node.now()) + kw["hours"] * 3600
    cid = node.pledges.start(
        council,
        action,
        deadline,
        people=kw["people"] or 0,
        share=kw["share"] or "",
        across=kw["across"],
    )
    state = node.pledges.campaign(council, cid)
    if kw["as_json"]:
        print_json(_json(node, council, state))
        return
    if state.body.across:
        click.echo(
            _(
                "Pledge campaign {id} across the federation: each delegate's node opens it "
                "in their council."
            ).format(id=short(cid))
        )
        return
    click.echo(
        _("Pledge campaign {id}: {needed} pledges needed by {time}.").format(
            id=short(cid), needed=number(state.needed), time=format_time(deadline)
        )
    )
    click.echo(
        _("Each member pledges with: {command}").format(
            command=isolate(f"shora pledge take {short(council)} {short(cid)}")
        )
    )


def _delay_option(command: Any) -> Any:
    return click.option(
        "--now",
        "at_once",
        is_flag=True,
        help=N_("Publish at once, not after a random delay (the delay hides when you pledged)."),
    )(command)


@pledge.command("take", help=N_("Pledge, without your name; withdraw until the threshold is met."))
@in_council
@click.argument("campaign", help=CAMPAIGN_HELP)
@_delay_option
def take(node: Node, council: bytes, /, campaign: str, at_once: bool) -> None:
    cid = node.pledges.find(council, campaign)
    node.pledges.take(council, cid, delay=0 if at_once else None)
    click.echo(_("Your pledge is made; it carries no name."))
    if not at_once:
        click.echo(_("It is published after a random delay of up to ten minutes."))
    _banner(node, council, [node.pledges.campaign(council, cid)])


@pledge.command("withdraw", help=N_("Withdraw your pledge, while the threshold is not met."))
@in_council
@click.argument("campaign", help=CAMPAIGN_HELP)
@_delay_option
def withdraw(node: Node, council: bytes, /, campaign: str, at_once: bool) -> None:
    cid = node.pledges.find(council, campaign)
    node.pledges.withdraw(council, cid, delay=0 if at_once else None)
    click.echo(_("Your pledge is withdrawn."))
    if not at_once:
        click.echo(_("The withdrawal is published after a random delay of up to ten minutes."))


def threshold_words(state: Campaign) -> str:
    if state.body.people:
        return _("{n} people").format(n=number(state.needed))
    num, _sep, den = state.body.share.partition("/")
    percent = int(num) * 100 // int(den)
    return _("{percent}% of {members} members: {n} people").format(
        percent=number(percent), members=number(len(state.electorate)), n=number(state.needed)
    )


def _banner(node: Node, council: bytes, states: list[Campaign]) -> None:
    across = node.pledges.met_across(council)
    for state in states:
        if state.id in across:
            click.echo(
                "*** "
                + _("Threshold met across the federation: {action}").format(
                    action=isolate(state.body.action)
                )
                + " ***"
            )
        if state.met:
            click.echo(
                "*** "
                + _("Threshold met: {action} — {count} pledged, {needed} needed.").format(
                    action=isolate(state.body.action),
                    count=number(state.count),
                    needed=number(state.needed),
                )
                + " ***"
            )


def _json(node: Node, council: bytes, state: Campaign) -> dict[str, Any]:
    mine = node.pledges.mine(council, state.id) if node.me(council) in state.electorate else None
    return {
        "id": state.id.hex(),
        "action": state.body.action,
        "phase": phase(state, node.now()),
        "deadline": state.body.deadline,
        "people": state.body.people or None,
        "share": None if state.body.people else state.body.share,
        "needed": state.needed,
        "members": len(state.electorate),
        "count": state.count,
        "met": state.met,
        "met_at": state.met_at // 1000 if state.met_at is not None else None,
        "met_by": state.met_by.hex() if state.met_by is not None else None,
        "withdrawals": state.withdrawals,
        "key_images": sorted(i.hex() for i in state.pledged),
        "refused": dict(state.refused),
        "my_pledge": None
        if mine is None
        else {
            "key_image": mine.image.hex(),
            "counted": mine.counted,
            "waiting": mine.waiting,
            "pledged": mine.pledged,
            "pledge_again": mine.recast,
        },
        "problem": state.problem,
        "federation": state.body.federation.hex() if state.body.federation else None,
        "across": _across_json(node, council, state),
    }


def _across_json(node: Node, council: bytes, state: Campaign) -> dict[str, Any] | None:
    if not state.body.across:
        return None
    found = node.pledges.across(council, state.id)
    return {
        "councils": found.councils,
        "councils_met": found.councils_met,
        "members": found.members,
        "members_met": found.members_met,
        "met": found.met,
        "met_at": found.met_at // 1000 if found.met_at is not None else None,
        "rows": [
            {"council": r.base.hex(), "count": r.count, "needed": r.needed, "met": r.met}
            | {"members": r.members}
            for r in found.rows
        ],
    }


@pledge.command("list", help=N_("The council's pledge campaigns and their counts."))
@in_council
@json_option
def list_(node: Node, council: bytes, /, as_json: bool) -> None:
    states = node.pledges.campaigns(council)
    if as_json:
        print_json([_json(node, council, s) for s in states])
        return
    _banner(node, council, node.pledges.met_recently(council, node.now() - 7 * 86_400))
    if not states:
        click.echo(_("No pledge campaigns yet."))
    for s in states:
        if s.body.across:
            found = node.pledges.across(council, s.id)
            click.echo(
                _("{id}  {action} — across the federation: {met} of {councils} councils").format(
                    id=short(s.id),
                    action=isolate(s.body.action),
                    met=number(found.councils_met),
                    councils=number(found.councils),
                )
            )
            continue
        click.echo(
            _("{id}  {action} — {count} of {needed} — {phase}").format(
                id=short(s.id),
                action=isolate(s.body.action),
                count=number(s.count),
                needed=number(s.needed),
                phase=_(PHASES[phase(s, node.now())]),
            )
        )
    for s in node.pledges.to_pledge_again(council):
        click.echo(
            _(
                "Pledge again in {id} ({action}): a member was removed after you pledged, "
                "so your pledge no longer counts."
            ).format(id=short(s.id), action=isolate(s.body.action))
        )


def _show_across(node: Node, council: bytes, state: Campaign) -> None:
    found = node.pledges.across(council, state.id)
    click.echo(_("Across the federation: each member council pledges among its own members."))
    click.echo(_("Threshold in each council: {words}").format(words=_share_words(state)))
    click.echo(_("Deadline: {time}").format(time=format_time(state.body.deadline)))
    for row in found.rows:
        click.echo(
            _("{council}: {count} of {needed} pledged, of {members} members").format(
                council=isolate(node.pledges.council_name(row.base) or short(row.base)),
                count=number(row.count),
                needed=number(row.needed),
                members=number(row.members),
            )
            + (" — " + _("threshold met") if row.met else "")
        )
    click.echo(
        _(
            "Councils that met it: {met} of {councils}; their members: {members_met} of "
            "{members} reported."
        ).format(
            met=number(found.councils_met),
            councils=number(found.councils),
            members_met=number(found.members_met),
            members=number(found.members),
        )
    )
    if found.met_at is not None:
        click.echo(
            _("Met across the federation by a double majority on {time}.").format(
                time=format_time(found.met_at // 1000)
            )
        )
    else:
        click.echo(_("Not met across the federation yet (a double majority is needed)."))


def _share_words(state: Campaign) -> str:
    if state.body.people:
        return _("{n} people").format(n=number(state.body.people))
    num, _sep, den = state.body.share.partition("/")
    return _("{percent}% of the members").format(percent=number(int(num) * 100 // int(den)))


@pledge.command("show", help=N_("One campaign: the count, the threshold, your own pledge."))
@in_council
@click.argument("campaign", help=CAMPAIGN_HELP)
@json_option
def show(node: Node, council: bytes, /, campaign: str, as_json: bool) -> None:
    state = node.pledges.campaign(council, node.pledges.find(council, campaign))
    if as_json:
        print_json(_json(node, council, state))
        return
    _banner(node, council, [state])
    click.echo(f"{state.body.action} ({short(state.id)})")
    if state.body.across:
        _show_across(node, council, state)
        return
    if state.body.federation is not None:
        click.echo(_("Part of a campaign across a federation of councils."))
    click.echo(_("Status: {phase}").format(phase=_(PHASES[phase(state, node.now())])))
    click.echo(_("Threshold: {words}").format(words=threshold_words(state)))
    click.echo(_("Deadline: {time}").format(time=format_time(state.body.deadline)))
    click.echo(_("Pledged: {n}").format(n=number(state.count)))
    if state.met_at is not None:
        click.echo(_("Met on {time}.").format(time=format_time(state.met_at // 1000)))
    if state.problem is not None:
        click.echo(_("This campaign cannot run: {problem}").format(problem=_(state.problem)))
    for code, n in state.refused:
        click.echo(_("Not counted ({n}): {reason}").format(n=number(n), reason=_(REASONS[code])))
    if node.me(council) in state.electorate:
        mine = node.pledges.mine(council, state.id)
        if mine.recast:
            click.echo(
                _(
                    "Your pledge no longer counts: a member was removed after you pledged, "
                    "and nobody can tell which pledge was theirs. Pledge again before the "
                    "deadline."
                )
            )
        elif mine.counted:
            click.echo(_("Your pledge is counted."))
        elif mine.waiting and mine.pledged:
            click.echo(_("Your pledge is waiting for its random delay before it is published."))
        else:
            click.echo(_("No pledge of yours is counted."))
