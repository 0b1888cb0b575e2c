"""Secret ballots in the web pages: proposing one with its tellers, the tellers' page
(the key, then the decryption share after the close), the vote page marked "secret
ballot" with its form, one's own ballot shown as counted but never shown back, and
the count. Real app, real encrypted profile; time moves by the node's own clock."""

from __future__ import annotations

import re
import time
from html import unescape
from pathlib import Path

from conftest import Clock, admit_others, everyone, remove_by_two
from shora.services.decisions import kinds as dk
from web.client import Browser, browser
from web.fixtures import person  # noqa: F401 (fixtures)


def words(page: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", page))


def test_a_secret_ballot_from_proposal_to_count(person: Browser) -> None:
    home = person.found_council()
    node = person.keeper.node
    assert node is not None
    council = bytes.fromhex(home.rsplit("/", 1)[-1])
    me = node.me(council)
    assert me is not None
    assert f'href="{home}/secret"' in person.get(home + "/decisions").text
    form = words(person.get(home + "/secret/new").text)
    assert "no elected tellers yet" in form
    refused = person.post(home + "/secret/new", {"title": "Strike?", "deadline": "1"})
    assert refused.status_code == 400 and "no elected tellers" in words(refused.text)
    # The only member elects herself teller (an hour's election, then the close).
    pid = node.governance.elect(council, "teller", [me], hours=1)
    node.decisions.vote(council, pid, dk.RankedBallot([me.hex()]))
    node.now = lambda: time.time() + 2 * 3600
    node.decisions.close(council, pid)
    assert "1 of them together" in words(person.get(home + "/secret/new").text)
    made = person.post(
        home + "/secret/new",
        {"title": "Strike on Monday?", "text": "If enough of us do.", "deadline": "1",
         "deadline_unit": "hours"},
    )  # fmt: skip
    assert made.status_code == 303, made.text
    url = str(made.headers["location"])
    page = person.get(url).text
    assert "secret ballot" in words(page) and "Voting opens once every teller" in words(page)
    tellers = person.post(url + "/teller")
    assert tellers.status_code == 303 and "/tellers?done=ready" in tellers.headers["location"]
    page = person.get(url).text
    assert 'name="vote" value="yes"' in page and "Your secret ballot" in words(page)
    voted = person.post(url + "/vote", {"vote": "yes", "now": "1"})
    assert voted.status_code == 303 and voted.headers["location"].endswith("?voted=1")
    page = person.get(url).text
    assert "Your ballot is counted." in words(page) and "checked" not in page
    assert "1 of 1 members" in words(page) and "Result" not in re.findall(r"<h3[^>]*>([^<]*)", page)
    node.now = lambda: time.time() + 4 * 3600
    assert person.post(url + "/close").status_code == 303
    assert "Publish my decryption share" in person.get(url + "/tellers").text
    assert person.post(url + "/teller").status_code == 303
    page = words(person.get(url).text)
    assert "counted: the result is final" in page and "Result" in page
    listing = words(person.get(home + "/secret").text)
    assert "Strike on Monday?" in listing and "secret ballot" in listing


def test_the_rules_page_sets_when_votes_are_secret(person: Browser) -> None:
    home = person.found_council()
    rules = person.get(home + "/rules").text
    assert 'name="secret_ballots"' in rules and 'name="teller_threshold"' in rules
    bad = person.post(home + "/rules", {"secret_ballots": "sometimes", "hours": "24"})
    assert bad.status_code == 400
    change = person.post(home + "/rules", {"secret_ballots": "always", "hours": "24"})
    assert change.status_code == 303, change.text
    shown = words(person.get(change.headers["location"]).text)
    assert "Secret ballots: by the proposer's choice → always" in shown


def test_a_ballot_cast_before_a_removal_is_asked_again(person: Browser, tmp_path: Path) -> None:
    """The vote page and the notifications tell a member whose ballot no longer counts,
    because a member was removed after they cast it, to cast it again; once cast again
    it counts. The refusal's reason is on the page."""
    home = person.found_council()
    node = person.keeper.node
    assert node is not None
    council = bytes.fromhex(home.rsplit("/", 1)[-1])
    clock = Clock(time.time())
    nodes = admit_others(node, council, tmp_path, clock, 3)
    others = nodes[1:]
    tellers = [n.me(council) for n in nodes[:3]]
    pid = node.governance.elect(council, "teller", [t for t in tellers if t], seats=3, hours=1)
    everyone(nodes)
    for n in nodes:
        n.decisions.vote(council, pid, dk.RankedBallot([t.hex() for t in tellers if t]))
    everyone(nodes)
    clock.t += 2 * 3600
    node.decisions.close(council, pid)
    everyone(nodes)
    body = dk.Propose(
        title="Strike on Monday?", text="", method="yes_no", deadline=int(clock.t) + 86_400
    )
    vote = node.ballots.propose(council, body)
    everyone(nodes)
    for _ in range(2):
        for n in nodes[:3]:
            n.ballots.take_part(council, vote)
        everyone(nodes)
    url = f"{home}/secret/{vote.hex()}"
    assert person.post(url + "/vote", {"vote": "yes", "now": "1"}).status_code == 303
    informer = others[2].me(council)
    assert informer is not None
    remove_by_two(others[0], others[1], council, informer)  # had not seen the ballot
    everyone(nodes)
    page = words(person.get(url).text)
    assert "Your ballot no longer counts" in page and "Cast it again below" in page
    assert "cast before a member was removed" in page
    assert "Members removed after this vote was proposed: 1" in page
    notes = words(person.get(home + "/notifications").text)
    assert "Cast your secret ballot again" in notes and "Strike on Monday?" in notes
    assert person.post(url + "/vote", {"vote": "yes", "now": "1"}).status_code == 303
    page = words(person.get(url).text)
    assert "Your ballot is counted." in page and "no longer counts" not in page
    assert "Cast your secret ballot again" not in words(person.get(home + "/notifications").text)


def _secret_election_page(person: Browser) -> tuple[str, str]:
    """A one-member council elects its founder teller, then holds a secret election
    of a treasurer from the roles page; counted on the tellers' page, which seats her.
    Returns the vote's page and the founder's name as the page writes it."""
    home = person.found_council()
    node = person.keeper.node
    assert node is not None
    council = bytes.fromhex(home.rsplit("/", 1)[-1])
    me = node.me(council)
    assert me is not None
    pid = node.governance.elect(council, "teller", [me], hours=1)
    node.decisions.vote(council, pid, dk.RankedBallot([me.hex()]))
    node.now = lambda: time.time() + 2 * 3600
    node.decisions.close(council, pid)
    roles = person.get(home + "/roles").text
    assert 'name="secret" value="1"' in roles
    made = person.post(
        home + "/roles/elect",
        {"role": "treasurer", "candidate": me.hex(), "hours": "30", "secret": "1"},
    )
    assert made.status_code == 303, made.text
    url = str(made.headers["location"])
    assert "/secret/" in url
    assert person.post(url + "/teller").status_code == 303  # dealt and ready
    secret = bytes.fromhex(url.rsplit("/", 1)[-1])
    node.ballots.vote(council, secret, dk.RankedBallot([me.hex()]), delay=0)
    node.now = lambda: time.time() + 40 * 3600
    assert person.post(url + "/close").status_code == 303
    done = person.post(url + "/teller")
    assert "done=shares,seated" in done.headers["location"]
    assert me in {t.member for t in node.governance.roles(council) if t.role == "treasurer"}
    return person.get(url).text, "Nasrin"


def test_a_secret_election_seats_its_winner_on_the_page(person: Browser) -> None:
    page, name = _secret_election_page(person)
    shown = words(page)
    assert "Election to treasurer" in shown
    assert f"Holding the role by this election: {name}" in shown
    assert "Seat the elected" not in shown  # already seated


def test_a_secret_election_in_persian(tmp_path: Path) -> None:
    with browser(tmp_path / "fa", **{"Accept-Language": "fa"}) as person:
        person.create_profile()
        page, name = _secret_election_page(person)
        shown = words(page)
        assert "انتخابات برای نقش خزانه‌دار" in shown
        assert "بر عهدهٔ نقش با این انتخابات" in shown and name in shown
