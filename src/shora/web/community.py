"""Community mode: one server, many people's profiles (shora community serve).

Each browser gets a session of its own on its first visit, bound to no profile. When
its person creates or unlocks their profile with their passphrase, the session is
replaced by a new one (new cookie, new CSRF token) bound to that profile alone; every
page then finds its node through that binding and nothing else (the Guard puts the
bound Keeper in the request's state). A profile locks on idle, on "Lock", and when
the node stops; locking it ends every session bound to it.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from shora.errors import ProfileError
from shora.i18n import _
from shora.services.community import MAX_LABEL, Certificate, Community, Person, decoy_unlock
from shora.web.state import BrowserSession, Keeper, SyncSettings
from shora.web.throttle import UnlockThrottle

MAX_SESSIONS = 1024
MAX_PEOPLE = 200
MAX_UNKNOWN = 1000  # names nobody holds whose wrong tries are counted


class Hall:
    """The community node's people: a Keeper for each profile opened since the start,
    the browser sessions, and which profile each session may use."""

    def __init__(
        self,
        root: Path,
        *,
        lock_after: float = 15 * 60.0,
        sync: SyncSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        insecure_test_kdf: bool = False,
        max_people: int = MAX_PEOPLE,
        certificate: Certificate | None = None,
        address: str = "",
    ) -> None:
        self.community = Community(root)
        self.lock_after = lock_after
        self.sync = sync
        self.clock = clock
        self.insecure_test_kdf = insecure_test_kdf
        self.max_people = max_people
        self.certificate = certificate
        self.address = address  # the https:// address phones open
        self.keepers: dict[str, Keeper] = {}
        self.sessions: dict[str, BrowserSession] = {}
        self.kdf_gate = asyncio.Semaphore(1)
        self._locking: set[asyncio.Task[None]] = set()
        # Names nobody holds: each has its own count of wrong tries, as a real profile
        # has, so that the waits do not tell which names are held.
        self.unknown: dict[str, UnlockThrottle] = {}

    # --- sessions ------------------------------------------------------------------------

    def new_session(self, person: str | None = None) -> BrowserSession:
        if len(self.sessions) >= MAX_SESSIONS:
            anonymous = [s for s in self.sessions.values() if s.person is None]
            oldest = min(anonymous or self.sessions.values(), key=lambda s: s.created)
            self._end(oldest)
        made = BrowserSession(
            secrets.token_urlsafe(32), secrets.token_urlsafe(32), self.clock(), person
        )
        self.sessions[made.id] = made
        return made

    def session(self, cookie: str | None) -> BrowserSession | None:
        if not cookie:
            return None
        found = self.sessions.get(cookie)
        if found is None or not hmac.compare_digest(found.id.encode(), cookie.encode()):
            return None
        return found

    def keeper_for(self, browser: BrowserSession | None) -> Keeper | None:
        """The open profile this session is bound to, or None."""
        if browser is None or browser.person is None:
            return None
        keeper = self.keepers.get(browser.person)
        if keeper is None or keeper.node is None:
            return None
        return keeper

    def _end(self, browser: BrowserSession) -> None:
        """Forget a session; if it was the last one bound to an open profile, lock it."""
        self.sessions.pop(browser.id, None)
        person = browser.person
        if person is None or any(s.person == person for s in self.sessions.values()):
            return
        keeper = self.keepers.get(person)
        if keeper is not None and keeper.node is not None:
            task = asyncio.get_running_loop().create_task(keeper.lock())
            self._locking.add(task)
            task.add_done_callback(self._locking.discard)

    def bind(self, browser: BrowserSession | None, person: str) -> BrowserSession:
        """A fresh session for `person`, replacing `browser` (never reused: a cookie
        known before the passphrase was typed is worth nothing after)."""
        if browser is not None:
            self.sessions.pop(browser.id, None)
        return self.new_session(person)

    # --- profiles ------------------------------------------------------------------------

    def keeper(self, person: Person) -> Keeper:
        found = self.keepers.get(person.key)
        if found is None:
            found = Keeper(
                person.home,
                lock_after=self.lock_after,
                sync=self.sync,
                clock=self.clock,
                insecure_test_kdf=self.insecure_test_kdf,
                check_when_open=True,
                kdf_gate=self.kdf_gate,
            )
            found.login_token = None  # no login link: the passphrase is the way in
            self.keepers[person.key] = found
        return found

    async def create(self, label: str, passphrase: str) -> Person:
        """A new person's profile, opened."""
        if len(self.community.people()) >= self.max_people:
            raise ProfileError(_("This node holds as many profiles as it can."))
        person = self.community.add(label)
        try:
            await self.keeper(person).create(passphrase)
        except BaseException:
            self.keepers.pop(person.key, None)
            self.community.discard(person)
            raise
        return person

    async def unlock(self, label: str, passphrase: str) -> Person:
        """Open the profile named `label` if `passphrase` is its own (ProfileError if
        the name or the passphrase is wrong: the page does not say which)."""
        person = self.community.find(label)
        if person is None:
            key = label.strip().casefold()[:MAX_LABEL]
            throttle = self.unknown.pop(key, None) or UnlockThrottle(lambda: self.clock())
            self.unknown[key] = throttle  # the most recent last
            while len(self.unknown) > MAX_UNKNOWN:
                del self.unknown[next(iter(self.unknown))]
            throttle.check()
            async with self.kdf_gate:
                await asyncio.to_thread(decoy_unlock, passphrase, weak_kdf=self.insecure_test_kdf)
            raise ProfileError(_("Wrong name or passphrase."))
        await self.keeper(person).unlock(passphrase)
        return person

    async def lock(self, person: str) -> None:
        """Lock one profile now and end every session bound to it."""
        for browser in [s for s in self.sessions.values() if s.person == person]:
            self.sessions.pop(browser.id, None)
        keeper = self.keepers.get(person)
        if keeper is not None:
            await keeper.lock()

    async def lock_all(self) -> None:
        for person in list(self.keepers):
            await self.lock(person)

    def unlocked(self) -> list[str]:
        return [key for key, keeper in self.keepers.items() if keeper.node is not None]

    async def lock_idle(self) -> None:
        """Lock each profile nobody has used for `lock_after` seconds."""
        for key, keeper in list(self.keepers.items()):
            if keeper.idle():
                await self.lock(key)

    async def watch_idle(self, every: float = 5.0) -> None:
        while True:
            await asyncio.sleep(every)
            await self.lock_idle()
