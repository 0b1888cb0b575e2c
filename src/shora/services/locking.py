"""Locking an open profile at once: `shora lock` reaching a running node, noticing
that the host slept, and the screen-lock and sleep signals of logind and the desktop
over D-Bus where a program can hear them (docs/security.md, "When the device is
taken")."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import socket
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path

import platformdirs

from shora.kernel import profile

LockAction = Callable[[], Awaitable[None]]

__all__ = [
    "SleepWatch",
    "listen_for_lock",
    "lock_socket",
    "request_lock",
    "watch_dbus",
]


class SleepWatch:
    """Notices that the host slept (suspend, hibernation, a laptop's lid), by comparing
    a clock that stops while the machine sleeps with one that does not.

    Linux and Android: CLOCK_MONOTONIC stops during suspend, CLOCK_BOOTTIME does not.
    macOS: CLOCK_UPTIME_RAW stops, CLOCK_MONOTONIC does not. Elsewhere (Windows) the
    wall clock against time.monotonic, so only gaps much longer than a clock
    correction count."""

    def __init__(
        self,
        awake: Callable[[], float] | None = None,
        running: Callable[[], float] | None = None,
        threshold: float = 5.0,
    ) -> None:
        default_awake, default_running, default_threshold = _sleep_clocks()
        self.awake = awake or default_awake
        self.running = running or default_running
        self.threshold = threshold if awake is not None else max(threshold, default_threshold)
        self._gap = self.running() - self.awake()

    def slept(self) -> bool:
        """Whether the host slept since the last call (or since this watch began)."""
        gap = self.running() - self.awake()
        slept = gap - self._gap > self.threshold
        self._gap = gap
        return slept


def _sleep_clocks() -> tuple[Callable[[], float], Callable[[], float], float]:
    if sys.platform.startswith("linux") and hasattr(time, "CLOCK_BOOTTIME"):
        boot = time.CLOCK_BOOTTIME
        return time.monotonic, lambda: time.clock_gettime(boot), 5.0
    if sys.platform == "darwin" and hasattr(time, "CLOCK_UPTIME_RAW"):
        uptime, mono = time.CLOCK_UPTIME_RAW, time.CLOCK_MONOTONIC
        return lambda: time.clock_gettime(uptime), lambda: time.clock_gettime(mono), 5.0
    return time.monotonic, time.time, 120.0


RUNTIME_ENV = "SHORA_RUNTIME_DIR"
LOCK_REQUEST = b"lock\n"


def lock_socket(home: Path) -> Path:
    """Where `shora serve` listens for `shora lock`: a Unix socket in the user's runtime
    directory (memory-backed on Linux, gone at power-off), never in the profile."""
    base = os.environ.get(RUNTIME_ENV)
    if not base:
        with warnings.catch_warnings():  # no XDG_RUNTIME_DIR: platformdirs picks one in /tmp
            warnings.simplefilter("ignore")
            base = platformdirs.user_runtime_dir("shora", appauthor=False)
    name = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:16]
    return Path(base) / f"{name}.sock"


async def listen_for_lock(
    home: Path, on_lock: Callable[[], Awaitable[None]]
) -> asyncio.AbstractServer | None:
    """Call `on_lock` whenever `shora lock` (or `shora panic`) asks, until the returned
    server is closed; None where the platform has no Unix sockets."""
    if not hasattr(socket, "AF_UNIX"):
        return None
    path = lock_socket(home)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.unlink(missing_ok=True)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if await reader.readline() == LOCK_REQUEST:
                await on_lock()
                writer.write(b"ok\n")
                await writer.drain()
        finally:
            writer.close()

    with profile.private_files():
        return await asyncio.start_unix_server(answer, path=str(path))


def request_lock(home: Path, timeout: float = 10.0) -> bool:
    """Ask a node serving `home` to lock now; whether one did."""
    path = lock_socket(home)
    if not hasattr(socket, "AF_UNIX") or not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        try:
            conn.connect(str(path))
            conn.sendall(LOCK_REQUEST)
            return conn.recv(3) == b"ok\n"
        except OSError:
            with contextlib.suppress(OSError):
                path.unlink()  # left by a node that is gone
            return False


# Signals after which the profile locks: the machine is about to sleep, logind asks
# sessions to lock (`loginctl lock-session`, a lid closed), the screensaver starts.
DBUS_RULES = (
    "type='signal',interface='org.freedesktop.login1.Manager',member='PrepareForSleep'",
    "type='signal',interface='org.freedesktop.login1.Session',member='Lock'",
    "type='signal',interface='org.freedesktop.ScreenSaver',member='ActiveChanged'",
    "type='signal',interface='org.gnome.ScreenSaver',member='ActiveChanged'",
)
_LOCK_NOW = {"org.freedesktop.login1.Session.Lock"}
_LOCK_IF_TRUE = {
    "org.freedesktop.login1.Manager.PrepareForSleep",
    "org.freedesktop.ScreenSaver.ActiveChanged",
    "org.gnome.ScreenSaver.ActiveChanged",
}


def _signal_name(line: str) -> str | None:
    """`interface.member` of a dbus-monitor signal line, else None."""
    if not line.startswith("signal "):
        return None
    fields = dict(part.strip().split("=", 1) for part in line.split(";") if "=" in part.strip())
    interface, member = fields.get("interface"), fields.get("member")
    return f"{interface}.{member}" if interface and member else None


async def _monitor(bus: list[str], on_lock: LockAction) -> None:
    """Follow one bus with dbus-monitor until cancelled; on_lock at each signal above."""
    proc = await asyncio.create_subprocess_exec(
        "dbus-monitor",
        *bus,
        *DBUS_RULES,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    waiting: str | None = None  # a signal whose boolean argument comes on the next line
    try:
        while line := (await proc.stdout.readline()).decode("utf-8", "replace"):
            name = _signal_name(line)
            if name in _LOCK_NOW:
                await on_lock()
            if waiting is not None and line.strip() == "boolean true":
                await on_lock()
            waiting = name if name in _LOCK_IF_TRUE else None
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def watch_dbus(on_lock: LockAction, buses: list[list[str]] | None = None) -> None:
    """Call `on_lock` when logind says the machine goes to sleep or the session must
    lock, or the desktop's screensaver starts; runs until cancelled. `buses` are
    dbus-monitor's bus options (default: the system bus, and the session bus if there
    is one). Without dbus-monitor (no D-Bus: Android, macOS, Windows) it returns."""
    if shutil.which("dbus-monitor") is None:
        return
    if buses is None:
        buses = [["--system"]]
        if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            buses.append(["--session"])
    await asyncio.gather(*(_monitor(bus, on_lock) for bus in buses))
