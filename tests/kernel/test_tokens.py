from __future__ import annotations

import base64
import hashlib
import re
import string

import msgspec
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shora.errors import BadSignature, InvalidInput, MalformedEvent, OversizedEvent, RemoteError
from shora.kernel import crypto, tokens
from shora.kernel.tokens import (
    Invitation,
    JoinRequestPayload,
    check_proof,
    invitation_text,
    invitation_uri,
    invite_id,
    join_request_text,
    make_join_request,
    open_join_request,
    parse_invitation,
    parse_join_request_text,
)
from shora.ui.qr import invitation_qr, invitation_qr_png, invitation_qr_svg

B32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
SIGN_PK, SIGN_SK = crypto.sign_keypair()
KX_PK, _KX_SK = crypto.kx_keypair()
NOW = 1_760_000_000

INVITATION = Invitation(
    council=bytes(range(32)),
    secret=bytes(range(100, 132)),
    expires=NOW + 7 * 86400,
    reach=["wss://relay.example.org", "wss://nostr.shora-council.net"],
)

invitations = st.builds(
    Invitation,
    council=st.binary(min_size=32, max_size=32),
    secret=st.binary(min_size=32, max_size=32),
    expires=st.integers(0, 2**40 - 1),
    reach=st.lists(st.text(string.printable, max_size=200), max_size=8),
)


def armor(body: bytes, version: int = 1) -> str:
    framed = bytes([version]) + body
    raw = framed + hashlib.sha256(framed).digest()[:4]
    return base64.b32encode(raw).decode().rstrip("=")


def join_request(name: str = "Maryam") -> bytes:
    return make_join_request(INVITATION, SIGN_PK, SIGN_SK, KX_PK, name, NOW)


def sign_payload(payload_bytes: bytes) -> bytes:
    signature = crypto.sign(SIGN_SK, b"shora/join/v1\x00" + payload_bytes)
    return msgspec.msgpack.encode([payload_bytes, signature])


# --- invitations -------------------------------------------------------------------


@given(invitations)
def test_invitation_round_trips_in_every_form(inv: Invitation) -> None:
    text = invitation_text(inv)
    assert re.fullmatch(r"[A-Z2-7]{1,5}(-[A-Z2-7]{1,5})*", text)
    assert all(len(block) == 5 for block in text.split("-")[:-1])
    uri = invitation_uri(inv)
    assert uri == "shora:invite/" + text.replace("-", "")
    for form in (text, text.replace("-", ""), text.lower(), f"\n  {text}\r\n", uri, uri.upper()):
        assert parse_invitation(form) == inv


def test_invitation_accepts_wrapped_lines_and_persian_digits() -> None:
    text = invitation_text(INVITATION)
    assert parse_invitation(text[:30] + "\n" + text[30:]) == INVITATION
    persian = text.translate(str.maketrans("234567", "۲۳۴۵۶۷"))
    arabic = text.translate(str.maketrans("234567", "٢٣٤٥٦٧"))
    assert parse_invitation(persian) == INVITATION
    assert parse_invitation(arabic) == INVITATION


def test_invitation_with_non_ascii_hint_round_trips() -> None:
    inv = Invitation(INVITATION.council, INVITATION.secret, 5, ["از مریم بپرس", "bundle"])
    assert parse_invitation(invitation_text(inv)) == inv


@pytest.mark.parametrize(
    "inv",
    [
        Invitation(bytes(31), bytes(32), 0, []),
        Invitation(bytes(32), bytes(33), 0, []),
        Invitation(bytes(32), bytes(32), -1, []),
        Invitation(bytes(32), bytes(32), 2**40, []),
        Invitation(bytes(32), bytes(32), 0, ["bundle"] * 9),
        Invitation(bytes(32), bytes(32), 0, ["x" * 201]),
        Invitation(bytes(32), bytes(32), 0, ["ب" * 200] * 8),  # too long as text
    ],
)
def test_invalid_invitation_is_refused_when_encoding(inv: Invitation) -> None:
    with pytest.raises(InvalidInput):
        invitation_text(inv)


