"""The device: someone holding it or its files, a program on the same machine, a
stranger guessing passphrases at the unlock page.

Every profile here is real (a sealed keystore and an encrypted SQLite file); the
command line runs through its entry point, the pages as the real Starlette app.
"""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import msgspec
import pytest
from test_cli import INSECURE_KDF_WARNING, error_lines

from cli_run import INSECURE_KDF_ENV, base_env, in_process
from conftest import FAST_KDF, Clock, make_node
from shora.errors import ProfileError
from shora.kernel import crypto, profile
from shora.kernel import keystore as layout
from shora.node import Node
from shora.web import throttle
from shora.web.security import session_cookie
from shora.web.state import Keeper
from web.client import PASSPHRASE, PORT, Browser, client_for

AT_REST = {"keystore", *profile.DATABASE_FILES}
PRIVATE_FILES = AT_REST


def modes(home: Path) -> dict[str, int]:
    """The permission bits of the home (as ".") and of everything in it."""
    found = {".": stat.S_IMODE(home.stat().st_mode)}
    found.update({p.name: stat.S_IMODE(p.lstat().st_mode) for p in home.iterdir()})
    return found


def assert_private(home: Path, expected: set[str] = PRIVATE_FILES) -> None:
    found = modes(home)
    assert expected <= found.keys(), found
    assert found.pop(".") == 0o700
    assert found == dict.fromkeys(found, 0o600), {k: oct(v) for k, v in found.items()}


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def shora(
    home: Path, *args: str, insecure: bool = False, mask: int = 0o022, **env: str
) -> subprocess.CompletedProcess[str]:
    """`shora` as a person runs it: no test flag unless asked for, under `mask`."""
    environment = base_env(insecure_kdf=insecure)
    environment.update(SHORA_HOME=str(home), SHORA_PASSPHRASE=PASSPHRASE, **env)
    with umask(mask):
        return in_process(args, environment)


def keystore(home: Path) -> layout.Header:
    raw = (home / profile.KEYSTORE_FILE).read_bytes()
    assert layout.is_keystore(raw)
    return layout.header_of(raw)


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Every Argon2id run from now on, as (opslimit, memlimit); each still runs."""
    runs: list[tuple[int, int]] = []
    real = crypto.derive_key

    def counted(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
        runs.append((opslimit, memlimit))
        return real(passphrase, salt, opslimit, memlimit)

    monkeypatch.setattr(crypto, "derive_key", counted)
    return runs


# --- 1. the profile's files are its owner's alone ---------------------------------------


def test_a_new_profile_is_private_from_its_first_byte_whatever_the_umask(tmp_path: Path) -> None:
    """With umask 0 every file SQLite makes would be 0666: the profile's are 0600
    all the same, the WAL and shared-memory files included, and stay so after writes."""
    with umask(0):
        node = make_node(tmp_path, "a")
        council = node.councils.create("Block 4 committee", "", "Nasrin")
        for i in range(20):
            node.posts.post(council, f"message {i}")
    try:
        assert_private(tmp_path / "a")  # while open: the WAL and shm files exist
    finally:
        node.close()
    assert_private(tmp_path / "a", AT_REST)


def test_shora_init_makes_a_private_profile_under_a_permissive_umask(tmp_path: Path) -> None:
    home = tmp_path / "parent" / "home"
    assert shora(home, "init", insecure=True, mask=0).returncode == 0
    assert_private(home, AT_REST)
    made = shora(home, "council", "create", "Depot", "--as", "Ava", insecure=True, mask=0)
    assert made.returncode == 0, made.stderr
    assert_private(home, AT_REST)


def test_loosened_modes_are_tightened_when_the_profile_is_opened(tmp_path: Path) -> None:
    """A copy restored from a backup, or a careless chmod: the next unlock closes it."""
    node = make_node(tmp_path, "a")  # stays open: its WAL and shm files stay too
    council = node.councils.create("Block 4 committee", "", "Nasrin")
    home = tmp_path / "a"
    (home / "keystore.new").write_bytes(b"left behind")  # a crash before the rename
    (home / "notes.txt").write_text("the person's own file, not the profile's")
    for path in home.iterdir():
        path.chmod(0o666)
    home.chmod(0o777)
    wal = node.store.path.name + "-wal"
    assert modes(home)[wal] == 0o666
    with pytest.raises(ProfileError, match="wrong passphrase"):
        Node.open(home, "not the passphrase", allow_weak_kdf=True)
    assert modes(home).pop("notes.txt") == 0o666  # left alone
    (home / "notes.txt").unlink()
    assert_private(home, PRIVATE_FILES | {wal, "keystore.new"})  # even a failed unlock
    for path in home.iterdir():
        path.chmod(0o644)
    home.chmod(0o755)
    node.close()
    reopened = Node.open(home, "correct horse battery", allow_weak_kdf=True)
    try:
        reopened.posts.post(council, "after the restore")
        assert_private(home, PRIVATE_FILES | {"keystore.new"})
    finally:
        reopened.close()


def test_the_web_unlock_tightens_a_loosened_profile_too(tmp_path: Path) -> None:
    make_node(tmp_path, "home").close()
    home = tmp_path / "home"
    for path in [home, *home.iterdir()]:
        path.chmod(0o755)
    with pages(home, Clock(0.0)) as b:
        assert b.post("/unlock", {"passphrase": PASSPHRASE}).status_code == 303
        assert_private(home)


# --- 2. a keystore below the key-derivation floor stays locked -------------------------


def weak_keystore(home: Path, opslimit: int, memlimit: int) -> None:
    """A keystore with the given Argon2id limits (its contents are never reached), of
    the slotted layout in `home`, of the first layout in `home`-old."""
    home.mkdir()
    header = layout.Header(opslimit, memlimit, bytes(16))
    slots = [layout.random_slot() for _ in range(layout.SLOTS)]
    (home / profile.KEYSTORE_FILE).write_bytes(layout.encode(header, slots))
    old = home.with_name(home.name + "-old")
    old.mkdir()
    ks = profile.SealedKeystore(1, bytes(16), opslimit, memlimit, bytes(64))
    (old / profile.KEYSTORE_FILE).write_bytes(msgspec.msgpack.encode(ks))


@pytest.mark.parametrize(
    ("opslimit", "memlimit"),
    [
        FAST_KDF,
        (crypto.KDF_OPSLIMIT - 1, crypto.KDF_MEMLIMIT),
        (crypto.KDF_OPSLIMIT, crypto.KDF_MEMLIMIT // 2),
        (64, 8192),  # many passes over almost no memory: cheap on a GPU
    ],
)
def test_a_keystore_below_the_floor_is_refused_before_any_key_derivation(
    tmp_path: Path, derivations: list[tuple[int, int]], opslimit: int, memlimit: int
) -> None:
    weak_keystore(tmp_path / "p", opslimit, memlimit)
    with pytest.raises(profile.WeakKeystore):
        Node.open(tmp_path / "p-old", PASSPHRASE)
    with pytest.raises(profile.WeakKeystore) as refused:
        Node.open(tmp_path / "p", PASSPHRASE)
    assert derivations == []
    message = str(refused.value)
    assert "weak key derivation" in message and "shora init" in message
    assert "SHORA_INSECURE_TEST_KDF=I-know-this-is-insecure" in message


def test_the_floor_itself_is_accepted(tmp_path: Path, derivations: list[tuple[int, int]]) -> None:
    """At exactly libsodium's moderate limits the passphrase is checked (and is wrong)."""
    weak_keystore(tmp_path / "p", crypto.KDF_OPSLIMIT, crypto.KDF_MEMLIMIT)
    with pytest.raises(ProfileError, match="wrong passphrase"):
        profile.unlock(tmp_path / "p", PASSPHRASE)
    assert derivations == [(crypto.KDF_OPSLIMIT, crypto.KDF_MEMLIMIT)]


