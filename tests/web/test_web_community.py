"""Community mode in process: one node, many people's profiles, each browser bound to
the one profile it unlocked (web/community.py). Real profiles, real SQLite, the real
app over ASGI; several cookie jars play several phones."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from cli_run import base_env, in_process
from shora.services.community import Community, certificate
from shora.web.app import create_app
from shora.web.community import Hall
from shora.web.security import session_cookie

PORT = 8443
BASE = f"https://127.0.0.1:{PORT}"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
COUNCIL = re.compile(r"/councils/([0-9a-f]{64})")
PASSPHRASES = {"Nasrin": "nasrin's long passphrase", "Bahram": "bahram's long passphrase"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Phone:
    """One phone's browser: its own cookie jar, the CSRF token of its last page."""

    def __init__(self, portal: BlockingPortal, app: object, address: str = "127.0.0.1") -> None:
        self.portal = portal
        transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
        self.inner = httpx.AsyncClient(transport=transport, base_url=BASE)
        self.csrf = ""

    def get(self, path: str) -> httpx.Response:
        response = self.portal.call(lambda: self.inner.get(path))
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, str], *, csrf: str | None = None) -> httpx.Response:
        if not self.csrf:
            self.get("/unlock")
        body = {"csrf": self.csrf if csrf is None else csrf, **data}
        return self.portal.call(lambda: self.inner.post(path, data=body))

    @property
    def cookie(self) -> str | None:
        return self.inner.cookies.get(session_cookie(PORT))

    def create(self, name: str, code: str) -> None:
        self.get("/welcome")
        p = PASSPHRASES[name]
        r = self.post("/welcome", {"name": name, "code": code, "passphrase": p, "again": p})
        assert r.status_code == 303 and r.headers["location"] == "/councils", r.text
        self.get("/councils")

    def unlock(self, name: str, passphrase: str) -> httpx.Response:
        self.get("/unlock")
        r = self.post("/unlock", {"name": name, "passphrase": passphrase})
        self.get("/councils")
        return r

    def found(self, council: str, founder: str) -> str:
        r = self.post("/councils", {"name": council, "founder": founder})
        assert r.status_code == 303, r.text
        found = COUNCIL.search(r.headers["location"])
        assert found is not None
        return found.group(1)


@dataclass
class Node:
    hall: Hall
    clock: Clock
    phones: list[Phone]
    portal: BlockingPortal
    app: object

    def phone(self, address: str | None = None) -> Phone:
        """A phone on the Wi-Fi (each at its own address unless told)."""
        made = Phone(self.portal, self.app, address or f"192.168.1.{len(self.phones) + 10}")
        self.phones.append(made)
        return made

    @property
    def code(self) -> str:
        return self.hall.community.signup_code()


@contextmanager
def community_node(root: Path) -> Iterator[Node]:
    clock = Clock()
    hall = Hall(root, lock_after=600.0, clock=clock, insecure_test_kdf=True)
    app = create_app(None, port=PORT, hall=hall, secure=True)
    with start_blocking_portal() as portal:
        node = Node(hall, clock, [], portal, app)
        try:
            yield node
        finally:
            portal.call(hall.lock_all)
            for phone in node.phones:
                portal.call(phone.inner.aclose)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    with community_node(tmp_path / "community") as made:
        yield made


