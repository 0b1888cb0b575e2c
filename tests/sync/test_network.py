"""Nodes syncing through relays of two independent implementations (nostr-sdk's relay
and Shora's own, served by `shora serve` as its own process), with a partition, a
restart, a node killed in mid-sync, and a removed member who keeps syncing but reads
nothing new."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_cli import COUNCIL, Profile, base_env, bring_in
from test_relay import fetch_all, run

from conftest import admit_stranger
from shora.kernel import keys, profile
from shora.node import Node

RELAY_SCRIPT = Path(__file__).parents[1] / "relays" / "nostr_sdk_relay.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


class Process:
    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            args,
            env=env or base_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def first_line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def stop(self, sig: int = signal.SIGTERM) -> str:
        """Stop the process; return what it wrote on stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=5)
        return err


def start_relay(port: int) -> Process:
    relay = Process([sys.executable, str(RELAY_SCRIPT), str(port)])
    assert relay.first_line() == f"ws://127.0.0.1:{port}"
    return relay


def serve(p: Profile, *extra: str) -> Process:
    env = base_env()
    env.update(SHORA_HOME=str(p.home), SHORA_PASSPHRASE=p.passphrase)
    return Process(
        [sys.executable, "-m", "shora.cli.main", "serve", "--interval", "1", *extra], env
    )


def texts(p: Profile) -> str:
    return p.ok("log", COUNCIL, "--limit", "10000")


def digest(p: Profile) -> bytes:
    with Node.open(p.home, p.passphrase, allow_weak_kdf=True) as node:
        return node.councils.state_digest(node.find_council(COUNCIL))


@pytest.fixture
def trio(tmp_path: Path) -> Iterator[tuple[Profile, Profile, Profile]]:
    a, b, c = (Profile(tmp_path, n) for n in ("azar", "bijan", "cima"))
    for p in (a, b, c):
        p.ok("init")
    a.ok("council", "create", COUNCIL, "--as", "Azar", "--removal", "member")
    bring_in(a, b, "Bijan")
    bring_in(a, c, "Cima")
    yield a, b, c


@pytest.mark.slow
def test_three_processes_two_relay_implementations(trio: tuple[Profile, Profile, Profile]) -> None:
    a, b, c = trio
    r1_port, r2_port = free_port(), free_port()
    r1 = start_relay(r1_port)
    r1_url = f"ws://127.0.0.1:{r1_port}"
    for p in (a, b, c):
        p.ok("relays", "add", COUNCIL, r1_url)
    # a's own relay (Shora's implementation) on loopback; b syncs through both relays.
    a_serving = serve(a, "--lan", "--lan-address", "127.0.0.1", "--lan-port", str(r2_port))
    try:
        assert "Serving the local network" in a_serving.first_line()
        b.ok("relays", "add", COUNCIL, f"ws://127.0.0.1:{r2_port}")
        a.ok("post", COUNCIL, "first news from azar")
        wait_for(lambda: b.run("sync").returncode == 0 and "first news" in texts(b), "b")
        wait_for(lambda: c.run("sync").returncode == 0 and "first news" in texts(c), "c")

        # Partition: the public relay goes down. b still reaches a through a's relay.
        r1.stop()
        b.ok("post", COUNCIL, "bijan during the outage")
        c.ok("post", COUNCIL, "cima during the outage")
        out = b.run("sync")
        assert "failed" in out.stdout and "received" in out.stdout
        assert c.run("sync").returncode == 1  # no relay reachable: a clear failure
        wait_for(lambda: "bijan during the outage" in texts(a), "a to get b's post")

        # Heal: the relay comes back empty; everyone's sync refills it.
        r1 = start_relay(r1_port)
        for _ in range(3):
            for p in (c, b):
                p.run("sync")
        wait_for(lambda: "cima during the outage" in texts(a), "a to get c's post")
        for p in (b, c):
            p.ok("sync")
        assert digest(a) == digest(b) == digest(c)

        # Removal: c keeps syncing but reads nothing written afterwards.
        a.ok("remove", COUNCIL, "Cima", "--reason", "informer")
        a.ok("post", COUNCIL, "the plan after cima left")
        wait_for(lambda: b.run("sync").returncode == 0 and "the plan" in texts(b), "b plan")
        wait_for(
            lambda: (
                c.run("sync").returncode == 0
                and c.json("council", "show", COUNCIL)["status"] == "removed"
            ),
            "c to learn of the removal",
        )
        c.ok("sync")
        assert "the plan after cima left" not in texts(c)
    finally:
        a_serving.stop()
        r1.stop()


@pytest.mark.slow
def test_a_node_killed_in_mid_sync_resumes(trio: tuple[Profile, Profile, Profile]) -> None:
    a, _b, c = trio
    port = free_port()
    relay = start_relay(port)
    url = f"ws://127.0.0.1:{port}"
    try:
        with Node.open(a.home, a.passphrase, allow_weak_kdf=True) as node:
            council = node.find_council(COUNCIL)
            for i in range(3000):
                node.posts.post(council, f"minute {i}: " + "words " * 20)
        for p in (a, c):
            p.ok("relays", "add", COUNCIL, url)
        a.ok("sync")
        env = base_env()
        env.update(SHORA_HOME=str(c.home), SHORA_PASSPHRASE=c.passphrase)
        killed = Process([sys.executable, "-m", "shora.cli.main", "sync"], env)
        wals = [c.home / (name + "-wal") for name in profile.DATABASE_FILES]
        # Kill it once it is visibly writing what it receives, well before the end.
        wait_for(
            lambda: any(w.exists() and w.stat().st_size > 1_000_000 for w in wals),
            "c to be receiving",
        )
        killed.stop(signal.SIGKILL)
        assert killed.proc.returncode == -signal.SIGKILL
        with Node.open(c.home, c.passphrase, allow_weak_kdf=True) as node:
            got = node.store.one("SELECT count(*) FROM events")
        assert got < 3000  # interrupted in mid-transfer
        c.ok("sync")
        assert digest(a) == digest(c)
        with Node.open(c.home, c.passphrase, allow_weak_kdf=True) as node:
            rows = node.store.rows("SELECT count(*), count(DISTINCT id) FROM events")
            assert rows[0][0] == rows[0][1] >= 3000
        assert "received 0, sent 0" in c.ok("sync")  # nothing left to transfer
    finally:
        relay.stop()


