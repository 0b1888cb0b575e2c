"""The keystore's bytes: a header and a fixed number of equal slots.

    header  magic "SHORAKS2" | opslimit u32 | memlimit u32 | salt (16)
    slot    nonce (24) | XChaCha20-Poly1305 of the slot's plaintext | tag (16)   x SLOTS

One Argon2id run per passphrase (over the header's salt and limits) gives a key that
is tried against every slot, always all of them; a slot opens under at most one
passphrase. A slot's plaintext is fixed in size: what it opens (the real profile or a
decoy, and whether the decoy wipes the rest), which of the two database files, the
time the spare file bore, and the two random keys. Unused slots are random bytes of
the same length, which no one can tell from a sealed slot without its passphrase:
every keystore has the same size and the same shape, whatever it holds.
"""

from __future__ import annotations

import enum
import struct

import msgspec

from shora.kernel import crypto

MAGIC = b"SHORAKS2"
SLOTS = 4
SALT_LEN = crypto.KDF_SALT_LEN
_HEADER = struct.Struct(">8sII16s")
HEADER_LEN = _HEADER.size
# kind, database index, the spare file's mtime (ns), the database key, the identity key
_PLAIN = struct.Struct(">BBq32s32s")
SLOT_LEN = crypto.NONCE_LEN + _PLAIN.size + crypto.AEAD_TAG_LEN
SIZE = HEADER_LEN + SLOTS * SLOT_LEN
_AD = b"shora/keystore/v2"


class Kind(enum.IntEnum):
    REAL = 1
    DECOY = 2  # opens the decoy and leaves the real profile as it is
    DECOY_WIPE = 3  # opens the decoy and destroys the real profile's keys first


class Slot(msgspec.Struct, frozen=True):
    """What one slot opens."""

    kind: Kind
    database: int  # 0 or 1: which of the profile's two database files
    spare_time: int  # ns: the time the decoy's file bore while it was still the spare
    database_key: bytes
    identity_key: bytes


class Header(msgspec.Struct, frozen=True):
    opslimit: int
    memlimit: int
    salt: bytes

    def encode(self) -> bytes:
        return _HEADER.pack(MAGIC, self.opslimit, self.memlimit, self.salt)


def is_keystore(raw: bytes) -> bool:
    """Whether `raw` is a keystore of this layout (anything else is the first layout,
    or damaged)."""
    return len(raw) == SIZE and raw.startswith(MAGIC)


def header_of(raw: bytes) -> Header:
    _, opslimit, memlimit, salt = _HEADER.unpack_from(raw)
    return Header(opslimit, memlimit, salt)


def slot_bytes(raw: bytes, index: int) -> bytes:
    start = HEADER_LEN + index * SLOT_LEN
    return raw[start : start + SLOT_LEN]


def _ad(header: Header, index: int) -> bytes:
    return _AD + header.encode() + bytes([index])


def seal(key: bytes, header: Header, index: int, slot: Slot) -> bytes:
    plain = _PLAIN.pack(
        slot.kind, slot.database, slot.spare_time, slot.database_key, slot.identity_key
    )
    return crypto.aead_encrypt(key, plain, _ad(header, index))


def random_slot() -> bytes:
    return crypto.random_bytes(SLOT_LEN)


def open_slots(key: bytes, raw: bytes) -> tuple[int, Slot] | None:
    """The slot `key` opens, and its place; every slot is tried, whichever opens."""
    header = header_of(raw)
    found: tuple[int, Slot] | None = None
    for index in range(SLOTS):
        plain = crypto.aead_decrypt(key, slot_bytes(raw, index), _ad(header, index))
        if plain is None or found is not None:
            continue
        kind, database, spare_time, database_key, identity_key = _PLAIN.unpack(plain)
        if kind in Kind.__members__.values() and database in (0, 1):
            found = index, Slot(Kind(kind), database, spare_time, database_key, identity_key)
    return found


def encode(header: Header, slots: list[bytes]) -> bytes:
    assert len(slots) == SLOTS and all(len(s) == SLOT_LEN for s in slots)
    return header.encode() + b"".join(slots)