def test_qr_svg_is_standalone_and_small() -> None:
    svg = invitation_qr_svg(INVITATION)
    assert svg.lstrip().startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert set(re.findall(r"https?://[^\"'\s>]*", svg)) == {"http://www.w3.org/2000/svg"}
    assert "href" not in svg
    assert invitation_qr(INVITATION).version <= 10


def test_qr_png_is_written(tmp_path) -> None:
    path = tmp_path / "invite.png"
    invitation_qr_png(INVITATION, path)
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@given(invitations, st.data())
def test_every_single_character_substitution_is_detected(inv: Invitation, data) -> None:
    text = invitation_text(inv)
    positions = [i for i, char in enumerate(text) if char != "-"]
    i = data.draw(st.sampled_from(positions))
    replacement = data.draw(st.sampled_from(B32_ALPHABET + "0189O!.é_ß="))
    assume(replacement != text[i])
    typo = text[:i] + replacement + text[i + 1 :]
    with pytest.raises(InvalidInput, match=r"checksum|base32"):
        parse_invitation(typo)


def test_all_substitutions_in_one_invitation_are_detected() -> None:
    text = invitation_uri(INVITATION)
    start = len("shora:invite/")
    for i in range(start, len(text)):
        for replacement in B32_ALPHABET.replace(text[i], ""):
            with pytest.raises(InvalidInput, match=r"checksum|base32"):
                parse_invitation(text[:i] + replacement + text[i + 1 :])


def test_specific_error_messages() -> None:
    text = invitation_text(INVITATION)
    flipped = text[:3] + ("A" if text[3] != "A" else "B") + text[4:]
    with pytest.raises(InvalidInput, match="checksum does not match: check for a typo"):
        parse_invitation(flipped)
    with pytest.raises(InvalidInput, match="not valid base32"):
        parse_invitation(text.replace(text[0], "1", 1))
    with pytest.raises(InvalidInput, match="unsupported invitation version 2"):
        parse_invitation(armor(msgspec.msgpack.encode(INVITATION), version=2))
    with pytest.raises(InvalidInput, match="invitation is malformed: "):
        parse_invitation(armor(msgspec.msgpack.encode([1, 2, 3])))
    with pytest.raises(InvalidInput, match="too long"):
        parse_invitation(" " * 4097)
    with pytest.raises(InvalidInput, match="not a shora invitation"):
        parse_invitation(join_request_text(join_request()))


