"""A person's profile: a directory with a sealed keystore and an encrypted database.

The keystore file holds the random keys that protect everything else, sealed with
XChaCha20-Poly1305 under a key derived from the passphrase by Argon2id. A wrong
passphrase costs the same Argon2id run as a right one and writes nothing.

Everything in the profile is private to its owner: the home is 0700 and every file
the profile writes 0600 from its first byte, and opening a profile tightens modes that
were loosened (a copy restored from a backup, a chmod by hand). A keystore sealed with
key derivation below the floor (crypto.KDF_OPSLIMIT, KDF_MEMLIMIT) opens only when
the caller says so explicitly: such keystores are for tests, and anyone holding the
file could guess its passphrase quickly.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import msgspec

from shora.errors import ProfileError
from shora.i18n import _
from shora.kernel import DECODE_ERRORS, crypto

KEYSTORE_FILE = "keystore"
DATABASE_FILE = "shora.db"
KEYSTORE_AD = b"shora/keystore/v1"
MIN_PASSPHRASE_CHARS = 8
DIR_MODE = 0o700
# Every file a profile writes: the keystore (and its next version before the rename),
# the database and the files SQLite keeps beside it.
PROFILE_FILES = (
    KEYSTORE_FILE,
    KEYSTORE_FILE + ".new",
    DATABASE_FILE,
    *(DATABASE_FILE + suffix for suffix in ("-wal", "-shm", "-journal")),
)
FILE_MODE = 0o600
# Argon2id opslimit and memlimit that protect nothing: for tests and benchmarks only,
# reachable from the command line only with INSECURE_TEST_KDF_ENV set to its consent.
INSECURE_TEST_KDF = (1, 8192)
INSECURE_TEST_KDF_ENV = "SHORA_INSECURE_TEST_KDF"
INSECURE_TEST_KDF_CONSENT = "I-know-this-is-insecure"
# The umask is one per process: two threads making files must not restore each other's.
_UMASK_LOCK = threading.Lock()


class WeakKeystore(ProfileError):
    """The keystore's key derivation is below the floor, and weak ones were not allowed."""


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
    import platformdirs  # only without --home or SHORA_HOME: it loads tempfile and shutil

    return Path(platformdirs.user_data_dir("shora", appauthor=False))


def exists(home: Path) -> bool:
    return (home / KEYSTORE_FILE).exists()


def kdf_is_weak(opslimit: int, memlimit: int) -> bool:
    return opslimit < crypto.KDF_OPSLIMIT or memlimit < crypto.KDF_MEMLIMIT


@contextmanager
def private_files() -> Iterator[None]:
    """Files made meanwhile are 0600 and directories 0700 from the start.

    SQLite creates the database with mode 0644 less the umask (its write-ahead log and
    shared-memory file then copy the database's mode), so the umask is the one way to
    have no moment where they are readable by others.
    """
    with _UMASK_LOCK:
        old = os.umask(0o077)
        try:
            yield
        finally:
            os.umask(old)


def tighten(home: Path) -> None:
    """Make the home 0700 and every file the profile writes 0600.

    Only the profile's own files: a home chosen inside an existing directory keeps
    whatever else is there as it was. Symbolic links are left alone (changing one
    would change what it points to).
    """
    try:
        _chmod(home, DIR_MODE)
        for name in PROFILE_FILES:
            path = home / name
            if path.is_file() and not path.is_symlink():
                _chmod(path, FILE_MODE)
    except OSError as exc:
        raise ProfileError(
            _("cannot make {home} private: {reason}").format(home=home, reason=exc.strerror)
        ) from exc


def _chmod(path: Path, mode: int) -> None:
    if stat.S_IMODE(path.stat().st_mode) != mode:
        path.chmod(mode)


def create(
    home: Path,
    passphrase: str,
    opslimit: int = crypto.KDF_OPSLIMIT,
    memlimit: int = crypto.KDF_MEMLIMIT,
    *,
    allow_weak_kdf: bool = False,
) -> UnlockedProfile:
    if kdf_is_weak(opslimit, memlimit) and not allow_weak_kdf:
        raise ValueError("key derivation below the floor needs allow_weak_kdf=True (tests only)")
    if exists(home):
        raise ProfileError(_("a profile already exists in {home}").format(home=home))
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise ProfileError(
            _("the passphrase needs at least {n} characters").format(n=MIN_PASSPHRASE_CHARS)
        )
    with private_files():
        home.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    tighten(home)  # an existing empty directory keeps its mode through mkdir
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


def unlock(home: Path, passphrase: str, *, allow_weak_kdf: bool = False) -> UnlockedProfile:
    """The profile's secrets; WeakKeystore (before any Argon2id run) if its key
    derivation is below the floor and allow_weak_kdf is not given."""
    path = home / KEYSTORE_FILE
    if not path.exists():
        raise ProfileError(
            _("no profile in {home}: create one with 'shora init'").format(home=home)
        )
    tighten(home)
    raw = path.read_bytes()
    try:
        ks = msgspec.msgpack.decode(raw, type=SealedKeystore)
    except DECODE_ERRORS as exc:
        raise ProfileError(_("the keystore in {home} is damaged").format(home=home)) from exc
    if kdf_is_weak(ks.opslimit, ks.memlimit) and not allow_weak_kdf:
        raise WeakKeystore(
            _(
                "This profile was made with weak key derivation, meant only for tests, so it "
                "stays locked: anyone holding its files could guess the passphrase quickly. "
                "Create a new profile with 'shora init' for real use; to open this one for "
                "a test, set {flag}."
            ).format(flag=f"{INSECURE_TEST_KDF_ENV}={INSECURE_TEST_KDF_CONSENT}")
        )
    key = crypto.derive_key(passphrase.encode(), ks.salt, ks.opslimit, ks.memlimit)
    plain = crypto.aead_decrypt(key, ks.sealed, KEYSTORE_AD)
    if plain is None:
        raise ProfileError(_("wrong passphrase"))
    try:
        secrets = msgspec.msgpack.decode(plain, type=Secrets)
    except DECODE_ERRORS as exc:
        raise ProfileError(_("the keystore in {home} is damaged").format(home=home)) from exc
    return UnlockedProfile(home, secrets)
