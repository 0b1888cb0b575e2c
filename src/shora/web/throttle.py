"""How fast the unlock page may check passphrases (docs/security.md, "The web interface").

Whoever reaches the unlock page (a program on this machine that got hold of a session,
anyone on the network once --host opens the pages to it) could otherwise try
passphrases as fast as Argon2id runs. After FREE_TRIES wrong ones in a row, each
further try waits: FIRST_WAIT seconds, doubling with every wrong one, at most MAX_WAIT.
While a wait runs no passphrase is checked at all, a right one included, so a guess
made then costs nothing and tells nothing. Only a count and a time are kept, in
memory: nothing about the passphrases tried, nothing on disk.
"""

from __future__ import annotations

import hmac
import math
import secrets
from collections.abc import Callable, Hashable
from typing import TypeVar

from shora.errors import ShoraError
from shora.i18n import ngettext, number

FREE_TRIES = 5
FIRST_WAIT = 30.0  # seconds
MAX_WAIT = 15 * 60.0


class TooManyTries(ShoraError):
    """Wrong passphrases came too fast: the next one is checked after `wait` seconds."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        super().__init__(self.sentence())

    @property
    def whole_seconds(self) -> int:
        return max(1, math.ceil(self.wait))

    def sentence(self) -> str:
        """What the page says, in the current language."""
        seconds = self.whole_seconds
        if seconds < 120:
            return ngettext(
                "Too many wrong passphrases: wait {n} second, then try again.",
                "Too many wrong passphrases: wait {n} seconds, then try again.",
                seconds,
            ).format(n=number(seconds))
        minutes = math.ceil(seconds / 60)
        return ngettext(
            "Too many wrong passphrases: wait {n} minute, then try again.",
            "Too many wrong passphrases: wait {n} minutes, then try again.",
            minutes,
        ).format(n=number(minutes))


class UnlockThrottle:
    """Wrong passphrases in a row, and until when the next one has to wait."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.wrong = 0
        self.until = 0.0

    def wait(self) -> float:
        """Seconds before a passphrase may be checked (0: now)."""
        return max(0.0, self.until - self.clock())

    def check(self) -> None:
        """Raise TooManyTries during a wait; else count this try as wrong until it is
        known to be right, so that tries sent at once cannot all start before the
        first of them is known to be wrong."""
        wait = self.wait()
        if wait > 0:
            raise TooManyTries(wait)
        self.wrong += 1
        if self.wrong >= FREE_TRIES:
            doublings = min(self.wrong - FREE_TRIES, 32)
            self.until = self.clock() + min(MAX_WAIT, FIRST_WAIT * 2**doublings)

    def right(self) -> None:
        self.wrong = 0
        self.until = 0.0


# --- community mode: attempts per client address, and the queue of key derivations -----

ADDRESS_TRIES = 10  # sign-up and unlock attempts per address in ADDRESS_WINDOW seconds
ADDRESS_WINDOW = 60.0
MAX_WAITING = 6  # attempts in flight at once (key derivations run one at a time)
MAX_ADDRESSES = 4096  # addresses whose recent attempts are remembered
KDF_GUESS = 1.5  # seconds one key derivation takes, until one has been timed


