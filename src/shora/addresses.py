"""Client addresses as limits count them (docs/security.md, "The web interface").

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