@given(st.text(max_size=300))
def test_arbitrary_text_never_breaks_parse_invitation(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_invitation(text)


@given(st.text(B32_ALPHABET + "-", max_size=300))
def test_base32_looking_text_never_breaks_parse_invitation(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_invitation(text)


@given(st.binary(max_size=400))
def test_checksummed_garbage_is_malformed_not_a_crash(body: bytes) -> None:
    try:
        parse_invitation(armor(body))
    except InvalidInput:
        pass


def test_invite_id() -> None:
    assert (
        invite_id(INVITATION.secret)
        == hashlib.sha256(b"shora/invite/v1" + INVITATION.secret).digest()[:16]
    )
    with pytest.raises(InvalidInput):
        invite_id(b"short")


# --- join requests -----------------------------------------------------------------


def test_join_request_round_trip() -> None:
    signed = join_request("مریم")
    payload, request_id = open_join_request(signed)
    assert payload.v == 1 and payload.name == "مریم" and payload.time == NOW
    assert payload.council == INVITATION.council
    assert payload.invite_id == invite_id(INVITATION.secret)
    assert (payload.sign_pk, payload.kx_pk) == (SIGN_PK, KX_PK)
    assert request_id == hashlib.sha256(msgspec.msgpack.decode(signed)[0]).digest()
    # read back from the store, its id is the same without checking the signature again
    assert tokens.stored_request_id(signed) == request_id
    check_proof(payload, INVITATION.secret)


def test_join_request_text_round_trip() -> None:
    signed = join_request()
    text = join_request_text(signed)
    assert re.fullmatch(r"shora:join/[A-Z2-7]+", text)
    for form in (text, text.lower(), text.removeprefix("shora:join/"), f"\n {text} \n"):
        assert parse_join_request_text(form) == signed


def test_join_request_text_errors() -> None:
    text = join_request_text(join_request())
    with pytest.raises(InvalidInput, match="checksum does not match"):
        parse_join_request_text(text[:20] + ("A" if text[20] != "A" else "B") + text[21:])
    with pytest.raises(InvalidInput, match="not a shora join request"):
        parse_join_request_text(invitation_uri(INVITATION))
    with pytest.raises(InvalidInput, match="unsupported join request version 9"):
        parse_join_request_text(armor(b"x", version=9))


@given(st.text(max_size=300))
def test_arbitrary_text_never_breaks_parse_join_request_text(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_join_request_text(text)


@given(st.binary(max_size=1100))
def test_arbitrary_bytes_never_break_open_join_request(data: bytes) -> None:
    with pytest.raises((MalformedEvent, BadSignature, OversizedEvent)):
        open_join_request(data)


@given(st.binary(max_size=300), st.binary(min_size=64, max_size=64))
def test_arbitrary_payload_never_breaks_open_join_request(payload: bytes, sig: bytes) -> None:
    with pytest.raises(RemoteError):
        open_join_request(msgspec.msgpack.encode([payload, sig]))


def test_oversized_join_request() -> None:
    with pytest.raises(OversizedEvent):
        open_join_request(bytes(1025))


def test_reencoded_payload_fails() -> None:
    payload_bytes, signature = msgspec.msgpack.decode(join_request())
    fields = msgspec.msgpack.decode(payload_bytes)
    as_map = msgspec.msgpack.encode(dict(zip(JoinRequestPayload.__struct_fields__, fields)))
    with pytest.raises(MalformedEvent):
        open_join_request(msgspec.msgpack.encode([as_map, signature]))
    # Same values, still a valid array, but v=1 spelled as uint8 rather than fixint.
    assert payload_bytes.startswith(b"\x98\x01")
    respelled = b"\x98\xcc\x01" + payload_bytes[2:]
    assert msgspec.msgpack.decode(respelled, type=JoinRequestPayload).v == 1
    with pytest.raises(BadSignature):
        open_join_request(msgspec.msgpack.encode([respelled, signature]))


def test_tampered_signature_fails() -> None:
    payload_bytes, signature = msgspec.msgpack.decode(join_request())
    tampered = bytes([signature[0] ^ 1]) + signature[1:]
    with pytest.raises(BadSignature):
        open_join_request(msgspec.msgpack.encode([payload_bytes, tampered]))


def test_tampered_payload_fails() -> None:
    payload_bytes, signature = msgspec.msgpack.decode(join_request("Maryam"))
    renamed = payload_bytes.replace(b"Maryam", b"Mahsan")
    with pytest.raises(BadSignature):
        open_join_request(msgspec.msgpack.encode([renamed, signature]))


def test_proof_with_wrong_secret_fails() -> None:
    payload, _ = open_join_request(join_request())
    with pytest.raises(BadSignature):
        check_proof(payload, bytes(32))
    forged = msgspec.structs.replace(payload, invite_id=invite_id(bytes(32)))
    with pytest.raises(BadSignature):
        check_proof(forged, bytes(32))


@pytest.mark.parametrize("name", ["", "   ", "\n\t", "x" * 65])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        join_request(name)


@pytest.mark.parametrize("name", ["", "   ", "\u3000"])
def test_blank_name_from_a_peer_is_malformed(name: str) -> None:
    payload_bytes, _ = msgspec.msgpack.decode(join_request())
    fields = msgspec.msgpack.decode(payload_bytes)
    fields[5] = name
    with pytest.raises(MalformedEvent):
        open_join_request(sign_payload(msgspec.msgpack.encode(fields)))


def test_mismatched_keys_are_refused() -> None:
    other_pk, _ = crypto.sign_keypair()
    with pytest.raises(InvalidInput):
        make_join_request(INVITATION, other_pk, SIGN_SK, KX_PK, "Maryam", NOW)
