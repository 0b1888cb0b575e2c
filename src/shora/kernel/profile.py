"""A person's profile: a directory with a sealed keystore and an encrypted database.

The keystore file holds the random keys that protect everything else, sealed with
XChaCha20-Poly1305 under a key derived from the passphrase by Argon2id. A wrong
passphrase costs the same Argon2id run as a right one and writes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import msgspec
import platformdirs

from shora.errors import ProfileError
from shora.kernel import DECODE_ERRORS, crypto

KEYSTORE_FILE = "keystore"
DATABASE_FILE = "shora.db"
KEYSTORE_AD = b"shora/keystore/v1"
MIN_PASSPHRASE_CHARS = 8


class SealedKeystore(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    v: Annotated[int, msgspec.Meta(ge=1, le=1)]
    salt: Annotated[bytes, msgspec.Meta(min_length=16, max_length=16)]
    opslimit: Annotated[int, msgspec.Meta(ge=1, le=64)]
    memlimit: Annotated[int, msgspec.Meta(ge=8192, le=2**31)]  # at most 2 GiB
    sealed: Annotated[bytes, msgspec.Meta(max_length=4096)]


class Secrets(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    database_key: Annotated[bytes, msgspec.Meta(min_length=32, max_length=32)]
    identity_key: Annotated[bytes, msgspec.Meta(min_length=32, max_length=32)]


@dataclass(frozen=True, slots=True)
class UnlockedProfile:
    home: Path
    secrets: Secrets

    @property
    def database(self) -> Path:
        return self.home / DATABASE_FILE


def default_home(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("SHORA_HOME"):
        return Path(env["SHORA_HOME"])
    return Path(platformdirs.user_data_dir("shora", appauthor=False))


def exists(home: Path) -> bool:
    return (home / KEYSTORE_FILE).exists()


def create(
    home: Path,
    passphrase: str,
    opslimit: int = crypto.KDF_OPSLIMIT,
    memlimit: int = crypto.KDF_MEMLIMIT,
) -> UnlockedProfile:
    if exists(home):
        raise ProfileError(f"a profile already exists in {home}")
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise ProfileError(f"the passphrase needs at least {MIN_PASSPHRASE_CHARS} characters")
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    secrets = Secrets(crypto.random_bytes(32), crypto.random_bytes(32))
    salt = crypto.random_bytes(crypto.KDF_SALT_LEN)
    key = crypto.derive_key(passphrase.encode(), salt, opslimit, memlimit)
    sealed = crypto.aead_encrypt(key, msgspec.msgpack.encode(secrets), KEYSTORE_AD)
    blob = msgspec.msgpack.encode(SealedKeystore(1, salt, opslimit, memlimit, sealed))
    tmp = home / (KEYSTORE_FILE + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(home / KEYSTORE_FILE)
    return UnlockedProfile(home, secrets)


def unlock(home: Path, passphrase: str) -> UnlockedProfile:
    path = home / KEYSTORE_FILE
    if not path.exists():
        raise ProfileError(f"no profile in {home}: create one with 'shora init'")
    raw = path.read_bytes()
    try:
        ks = msgspec.msgpack.decode(raw, type=SealedKeystore)
    except DECODE_ERRORS as exc:
        raise ProfileError(f"the keystore in {home} is damaged") from exc
    key = crypto.derive_key(passphrase.encode(), ks.salt, ks.opslimit, ks.memlimit)
    plain = crypto.aead_decrypt(key, ks.sealed, KEYSTORE_AD)
    if plain is None:
        raise ProfileError("wrong passphrase")
    try:
        secrets = msgspec.msgpack.decode(plain, type=Secrets)
    except DECODE_ERRORS as exc:
        raise ProfileError(f"the keystore in {home} is damaged") from exc
    return UnlockedProfile(home, secrets)
