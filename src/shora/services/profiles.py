"""A person's profile for the command line and the pages: whether there is one,
creating and unlocking it (kernel/profile.py), the duress passphrase, the panic wipe,
keeping a running process's keys out of dumps and swap, and noticing that the host
slept."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path

import platformdirs

from shora.kernel import crypto, memory, profile
from shora.kernel.profile import INSECURE_TEST_KDF as INSECURE_TEST_KDF
from shora.kernel.profile import INSECURE_TEST_KDF_CONSENT as INSECURE_TEST_KDF_CONSENT
from shora.kernel.profile import INSECURE_TEST_KDF_ENV as INSECURE_TEST_KDF_ENV
from shora.kernel.profile import UnlockedProfile as UnlockedProfile
from shora.kernel.profile import WeakKeystore as WeakKeystore
from shora.kernel.profile import default_home as default_home

__all__ = [
    "DEFAULT_KDF",
    "INSECURE_TEST_KDF",
    "INSECURE_TEST_KDF_CONSENT",
    "INSECURE_TEST_KDF_ENV",
    "SleepWatch",
    "UnlockedProfile",
    "WeakKeystore",
    "create",
    "default_home",
    "exists",
    "harden_process",
    "listen_for_lock",
    "panic",
    "request_lock",
    "set_duress",
    "unlock",
]

DEFAULT_KDF = (crypto.KDF_OPSLIMIT, crypto.KDF_MEMLIMIT)
"""Argon2id (opslimit, memlimit) of a new profile."""


def exists(home: Path) -> bool:
    """Whether `home` holds a profile."""
    return profile.exists(home)


def create(home: Path, passphrase: str, *, weak_kdf: bool = False) -> UnlockedProfile:
    """A new profile, sealed with the default key derivation (or INSECURE_TEST_KDF,
    for tests, with weak_kdf)."""
    limits = INSECURE_TEST_KDF if weak_kdf else DEFAULT_KDF
    return profile.create(home, passphrase, *limits, allow_weak_kdf=weak_kdf)


def unlock(home: Path, passphrase: str, *, allow_weak_kdf: bool = False) -> UnlockedProfile:
    """Open a profile with its passphrase (ProfileError if wrong)."""
    return profile.unlock(home, passphrase, allow_weak_kdf=allow_weak_kdf)


def set_duress(
    home: Path, passphrase: str, duress: str | None, *, wipe: bool, allow_weak_kdf: bool = False
) -> None:
    """Seal a duress passphrase (None removes it), checked with the real passphrase:
    typed at any unlock it opens a decoy profile and, with `wipe`, first destroys the
    real profile's keys. ProfileError if the passphrase is wrong or the new one unfit."""
    profile.set_duress(home, passphrase, duress, wipe=wipe, allow_weak_kdf=allow_weak_kdf)


def panic(home: Path) -> None:
    """Destroy the profile in `home` for good (crypto-erase): a node serving it in
    another process is told to lock first (and locks anyway within a second once its
    keystore is gone); the caller stops its own. Nothing to do if there is none."""
    request_lock(home)
    profile.panic(home)


def harden_process() -> None:
    """Refuse core dumps (and, on Linux, debuggers of the same user) for this process:
    call once, at the start of a process that will hold keys."""
    memory.harden_process()


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
