"""The local network with no internet: two nodes in their own network namespaces find
each other over mDNS and sync through each other's embedded relay."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli import COUNCIL, Profile, base_env, bring_in
from test_network import Process, wait_for

pytestmark = pytest.mark.slow  # two servers finding each other over mDNS

NS = [f"shora{os.getpid()}a", f"shora{os.getpid()}b"]
ADDRESSES = ["10.213.7.1", "10.213.7.2"]  # our own test hosts, inside our namespaces


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def network() -> Iterator[None]:
    """Two hosts joined by a virtual Ethernet cable, and nothing else."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2 (CI has both)")
    veth = [f"v{os.getpid()}a", f"v{os.getpid()}b"]
    for ns in NS:
        ip("netns", "add", ns)
    try:
        ip("link", "add", veth[0], "type", "veth", "peer", "name", veth[1])
        for ns, dev, address in zip(NS, veth, ADDRESSES, strict=True):
            ip("link", "set", dev, "netns", ns)
            ip("-n", ns, "addr", "add", f"{address}/24", "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
            ip("-n", ns, "link", "set", "lo", "up")
        yield
    finally:
        for ns in NS:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def serve_in(ns: str, p: Profile, address: str) -> Process:
    env = base_env()
    env.update(SHORA_HOME=str(p.home), SHORA_PASSPHRASE=p.passphrase)
    return Process(
        [
            "ip",
            "netns",
            "exec",
            ns,
            sys.executable,
            "-m",
            "shora.cli.main",
            "serve",
            "--lan",
            "--lan-address",
            address,
            "--interval",
            "1",
        ],
        env,
    )


def test_two_nodes_find_each_other_on_the_lan(network: None, tmp_path: Path) -> None:
    a, b = Profile(tmp_path, "ava"), Profile(tmp_path, "babak")
    for p in (a, b):
        p.ok("init")
    a.ok("council", "create", COUNCIL, "--as", "Ava")
    bring_in(a, b, "Babak")
    a.ok("post", COUNCIL, "water at the mosque at six")
    servers = [serve_in(NS[0], a, ADDRESSES[0]), serve_in(NS[1], b, ADDRESSES[1])]
    try:
        for server in servers:
            assert "Serving the local network" in server.first_line()
        wait_for(lambda: "water at the mosque" in b.ok("log", COUNCIL), "b to hear a")
        b.ok("post", COUNCIL, "generator free on street 4")
        wait_for(lambda: "generator free" in a.ok("log", COUNCIL), "a to hear b")
        # Each found the other over mDNS and synced with it (in one direction or both).
        for p in (a, b):
            lan = [peer for peer in p.json("peers") if peer["kind"] == "lan"]
            assert lan and all(peer["last_contact"] for peer in lan), lan
        traffic = [
            peer["events_in"] + peer["events_out"] for p in (a, b) for peer in p.json("peers")
        ]
        assert sum(traffic) >= 2, (a.json("peers"), b.json("peers"))
    finally:
        for server in servers:
            server.stop()