def relay_texts(url: str) -> int:
    """How many envelopes the relay holds (kinds 4040 and 4041)."""
    return len(run(fetch_all(url, {"kinds": [4040, 4041]})))


def test_joining_through_the_invitations_relay_from_the_command_line(tmp_path: Path) -> None:
    a, b = Profile(tmp_path, "azar"), Profile(tmp_path, "bijan")
    for p in (a, b):
        p.ok("init")
    a.ok("council", "create", COUNCIL, "--as", "Azar")
    port = free_port()
    relay = start_relay(port)
    url = f"ws://127.0.0.1:{port}"
    try:
        a.ok("relays", "add", COUNCIL, url)
        a.ok("post", COUNCIL, "welcome to the committee")
        a.ok("sync")
        invitation = a.json("invite", COUNCIL, "--reach", url)["text"]
        out = b.ok("join", invitation, "--as", "Bijan", "-o", str(tmp_path / "request"))
        assert url in out  # the invitation's relay is shown ...
        assert url in b.ok("relays", "list")  # ... and kept for the council
        assert "received 0, sent 0" in b.ok("sync")  # nothing before the admission
        a.ok("admit", f"@{tmp_path / 'request'}")
        a.ok("sync")
        b.ok("sync")  # brings the welcome, the keys and the council, nothing else needed
        assert b.json("council", "show", COUNCIL)["status"] == "member"
        assert "welcome to the committee" in texts(b)
    finally:
        relay.stop()


@pytest.mark.slow
def test_joining_a_council_of_many_removals_through_a_relay_reads_every_epoch(
    tmp_path: Path,
) -> None:
    """Six removals made six epochs: the welcome carries the current one, the ring
    envelope under it the six older ones (docs/protocol.md §6.3), and one `sync` of the
    newcomer through a relay fetches the welcome by its hint, then the ring by the
    write key it brought, then the history under every epoch."""
    a, b = Profile(tmp_path, "azar"), Profile(tmp_path, "bijan")
    for p in (a, b):
        p.ok("init")
    a.ok("council", "create", COUNCIL, "--as", "Azar", "--removal", "member")
    with Node.open(a.home, a.passphrase, allow_weak_kdf=True) as node:
        council = node.find_council(COUNCIL)
        for i in range(6):
            node.posts.post(council, f"rota of week {i}")
            gone = admit_stranger(node, council, f"m{i}")
            admit_stranger(node, council, f"k{i}")
            assert node.membership.remove(council, gone).admitted
    port = free_port()
    relay = start_relay(port)
    url = f"ws://127.0.0.1:{port}"
    try:
        a.ok("relays", "add", COUNCIL, url)
        invitation = a.json("invite", COUNCIL, "--reach", url)["text"]
        b.ok("join", invitation, "--as", "Bijan", "-o", str(tmp_path / "request"))
        a.ok("admit", f"@{tmp_path / 'request'}")
        a.ok("sync")
        b.ok("sync")
        assert b.json("council", "show", COUNCIL)["status"] == "member"
        log = texts(b)
        assert all(f"rota of week {i}" in log for i in range(6))
        assert digest(b) == digest(a)
        with Node.open(b.home, b.passphrase, allow_weak_kdf=True) as node:
            council = node.find_council(COUNCIL)
            current = node.ingestor.projection.final_state(council).current_epoch
            assert current is not None and len(node.ingestor.keyring.epochs_of(council)) == 7
            # the older six came in the ring envelope under the current epoch
            hint = keys.ring_hint(current)
            assert node.store.one("SELECT count(*) FROM envelopes WHERE hint=?", (hint,)) == 1
    finally:
        relay.stop()


def test_a_write_leaves_at_once_while_the_node_runs(tmp_path: Path) -> None:
    a = Profile(tmp_path, "azar")
    a.ok("init")
    a.ok("council", "create", COUNCIL, "--as", "Azar")
    port = free_port()
    relay = start_relay(port)
    url = f"ws://127.0.0.1:{port}"
    a.ok("relays", "add", COUNCIL, url)
    running = serve(a, "--no-web", "--interval", "3600")  # one round now, the next in an hour
    try:
        assert "Syncing every" in running.first_line()
        wait_for(lambda: relay_texts(url) >= 1, "the first round")
        before = relay_texts(url)
        a.ok("post", COUNCIL, "written while the node runs")  # another process, same profile
        # The next round is an hour away: only the outbox can bring it there now.
        wait_for(lambda: relay_texts(url) == before + 1, "the post to reach the relay", 10)
    finally:
        assert "Traceback" not in running.stop()
        relay.stop()
