"""A stranger on the same Wi-Fi as a community node (shora community serve).

They reach every page but hold no sign-up code and no invitation. They learn nothing
of who has a profile here (the pages, the errors, the work done, the cookies and the
redirects are the same for a held name and a free one), make no profile, and cannot
keep the people of the node out for more than seconds by flooding it with attempts.
Real profiles, real SQLite, the real app over ASGI (tests/web/test_web_community.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from cli_run import base_env, in_process
from shora.kernel import crypto, tokens
from shora.services.community import CODE_DIGITS, Community
from shora.web.throttle import ADDRESS_TRIES, MAX_WAITING
from web.test_web_community import PASSPHRASES, Node, Phone, community_node

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # a CSRF token


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    with community_node(tmp_path / "community") as made:
        nasrin = made.phone("192.168.1.2")
        nasrin.create("Nasrin", made.code)
        nasrin.post("/lock", {})
        yield made


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many key derivations ran (the real one runs each time: this only counts)."""
    counted: list[int] = []
    real = crypto.derive_key

    def counting(*args: object) -> bytes:
        counted.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(crypto, "derive_key", counting)
    return counted


def seen(response: httpx.Response, name: str) -> tuple[int, str, list[str]]:
    """What a stranger sees of an answer, the name they typed and the CSRF token aside."""
    body = TOKEN.sub("TOKEN", response.text).replace(name, "NAME")
    headers = sorted(k for k in response.headers if k not in ("content-length",))
    return response.status_code, body, headers


def unlock_try(phone: Phone, name: str, passphrase: str) -> httpx.Response:
    phone.get("/unlock")
    return phone.post("/unlock", {"name": name, "passphrase": passphrase})


def test_without_the_code_a_stranger_makes_no_profile_and_learns_no_name(node: Node) -> None:
    stranger = node.phone("192.168.1.66")
    stranger.get("/welcome")
    p = "a stranger's passphrase"
    answers = []
    for name, code in [("Nasrin", ""), ("Ghost", ""), ("Nasrin", "0" * CODE_DIGITS)]:
        form = {"name": name, "code": code, "passphrase": p, "again": p}
        r = stranger.post("/welcome", form)
        assert r.status_code == 400 and "sign-up code is not this node" in r.text
        answers.append(seen(r, name))
    assert answers[0] == answers[1]  # a held name and a free one: the same page
    assert "taken" not in answers[0][1]
    assert [p.label for p in node.hall.community.people()] == ["Nasrin"]
    assert len(list((node.hall.community.root / "people").iterdir())) == 1
    assert stranger.cookie is not None and "set-cookie" not in answers[0][2]


def test_a_forged_invitation_is_no_right_to_sign_up(node: Node) -> None:
    """An invitation counts only if a council of someone open here made it: one the
    stranger made for a council of their own does not."""
    forged = tokens.Invitation(crypto.random_bytes(32), crypto.random_bytes(32), 2**39, [])
    stranger = node.phone("192.168.1.66")
    stranger.get("/welcome?next=/join")
    p = "a stranger's passphrase"
    form = {"name": "Ghost", "passphrase": p, "again": p}
    r = stranger.post(
        "/welcome?next=/join",
        {**form, "invitation": tokens.invitation_uri(forged), "join_name": "G"},
    )
    assert r.status_code == 400 and "sign-up code is not this node" in r.text
    assert [p.label for p in node.hall.community.people()] == ["Nasrin"]


def test_wrong_passphrase_and_unknown_name_answer_alike(node: Node, derivations: list[int]) -> None:
    """The same words, the same status and headers, no new cookie, and one key
    derivation each (so the same time), whether the name is held or not."""
    answers = []
    for name in ("Nasrin", "Ghost"):
        stranger = node.phone()
        stranger.get("/unlock")
        cookie = stranger.cookie
        before = len(derivations)
        r = unlock_try(stranger, name, "a wrong passphrase")
        assert len(derivations) == before + 1, name
        assert stranger.cookie == cookie and "location" not in r.headers
        answers.append(seen(r, name))
    assert answers[0] == answers[1]
    assert answers[0][0] == 400 and "Wrong name or passphrase." in answers[0][1]


