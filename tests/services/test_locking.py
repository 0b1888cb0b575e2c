"""Locking at once on the signals of the host: a real D-Bus daemon (a private bus of
this test's own), the signals logind and the desktop send, sent with dbus-send."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shora.services import locking
from web.client import browser

pytestmark = [
    pytest.mark.slow,  # a message bus and its monitors as processes
    pytest.mark.skipif(
        shutil.which("dbus-daemon") is None or shutil.which("dbus-monitor") is None,
        reason="needs D-Bus (dbus-daemon, dbus-monitor, dbus-send)",
    ),
]

SIGNALS = {
    "sleep": ("/org/freedesktop/login1", "org.freedesktop.login1.Manager.PrepareForSleep"),
    "lock": ("/org/freedesktop/login1/session/_31", "org.freedesktop.login1.Session.Lock"),
    "screensaver": ("/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver.ActiveChanged"),
    "gnome": ("/org/gnome/ScreenSaver", "org.gnome.ScreenSaver.ActiveChanged"),
}


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[str]:
    """The address of a private message bus, stopped at the end."""
    daemon = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert daemon.stdout is not None
    address = daemon.stdout.readline().strip()
    try:
        yield address
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        daemon.stdout.close()


def send(address: str, name: str, *args: str) -> None:
    path, member = SIGNALS[name]
    subprocess.run(
        ["dbus-send", f"--address={address}", "--type=signal", path, member, *args], check=True
    )


def locks_after(address: str, *sent: tuple[str, ...]) -> int:
    """How many times the watcher asked to lock after the signals `sent`."""
    asked: list[float] = []

    async def on_lock() -> None:
        asked.append(time.monotonic())

    async def story() -> None:
        watcher = asyncio.create_task(locking.watch_dbus(on_lock, [["--address", address]]))
        await asyncio.sleep(1.0)  # dbus-monitor is listening
        for signal in sent:
            await asyncio.to_thread(send, address, *signal)
        await asyncio.sleep(1.0)
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)

    asyncio.run(story())
    return len(asked)


def test_sleep_screen_lock_and_screensaver_signals_lock(bus: str) -> None:
    assert locks_after(bus, ("sleep", "boolean:true")) == 1
    assert locks_after(bus, ("lock",)) == 1
    assert locks_after(bus, ("screensaver", "boolean:true"), ("gnome", "boolean:true")) == 2


def test_waking_up_and_the_screensaver_ending_do_not(bus: str) -> None:
    assert locks_after(bus, ("sleep", "boolean:false"), ("screensaver", "boolean:false")) == 0


def test_the_pages_lock_when_logind_says_the_machine_sleeps(bus: str, tmp_path: Path) -> None:
    with browser(tmp_path / "home") as b:
        b.create_profile()
        assert b.keeper.node is not None
        watcher = b.client.portal.start_task_soon(
            locking.watch_dbus, b.keeper.lock, [["--address", bus]]
        )
        time.sleep(1.0)
        send(bus, "sleep", "boolean:true")
        deadline = time.monotonic() + 20
        while b.keeper.node is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert b.keeper.node is None
        watcher.cancel()
        assert b.get("/councils").headers["location"] == "/unlock?next=/councils"


def test_without_dbus_monitor_nothing_is_watched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")

    async def never() -> None:
        raise AssertionError("no signal can come")

    asyncio.run(locking.watch_dbus(never))  # returns at once
