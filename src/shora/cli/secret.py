"""Secret ballots: ``shora secret propose | vote | teller | close | seat | show``.
How they work, and what they hide, is in docs/ballot-secrecy.md."""

from __future__ import annotations

from typing import Any

import click

from shora.i18n import N_, _, format_time, number
from shora.node import Node
from shora.services.ballots import REASONS, SecretState, phase
from shora.services.decisions import ballot_from_inputs
from shora.services.decisions import kinds as dk
from shora.ui.labels import SECRET_PHASES

from .decisions import ballot_options, proposal_options, tally_words
from .output import WHEN_HELP, Number, Since, isolate, print_json, short, text_or_file
from .session import in_council, json_option

PROPOSAL_HELP = N_("The secret ballot: the first 6 or more digits of its id.")


@click.group(help=N_("Votes by secret ballot: nobody learns how anyone voted, only the result."))
def secret() -> None:
    pass


@secret.command(
    "propose", help=N_("Put a proposal to a secret ballot counted by the elected tellers.")
)
@in_council
@proposal_options
@click.option("--deadline", type=Since(), help=WHEN_HELP)
@click.option("--hours", type=Number(1, 24 * 366), default=72, help=N_("Hours to vote."))
@json_option
def propose(node: Node, council: bytes, /, title: str, text: str, **kw: Any) -> None:
    deadline = kw["deadline"] or int(node.now()) + kw["hours"] * 3600
    body = dk.Propose(
        title=title,
        text=text_or_file(text),
        method=kw["method"],
        options=list(kw["options"]),
        seats=kw["seats"],
        deadline=deadline,
    )
    pid = node.ballots.propose(council, body)
    if kw["as_json"]:
        print_json(_json(node, council, node.ballots.ballot(council, pid)))
        return
    click.echo(
        _("Secret ballot {id} open until {time}, once its tellers have made its key.").format(
            id=short(pid), time=format_time(deadline)
        )
    )
    click.echo(
        _("Each teller runs: {command}").format(
            command=isolate(f"shora secret teller {short(council)} {short(pid)}")
        )
    )


@secret.command("vote", help=N_("Cast your secret ballot, or change it until the deadline."))
@in_council
@click.argument("proposal", help=PROPOSAL_HELP)
@ballot_options
@click.option(
    "--now",
    "at_once",
    is_flag=True,
    help=N_("Publish at once, not after a random delay (the delay hides when you voted)."),
)
def vote(node: Node, council: bytes, /, proposal: str, at_once: bool, **kw: Any) -> None:
    pid = node.ballots.find(council, proposal)
    state = node.ballots.ballot(council, pid)
    ballot = ballot_from_inputs(state.body.method, kw)
    if state.action is not None and isinstance(ballot, dk.RankedBallot):
        # An election's options are the candidates' keys: rank them by name or key.
        ranking = [
            o if o in state.body.options else node.find_member(council, o).hex()
            for o in ballot.ranking
        ]
        ballot = dk.RankedBallot(ranking)
    node.ballots.vote(council, pid, ballot, delay=0 if at_once else None)
    click.echo(_("Your secret ballot is sealed; it carries no name."))
    if not at_once:
        click.echo(_("It is published after a random delay of up to ten minutes."))
    click.echo(
        _("Check later that it was counted: {command}").format(
            command=isolate(f"shora secret show {short(council)} {short(pid)}")
        )
    )


@secret.command(
    "teller", help=N_("As a teller: make your part of the key, check it, or publish your share.")
)
@in_council
@click.argument("proposal", help=PROPOSAL_HELP)
def teller(node: Node, council: bytes, /, proposal: str) -> None:
    pid = node.ballots.find(council, proposal)
    done = node.ballots.take_part(council, pid)
    words = {
        "dealt": _("Your part of the key is published."),
        "ready": _("Every share dealt to you checks out; you said the key is ready."),
        "shares": _("Your decryption share is published, with its proof."),
        "seated": _("The count is final: the elected now hold the role."),
    }
    for step in done:
        click.echo(words[step])
    if not done:
        click.echo(_("Nothing to do now; run this again after the next step (a sync, the close)."))


@secret.command(
    "close", help=N_("Close a secret ballot after its deadline: fixes which ballots count.")
)
@in_council
@click.argument("proposal", help=PROPOSAL_HELP)
def close(node: Node, council: bytes, /, proposal: str) -> None:
    pid = node.ballots.find(council, proposal)
    node.ballots.close(council, pid)
    click.echo(_("The vote is closed; the tellers can now publish their shares."))


def _cast_again(council: bytes, state: SecretState) -> None:
    click.echo(
        _(
            "Your latest ballot in {title} does not count: a member was removed after you cast "
            "it, and nobody can tell which ballot was theirs. Cast it again before {time} (the "
            "new ballot replaces the old one): {command}"
        ).format(
            title=isolate(state.body.title),
            time=format_time(state.body.deadline),
            command=isolate(f"shora secret vote {short(council)} {short(state.id)} ..."),
        )
    )


@secret.command(
    "seat",
    help=N_("Seat the winners of a counted secret election (a running node does it by itself)."),
)
@in_council
@click.argument("proposal", help=PROPOSAL_HELP)
def seat(node: Node, council: bytes, /, proposal: str) -> None:
    pid = node.ballots.find(council, proposal)
    node.ballots.seat(council, pid)
    names = {m.key: m.name for m in node.councils.members(council)}
    held = node.ballots.holders(council, pid)
    click.echo(
        _("Seated: {names}").format(names=", ".join(isolate(names.get(k, short(k))) for k in held))
        if held
        else _("The seat is published; every member's node checks it against its own count.")
    )


