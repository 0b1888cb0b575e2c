"""Client addresses as limits count them (docs/security.md, "The web interface"), and
whether an address is on the local network.

An IPv6 host usually holds a whole /64 and can pick any address in it, so a limit per
address would be no limit: attempts and connections from IPv6 are counted per /64
prefix. An IPv4 address written as IPv6 (``::ffff:192.0.2.1``, which dual-stack
sockets report) counts as that IPv4 address. Anything that does not parse (a test
client's name, a Unix socket) counts as written.
"""

from __future__ import annotations

import ipaddress

IPV6_PREFIX = 64


def counted_address(host: str) -> str:
    """The key a per-address limit counts `host` under."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # without an IPv6 zone
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


def on_local_network(host: str | None) -> bool:
    """Whether `host` is an IP address of this machine or of a local network (loopback,
    private or link-local ranges). A name is not: where it leads is the resolver's say."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_private or address.is_link_local