def test_each_person_reaches_only_their_own_profile(node: Node) -> None:
    nasrin, bahram, stranger = node.phone(), node.phone(), node.phone()
    nasrin.create("Nasrin", node.code)
    bahram.create("Bahram", node.code)
    hers = nasrin.found("Block 4 committee", "Nasrin")
    his = bahram.found("Street 9 kitchen", "Bahram")
    assert "Block 4 committee" in nasrin.get("/councils").text
    assert "Block 4 committee" not in bahram.get("/councils").text
    assert "Street 9 kitchen" not in nasrin.get("/councils").text

    # Guessing the other's addresses: pages and API answer as for a council one lacks.
    for path in (f"/councils/{hers}", f"/councils/{hers}/members", f"/councils/{hers}/posts"):
        assert bahram.get(path).status_code == 404, path
        assert nasrin.get(path).status_code == 200, path
    assert bahram.get(f"/api/councils/{hers}").status_code == 404
    names = [c["name"] for c in bahram.get("/api/councils").json()]
    assert names == ["Street 9 kitchen"]

    # Acting as the other: her CSRF token with his cookie is refused, and so is his
    # token with her council's address (he is no member there).
    r = bahram.post(f"/councils/{hers}/posts", {"text": "forged"}, csrf=nasrin.csrf)
    assert r.status_code == 403
    r = bahram.post(f"/councils/{hers}/posts", {"text": "forged"})
    assert r.status_code == 404
    assert "forged" not in nasrin.get(f"/councils/{hers}/posts").text

    # A browser that unlocked nothing reaches nobody's pages or data.
    assert stranger.get("/councils").headers["location"].startswith("/unlock")
    assert stranger.get(f"/councils/{hers}").status_code == 303
    assert stranger.get("/api/councils").status_code == 423
    r = stranger.post(f"/councils/{his}/posts", {"text": "forged"}, csrf=bahram.csrf)
    assert r.status_code == 403

    # Swapping cookies: a cookie is the one profile it was bound to, nothing more (the
    # stranger holding Bahram's cookie is Bahram's browser, and still only his).
    assert bahram.cookie is not None and nasrin.cookie is not None
    stranger.inner.cookies.set(session_cookie(PORT), bahram.cookie)
    assert "Street 9 kitchen" in stranger.get("/councils").text
    assert stranger.get(f"/councils/{hers}").status_code == 404
    r = stranger.post(f"/councils/{his}/posts", {"text": "with his token"}, csrf=nasrin.csrf)
    assert r.status_code == 403
    stranger.inner.cookies.set(session_cookie(PORT), "made-up-" + nasrin.cookie[8:])
    assert stranger.get("/councils").headers["location"].startswith("/unlock")


def test_a_passphrase_is_checked_even_while_the_profile_is_open(node: Node) -> None:
    nasrin, other = node.phone(), node.phone()
    nasrin.create("Nasrin", node.code)
    before = other.get("/unlock") and other.cookie
    for name, passphrase in (
        ("Nasrin", "a wrong passphrase"),
        ("nasrin", PASSPHRASES["Bahram"]),
        ("Nobody", PASSPHRASES["Nasrin"]),
    ):
        r = other.unlock(name, passphrase)
        assert r.status_code == 400 and "Wrong name or passphrase." in r.text
        assert other.get("/councils").status_code == 303
    # The right one (any case of the name) opens her profile here too, under a new cookie.
    r = other.unlock("NASRIN", PASSPHRASES["Nasrin"])
    assert r.status_code == 303
    assert other.cookie != before
    assert other.get("/councils").status_code == 200


def test_a_cookie_from_before_the_unlock_is_worth_nothing_after(node: Node) -> None:
    phone = node.phone()
    phone.get("/unlock")
    planted = phone.cookie
    assert planted is not None
    phone.create("Nasrin", node.code)
    assert phone.cookie != planted
    thief = node.phone()
    thief.inner.cookies.set(session_cookie(PORT), planted)
    assert thief.get("/councils").status_code == 303


def test_lock_now_and_idle_lock_close_the_keys_and_end_the_sessions(node: Node) -> None:
    nasrin, her_laptop, bahram = node.phone(), node.phone(), node.phone()
    nasrin.create("Nasrin", node.code)
    her_laptop.unlock("Nasrin", PASSPHRASES["Nasrin"])
    bahram.create("Bahram", node.code)
    assert len(node.hall.unlocked()) == 2
    r = nasrin.post("/lock", {})
    assert r.status_code == 303
    assert len(node.hall.unlocked()) == 1  # hers locked, his still open
    for phone in (nasrin, her_laptop):
        assert phone.get("/councils").headers["location"].startswith("/unlock")
    assert bahram.get("/councils").status_code == 200

    node.clock.now += 599
    node.portal.call(node.hall.lock_idle)
    assert len(node.hall.unlocked()) == 1
    node.clock.now += 2
    node.portal.call(node.hall.lock_idle)
    assert node.hall.unlocked() == []
    assert bahram.get("/councils").headers["location"].startswith("/unlock")
    # Unlocked again with the passphrase, its data is there.
    assert bahram.unlock("Bahram", PASSPHRASES["Bahram"]).status_code == 303
    assert bahram.get("/councils").status_code == 200


def test_names_are_unique_and_a_failed_creation_leaves_nothing(node: Node) -> None:
    nasrin, again = node.phone(), node.phone()
    nasrin.create("Nasrin", node.code)
    again.get("/welcome")
    p = "another long passphrase"
    code = node.code
    r = again.post("/welcome", {"name": " nasrin ", "code": code, "passphrase": p, "again": p})
    assert r.status_code == 400 and "That name is taken" in r.text
    r = again.post("/welcome", {"name": "Short", "passphrase": "short", "again": "short"})
    assert r.status_code == 400
    assert [p.label for p in node.hall.community.people()] == ["Nasrin"]
    assert node.hall.community.abandoned() == []