class Busy(ShoraError):
    """The node is checking too many passphrases now: try again in `wait` seconds."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        super().__init__(self.sentence())

    @property
    def whole_seconds(self) -> int:
        return max(1, math.ceil(self.wait))

    def sentence(self) -> str:
        seconds = self.whole_seconds
        return ngettext(
            "This node is busy checking passphrases: try again in {n} second.",
            "This node is busy checking passphrases: try again in {n} seconds.",
            seconds,
        ).format(n=number(seconds))


class AttemptGate:
    """Who may try a sign-up or an unlock now (community mode). Each client address
    may make ADDRESS_TRIES attempts per ADDRESS_WINDOW seconds, one at a time; the
    whole node holds at most MAX_WAITING attempts in flight, so that a flood from many
    addresses makes others wait seconds (the queue drains at one derivation each),
    never minutes. Only counts and times are kept, in memory."""

    def __init__(self, clock: Callable[[], float], *, max_waiting: int = MAX_WAITING) -> None:
        self.clock = clock
        self.max_waiting = max_waiting
        self.recent: dict[str, list[float]] = {}
        self.running: dict[str, int] = {}
        self.waiting = 0
        self.kdf_seconds = KDF_GUESS

    def enter(self, address: str) -> None:
        """Take a place for one attempt from `address`, or raise Busy / TooManyTries."""
        now = self.clock()
        times = [t for t in self.recent.pop(address, []) if now - t < ADDRESS_WINDOW]
        self.recent[address] = times  # the most recent last
        while len(self.recent) > MAX_ADDRESSES:
            del self.recent[next(iter(self.recent))]
        if len(times) >= ADDRESS_TRIES:
            raise TooManyTries(ADDRESS_WINDOW - (now - times[0]))
        if self.running.get(address, 0) > 0 or self.waiting >= self.max_waiting:
            raise Busy((self.waiting + 1) * self.kdf_seconds)
        times.append(now)
        self.running[address] = self.running.get(address, 0) + 1
        self.waiting += 1

    def leave(self, address: str, took: float | None = None) -> None:
        """The attempt from `address` is over (`took`: seconds its derivation ran)."""
        self.waiting = max(0, self.waiting - 1)
        left = self.running.get(address, 0) - 1
        if left > 0:
            self.running[address] = left
        else:
            self.running.pop(address, None)
        if took is not None and took > 0:
            self.kdf_seconds = 0.8 * self.kdf_seconds + 0.2 * took


K = TypeVar("K", bound=Hashable)


class RecentThrottles(dict[K, UnlockThrottle]):
    """Wrong-try counts by key (a name nobody holds, a known device), at most `limit`
    of them: the one least recently tried goes first."""

    def __init__(self, clock: Callable[[], float], limit: int) -> None:
        super().__init__()
        self.clock = clock
        self.limit = limit

    def of(self, key: K) -> UnlockThrottle:
        throttle = self.pop(key, None) or UnlockThrottle(self.clock)
        self[key] = throttle  # the most recent last
        while len(self) > self.limit:
            del self[next(iter(self))]
        return throttle


DEVICE_NONCE = 16
DEVICE_MAC = 16


class KnownDevices:
    """Known devices (docs/security.md, community mode): a browser that made or unlocked
    a profile holds a cookie naming that profile under a key this process keeps in memory
    only (a random nonce and its MAC: nothing in it names the person); its wrong tries
    are counted on their own, so nobody who merely knows a profile's name can make its
    person wait by typing wrong passphrases."""

    def __init__(self, clock: Callable[[], float], limit: int) -> None:
        self.key = secrets.token_bytes(32)
        self.throttles: RecentThrottles[bytes] = RecentThrottles(clock, limit)

    def token(self, person: str) -> str:
        """A known-device cookie's value for `person`."""
        nonce = secrets.token_bytes(DEVICE_NONCE)
        return (nonce + self._mac(nonce, person)).hex()

    def _mac(self, nonce: bytes, person: str) -> bytes:
        return hmac.new(self.key, nonce + person.encode(), "sha256").digest()[:DEVICE_MAC]

    def throttle(self, token: str | None, person: str) -> UnlockThrottle | None:
        """The wrong-try count of the device whose cookie is `token`, if it was given for
        `person` by this process; None for any other cookie (the shared count applies)."""
        if not token or len(token) != 2 * (DEVICE_NONCE + DEVICE_MAC):
            return None
        try:
            raw = bytes.fromhex(token)
        except ValueError:
            return None
        nonce, mac = raw[:DEVICE_NONCE], raw[DEVICE_NONCE:]
        if not hmac.compare_digest(mac, self._mac(nonce, person)):
            return None
        return self.throttles.of(nonce)