def test_a_test_profile_holding_real_data_does_not_open_without_the_flag(
    tmp_path: Path,
) -> None:
    """Made by a test run, then used for real: shora refuses it and says what to do."""
    home = tmp_path / "home"
    assert shora(home, "--insecure-test-kdf", "init").returncode == 0
    assert keystore(home).opslimit < crypto.KDF_OPSLIMIT
    refused = shora(home, "council", "list")
    assert refused.returncode == 1
    [line] = error_lines(refused.stderr)
    assert "weak key derivation" in line and "shora init" in line
    assert INSECURE_KDF_WARNING not in refused.stderr
    opened = shora(home, "council", "list", **INSECURE_KDF_ENV)
    assert opened.returncode == 0 and INSECURE_KDF_WARNING in opened.stderr


def test_the_unlock_page_says_a_test_profile_is_weak(tmp_path: Path) -> None:
    make_node(tmp_path, "home").close()
    with pages(tmp_path / "home", Clock(0.0), insecure=False) as b:
        page = b.post("/unlock", {"passphrase": PASSPHRASE})
        assert page.status_code == 400 and "weak key derivation" in page.text
        assert b.keeper.node is None


# --- 3. the test-only key derivation needs an unmistakable flag ------------------------


def test_old_and_near_miss_flags_make_a_strong_profile_and_warn_of_nothing(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    near_misses = {"SHORA_TEST_FAST_KDF": "1", profile.INSECURE_TEST_KDF_ENV: "1"}
    made = shora(home, "init", **near_misses)
    assert made.returncode == 0, made.stderr
    assert (keystore(home).opslimit, keystore(home).memlimit) >= (
        crypto.KDF_OPSLIMIT,
        crypto.KDF_MEMLIMIT,
    )
    assert made.stderr == ""
    gone = shora(tmp_path / "other", "init", "--fast-kdf")
    assert gone.returncode == 2 and not (tmp_path / "other").exists()


def test_the_flag_makes_a_weak_profile_and_warns_loudly(tmp_path: Path) -> None:
    made = shora(tmp_path / "home", "--insecure-test-kdf", "init")
    assert made.returncode == 0, made.stderr
    assert (keystore(tmp_path / "home").opslimit, keystore(tmp_path / "home").memlimit) == (
        FAST_KDF
    )
    assert INSECURE_KDF_WARNING in made.stderr


def test_programs_must_ask_for_weak_key_derivation_in_so_many_words(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="allow_weak_kdf"):
        Node.create(tmp_path / "p", PASSPHRASE, kdf_limits=FAST_KDF)
    assert not (tmp_path / "p").exists()
    assert Keeper(tmp_path / "p").insecure_test_kdf is False


# --- 4. guessing at the unlock page is slowed down -------------------------------------


@contextmanager
def pages(home: Path, clock: Clock, *, insecure: bool = True, **headers: str) -> Iterator[Browser]:
    """The real app over a profile that exists, with a browser session; the login
    link is left unspent."""
    keeper = Keeper(home, clock=clock, insecure_test_kdf=insecure)
    with client_for(keeper, **headers) as client:
        client.cookies.set(session_cookie(PORT), keeper.new_session().id)
        b = Browser(client, keeper)
        b.get("/unlock")
        yield b


def tries(b: Browser, passphrase: str, n: int = 1) -> list[httpx.Response]:
    return [b.post("/unlock", {"passphrase": passphrase}) for _ in range(n)]


def test_the_sixth_wrong_passphrase_waits_and_the_wait_doubles(
    tmp_path: Path, derivations: list[tuple[int, int]]
) -> None:
    make_node(tmp_path, "home").close()
    derivations.clear()  # the one that made the profile
    clock = Clock(1000.0)
    with pages(tmp_path / "home", clock) as b:
        assert [r.status_code for r in tries(b, "a wrong guess", 5)] == [400] * 5
        assert len(derivations) == 5
        # The sixth try, the right passphrase even, is refused without Argon2id.
        refused = b.post("/unlock", {"passphrase": PASSPHRASE})
        assert refused.status_code == 429 and refused.headers["retry-after"] == "30"
        assert "Too many wrong passphrases: wait 30 seconds" in refused.text
        assert len(derivations) == 5 and b.keeper.node is None
        # The login link is another step: it still works.
        token = b.keeper.login_token
        assert b.client.get(f"/login?token={token}").status_code == 200
        b.get("/unlock")  # the new session's form: the wait is the profile's, not a session's
        clock.t += 29
        assert b.post("/unlock", {"passphrase": PASSPHRASE}).headers["retry-after"] == "1"
        clock.t += 1
        assert tries(b, "still wrong")[0].status_code == 400  # allowed, and wrong
        again = tries(b, PASSPHRASE)[0]
        assert again.status_code == 429 and again.headers["retry-after"] == "60"
        assert len(derivations) == 6
        clock.t += 60
        assert b.post("/unlock", {"passphrase": PASSPHRASE}).status_code == 303
        assert b.keeper.node is not None and len(derivations) == 7
        # The right passphrase starts the count afresh.
        b.post("/lock")
        assert [r.status_code for r in tries(b, "wrong", 6)] == [400] * 5 + [429]


def test_the_wait_is_said_in_persian_and_in_minutes_when_long(tmp_path: Path) -> None:
    make_node(tmp_path, "home").close()
    clock = Clock(0.0)
    with pages(tmp_path / "home", clock, **{"Accept-Language": "fa"}) as b:
        tries(b, "a wrong guess", 5)
        english = "Too many wrong passphrases"
        page = tries(b, "a wrong guess")[0]
        assert page.status_code == 429 and english not in page.text and "۳۰" in page.text
        for _ in range(3):  # 30 s, 60 s, 120 s, then 240 s
            clock.t += b.keeper.throttle.wait()
            tries(b, "a wrong guess")
        assert b.keeper.throttle.wait() == 240
        assert "۴" in tries(b, "a wrong guess")[0].text  # four minutes


def test_guesses_sent_all_at_once_get_five_checks_between_them(
    tmp_path: Path, derivations: list[tuple[int, int]]
) -> None:
    make_node(tmp_path, "home").close()
    derivations.clear()  # the one that made the profile
    with pages(tmp_path / "home", Clock(0.0)) as b:

        async def burst() -> list[httpx.Response]:
            data = {"passphrase": "a wrong guess", "csrf": b.csrf}
            return await asyncio.gather(
                *(b.client.inner.post("/unlock", data=data) for _ in range(12))
            )

        answers = b.client.portal.call(burst)
        codes = sorted(r.status_code for r in answers)
        assert codes == [400] * 5 + [429] * 7
        assert len(derivations) == 5


def test_the_wait_is_capped_and_nothing_but_a_count_and_a_time_is_kept() -> None:
    now = [0.0]
    kept = throttle.UnlockThrottle(lambda: now[0])
    for _ in range(200):
        now[0] += kept.wait()
        kept.check()
    assert kept.wait() == throttle.MAX_WAIT
    assert set(vars(kept)) == {"clock", "wrong", "until"}
