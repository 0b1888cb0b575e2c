"""The kernel's hashes are libsodium's: the same digests as the standard library's."""

from __future__ import annotations

import hashlib
import hmac
import sys

import pytest

from shora.kernel import crypto, memory


def test_the_hashes_match_the_standard_librarys() -> None:
    large = bytes(range(256)) * (crypto.LARGE_HASH // 256)  # hashed by hashlib's own
    for data in (b"", b"abc", bytes(range(256)) * 40, bytearray(b"a bytearray"), large, large[1:]):
        assert crypto.sha256(data) == hashlib.sha256(data).digest()
        for size in (16, 20, 32, 64):
            for key in (b"", b"k" * 32):
                for person in (b"", b"shora/names"):
                    expected = hashlib.blake2b(data, key=key, digest_size=size, person=person)
                    assert crypto.blake2b(data, size, key=key, person=person) == expected.digest()
            assert crypto.keyed_hash(b"k" * 32, data, size) == (
                hashlib.blake2b(data, key=b"k" * 32, digest_size=size).digest()
            )


def test_equal_compares_like_compare_digest() -> None:
    pairs = ((b"", b""), (b"a", b"a"), (b"a", b"b"), (b"ab", b"a"), (b"", b"x"), (b"x" * 32,) * 2)
    for a, b in pairs:
        assert crypto.equal(a, b) == hmac.compare_digest(a, b)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_prctl_is_reached_without_ctypes() -> None:
    """The process hardening calls the C library's prctl through `_ctypes` (reading the
    flag changes nothing: the test process stays as it was)."""
    assert memory._prctl()(memory.PR_GET_DUMPABLE, 0, 0, 0, 0) in (0, 1, 2)


def test_blake2b_refuses_what_hashlib_refuses() -> None:
    refused = ((0, b"", b""), (65, b"", b""), (32, b"k" * 65, b""), (32, b"", b"p" * 17))
    for size, key, person in refused:
        with pytest.raises(ValueError):
            hashlib.blake2b(b"", digest_size=size, key=key, person=person)
        with pytest.raises(ValueError):
            crypto.blake2b(b"", size, key=key, person=person)


def test_strict_base64_is_canonical_by_its_last_group_alone() -> None:
    """`events.canonical_base64` spells only the last group again: the same answers as
    spelling the whole text again, on every length and on set unused bits."""
    import base64
    import binascii

    from shora.kernel import events

    for n in range(12):
        blob = bytes(range(200, 200 + n))
        text = base64.b64encode(blob).decode("ascii")
        assert events.canonical_base64(text, blob)
        if text.endswith("="):
            last = text.rstrip("=")[-1]
            bent = text.rstrip("=")[:-1] + chr(ord(last) + 1) + "=" * text.count("=")
            decoded = base64.b64decode(bent, validate=True)
            assert not events.canonical_base64(bent, decoded)
            assert base64.b64encode(decoded).decode("ascii") != bent
        if text:
            for bad in {text.rstrip("="), text + "===="} - {text}:
                try:
                    decoded = base64.b64decode(bad, validate=True)
                except binascii.Error:
                    continue
                assert not events.canonical_base64(bad, decoded)