def test_no_page_names_anyone_to_a_stranger(node: Node) -> None:
    stranger = node.phone("192.168.1.66")
    for path in ("/", "/welcome", "/unlock", "/node", "/welcome?next=/join", "/councils"):
        page = stranger.get(path)
        assert "Nasrin" not in page.text, path
        assert page.status_code in (200, 303), path
        if page.status_code == 303:
            assert page.headers["location"].startswith("/unlock"), path


def test_one_address_gets_a_few_tries_a_minute(node: Node) -> None:
    stranger = node.phone("192.168.1.66")
    answers = [
        unlock_try(stranger, f"Ghost {i}", "a wrong passphrase").status_code
        for i in range(ADDRESS_TRIES + 1)
    ]
    assert answers == [400] * ADDRESS_TRIES + [429]
    stranger.get("/welcome")
    p = "a stranger's passphrase"
    form = {"name": "Ghost", "code": node.code, "passphrase": p, "again": p}
    waited = stranger.post("/welcome", form)  # even with the right code: nothing checked
    assert waited.status_code == 429 and 0 < int(waited.headers["retry-after"]) <= 60
    # Someone else, at another address, is let in meanwhile.
    assert unlock_try(node.phone(), "Nasrin", PASSPHRASES["Nasrin"]).status_code == 303
    node.clock.now += 61
    assert unlock_try(stranger, "Ghost", "a wrong passphrase").status_code == 400


def test_an_ipv6_stranger_changing_address_within_its_prefix_is_one_address(
    node: Node,
) -> None:
    """An IPv6 host can take any address of its /64: each try from a new one of them
    still counts against the same ten a minute; another /64 (another household) and an
    IPv4 address written as IPv6 are counted apart."""
    answers = [
        unlock_try(node.phone(f"2001:db8:1:2::{i + 1:x}"), f"Ghost {i}", "wrong").status_code
        for i in range(ADDRESS_TRIES + 1)
    ]
    assert answers == [400] * ADDRESS_TRIES + [429]
    neighbour = node.phone("2001:db8:1:3::1")
    assert unlock_try(neighbour, "Ghost", "wrong").status_code == 400
    mapped = node.phone("::ffff:192.168.1.66")
    assert unlock_try(mapped, "Ghost", "wrong").status_code == 400
    assert unlock_try(node.phone("2001:db8:1:2:ffff::9"), "Nasrin", "wrong").status_code == 429


def test_a_flood_from_many_addresses_makes_others_wait_seconds(node: Node) -> None:
    """While the derivations queue up, a newcomer is told the node is busy and for how
    many seconds (never a wait of minutes); once the queue drains they are let in."""
    portal = node.portal
    portal.call(node.hall.kdf_gate.acquire)  # a long derivation running
    flood = [node.phone(f"10.0.0.{i}") for i in range(MAX_WAITING)]
    for phone in flood:
        phone.get("/unlock")
    pending = [
        portal.start_task_soon(
            _post(phone, {"name": f"Ghost {i}", "passphrase": "a wrong passphrase"})
        )
        for i, phone in enumerate(flood)
    ]
    portal.call(_until, lambda: node.hall.gate.waiting == MAX_WAITING)
    nasrin = node.phone("192.168.1.2")
    busy = unlock_try(nasrin, "Nasrin", PASSPHRASES["Nasrin"])
    assert busy.status_code == 503 and "busy" in busy.text
    assert 0 < int(busy.headers["retry-after"]) <= 2 * (MAX_WAITING + 1)
    portal.call(node.hall.kdf_gate.release)
    assert [f.result(timeout=60).status_code for f in pending] == [400] * MAX_WAITING
    assert unlock_try(nasrin, "Nasrin", PASSPHRASES["Nasrin"]).status_code == 303


def _post(phone: Phone, data: dict[str, str]) -> Callable[[], object]:
    async def send() -> httpx.Response:
        return await phone.inner.post("/unlock", data={"csrf": phone.csrf, **data})

    return send


async def _until(done: Callable[[], bool]) -> None:
    import anyio

    with anyio.fail_after(30):
        while not done():
            await anyio.sleep(0.01)


