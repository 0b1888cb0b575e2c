"""Per-address limits count an IPv6 /64 as one address, and which addresses are on the
local network (shora.addresses)."""

from __future__ import annotations

import ipaddress
import zlib

from hypothesis import given
from hypothesis import strategies as st

from shora.addresses import counted_address, on_local_network
from shora.sync import transport


def test_the_forms_an_address_comes_in() -> None:
    assert counted_address("192.0.2.7") == "192.0.2.7"
    assert counted_address("::ffff:192.0.2.7") == "192.0.2.7"
    assert counted_address("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert counted_address("2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64"
    assert counted_address("fe80::1%eth0") == "fe80::/64"
    assert counted_address("::1") == "::/64"
    assert counted_address("testclient") == "testclient"
    assert counted_address("") == ""


@given(st.integers(0, 2**128 - 1), st.integers(0, 2**64 - 1))
def test_every_address_of_a_slash_64_counts_as_one(address: int, other_host: int) -> None:
    a = ipaddress.IPv6Address(address)
    b = ipaddress.IPv6Address((address >> 64 << 64) | other_host)
    if a.ipv4_mapped is None and b.ipv4_mapped is None:
        assert counted_address(str(a)) == counted_address(str(b))


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_ipv4_addresses_count_apart(a: int, b: int) -> None:
    first, second = str(ipaddress.IPv4Address(a)), str(ipaddress.IPv4Address(b))
    assert (counted_address(first) == counted_address(second)) == (a == b)
    assert counted_address(f"::ffff:{first}") == first


@given(st.text(max_size=60))
def test_anything_else_is_counted_as_written_and_never_raises(host: str) -> None:
    assert isinstance(counted_address(host), str)


def test_which_addresses_are_on_the_local_network() -> None:
    local = ["127.0.0.1", "::1", "[::1]", "10.1.2.3", "172.16.0.9", "192.168.1.20"]
    local += ["fe80::1%wlan0", "fd12:3456::1", "169.254.10.1", "::ffff:192.168.1.20"]
    for host in local:
        assert on_local_network(host), host
    public = ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8", "relay.example.org"]
    for host in [*public, "localhost", "", None]:  # a name: the resolver's say, not ours
        assert not on_local_network(host), host


@given(st.text(max_size=60))
def test_whether_anything_is_local_never_raises(host: str) -> None:
    assert isinstance(on_local_network(host), bool)


def test_what_is_sent_to_a_local_relay_is_huffman_coded_only() -> None:
    """Uploads to a relay on the local network are compressed with Huffman coding alone
    (cheaper, about as small for hex and base64); elsewhere with full deflate."""
    (local,) = transport._deflate(True)
    (remote,) = transport._deflate(False)
    assert local.compress_settings == {"memLevel": 5, "strategy": zlib.Z_HUFFMAN_ONLY}
    assert remote.compress_settings == {"memLevel": 5}
