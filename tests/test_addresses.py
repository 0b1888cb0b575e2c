"""Per-address limits count an IPv6 /64 as one address (shora.addresses)."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from shora.addresses import counted_address


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
