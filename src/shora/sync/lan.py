"""Finding other Shora nodes on the same network with mDNS/DNS-SD (python-zeroconf).

A node with `--lan` announces its embedded relay as `_shora._tcp.local.` under a
random instance name that changes every start, with one TXT property `v=1`. A
stranger on the same Wi-Fi learns that a Shora node listens at that address and
port — nothing about its councils, members or keys (docs/sync.md).
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket

from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

SERVICE = "_shora._tcp.local."
RESOLVE_TIMEOUT_MS = 3000


def local_addresses() -> list[str]:
    """This host's IPv4 addresses other than loopback (where the LAN relay listens)."""
    found: set[str] = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(str(info[4][0]))
    except OSError:
        pass
    return sorted(a for a in found if not ipaddress.ip_address(a).is_loopback)


class LanPresence:
    """Announce our relay and collect the relays of other nodes, until stopped."""

    def __init__(self, port: int, addresses: list[str]) -> None:
        self.port = port
        self.addresses = addresses
        self.name = f"shora-{secrets.token_hex(6)}.{SERVICE}"
        self._found: dict[str, str] = {}  # instance name -> ws:// url
        self._zc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._zc = AsyncZeroconf(interfaces=self.addresses, ip_version=IPVersion.V4Only)
        info = AsyncServiceInfo(
            SERVICE,
            self.name,
            addresses=[socket.inet_aton(a) for a in self.addresses],
            port=self.port,
            properties={"v": "1"},
        )
        await self._zc.async_register_service(info)
        self._browser = AsyncServiceBrowser(self._zc.zeroconf, SERVICE, handlers=[self._on_change])

    def _on_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if name == self.name:
            return
        if state_change is ServiceStateChange.Removed:
            self._found.pop(name, None)
            return
        task = asyncio.ensure_future(self._resolve(zeroconf, service_type, name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve(self, zeroconf: Zeroconf, service_type: str, name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        if not await info.async_request(zeroconf, RESOLVE_TIMEOUT_MS):
            return
        addresses = info.parsed_addresses(IPVersion.V4Only)
        if addresses and info.port and info.properties.get(b"v") == b"1":
            self._found[name] = f"ws://{addresses[0]}:{info.port}"

    def peers(self) -> list[str]:
        """The relay addresses of the other nodes seen on the network."""
        return sorted(set(self._found.values()))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._browser is not None:
            await self._browser.async_cancel()
        if self._zc is not None:
            await self._zc.async_unregister_all_services()
            await self._zc.async_close()
