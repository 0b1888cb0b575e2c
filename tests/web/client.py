"""A logged-in browser session against the real app, in process (httpx over ASGI).

The app, its Keeper and the profile are real (an encrypted SQLite file under tmp_path,
with the fast key derivation tests use); only the network socket is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from shora.web.app import create_app
from shora.web.state import Keeper

PORT = 8150
BASE = f"http://127.0.0.1:{PORT}"
PASSPHRASE = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Client:
    """httpx's async client over ASGI, driven from synchronous tests through a portal."""

    def __init__(self, portal: BlockingPortal, client: httpx.AsyncClient) -> None:
        self.portal = portal
        self.inner = client
        self.cookies = client.cookies

    def get(self, url: str, **kw: object) -> httpx.Response:
        return self.portal.call(lambda: self.inner.get(url, **kw))  # type: ignore[arg-type]

    def post(self, url: str, **kw: object) -> httpx.Response:
        return self.portal.call(lambda: self.inner.post(url, **kw))  # type: ignore[arg-type]

    def request(self, method: str, url: str, **kw: object) -> httpx.Response:
        return self.portal.call(lambda: self.inner.request(method, url, **kw))  # type: ignore[arg-type]


class Browser:
    """One browser: its cookie jar (after the login link) and the page's CSRF token."""

    def __init__(self, client: Client, keeper: Keeper) -> None:
        self.client = client
        self.keeper = keeper
        self.csrf = ""

    def login(self) -> httpx.Response:
        token = self.keeper.login_token
        assert token is not None
        response = self.client.get(f"/login?token={token}")
        assert response.status_code == 200
        return response

    def get(self, path: str, **kw: object) -> httpx.Response:
        response = self.client.get(path, **kw)  # type: ignore[arg-type]
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, str] | None = None, **kw: object) -> httpx.Response:
        if not self.csrf:
            self.get("/councils")
        return self.client.post(path, data={"csrf": self.csrf, **(data or {})}, **kw)  # type: ignore[arg-type]

    def create_profile(self) -> None:
        r = self.post("/welcome", {"passphrase": PASSPHRASE, "again": PASSPHRASE})
        assert r.status_code == 303, r.text

    def found_council(self, name: str = "Block 4 committee", founder: str = "Nasrin") -> str:
        r = self.post("/councils", {"name": name, "founder": founder})
        assert r.status_code == 303, r.text
        return str(r.headers["location"])


@contextmanager
def client_for(keeper: Keeper, **headers: str) -> Iterator[Client]:
    """A client of a new app for `keeper`, with its own event loop thread."""
    app = create_app(keeper, port=PORT)
    with start_blocking_portal() as portal:
        transport = httpx.ASGITransport(app=app)
        inner = httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers)
        try:
            yield Client(portal, inner)
        finally:
            portal.call(keeper.lock)
            portal.call(inner.aclose)


@contextmanager
def browser(home: Path, *, lock_after: float = 900.0, **headers: str) -> Iterator[Browser]:
    """Profiles it makes use tests' tiny Argon2id limits, which the Keeper allows only
    when told so."""
    keeper = Keeper(home, lock_after=lock_after, insecure_test_kdf=True)
    with client_for(keeper, **headers) as client:
        b = Browser(client, keeper)
        b.login()
        b.get("/welcome" if not keeper.exists else "/unlock")
        yield b