def test_the_operator_sees_names_and_nothing_else(tmp_path: Path) -> None:
    root = tmp_path / "community"
    with community_node(root) as node:
        for name in ("Nasrin", "Bahram"):
            phone = node.phone()
            phone.create(name, node.code)
            phone.found(f"{name}'s secret council", name)
            phone.post("/lock", {})
    env = {**base_env(), "SHORA_HOME": str(tmp_path / "home")}
    listed = in_process(["community", "list", "--dir", str(root)], env)
    assert listed.returncode == 0, listed.stderr
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["Bahram", "Nasrin"]
    assert all(today in line and "locked" in line for line in listed.stdout.splitlines())
    # On disk: the names, and nothing readable of what is in the profiles.
    for path in root.rglob("*"):
        if path.is_file():
            assert b"secret council" not in path.read_bytes(), path
    removed = in_process(["community", "remove", "--dir", str(root), "nasrin", "--yes"], env)
    assert removed.returncode == 0, removed.stderr
    assert [p.label for p in Community(root).people()] == ["Bahram"]
    assert len(list((root / "people").iterdir())) == 1


def test_the_certificate_is_kept_private_and_covers_the_addresses(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding

    made = certificate(tmp_path, ["192.168.1.20"])
    assert stat.S_IMODE(made.key.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(made.cert.read_bytes())
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(a) for a in sans.get_values_for_type(x509.IPAddress)}
    assert ips == {"127.0.0.1", "::1", "192.168.1.20"}
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    der = cert.public_bytes(Encoding.DER)
    assert made.fingerprint == ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    # Kept while it covers the addresses; a new address makes a new one.
    assert certificate(tmp_path, ["192.168.1.20"]).fingerprint == made.fingerprint
    assert certificate(tmp_path, []).fingerprint == made.fingerprint
    assert certificate(tmp_path, ["10.0.0.5"]).fingerprint != made.fingerprint


def test_the_node_page_shows_address_and_fingerprint(tmp_path: Path) -> None:
    with community_node(tmp_path / "c") as node:
        node.hall.certificate = certificate(tmp_path / "c", [])
        node.hall.address = "https://192.168.1.20:8150/"
        page = node.phone().get("/node")
        assert page.status_code == 200
        assert node.hall.certificate.fingerprint in page.text
        assert "https://192.168.1.20:8150/" in page.text and "<svg" in page.text


def test_wrong_tries_wait_alike_for_held_and_free_names(node: Node) -> None:
    nasrin = node.phone()
    nasrin.create("Nasrin", node.code)
    for name in ("Nasrin", "Ghost"):
        guesser = node.phone()  # each from an address of its own (see the address limit)
        answers = [guesser.unlock(name, "a wrong passphrase").status_code for _ in range(6)]
        assert answers == [400] * 5 + [429], name
    # Another name's wrong tries do not make a held one wait, nor a free one.
    for name in ("Ghost 2",):
        assert node.phone().unlock(name, "a wrong passphrase").status_code == 400
    node.clock.now += 31
    assert node.phone().unlock("Nasrin", PASSPHRASES["Nasrin"]).status_code == 303


@pytest.mark.slow  # a real `shora community serve` process
def test_serving_beyond_this_machine_warns_and_shows_the_fingerprint(tmp_path: Path) -> None:
    import signal
    import ssl
    import subprocess
    import sys

    root = tmp_path / "community"
    env = {**base_env(), "SHORA_HOME": str(tmp_path / "home")}
    args = ["community", "serve", "--dir", str(root), "--host", "0.0.0.0", "--port", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "shora.cli.main", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        lines: list[str] = []
        while not any("SHA-256" in line for line in lines):
            line = proc.stdout.readline()
            assert line, lines
            lines.append(line)
        printed = re.search(r"\(SHA-256\): ([0-9A-F:]+)", "".join(lines))
        url = re.search(r"https://127\.0\.0\.1:(\d+)/", "".join(lines))
        assert printed is not None and url is not None, lines
        pem = ssl.get_server_certificate(("127.0.0.1", int(url.group(1))))
        der = ssl.PEM_cert_to_DER_cert(pem)
        assert printed.group(1) == ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
        assert stat.S_IMODE((root / "tls" / "key.pem").stat().st_mode) == 0o600
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert "anyone on this network can reach them" in err


def test_a_newcomer_goes_on_to_the_page_asked_for(node: Node) -> None:
    """An invitation's link opened on a phone with no profile yet: the passphrase page,
    then (through "New here?") the new profile, then the join page."""
    phone = node.phone()
    r = phone.get("/join")
    assert r.headers["location"] == "/unlock?next=/join"
    page = phone.get("/unlock?next=/join")
    assert 'href="/welcome?next=/join"' in page.text
    phone.get("/welcome?next=/join")
    p = PASSPHRASES["Nasrin"]
    asked = {"name": "Nasrin", "code": node.code, "passphrase": p, "again": p}
    r = phone.post("/welcome?next=/join", asked)
    assert r.status_code == 303 and r.headers["location"] == "/join"
    assert phone.get("/join").status_code == 200
    # Never on to another site.
    r = phone.post("/welcome?next=//elsewhere.example", {"name": "x", "passphrase": p})
    assert r.headers["location"] == "/"


def test_the_new_profile_from_an_invitation_also_asks_to_join(node: Node) -> None:
    """As on a one-profile node: from an invitation's link, the new profile's page asks
    the name in the council and sends the join request with the same button; a damaged
    invitation makes no profile and keeps what was typed."""
    founder = node.phone()
    founder.create("Nasrin", node.code)
    council = founder.found("Block 4", "Nasrin")
    made = founder.post(f"/councils/{council}/invite", {}).text
    link = re.search(r'id="invitation-link"[^>]*value="([^"]+)"', made)
    assert link is not None
    fragment = link.group(1).replace("&amp;", "&").split("#", 1)[1]
    phone = node.phone()
    page = phone.get("/welcome?next=/join").text
    assert 'name="join_name"' in page and 'data-from-fragment="shora:invite/"' in page
    assert 'name="join_name"' not in phone.get("/welcome").text
    p = PASSPHRASES["Bahram"]
    both = {"name": "Bahram", "passphrase": p, "again": p}
    cut = fragment.split("?")[0][:-20]
    damaged = phone.post("/welcome?next=/join", {**both, "invitation": cut, "join_name": "B"})
    assert damaged.status_code == 400 and "damaged or incomplete" in damaged.text
    assert cut in damaged.text and 'value="B"' in damaged.text
    assert [p.label for p in node.hall.community.people()] == ["Nasrin"]
    joined = phone.post("/welcome?next=/join", {**both, "invitation": fragment, "join_name": "B"})
    assert joined.status_code == 303 and joined.headers["location"] == f"/councils/{council}"
    waiting = phone.get(f"/councils/{council}").text
    assert "Waiting to be admitted." in waiting and "Block 4" in waiting


def test_the_node_shows_its_name_and_the_list_which_profiles_are_open(tmp_path: Path) -> None:
    root = tmp_path / "community"
    with community_node(root) as node:
        node.hall.name = "Block 4 node"
        nasrin, bahram = node.phone(), node.phone()
        assert "Block 4 node" in nasrin.get("/unlock").text
        nasrin.create("Nasrin", node.code)
        bahram.create("Bahram", node.code)
        bahram.post("/lock", {})
        env = {**base_env(), "SHORA_HOME": str(tmp_path / "home")}
        listed = in_process(["community", "list", "--dir", str(root), "--json"], env)
        assert listed.returncode == 0, listed.stderr
        today = datetime.datetime.now(datetime.UTC).date().isoformat()
        assert json.loads(listed.stdout) == [
            {"name": "Bahram", "created": today, "unlocked": False},
            {"name": "Nasrin", "created": today, "unlocked": True},
        ]
    # Stopped: nothing is open, and no file says otherwise.
    assert not (root / "open").exists()
    listed = in_process(["community", "list", "--dir", str(root)], env)
    assert "unlocked" not in listed.stdout and listed.stdout.count("locked") == 2


def test_the_idle_watch_leaves_a_profile_being_made_alone(tmp_path: Path) -> None:
    """The idle watch locks and forgets a profile destroyed meanwhile (no keystore).
    A profile whose keystore is still being written has none yet either: the watch
    running during its key derivation must not take it for destroyed (the person would
    find themselves at the unlock page right after making it)."""

    async def run() -> None:
        hall = Hall(tmp_path / "community", clock=Clock(), insecure_test_kdf=True)
        await hall.kdf_gate.acquire()  # a derivation running: the creation waits
        made = asyncio.create_task(hall.create("Nasrin", "p" * 20, hall.community.signup_code()))
        while not hall.creating:
            await asyncio.sleep(0.01)
        await hall.lock_idle()  # the watch's round, while the keystore is not there yet
        hall.kdf_gate.release()
        person = await made
        assert person.key in hall.unlocked()
        await hall.lock_all()

    asyncio.run(run())
