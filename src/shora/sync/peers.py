"""Where a node syncs: each council's relays, the proxy, and what each peer did.

Relays are kept per council, so a person in several councils can keep them apart
(a relay that serves two councils to the same address can link them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from shora.errors import InvalidInput
from shora.kernel.storage import Store

MAX_URL = 500
BACKOFF_BASE = 15  # seconds after the first failure
BACKOFF_MAX = 3600  # at most an hour between tries of an unreachable peer
NIP77_RECHECK = 24 * 3600
"""Seconds a relay found without NIP-77 is synced by NIP-01 without asking again."""


@dataclass(frozen=True, slots=True)
class Peer:
    address: str
    kind: str  # "relay" or "lan"
    last_contact: int | None
    last_attempt: int | None
    events_in: int
    events_out: int
    failures: int
    last_error: str | None

    def next_try(self) -> int:
        """When to try again: now if it answered last time, else exponential backoff."""
        if not self.failures or self.last_attempt is None:
            return 0
        delay: int = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** min(self.failures - 1, 20))
        return self.last_attempt + delay


def check_relay_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise InvalidInput(f"{url!r} is not a relay address: use ws://HOST:PORT or wss://HOST")
    try:
        parts.port  # noqa: B018 (validates the port)
    except ValueError as exc:
        raise InvalidInput(f"{url!r} has an invalid port") from exc
    return url


def check_proxy_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("socks5", "socks5h", "socks4", "http") or not parts.hostname:
        raise InvalidInput(f"{url!r} is not a proxy: use socks5h://HOST:PORT (Tor: port 9050)")
    return url.strip()


class PeerBook:
    """The relay lists, proxy setting and peer statistics of one profile."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add_relay(self, council: bytes, url: str) -> str:
        url = check_relay_url(url)
        self.store.execute(
            "INSERT OR IGNORE INTO relays VALUES(?,?,?)", (council, url, int(time.time()))
        )
        return url

    def add_reach(self, council: bytes, reach: list[str]) -> list[str]:
        """Add the relays an invitation names (its `reach`) to the council; return them.
        Entries that are not relay addresses are left out."""
        added = []
        for url in reach:
            try:
                added.append(self.add_relay(council, url))
            except InvalidInput:
                continue
        return added

    def remove_relay(self, council: bytes, url: str) -> bool:
        """Forget a relay of a council; False if it was not on the list."""
        known = self.store.one(
            "SELECT 1 FROM relays WHERE council=? AND url=?", (council, url.strip())
        )
        self.store.execute("DELETE FROM relays WHERE council=? AND url=?", (council, url.strip()))
        return bool(known)

    def relays(self, council: bytes | None = None) -> list[tuple[bytes, str]]:
        if council is None:
            rows = self.store.rows("SELECT council, url FROM relays ORDER BY url, council")
        else:
            rows = self.store.rows(
                "SELECT council, url FROM relays WHERE council=? ORDER BY url", (council,)
            )
        return [(bytes(c), str(u)) for c, u in rows]

    def proxy(self) -> str | None:
        value = self.store.one("SELECT value FROM settings WHERE key='proxy'")
        return str(value) if value else None

    def set_proxy(self, url: str | None) -> None:
        if url is None:
            self.store.execute("DELETE FROM settings WHERE key='proxy'")
        else:
            self.store.execute(
                "INSERT OR REPLACE INTO settings VALUES('proxy', ?)", (check_proxy_url(url),)
            )

    def lacks_nip77(self, url: str, now: int | None = None) -> bool:
        """Whether the relay was found without NIP-77 within the last day."""
        now = int(time.time()) if now is None else now
        found = self.store.one("SELECT value FROM settings WHERE key=?", (f"no-nip77 {url}",))
        return found is not None and 0 <= now - int(found) < NIP77_RECHECK

    def note_nip77(self, url: str, speaks: bool, now: int | None = None) -> None:
        """Remember what a sync learned of the relay: NIP-77 or not."""
        key = f"no-nip77 {url}"
        if speaks:
            self.store.execute("DELETE FROM settings WHERE key=?", (key,))
        else:
            now = int(time.time()) if now is None else now
            self.store.execute("INSERT OR REPLACE INTO settings VALUES(?, ?)", (key, str(now)))

    def relay_floor(self, url: str) -> int:
        """The most envelopes the relay has given for one REQ (0 if never seen)."""
        found = self.store.one("SELECT value FROM settings WHERE key=?", (f"floor {url}",))
        return int(found) if found is not None else 0

    def note_relay_floor(self, url: str, floor: int) -> None:
        self.store.execute(
            "INSERT OR REPLACE INTO settings VALUES(?, ?)", (f"floor {url}", str(floor))
        )

    def peers(self) -> list[Peer]:
        return [
            Peer(*row)
            for row in self.store.rows(
                "SELECT address, kind, last_contact, last_attempt, events_in, events_out, "
                "failures, last_error FROM peers ORDER BY kind DESC, address"
            )
        ]

    def peer(self, address: str) -> Peer | None:
        return next((p for p in self.peers() if p.address == address), None)

    def record(
        self,
        address: str,
        kind: str,
        *,
        received: int = 0,
        sent: int = 0,
        error: str | None = None,
        now: int | None = None,
    ) -> None:
        """Note one attempt: its traffic, or the error that ended it."""
        now = int(time.time()) if now is None else now
        self.store.execute(
            "INSERT OR IGNORE INTO peers(address, kind) VALUES(?,?)", (address, kind)
        )
        if error is None:
            self.store.execute(
                "UPDATE peers SET last_contact=?, last_attempt=?, events_in=events_in+?, "
                "events_out=events_out+?, failures=0, last_error=NULL WHERE address=?",
                (now, now, received, sent, address),
            )
        else:
            self.store.execute(
                "UPDATE peers SET last_attempt=?, failures=failures+1, last_error=? "
                "WHERE address=?",
                (now, error[:300], address),
            )
