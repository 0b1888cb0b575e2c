"""What the web server holds: the profile (locked or open), browser sessions, the
one-time login link, the sync loop while the profile is open, and the idle lock.

Every use of the node happens on the server's event loop thread (a Store is one
connection, not shared between threads); only the passphrase's key derivation,
which takes a second on purpose, runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shora.errors import ProfileError, ShoraError
from shora.i18n import _
from shora.node import CouncilInfo, Node
from shora.services import locking, profiles
from shora.services.network import Server
from shora.web.throttle import UnlockThrottle

MAX_SESSIONS = 64


class Locked(ShoraError):
    """The profile is locked: the page asks for the passphrase first."""


@dataclass
class BrowserSession:
    """One browser that opened the login link: its cookie value and CSRF token."""

    id: str
    csrf: str
    created: float
    person: str | None = None  # community mode: the one profile this browser may use


@dataclass(frozen=True)
class SyncSettings:
    """How the sync loop runs while the profile is open (the options of shora serve)."""

    lan: bool = False
    lan_address: str | None = None
    lan_port: int = 0
    interval: float = 30.0


@dataclass
class Job:
    """A long task the browser follows with a progress bar (a bundle import)."""

    id: str
    done: int = 0  # bytes read of the bundle
    total: int = 1
    finished: bool = False
    accepted: int = 0
    duplicate: int = 0
    refused: int = 0
    error: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def percent(self) -> int:
        return 100 if self.finished else min(99, self.done * 100 // max(1, self.total))


class Keeper:
    """The web server's one profile and everything that depends on it being open."""

    def __init__(
        self,
        home: Path,
        *,
        lock_after: float = 15 * 60.0,
        sync: SyncSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        insecure_test_kdf: bool = False,
        check_when_open: bool = False,
        kdf_gate: asyncio.Semaphore | None = None,
        sleep_watch: locking.SleepWatch | None = None,
    ) -> None:
        self.home = home
        # Community mode: many browsers, many people; a passphrase is checked even while
        # the profile is open (else anyone naming an open profile would be let in), and
        # key derivations run one at a time (each holds 256 MiB for a second).
        self.check_when_open = check_when_open
        self.kdf_gate = kdf_gate
        self.sleep_watch = sleep_watch or locking.SleepWatch()
        # Tests only (shora --insecure-test-kdf serve): profiles made with, and weak
        # keystores opened despite, key derivation below the floor.
        self.insecure_test_kdf = insecure_test_kdf
        self.throttle = UnlockThrottle(lambda: self.clock())  # a clock set later too
        self.lock_after = lock_after  # seconds; 0 never locks
        self.sync = sync
        self.clock = clock
        self.node: Node | None = None
        self.server: Server | None = None
        self.server_task: asyncio.Task[None] | None = None
        self.login_token: str | None = secrets.token_urlsafe(32)
        self.sessions: dict[str, BrowserSession] = {}
        self.last_activity = clock()
        self.jobs: dict[str, Job] = {}
        # forms.council_of's cache: council -> (database version, CouncilInfo)
        self.councils: dict[bytes, tuple[tuple[int, int, int], CouncilInfo, dict[str, str]]] = {}
        self.on_unlock: list[Callable[[Node], None]] = []

    # --- the login link and browser sessions ---------------------------------------------

    def login(self, token: str) -> BrowserSession | None:
        """Spend the one-time login token; a new browser session, or None if wrong or spent."""
        expected = self.login_token
        if expected is None or not hmac.compare_digest(token.encode(), expected.encode()):
            return None
        self.login_token = None
        return self.new_session()

    def new_session(self) -> BrowserSession:
        if len(self.sessions) >= MAX_SESSIONS:
            oldest = min(self.sessions.values(), key=lambda s: s.created)
            del self.sessions[oldest.id]
        made = BrowserSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32), self.clock())
        self.sessions[made.id] = made
        return made

    def session(self, cookie: str | None) -> BrowserSession | None:
        if not cookie:
            return None
        for sid, found in self.sessions.items():
            if hmac.compare_digest(sid.encode(), cookie.encode()):
                return found
        return None

    # --- the profile ---------------------------------------------------------------------

    @property
    def exists(self) -> bool:
        return profiles.exists(self.home)

    def require_node(self) -> Node:
        if self.node is None:
            raise Locked(_("The profile is locked."))
        return self.node

    def touch(self) -> None:
        self.last_activity = self.clock()

    async def unlock(self, passphrase: str, throttle: UnlockThrottle | None = None) -> Node:
        """Open the profile with its passphrase and start syncing; ProfileError if wrong,
        TooManyTries (before any key derivation) while wrong ones must wait. `throttle`
        counts the wrong tries instead of the profile's own count (a known device's)."""
        if self.node is not None and not self.check_when_open:
            return self.node
        throttle = throttle or self.throttle
        throttle.check()
        async with self.kdf_gate or contextlib.nullcontext():
            unlocked = await asyncio.to_thread(
                functools.partial(
                    profiles.unlock, self.home, passphrase, allow_weak_kdf=self.insecure_test_kdf
                )
            )
        throttle.right()
        return await self._opened(unlocked)

    async def create(self, passphrase: str) -> Node:
        """Create the profile (a fresh home) and open it."""
        if self.exists:
            raise ProfileError(_("a profile already exists in {home}").format(home=self.home))
        async with self.kdf_gate or contextlib.nullcontext():
            unlocked = await asyncio.to_thread(
                functools.partial(
                    profiles.create, self.home, passphrase, weak_kdf=self.insecure_test_kdf
                )
            )
        return await self._opened(unlocked)

    async def _opened(self, unlocked: profiles.UnlockedProfile) -> Node:
        if self.node is not None and self.node.database == unlocked.database:
            unlocked.close()  # another request unlocked it meanwhile
            return self.node
        if self.node is not None:
            # A passphrase checked while open (community mode) opened the other file:
            # the duress passphrase. Whoever typed it sees the decoy, never the open one.
            await self.lock()
        self.node = Node(unlocked)
        # Project each council now, while the person waits for the unlock anyway: the
        # first projection of a large council takes seconds, and would otherwise fall
        # on whichever page needed it first.
        self.node.project_all()
        self.touch()
        for hook in self.on_unlock:
            hook(self.node)
        if self.sync is not None:
            s = self.sync
            self.server = self.node.network.server(
                lan=s.lan, lan_address=s.lan_address, lan_port=s.lan_port, interval=s.interval
            )
            await self.server.start()
            self.server_task = asyncio.create_task(self.server.run())
        return self.node

    async def lock(self) -> None:
        """Stop syncing, finish or cancel jobs, close the node: its keys leave memory."""
        for job in self.jobs.values():
            if job.task is not None and not job.task.done():
                job.task.cancel()
        self.jobs.clear()
        if self.server is not None:
            self.server.stopping.set()
        if self.server_task is not None:
            await asyncio.gather(self.server_task, return_exceptions=True)
        self.server, self.server_task = None, None
        self.councils.clear()
        if self.node is not None:
            self.node.close()
            self.node = None

    async def set_duress(self, passphrase: str, duress: str | None, *, wipe: bool) -> None:
        """Seal (or with None remove) the duress passphrase; the real passphrase is
        checked like an unlock's, under the same throttle."""
        self.throttle.check()
        opened = self.node.database if self.node is not None else None
        before = opened.stat().st_ino if opened is not None else None
        await asyncio.to_thread(
            functools.partial(
                profiles.set_duress,
                self.home,
                passphrase,
                duress,
                wipe=wipe,
                allow_weak_kdf=self.insecure_test_kdf,
            )
        )
        self.throttle.right()
        if opened is not None and (not opened.exists() or opened.stat().st_ino != before):
            await self.lock()  # the open profile was the decoy, and a new one replaced it

    async def panic(self) -> None:
        """Lock, then destroy the profile for good (services/profiles.panic); every
        browser session ends with it."""
        await self.lock()
        # In a thread: the wipe first asks any node serving this home to lock, and
        # that node may be this one, answering on this event loop.
        await asyncio.to_thread(profiles.panic, self.home)
        self.sessions.clear()

    def idle(self) -> bool:
        return (
            self.node is not None
            and self.lock_after > 0
            and self.clock() - self.last_activity >= self.lock_after
        )

    def must_lock(self) -> bool:
        """Whether the open profile must lock now: nobody used the pages for
        `lock_after` seconds, the host slept since the last look, or the keystore is
        gone (`shora panic` from another terminal)."""
        slept = self.sleep_watch.slept()  # looked at every time, to keep it current
        return self.node is not None and (slept or self.idle() or not self.exists)

    async def watch_idle(self, every: float = 1.0) -> None:
        """Lock the profile when `must_lock` says so, looking every `every` seconds."""
        while True:
            await asyncio.sleep(every)
            if self.must_lock():
                await self.lock()
