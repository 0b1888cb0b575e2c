"""Secret ballots in the web pages: proposing one with its tellers, the tellers' page
(the key, then the decryption share after the close), the vote page marked "secret
ballot" with its form, one's own ballot shown as counted but never shown back, and
the count. Real app, real encrypted profile; time moves by the node's own clock."""

from __future__ import annotations

import re
import time
from html import unescape

from web.client import Browser
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
    form = person.get(home + "/secret/new").text
    assert 'name="teller"' in form and 'name="needed"' in form
    refused = person.post(
        home + "/secret/new", {"title": "Strike?", "deadline": "1", "needed": "1"}
    )
    assert refused.status_code == 400 and "teller" in words(refused.text)
    made = person.post(
        home + "/secret/new",
        {"title": "Strike on Monday?", "text": "If enough of us do.", "deadline": "1",
         "deadline_unit": "hours", "teller": me.hex(), "needed": "1"},
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
    node.now = lambda: time.time() + 2 * 3600
    assert person.post(url + "/close").status_code == 303
    assert "Publish my decryption share" in person.get(url + "/tellers").text
    assert person.post(url + "/teller").status_code == 303
    page = words(person.get(url).text)
    assert "counted: the result is final" in page and "Result" in page
    listing = words(person.get(home + "/secret").text)
    assert "Strike on Monday?" in listing and "secret ballot" in listing
