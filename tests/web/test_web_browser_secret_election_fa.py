"""A secret election walked in Persian on a 360 px phone, in a real browser.

Nasrin's node serves its pages (the real app under uvicorn, in this process, so that
its clock is the test's); three more members' nodes are real profiles that meet hers
by bundles. On the roles page she ticks "hold it by secret ballot" and opens an
election to treasurer; the tellers make the vote's key; everyone votes; a member is
removed, which voids Nasrin's ballot, and her vote page and notifications ask her, in
Persian, to cast it again; she does; the vote is closed and counted, and the vote
page shows the role and who holds it. Every page is right-to-left Persian, fits
360 px without sideways scrolling, has tap targets of at least 44 px, shows no
Latin word (all names are Persian) and none of a few known English sentences, and
passes axe-core."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser

from conftest import Clock, admit, everyone, make_node, remove_by_two
from shora.domain.decisions import kinds as dk
from shora.node import Node
from shora.web.app import create_app
from shora.web.state import Keeper
from web.browser import PHONE, Person, chromium, screenshot_dir
from web.client import PASSPHRASE
from web.test_web_browser_phone import SMALL, TARGETS

__all__ = ["chromium"]

COUNCIL = "شورای کارگران کارخانه"
NAMES = ["نسرین", "کاوه", "لیلا", "بهرام"]
# English a Persian page must not show (the page's own sentences, and common ones).
ENGLISH = (
    "secret ballot",
    "Hold it by secret ballot",
    "Election to",
    "Holding the role by this election",
    "Your ballot no longer counts",
    "Cast it again below",
    "Cast your secret ballot again",
    "Tellers' page",
    "Close the vote",
    "Open the election",
    "Candidates",
    "Result",
)
RECAST = "پیش از پایان مهلت در پایین دوباره رأی دهید"  # "Cast it again below ..."
# What a person reads in the fields (not the hidden ones, nor the boxes' values).
VALUES = """() => [...document.querySelectorAll(
  'main input:not([type=hidden]):not([type=checkbox]):not([type=radio])')].map((e) => e.value)"""
WIDTH = "() => document.scrollingElement.scrollWidth"
MAIN_TEXT = "() => (document.querySelector('main') || document.body).innerText"


@dataclass
class Here:
    """Where the pages are served: what `Person` needs of a server."""

    link: str
    base: str


class _Uvicorn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # not the main thread: no signals
        yield


@contextlib.contextmanager
def serving(keeper: Keeper) -> Iterator[Here]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = int(sock.getsockname()[1])
    app = create_app(keeper, port=port)
    server = _Uvicorn(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        yield Here(f"{base}/login?token={keeper.login_token}", base)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def check(person: Person, name: str) -> None:
    """The page at 360 px: Persian, right to left, no sideways scroll, 44 px targets,
    no English, no axe-core violation."""
    page = person.page
    assert page.evaluate("() => document.documentElement.dir") == "rtl", name
    assert page.evaluate("() => document.documentElement.lang") == "fa", name
    assert int(page.evaluate(WIDTH)) <= PHONE["width"], name
    assert page.evaluate(SMALL, TARGETS) == [], name
    shown = str(page.evaluate(MAIN_TEXT))
    assert [e for e in ENGLISH if e in shown] == [], name
    # Every name here is Persian: a Latin word of four letters or more is untranslated
    # (acronyms such as IRV and STV are three).
    assert re.findall(r"[A-Za-z]{4,}", shown) == [], name
    assert "," not in shown, name  # lists are joined with the Persian comma
    assert re.findall("[0-9]", shown + " ".join(page.evaluate(VALUES))) == [], name
    assert person.axe() == [], name
    assert person.csp_errors == [], name
    page.screenshot(path=str(person.shots / f"{name}-fa-phone.png"), full_page=True)


def _council(tmp_path: Path, clock: Clock) -> tuple[Node, list[Node], bytes]:
    """Four members; Nasrin, Kaveh and Leila elected tellers (counted two hours later)."""
    nasrin = make_node(tmp_path, "nasrin")
    nasrin.now = clock
    council = nasrin.councils.create(COUNCIL, "", NAMES[0])
    others = [make_node(tmp_path, f"o{i}") for i in range(3)]
    for other, name in zip(others, NAMES[1:], strict=True):
        other.now = clock
        admit(nasrin, other, council, name)
    nodes = [nasrin, *others]
    everyone(nodes)
    tellers = [n.me(council) for n in nodes[:3]]
    ranked = [t.hex() for t in tellers if t]
    pid = nasrin.governance.elect(council, "teller", [t for t in tellers if t], seats=3, hours=1)
    everyone(nodes)
    for n in nodes:
        n.decisions.vote(council, pid, dk.RankedBallot(ranked))
    everyone(nodes)
    clock.t += 2 * 3600
    nasrin.decisions.close(council, pid)
    everyone(nodes)
    nasrin.close()
    return nasrin, others, council


@pytest.mark.slow  # a real browser and four real profiles
def test_a_secret_election_in_persian_on_a_phone(chromium: Browser, tmp_path: Path) -> None:
    clock = Clock(time.time() - 3 * 3600)
    _, others, council = _council(tmp_path, clock)
    home = f"/councils/{council.hex()}"
    keeper = Keeper(tmp_path / "nasrin", insecure_test_kdf=True)
    with serving(keeper) as here:
        person = Person(chromium, here, "fa", screenshot_dir(tmp_path / "shots"))  # type: ignore[arg-type]
        try:
            page = person.page
            page.set_viewport_size(PHONE)
            if "/unlock" in page.url:
                page.fill("#passphrase", PASSPHRASE)
                person.submit("form[action^='/unlock']")
            node = keeper.require_node()
            node.now = clock
            nodes = [node, *others]
            me = node.me(council)
            assert me is not None
            # The election form, by secret ballot.
            person.goto(home + "/roles")
            check(person, "election-form")
            page.select_option("#e-role", "treasurer")
            page.locator(f"input[name='candidate'][value='{me.hex()}']").check()
            page.fill("#e-hours", "۳۰")  # the seats stay as given: ۱
            page.get_by_label("با رأی‌گیری مخفی برگزار شود", exact=False).check()
            person.submit(f"form[action='{home}/roles/elect']")
            vote_path = page.url.removeprefix(here.base).split("?")[0]
            assert "/secret/" in vote_path
            vote = bytes.fromhex(vote_path.rsplit("/", 1)[-1])
            check(person, "election-setup")
            # The tellers make the vote's key (Nasrin on her page, the others by service).
            person.goto(vote_path + "/tellers")
            check(person, "election-tellers")
            if page.locator(f"form[action='{vote_path}/teller']").count():
                person.submit(f"form[action='{vote_path}/teller']")
            everyone(nodes)
            for _ in range(2):
                for n in nodes[:3]:
                    n.ballots.take_part(council, vote)
                everyone(nodes)
            person.goto(vote_path)
            assert page.locator("form.ballot").count() == 1
            check(person, "election-ballot")
            # The others vote; Nasrin votes, and before her ballot reaches them a member is
            # removed, which voids it (nobody can tell which ballot was the removed one's).
            for n in others:
                n.ballots.vote(council, vote, dk.RankedBallot([me.hex()]), delay=0)
            everyone(nodes)
            node.ballots.vote(council, vote, dk.RankedBallot([me.hex()]), delay=0)
            informer = others[2].me(council)
            assert informer is not None
            remove_by_two(others[0], others[1], council, informer)
            everyone(nodes)
            person.goto(vote_path)
            shown = page.locator("main").inner_text()
            assert RECAST in shown
            check(person, "election-recast")
            person.goto(home + "/notifications")
            assert "رأی مخفی خود را دوباره بدهید" in page.locator("main").inner_text()
            check(person, "election-recast-notice")
            # She casts it again on the page (ranking typed in Persian digits): sealed, to
            # be published after a random delay, which here is cut short.
            person.goto(vote_path)
            page.fill("#b-rank-0", "۱")
            person.submit("form.ballot")
            assert page.url.endswith("?voted=1")
            check(person, "election-sealed")
            node.ballots.vote(council, vote, dk.RankedBallot([me.hex()]), delay=0)
            everyone(nodes)
            person.goto(vote_path)
            assert RECAST not in page.locator("main").inner_text()
            # Closed after the deadline, counted by two tellers, seated.
            everyone(nodes)
            clock.t += 31 * 3600
            person.goto(vote_path)
            person.submit(f"form[action='{vote_path}/close']")
            everyone(nodes)
            for n in nodes[:2]:
                n.ballots.publish_shares(council, vote)
            everyone(nodes)
            person.goto(vote_path + "/tellers")
            if page.locator(f"form[action='{vote_path}/teller']").count():
                person.submit(f"form[action='{vote_path}/teller']")
            person.goto(vote_path)
            if page.locator(f"form[action='{vote_path}/seat']").count():
                person.submit(f"form[action='{vote_path}/seat']")
            person.goto(vote_path)
            shown = page.locator("main").inner_text()
            assert "انتخابات برای نقش خزانه‌دار" in shown
            assert "بر عهدهٔ نقش با این انتخابات" in shown and NAMES[0] in shown
            assert page.locator("#s-result ~ p strong bdi").first.inner_text() == NAMES[0]
            assert page.locator("figure.chart").count() >= 1  # the count, round by round
            check(person, "election-seated")
        finally:
            person.close()
            for other in others:
                other.close()