def elected_line(node: Node, council: bytes, state: SecretState) -> str | None:
    """A secret election's role and who holds it by this vote (or why nobody yet)."""
    if state.action is None:
        return None
    role = node.governance.role_name(council, state.action.role)
    held = node.ballots.holders(council, state.id)
    if held:
        names = {m.key: m.name for m in node.councils.members(council)}
        return _("Elected to {role}, holding it now: {names}").format(
            role=role, names=", ".join(isolate(names.get(k, short(k))) for k in held)
        )
    if state.final and state.winners:
        return _("Elected to {role}; the seat is not yet published or checked.").format(role=role)
    return _("An election to {role}.").format(role=role)


def summary(state: SecretState, names: dict[bytes, str] | None = None) -> str:
    r = state.result
    if r is None:
        return _("not counted yet")
    winners = state.winners
    if state.action is not None and names is not None:  # an election's options are keys
        winners = tuple(names.get(bytes.fromhex(w), w) if w != "ron" else w for w in winners)
    return tally_words(state.body.method, r, winners, state.passed)


def _json(node: Node, council: bytes, state: SecretState) -> dict[str, Any]:
    mine = node.ballots.my_ballot(council, state.id) if node.me(council) in state.eligible else None
    return {
        "id": state.id.hex(),
        "title": state.body.title,
        "method": state.body.method,
        "secret": True,
        "phase": phase(state, node.now()),
        "deadline": state.body.deadline,
        "tellers": [t.hex() for t in state.tellers],
        "needed": state.needed,
        "dealt": [t.hex() for t in state.dealt],
        "ready": [t.hex() for t in state.ready],
        "decrypted_by": [t.hex() for t in state.decrypted_by],
        "bad_shares": [b.event.hex() for b in state.bad_shares],
        "ballots": len(state.ballots),
        "key_images": [b.image.hex() for b in state.ballots],
        "eligible": len(state.eligible),
        "refused": dict(state.refused),
        "my_ballot": None
        if mine is None
        else {"key_image": mine.image.hex(), "counted": mine.counted, "cast_again": mine.recast},
        "removed_since": len(state.removed),
        "result": summary(state) if state.final else None,
        "passed": state.passed,
        "winners": list(state.winners),
        "problem": state.problem,
        "role": None if state.action is None else state.action.role,
        "seated_by": None
        if (seat_id := node.ballots.seated_by(council, state.id)) is None
        else seat_id.hex(),
        "holders": [k.hex() for k in node.ballots.holders(council, state.id)],
    }


@secret.command("show", help=N_("Show the secret ballots, or one and its count."))
@in_council
@click.argument("proposal", required=False, help=PROPOSAL_HELP)
@json_option
def show(node: Node, council: bytes, /, proposal: str | None, as_json: bool) -> None:
    if proposal is None:
        states = node.ballots.ballots(council)
        if as_json:
            print_json([_json(node, council, s) for s in states])
            return
        for s in states:
            click.echo(f"{short(s.id)}  {s.body.title}  — {_(SECRET_PHASES[phase(s, node.now())])}")
        for s in node.ballots.to_cast_again(council):
            _cast_again(council, s)
        return
    state = node.ballots.ballot(council, node.ballots.find(council, proposal))
    if as_json:
        print_json(_json(node, council, state))
        return
    names = {m.key: m.name for m in node.councils.members(council)}
    click.echo(f"{state.body.title} ({short(state.id)}) — {_('secret ballot')}")
    click.echo(_("Status: {phase}").format(phase=_(SECRET_PHASES[phase(state, node.now())])))
    click.echo(_("Deadline: {time}").format(time=format_time(state.body.deadline)))
    click.echo(
        _("Tellers ({needed} needed): {names}").format(
            needed=number(state.needed),
            names=", ".join(isolate(names.get(t, short(t))) for t in state.tellers),
        )
    )
    click.echo(
        _("Ballots: {n} of {eligible}").format(
            n=number(len(state.ballots)), eligible=number(len(state.eligible))
        )
    )
    for code, n in state.refused:
        click.echo(_("Not counted ({n}): {reason}").format(n=number(n), reason=_(REASONS[code])))
    for bad in state.bad_shares:
        click.echo(
            _("A share from {teller} failed its proof and was ignored.").format(
                teller=isolate(names.get(bad.teller, short(bad.teller)))
            )
        )
    if state.removed:
        click.echo(
            _("Members removed after this vote was proposed: {n}.").format(
                n=number(len(state.removed))
            )
        )
    if node.me(council) in state.eligible:
        mine = node.ballots.my_ballot(council, state.id)
        if mine.recast and phase(state, node.now()) != "open":
            click.echo(
                _(
                    "Your latest ballot does not count: a member was removed after you cast it, "
                    "and the deadline passed before it was cast again."
                )
            )
        elif mine.recast:
            _cast_again(council, state)
        if mine.recast and mine.counted:
            click.echo(_("An earlier ballot of yours counts instead."))
        else:
            click.echo(
                _("Your ballot is counted.")
                if mine.counted
                else _("No ballot of yours is counted.")
            )
    click.echo(_("Result: {summary}").format(summary=summary(state, names)))
    if (line := elected_line(node, council, state)) is not None:
        click.echo(line)
