"""Where a node syncs: each council's relays, the proxy, and what each peer did.

Relays are kept per council, so a person in several councils can keep them apart
(a relay that serves two councils to the same address can link them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from shora.errors import InvalidInput
from shora.i18n import _
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
        raise InvalidInput(
            _("{url!r} is not a relay address: use ws://HOST:PORT or wss://HOST").format(url=url)
        )
    try:
        parts.port  # noqa: B018 (validates the port)
    except ValueError as exc:
        raise InvalidInput(_("{url!r} has an invalid port").format(url=url)) from exc
    return url


def check_proxy_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("socks5", "socks5h", "socks4", "http") or not parts.hostname:
        raise InvalidInput(
            _("{url!r} is not a proxy: use socks5h://HOST:PORT (Tor: port 9050)").format(url=url)
        )
    return url.strip()


class PeerBook:
    """The relay lists, proxy setting and peer statistics of one profile."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add_relay(self, council: bytes, url: str) -> str:
        url = check_relay_url(url)
        self.store.network.add_relay(council, url, int(time.time()))
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
        return self.store.network.remove_relay(council, url.strip())

    def relays(self, council: bytes | None = None) -> list[tuple[bytes, str]]:
        return self.store.network.relays(council)

    def proxy(self) -> str | None:
        return self.store.network.proxy()

    def set_proxy(self, url: str | None) -> None:
        self.store.network.set_proxy(None if url is None else check_proxy_url(url))

    def lacks_nip77(self, url: str, now: int | None = None) -> bool:
        """Whether the relay was found without NIP-77 within the last day."""
        now = int(time.time()) if now is None else now
        found = self.store.network.no_nip77_since(url)
        return found is not None and 0 <= now - found < NIP77_RECHECK

    def note_nip77(self, url: str, speaks: bool, now: int | None = None) -> None:
        """Remember what a sync learned of the relay: NIP-77 or not."""
        now = int(time.time()) if now is None else now
        self.store.network.note_nip77(url, speaks, now)

    def relay_floor(self, url: str) -> int:
        """The most envelopes the relay has given for one REQ (0 if never seen)."""
        return self.store.network.relay_floor(url)

    def note_relay_floor(self, url: str, floor: int) -> None:
        self.store.network.note_relay_floor(url, floor)

    def peers(self) -> list[Peer]:
        return [Peer(*row) for row in self.store.network.peers()]

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
        self.store.network.record(
            address, kind, received, sent, None if error is None else error[:300], now
        )
