"""Errors a person reads are in their language: a damaged invitation, join request or
bundle, and a wrong passphrase, in Persian and (as before) in English."""

from __future__ import annotations

import hashlib
import io
import re
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from shora.errors import BadSignature, BundleDamaged, ProfileError, ShoraError
from shora.i18n import using_language
from shora.kernel import crypto, profile
from shora.kernel.bundle import HEADER, read_bundle, write_bundle
from shora.kernel.tokens import (
    Invitation,
    UnreadableText,
    check_proof,
    invitation_text,
    join_request_text,
    make_join_request,
    open_join_request,
    parse_invitation,
    parse_join_request_text,
)

NOW = 1_760_000_000
INVITATION = Invitation(
    council=bytes(range(32)),
    secret=bytes(range(100, 132)),
    expires=NOW + 7 * 86400,
    reach=["wss://relay.example.org"],
)
SIGN_PK, SIGN_SK = crypto.sign_keypair()
KX_PK, _KX_SK = crypto.kx_keypair()
PERSIAN_LETTER = re.compile(r"[\u0600-\u06FF]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def _typo(text: str, at: int) -> str:
    """`text` with the letter at `at` (past any prefix) changed to another base32 letter."""
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


def _join_request_text() -> str:
    signed = make_join_request(INVITATION, SIGN_PK, SIGN_SK, KX_PK, "Maryam", NOW)
    return join_request_text(signed)


def _bundle(records: list[bytes]) -> bytes:
    out = io.BytesIO()
    write_bundle(out, records)
    return out.getvalue()


def _altered() -> bytes:
    """A bundle of one record whose content was changed, its count and frame left intact."""
    content = HEADER + struct.pack(">I", 2) + b"{}"
    trailer = struct.pack(">I", 0xFFFFFFFF) + struct.pack(">Q32s", 1, hashlib.sha256(b"x").digest())
    return zstandard.ZstdCompressor().compress(content + trailer)


def _read_all(data: bytes) -> None:
    list(read_bundle(io.BytesIO(data)))


def _message(call: Callable[[], object], error: type[ShoraError] = ShoraError) -> str:
    with pytest.raises(error) as raised:
        call()
    return str(raised.value)


def _wrong_passphrase(home: Path) -> Callable[[], object]:
    def unlock() -> object:
        return profile.unlock(home, "not the passphrase", allow_weak_kdf=True)

    return unlock


def _cases(home: Path) -> dict[str, tuple[Callable[[], object], type[ShoraError], str]]:
    """What a person may do wrong, the error it raises, and its message in English."""
    invitation = invitation_text(INVITATION)
    request = _join_request_text()
    whole = _bundle([b'{"a": 1}', b'{"b": 2}'])
    return {
        "invitation typo": (
            lambda: parse_invitation(_typo(invitation, 3)),
            ShoraError,
            "checksum does not match: check for a typo",
        ),
        "invitation letters": (
            lambda: parse_invitation(invitation.replace(invitation[0], "!", 1)),
            ShoraError,
            "invitation is not valid base32",
        ),
        "invitation empty": (lambda: parse_invitation("  "), ShoraError, "invitation is empty"),
        "join request for an invitation": (
            lambda: parse_invitation(request),
            ShoraError,
            "this is not a shora invitation",
        ),
        "join request typo": (
            lambda: parse_join_request_text(_typo(request, len("shora:join/") + 4)),
            ShoraError,
            "checksum does not match: check for a typo",
        ),
        "join request cut short": (
            lambda: parse_join_request_text("shora:join/AAAAAAAA"),
            ShoraError,
            "join request is malformed: too short",
        ),
        "join request too long": (
            lambda: parse_join_request_text("A" * 5000),
            ShoraError,
            "join request is too long",
        ),
        "join request for another invitation": (
            lambda: check_proof(open_join_request(parse_join_request_text(request))[0], bytes(32)),
            BadSignature,
            "join request is not for this invitation",
        ),
        "bundle cut short": (lambda: _read_all(whole[:-20]), BundleDamaged, "bundle is truncated"),
        "not a bundle": (
            lambda: _read_all(zstandard.ZstdCompressor().compress(b"SHORE-BUNDLE\x00\x01....")),
            BundleDamaged,
            "not a Shora bundle (wrong magic or version)",
        ),
        "bundle altered": (
            lambda: _read_all(_altered()),
            BundleDamaged,
            "bundle was altered: checksum mismatch",
        ),
        "wrong passphrase": (_wrong_passphrase(home), ProfileError, "wrong passphrase"),
    }


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("profile") / "p"
    profile.create(home, "the right passphrase", *profile.INSECURE_TEST_KDF, allow_weak_kdf=True)
    return home


def test_in_persian_the_errors_are_persian(home: Path) -> None:
    for name, (call, error, _english) in _cases(home).items():
        with using_language("fa"):
            said = _message(call, error)
        assert PERSIAN_LETTER.search(said), (name, said)
        assert not LATIN_WORD.search(said), (name, said)


def test_in_english_they_read_as_before(home: Path) -> None:
    for name, (call, error, english) in _cases(home).items():
        with using_language("en"):
            assert _message(call, error) == english, name


def test_numbers_in_a_damaged_bundle_message_are_persian_digits() -> None:
    records = [b'{"a": 1}', b'{"b": 2}', b'{"c": 3}']
    whole = _bundle(records)
    with using_language("fa"):
        said = _message(lambda: list(read_bundle(io.BytesIO(whole), max_records=2)))
    assert "۲" in said and not re.search(r"[0-9]", said) and not LATIN_WORD.search(said)
    with using_language("en"):
        said = _message(lambda: list(read_bundle(io.BytesIO(whole), max_records=2)))
    assert said == "bundle holds more than 2 records"


def test_a_bad_text_keeps_its_english_words_for_the_pages_that_sort_them() -> None:
    with using_language("fa"), pytest.raises(UnreadableText) as raised:
        parse_invitation("shora:invite/" + _typo(invitation_text(INVITATION), 3))
    assert PERSIAN_LETTER.search(str(raised.value))
    assert raised.value.english == "checksum does not match: check for a typo"
