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

import math
from collections.abc import Callable

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