def test_a_new_code_ends_the_old_one_on_the_running_node(node: Node, tmp_path: Path) -> None:
    old = node.code
    root = node.hall.community.root
    env = {**base_env(), "SHORA_HOME": str(tmp_path / "home")}
    made = in_process(["community", "code", "--new", "--dir", str(root)], env)
    assert made.returncode == 0, made.stderr
    new = Community(root).signup_code()
    assert new != old and new[:5] in made.stdout
    phone = node.phone()
    filled = phone.get(f"/welcome?code={new}")  # the QR code's link fills the code in
    assert f'name="code" value="{new}"' in filled.text
    p = PASSPHRASES["Bahram"]
    form = {"name": "Bahram", "passphrase": p, "again": p}
    assert phone.post("/welcome", {**form, "code": old}).status_code == 400
    assert phone.post("/welcome", {**form, "code": f"{new[:5]} {new[5:]}"}).status_code == 303


def test_an_invitation_makes_one_profile_and_only_while_its_council_is_open_here(
    node: Node,
) -> None:
    nasrin = node.phone("192.168.1.2")
    assert nasrin.unlock("Nasrin", PASSPHRASES["Nasrin"]).status_code == 303
    council = nasrin.found("Block 4", "Nasrin")
    made = nasrin.post(f"/councils/{council}/invite", {}).text
    link = re.search(r'id="invitation-link"[^>]*value="([^"]+)"', made)
    assert link is not None
    invitation = link.group(1).replace("&amp;", "&").split("#", 1)[1]
    p = "a newcomer's passphrase"

    def sign_up(name: str) -> httpx.Response:
        phone = node.phone()
        phone.get("/welcome?next=/join")
        form = {"name": name, "passphrase": p, "again": p, "join_name": name}
        return phone.post("/welcome?next=/join", {**form, "invitation": invitation})

    nasrin.post("/lock", {})  # her council is on no open profile: the invitation is no right
    assert sign_up("Bahram").status_code == 400
    assert unlock_try(nasrin, "Nasrin", PASSPHRASES["Nasrin"]).status_code == 303
    assert sign_up("Bahram").status_code == 303
    again = sign_up("Sara")  # the same invitation again: no second profile
    assert again.status_code == 400 and "sign-up code is not this node" in again.text
    assert [p.label for p in node.hall.community.people()] == ["Bahram", "Nasrin"]


def test_knowing_a_name_does_not_keep_its_person_out(tmp_path: Path) -> None:
    """Someone who knows a profile's name types wrong passphrases for it from many
    addresses until the profile's tries must wait. Its person, on the phone that made
    or opened it before (a known-device cookie), still opens it at once; a phone
    without that cookie waits, and so does the one trying, even holding a known-device
    cookie of a profile of their own. A known device's own wrong tries wait in turn."""
    with community_node(tmp_path / "community") as node:
        nasrin = node.phone("192.168.1.2")
        nasrin.create("Nasrin", node.code)
        nasrin.post("/lock", {})
        informer = node.phone("192.168.1.66")
        informer.create("Bahram", node.code)
        informer.post("/lock", {})
        tries = [
            unlock_try(node.phone(f"10.1.{i}.1"), "Nasrin", "a guess").status_code for i in range(6)
        ]
        assert tries[-1] == 429  # the profile's shared count now waits
        assert unlock_try(informer, "Nasrin", PASSPHRASES["Nasrin"]).status_code == 429
        assert (
            unlock_try(node.phone("10.2.0.1"), "Nasrin", PASSPHRASES["Nasrin"]).status_code == 429
        )
        assert unlock_try(nasrin, "Nasrin", PASSPHRASES["Nasrin"]).status_code == 303
        nasrin.get("/councils")  # the new session's page and CSRF token
        assert nasrin.post("/lock", {}).status_code == 303
        # A stolen known-device cookie gives its holder a few tries, then waits too.
        own = [unlock_try(nasrin, "Nasrin", "a guess").status_code for _ in range(6)]
        assert own[:5] == [400] * 5 and own[5] == 429
