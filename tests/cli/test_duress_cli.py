"""`shora profile duress`, `shora panic` and `shora lock` through the real command line."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from test_cli import Profile, error_lines
from test_profile import SECRETS, _forms

from cli_run import base_env, in_process
from shora.kernel import profile
from web.servers import Served

DURESS = "my cat is called Pishi"


def run(
    p: Profile, *args: str, passphrase: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`shora ARGS` for `p`, with more of the environment."""
    environment = base_env()
    environment.update(SHORA_HOME=str(p.home), SHORA_PASSPHRASE=passphrase or p.passphrase)
    environment.update(env)
    return in_process(args, environment, cwd=p.root)


def duress(p: Profile, *args: str) -> str:
    result = run(p, "profile", "duress", *args, SHORA_DURESS_PASSPHRASE=DURESS)
    assert result.returncode == 0, result.stderr
    return result.stdout


def founded(tmp_path: Path) -> Profile:
    p = Profile(tmp_path, "nasrin")
    p.ok("init")
    p.ok("council", "create", SECRETS[0], "--as", SECRETS[4])
    p.ok("post", SECRETS[0], SECRETS[1])
    return p


def test_the_duress_passphrase_from_the_command_line(tmp_path: Path) -> None:
    p = founded(tmp_path)
    assert "is set" in duress(p, "--keep")
    assert SECRETS[0] in p.ok("council", "list")
    decoy = p.run("council", "create", "Chess club", "--as", "Sara", passphrase=DURESS)
    assert decoy.returncode == 0, decoy.stderr
    assert "is set" in duress(p, "--wipe")  # the same duress passphrase: the decoy stays
    seen = p.run("council", "list", passphrase=DURESS)
    assert "Chess club" in seen.stdout and SECRETS[0] not in seen.stdout
    # The real passphrase no longer opens anything, and says so plainly, in Persian too.
    assert "wrong passphrase" in p.fails("council", "list")
    persian = p.fails("--lang", "fa", "council", "list")
    assert "عبارت عبور نادرست" in persian


def test_the_duress_passphrase_needs_the_real_one(tmp_path: Path) -> None:
    p = founded(tmp_path)
    refused = run(
        p, "profile", "duress", passphrase="not the passphrase", SHORA_DURESS_PASSPHRASE=DURESS
    )
    assert refused.returncode == 1
    assert "wrong passphrase" in error_lines(refused.stderr)[0]
    assert "no duress passphrase given" in p.fails("profile", "duress")


def key_material(p: Profile) -> list[bytes]:
    unlocked = profile.unlock(p.home, p.passphrase, allow_weak_kdf=True)
    secrets = unlocked.secrets
    unlocked.close()
    return [secrets.database_key, secrets.identity_key]


def scan(root: Path, needles: list[bytes]) -> list[str]:
    """Every file under root holding a secret (in UTF-8 or UTF-16) or a key."""
    wanted = needles + [f for s in SECRETS for f in _forms(s)]
    return [
        f"{path}: {needle[:12]!r}"
        for path in root.rglob("*")
        if path.is_file()
        for needle in wanted
        if needle in path.read_bytes()
    ]


def test_panic_leaves_nothing_to_recover(tmp_path: Path) -> None:
    p = founded(tmp_path)
    keys = key_material(p)
    p.root.joinpath("kept.txt").write_text("a file of the person's own, beside the profile")
    p.ok("panic", "--yes")
    assert not p.home.exists()
    assert scan(tmp_path, keys) == []
    assert "no profile" in p.fails("council", "list")
    assert "no profile" in p.fails("--lang", "en", "profile", "duress")
    assert "There is no profile" in p.ok("panic", "--yes")


def test_panic_keeps_what_else_is_in_the_home_and_asks_first(tmp_path: Path) -> None:
    p = founded(tmp_path)
    keys = key_material(p)
    (p.home / "notes.txt").write_text("the person's own")
    asked = p.run("panic")  # no terminal to answer: nothing happens
    assert asked.returncode != 0 and (p.home / profile.KEYSTORE_FILE).exists()
    p.ok("panic", "--yes")
    assert sorted(x.name for x in p.home.iterdir()) == ["notes.txt"]
    assert scan(tmp_path, keys) == []


def test_lock_with_no_running_node_says_so(tmp_path: Path) -> None:
    p = founded(tmp_path)
    assert "No running node" in p.ok("lock")


def wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"waited in vain for {what}")


@pytest.mark.slow
def test_shora_lock_and_shora_panic_reach_a_running_node(tmp_path: Path) -> None:
    p = founded(tmp_path)
    served = Served(p.home, passphrase=p.passphrase, env={"SHORA_RUNTIME_DIR": str(tmp_path)})
    closing: list[httpx.Client] = []
    try:
        client = served.client()
        closing.append(client)
        assert client.get("/councils").status_code == 200
        # The process refuses core dumps (its limits say so).
        limits = Path(f"/proc/{served.proc.pid}/limits").read_text()
        core = next(line for line in limits.splitlines() if line.startswith("Max core"))
        assert core.split()[4:6] == ["0", "0"], core
        assert "No running node" in p.ok("lock")  # another runtime directory: none there
        here = {"SHORA_RUNTIME_DIR": str(tmp_path)}
        assert "Locked." in run(p, "lock", **here).stdout
        assert client.get("/councils").headers["location"].startswith("/unlock")
        csrf = served.csrf(client, "/unlock")
        unlocked = client.post("/unlock", data={"csrf": csrf, "passphrase": p.passphrase})
        assert unlocked.status_code == 303
        assert client.get("/councils").status_code == 200
        assert run(p, "panic", "--yes", **here).returncode == 0
        assert client.get("/councils").headers["location"].startswith("/welcome")
        assert not p.home.exists()
    finally:
        for c in closing:
            c.close()
        err = served.stop()
    assert served.proc.returncode == 0, err


def test_a_shora_process_refuses_core_dumps_and_debuggers() -> None:
    code = (
        "import resource; from shora.services import hardening; from shora.kernel import memory;"
        "hardening.harden_process();"
        "print(resource.getrlimit(resource.RLIMIT_CORE), memory.is_dumpable())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    expected = "(0, 0) False" if sys.platform.startswith("linux") else "(0, 0) True"
    assert out.stdout.strip() == expected
