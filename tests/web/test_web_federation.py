"""Federation pages: founding a federation, a base council's delegate asking for a
mandate that the members sign, the federation admitting them on it, the seat and its
base council listed, the revocation signed after a confirmation page and applied on
the federation's side after another; in English and Persian. Real app, real profiles.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from conftest import send
from shora.domain.decisions import kinds as dk
from web.client import Browser, browser
from web.test_web_decisions import words

FA = {"Accept-Language": "fa-IR,fa;q=0.9"}
DAY = 86_400


def elect_myself(b: Browser, home: str) -> None:
    """The founder of a one-member council is elected its delegate (the vote is the
    domain's; the pages for it are tested in test_web_decisions)."""
    node = b.keeper.node
    assert node is not None
    base = bytes.fromhex(home.rsplit("/", 1)[1])
    me = node.councils.get(base).my_key
    assert me is not None
    pid = node.governance.elect(base, "delegate", [me], term_days=90, hours=1)
    node.decisions.vote(
        base, pid, dk.RankedBallot(list(node.decisions.proposal(base, pid).body.options))
    )
    closes = node.decisions.proposal(base, pid).closes_at
    node.now = lambda: max(time.time(), closes + 1.0)
    node.decisions.close(base, pid)


def recall_myself(b: Browser, home: str) -> None:
    """The one member petitions and votes to recall herself as delegate."""
    node = b.keeper.node
    assert node is not None
    base = bytes.fromhex(home.rsplit("/", 1)[1])
    me = node.councils.get(base).my_key
    assert me is not None
    assert node.governance.petition(base, "delegate", me) == 0
    pid = node.governance.recall(base, "delegate", me, hours=24)
    node.decisions.vote(base, pid, dk.YesNoBallot("yes"))
    closes = node.decisions.proposal(base, pid).closes_at
    node.now = lambda: max(time.time(), closes + 1.0)
    node.decisions.close(base, pid)


def textarea(page: str, prefix: str) -> str:
    found = re.search(rf'id="{prefix}-[0-9a-f]{{64}}"[^>]*>([^<]+)<', page)
    assert found is not None, page
    return found.group(1)


def federation_and_delegate(a: Browser, x: Browser) -> tuple[str, str, str]:
    """Azadeh's council (base) elects her; Xena founds District 2, where Azadeh joins."""
    a.create_profile()
    x.create_profile()
    r = a.post("/councils", {"name": "Block 4", "founder": "Azadeh", "min_vote_hours": "1"})
    base = str(r.headers["location"])
    elect_myself(a, base)
    assert a.keeper.node is not None and x.keeper.node is not None
    x.keeper.node.now = a.keeper.node.now  # both an hour on, past the election
    assert 'href="/federations/new"' in x.get("/councils").text
    made = x.post("/federations/new", {"name": "District 2", "founder": "Xena", "seats": "1"})
    assert made.status_code == 303, made.text
    page = str(made.headers["location"])
    assert page.endswith("/federation")
    home = page.removesuffix("/federation")
    invitation = re.search(r'id="invitation-text"[^>]*>([^<]+)<', x.post(home + "/invite").text)
    assert invitation is not None
    joined = a.post(
        "/join",
        {"invitation": invitation.group(1), "name": "Azadeh of block 4"},
        follow_redirects=True,
    )
    request = re.search(r'id="join-request"[^>]*>([^<]+)<', joined.text)
    assert request is not None
    return base, home, request.group(1)


def test_a_delegate_is_seated_on_a_signed_mandate_and_recalled(tmp_path: Path) -> None:
    with browser(tmp_path / "a") as a, browser(tmp_path / "x") as x:
        base, home, request = federation_and_delegate(a, x)
        assert "No delegate holds a seat yet." in words(x.get(home + "/federation").text)
        mine = a.get(base + "/federation").text
        assert "No mandates yet." in words(mine) and home.rsplit("/", 1)[1] in mine
        target = {"federation": home.rsplit("/", 1)[1], "days": "30"}
        badly = a.post(base + "/mandates", target | {"items": "water budget"})
        assert badly.status_code == 400 and "item = vote" in words(badly.text)
        asked = a.post(base + "/mandates", target)
        assert asked.status_code == 303, asked.text
        mine = a.get(base + "/federation").text
        assert "complete" in words(mine)  # one member: her own signature is the majority
        mandate = textarea(mine, "m")
        # A mandate that is not one is refused in words, and nobody is seated.
        bad = x.post(home + "/federation/admit", {"request": request, "mandate": "shora:x"})
        assert bad.status_code == 400 and "Azadeh" not in words(x.get(home + "/federation").text)
        admitted = x.post(home + "/federation/admit", {"request": request, "mandate": mandate})
        assert admitted.status_code == 200, admitted.text
        assert "Azadeh of block 4 is admitted" in words(admitted.text)
        seated = words(x.get(home + "/federation").text)
        assert "Azadeh of block 4" in seated and "for council " + base[-64:][:12] in seated
        # Once recalled, the members' nodes sign the revocation by themselves when they
        # next look; signing by hand asks first, and a POST without the confirmation
        # signs nothing.
        assert "Sign the revocation" not in words(mine)
        found = re.search(r'id="m-([0-9a-f]{64})"', mine)
        assert found is not None
        link = f"{base}/mandates/{found.group(1)}/revoke"
        recall_myself(a, base)
        x.keeper.node.now = a.keeper.node.now  # type: ignore[union-attr]
        assert "Revoke this mandate?" in words(a.get(link).text)
        assert "Revoke this mandate?" in words(a.post(link).text)
        node, base_id = a.keeper.node, bytes.fromhex(base[-64:])
        assert node is not None
        assert not node.federation.find_mandate(base_id, found.group(1)).revocation_signers
        assert a.post(link, {"confirm": "yes"}).status_code == 303
        revocation = textarea(a.get(base + "/federation").text, "r")
        # Ending the seat asks first too.
        ask = x.post(home + "/federation/apply", {"revocation": revocation})
        assert "End a delegate's seat?" in words(ask.text) and revocation in ask.text
        assert "until" in words(x.get(home + "/federation").text)
        ended = x.post(home + "/federation/apply", {"revocation": revocation, "confirm": "yes"})
        assert "Azadeh of block 4's seat has ended" in words(ended.text)
        assert "ended" in words(x.get(home + "/federation").text)
        # Ratification of a proposal that does not exist is a plain refusal.
        assert x.post(home + "/federation/ratify", {"proposal": "abcdef"}).status_code == 404


def test_a_proposal_is_ratified_by_the_member_councils_through_the_pages(
    tmp_path: Path,
) -> None:
    """The federation asks on its page; the delegate's node opens the vote in the base
    council, whose members say yes; the result goes up when the delegate's node next
    looks, and the federation's page counts the double majority."""
    with browser(tmp_path / "a") as a, browser(tmp_path / "x") as x:
        base, home, request = federation_and_delegate(a, x)
        a.post(base + "/mandates", {"federation": home.rsplit("/", 1)[1], "days": "30"})
        mandate = textarea(a.get(base + "/federation").text, "m")
        assert x.post(home + "/federation/admit", {"request": request, "mandate": mandate})
        mine, theirs = a.keeper.node, x.keeper.node
        assert mine is not None and theirs is not None
        send(theirs, mine)  # Azadeh's node learns she is seated
        city, base_id = bytes.fromhex(home[-64:]), bytes.fromhex(base[-64:])
        body = dk.Propose(
            title="Water rationing",
            text="Two litres a head.",
            method="yes_no",
            deadline=int(theirs.now()) + 3 * DAY,
        )
        pid = theirs.decisions.propose(city, body)
        asked = x.post(home + "/federation/ratify", {"proposal": pid.hex()[:12], "ask": "yes"})
        assert asked.status_code == 200, asked.text
        assert "Not ratified (yet)." in words(asked.text)
        # Down: the delegate's node opens the ratification in her council.
        send(theirs, mine)
        assert "Ratify: Water rationing" in words(a.get(base + "/federation").text)
        (notice,) = [n for n in mine.federation_flow.notices(base_id) if n.kind == "ratify"]
        assert notice.proposal is not None
        mine.decisions.vote(base_id, notice.proposal, dk.YesNoBallot("yes"))
        closes = mine.decisions.proposal(base_id, notice.proposal).closes_at
        mine.now = lambda: max(time.time(), closes + 1.0)
        theirs.now = mine.now
        mine.decisions.close(base_id, notice.proposal)
        # Up: looking at her council's page, her node carries the result to the city.
        a.get(base + "/federation")
        send(mine, theirs)
        status = x.post(home + "/federation/ratify", {"proposal": pid.hex()[:12]})
        assert status.status_code == 200, status.text
        said = words(status.text)
        assert "1 of 1 councils said yes, representing 1 of 1 members." in said, said
        assert "Ratified." in said and "Not ratified" not in said


def test_the_federation_pages_in_persian(tmp_path: Path) -> None:
    with browser(tmp_path / "a", **FA) as a, browser(tmp_path / "x", **FA) as x:
        base, home, _request = federation_and_delegate(a, x)
        page = words(x.get(home + "/federation").text)
        assert "هنوز هیچ نماینده‌ای کرسی ندارد." in page and "تصویب" in page
        assert "Delegates" not in page and "Ratification" not in page
        a.post(base + "/mandates", {"federation": home.rsplit("/", 1)[1], "days": "۳۰"})
        mine = words(a.get(base + "/federation").text)
        assert "کامل" in mine and "complete" not in mine
        assert "Create a federation" not in words(x.get("/federations/new").text)
        members = words(a.get(base + "/members").text)  # the elected role, in words
        assert "نماینده" in members and "delegate" not in members
