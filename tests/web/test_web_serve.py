"""`shora serve` as a real process: the login link, a fresh home made in the browser,
the passphrase from the environment, a non-local address, stopping cleanly."""

from __future__ import annotations

from pathlib import Path

import httpx
from test_cli import Profile

from web.servers import Served


def test_a_fresh_home_is_created_through_the_browser(tmp_path: Path) -> None:
    served = Served(tmp_path / "home")
    closing: list[httpx.Client] = []
    try:
        client = served.client()
        closing.append(client)
        assert client.get("/").headers["location"] == "/welcome"
        csrf = served.csrf(client, "/welcome")
        made = client.post(
            "/welcome",
            data={"csrf": csrf, "passphrase": "a good passphrase", "again": "a good passphrase"},
        )
        assert made.status_code == 303
        assert (tmp_path / "home" / "keystore").exists()
        founded = client.post("/councils", data={"csrf": csrf, "name": "Depot", "founder": "Ava"})
        assert founded.status_code == 303
        # The link was spent: another browser gets the explanation, not the profile.
        again = httpx.get(served.link)
        assert again.status_code == 401 and "shora serve" in again.text
    finally:
        for c in closing:
            c.close()
        err = served.stop()
    assert served.proc.returncode == 0, err
    assert "Traceback" not in err
    assert served.lines[-1] == "Stopped."
    assert any("Syncing every" in line for line in served.lines), served.lines
    # What the browser made is a real profile the command line opens.
    ava = Profile(tmp_path, "home", "a good passphrase")
    assert "Depot" in ava.ok("council", "list")


def test_the_passphrase_from_the_environment_unlocks_at_start(tmp_path: Path) -> None:
    p = Profile(tmp_path, "nasrin")
    p.ok("init")
    p.ok("council", "create", "Block 4", "--as", "Nasrin")
    served = Served(p.home, "--lock-after", "0", passphrase=p.passphrase)
    closing: list[httpx.Client] = []
    try:
        client = served.client()
        closing.append(client)
        csrf = served.csrf(client)
        councils = client.get("/api/councils").json()
        assert [c["name"] for c in councils] == ["Block 4"]
        council = councils[0]["id"]
        posted = client.post(
            f"/api/councils/{council}/posts",
            json={"text": "from the browser"},
            headers={"X-CSRF-Token": csrf},
        )
        assert posted.status_code == 201
        # A write by another connection (the command line) shows on the next page.
        assert "Block 4" in client.get(f"/councils/{council}").text
        p.ok("council", "rename", "Block 4", "--name", "Block 5")
        assert "Block 5" in client.get(f"/councils/{council}").text
    finally:
        for c in closing:
            c.close()
        served.stop()
    assert "from the browser" in p.ok("log", "Block 5")


def test_listening_beyond_this_computer_warns(tmp_path: Path) -> None:
    served = Served(tmp_path / "home", "--host", "0.0.0.0")
    err = served.stop()
    assert "Warning" in err and "0.0.0.0" in err


def test_a_second_node_on_the_default_port_takes_the_next_one(tmp_path: Path) -> None:
    first = Served(tmp_path / "a", "--port", "8150")
    try:
        second = Served(tmp_path / "b", "--port", "8150")
        try:
            assert second.port != first.port
            assert 8150 <= second.port < 8170 and 8150 <= first.port < 8170
        finally:
            second.stop()
    finally:
        first.stop()
