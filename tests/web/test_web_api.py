"""The JSON API: its OpenAPI description, strict input, and Schemathesis finding no
server error against a real `shora serve` process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from test_cli import Profile

from web.servers import Served


class Api:
    def __init__(self, served: Served, client: httpx.Client, csrf: str) -> None:
        self.served = served
        self.client = client
        self.csrf = csrf
        self.cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())

    def post(self, path: str, body: object) -> httpx.Response:
        return self.client.post(path, json=body, headers={"X-CSRF-Token": self.csrf})


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    p = Profile(tmp_path_factory.mktemp("api"), "nasrin")
    p.ok("init")
    p.ok("council", "create", "Block 4", "--as", "Nasrin")
    p.ok("post", "Block 4", "Water at six", "--title", "Water")
    served = Served(p.home, "--lock-after", "0", passphrase=p.passphrase)
    client = served.client()
    try:
        yield Api(served, client, served.csrf(client))
    finally:
        client.close()
        served.stop()


def test_openapi_describes_councils_members_posts_and_sync(api: Api) -> None:
    doc = api.client.get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in (
        "/api/councils",
        "/api/councils/{council}",
        "/api/councils/{council}/members",
        "/api/councils/{council}/posts",
        "/api/sync",
    ):
        assert path in doc["paths"], path
    assert {"Council", "Member", "Post", "SyncStatus", "Error"} <= set(doc["components"]["schemas"])


def test_the_api_reads_and_writes(api: Api) -> None:
    councils = api.client.get("/api/councils").json()
    council = next(c["id"] for c in councils if c["name"] == "Block 4")
    members = api.client.get(f"/api/councils/{council}/members").json()
    assert [m["name"] for m in members] == ["Nasrin"] and members[0]["me"]
    made = api.post(f"/api/councils/{council}/posts", {"text": "Generator free", "title": "Power"})
    assert made.status_code == 201
    posts = api.client.get(f"/api/councils/{council}/posts?limit=1").json()
    assert posts[0]["title"] == "Power" and posts[0]["id"] == made.json()["id"]
    assert api.client.get("/api/sync").json() == {"peers": [], "relays": [], "proxy": None}


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"text": "x", "extra": 1}',
        b'{"text": ""}',
        b'{"text": 5}',
        b'{"text": "' + b"x" * 70_000 + b'"}',
    ],
)
def test_bad_input_is_a_400_with_one_error_shape(api: Api, body: bytes) -> None:
    council = api.client.get("/api/councils").json()[0]["id"]
    r = api.client.post(
        f"/api/councils/{council}/posts",
        content=body,
        headers={"X-CSRF-Token": api.csrf, "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert set(r.json()) == {"error", "message"}


def test_schemathesis_finds_no_server_error(api: Api) -> None:
    schema = schemathesis.openapi.from_dict(api.client.get("/api/openapi.json").json())
    headers = {"X-CSRF-Token": api.csrf, "Cookie": api.cookie}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    checked: list[int] = []
    for operation in operations:

        @settings(
            max_examples=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(base_url=api.served.base, headers=headers)
            checked.append(response.status_code)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)

        no_server_error()
    assert len(checked) >= 7 * 5 and any(code < 300 for code in checked)
