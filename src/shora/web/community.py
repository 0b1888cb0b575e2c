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
import contextlib
import hmac
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from shora.errors import NotAllowed, ProfileError
from shora.i18n import _
from shora.services.community import (
    MAX_LABEL,
    OPEN_FILE,
    Certificate,
    Community,
    Person,
    code_matches,
    decoy_unlock,
)
from shora.services.membership import Invitation
from shora.web.state import BrowserSession, Keeper, SyncSettings
from shora.web.throttle import AttemptGate, KnownDevices, RecentThrottles

MAX_SESSIONS = 1024
MAX_PEOPLE = 200
MAX_UNKNOWN = 1000  # names nobody holds whose wrong tries are counted
MAX_NODE_NAME = 60
MAX_DEVICES = 4096  # known devices whose wrong tries are counted apart


class WrongCode(NotAllowed):
    """The sign-up code is missing or wrong: no profile is made, no name is looked at."""

    def __init__(self) -> None:
        super().__init__(_("That sign-up code is not this node's. Ask its operator for it."))


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
        name: str = "",
    ) -> None:
        self.community = Community(root)
        self.name = " ".join(name.split())[:MAX_NODE_NAME]  # shown on the pages
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
        self.unknown: RecentThrottles[str] = RecentThrottles(lambda: self.clock(), MAX_UNKNOWN)
        # Sign-up and unlock attempts: per client address, and a bounded queue overall.
        self.gate = AttemptGate(lambda: self.clock())
        # Invitations that have made a profile here since the start: one profile each.
        self.invitations_used: set[bytes] = set()
        self.devices = KnownDevices(lambda: self.clock(), MAX_DEVICES)
        # Profiles whose keystore is being written (their first key derivation runs).
        self.creating: set[str] = set()

    @contextlib.asynccontextmanager
    async def attempt(self, address: str) -> AsyncIterator[None]:
        """One sign-up or unlock attempt from `address` (Busy or TooManyTries if it
        must wait: nothing is checked then, a right passphrase included)."""
        self.gate.enter(address)
        try:
            yield
        finally:
            self.gate.leave(address)

    def code_is_right(self, typed: str) -> bool:
        """Whether `typed` is the node's sign-up code now (read at each try, so that
        `shora community code --new` takes effect on a running node)."""
        return code_matches(typed, self.community.signup_code())

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
        if keeper is None or keeper.node is None or not keeper.exists:
            return None  # a profile destroyed meanwhile is closed by `lock_idle`
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
            task.add_done_callback(lambda _task: self.note_open())

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

    def invited(self, invitation: Invitation | None) -> bool:
        """Whether `invitation` is a live one from a council that a profile open here
        belongs to, and has not made a profile here yet."""
        if invitation is None or invitation.secret in self.invitations_used:
            return False
        for keeper in list(self.keepers.values()):
            if keeper.node is not None and keeper.node.membership.invitation_is_live(invitation):
                return True
        return False

    async def create(
        self, label: str, passphrase: str, code: str, invitation: Invitation | None = None
    ) -> Person:
        """A new person's profile, opened, for whoever holds the sign-up code or a live
        invitation to a council of someone here (WrongCode else, before the name is even
        looked at: a stranger learns nothing of who is here)."""
        invited = self.invited(invitation)
        if not invited and not self.code_is_right(code):
            raise WrongCode()
        if len(self.community.people()) >= self.max_people:
            raise ProfileError(_("This node holds as many profiles as it can."))
        person = self.community.add(label)
        if invited and invitation is not None:  # taken now, given back if this fails
            self.invitations_used.add(invitation.secret)
        self.creating.add(person.key)  # no keystore yet: not "destroyed meanwhile"
        try:
            await self.keeper(person).create(passphrase)
        except BaseException:
            self.keepers.pop(person.key, None)
            self.community.discard(person)
            if invitation is not None and invited:
                self.invitations_used.discard(invitation.secret)
            raise
        finally:
            self.creating.discard(person.key)
        self.note_open()
        return person

    async def unlock(self, label: str, passphrase: str, device: str | None = None) -> Person:
        """Open the profile named `label` if `passphrase` is its own (ProfileError if
        the name or the passphrase is wrong: the page does not say which). `device` is
        the browser's known-device cookie, if any: tries from a device that opened this
        profile before are counted apart from everyone else's."""
        person = self.community.find(label)
        if person is None:
            self.unknown.of(label.strip().casefold()[:MAX_LABEL]).check()
            async with self.kdf_gate:
                await asyncio.to_thread(decoy_unlock, passphrase, weak_kdf=self.insecure_test_kdf)
            raise ProfileError(_("Wrong name or passphrase."))
        own = self.devices.throttle(device, person.key)
        await self.keeper(person).unlock(passphrase, throttle=own)
        self.note_open()
        return person

    async def lock(self, person: str) -> None:
        """Lock one profile now and end every session bound to it."""
        for browser in [s for s in self.sessions.values() if s.person == person]:
            self.sessions.pop(browser.id, None)
        keeper = self.keepers.get(person)
        if keeper is not None:
            await keeper.lock()
        self.note_open()

    async def panic(self, person: str) -> None:
        """Destroy this one profile for good (the panic wipe): its sessions end, its
        keys leave memory, its keystore is overwritten and its folder removed."""
        await self.lock(person)
        self.keepers.pop(person, None)
        found = self.community.person(person)
        await asyncio.to_thread(self.community.wipe, found)

    def note_open(self) -> None:
        """Write which profiles are open now (their folders' names, after this process's
        id), for `shora community list`; no file when none is."""
        path = self.community.root / OPEN_FILE
        keys = self.unlocked()
        if not keys:
            path.unlink(missing_ok=True)
            return
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write("\n".join([str(os.getpid()), *keys]) + "\n")
        os.replace(tmp, path)

    async def lock_all(self) -> None:
        for person in list(self.keepers):
            await self.lock(person)

    def unlocked(self) -> list[str]:
        return [key for key, keeper in self.keepers.items() if keeper.node is not None]

    async def lock_idle(self) -> None:
        """Lock each profile nobody has used for `lock_after` seconds, and each one
        destroyed meanwhile (`shora community remove` or `panic`): its sessions end."""
        for key, keeper in list(self.keepers.items()):
            if key in self.creating:
                continue
            if not keeper.exists:
                await self.lock(key)
                self.keepers.pop(key, None)
            elif keeper.idle():
                await self.lock(key)

    async def watch_idle(self, every: float = 1.0) -> None:
        while True:
            await asyncio.sleep(every)
            await self.lock_idle()
