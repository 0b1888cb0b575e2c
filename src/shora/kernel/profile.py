"""A person's profile: a directory with a sealed keystore and two encrypted databases.

The keystore file holds the random keys that protect everything else, sealed with
XChaCha20-Poly1305 under a key derived from the passphrase by Argon2id, in one of a
fixed number of slots (kernel/keystore.py). A wrong passphrase costs the same Argon2id
run as a right one and writes nothing.

Every profile has two database files from its creation: the one its passphrase opens
and a spare, an empty database under a key that was thrown away. A person may seal a
second passphrase, the duress passphrase, into another slot: it opens the spare
file as a decoy profile and, if they chose so, first destroys the real profile's
keys and puts a new spare in place of its database. Which file is real is chosen at
random, so a profile with a duress passphrase has the same files, sizes and keystore
shape as one without.

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
from pathlib import Path
from typing import Annotated

import msgspec

from shora.errors import ProfileError
from shora.i18n import _
from shora.kernel import DECODE_ERRORS, crypto, keystore, memory
from shora.kernel.keystore import Kind
from shora.kernel.storage.database import Database

KEYSTORE_FILE = "keystore"
DATABASE_FILE = "shora.db"
DATABASE_FILES = (DATABASE_FILE, "shora2.db")
SQLITE_SUFFIXES = ("-wal", "-shm", "-journal")
KEYSTORE_AD = b"shora/keystore/v1"
MIN_PASSPHRASE_CHARS = 8
DIR_MODE = 0o700
# Every file a profile writes: the keystore (and its next version before the rename),
# the database and the files SQLite keeps beside it.
PROFILE_FILES = (
    KEYSTORE_FILE,
    KEYSTORE_FILE + ".new",
    *DATABASE_FILES,
    *(name + suffix for name in DATABASE_FILES for suffix in SQLITE_SUFFIXES),
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


class UnlockedProfile:
    """An unlocked profile: its home, which database file it opens, and its two keys,
    held in one bytearray locked into RAM and zeroed by `close()`."""

    def __init__(self, home: Path, secrets: Secrets, database_index: int = 0) -> None:
        self.home = home
        self.database_index = database_index
        self.keys = memory.locked(64)
        self.keys[:32] = secrets.database_key
        self.keys[32:] = secrets.identity_key

    @property
    def secrets(self) -> Secrets:
        """The keys as bytes (copies, which Python cannot zero: see kernel/memory.py)."""
        return Secrets(bytes(self.keys[:32]), bytes(self.keys[32:]))

    @property
    def database(self) -> Path:
        return self.home / DATABASE_FILES[self.database_index]

    def close(self) -> None:
        """Zero the keys."""
        memory.wipe(self.keys)


def _randbelow(n: int) -> int:
    """A random integer in [0, n) from the OS's generator (secrets, imported here: it
    brings random and hmac, which opening a profile does not need)."""
    import secrets

    return secrets.randbelow(n)


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


def _check_new_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise ProfileError(
            _("the passphrase needs at least {n} characters").format(n=MIN_PASSPHRASE_CHARS)
        )


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
    _check_new_passphrase(passphrase)
    with private_files():
        home.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    tighten(home)  # an existing empty directory keeps its mode through mkdir
    secrets = Secrets(crypto.random_bytes(32), crypto.random_bytes(32))
    real = _randbelow(2)
    # Both files exist from the first moment, made the same way: the spare is an empty
    # database whose key is thrown away.
    _new_database(home, real, secrets.database_key)
    spare_time = _new_database(home, 1 - real, crypto.random_bytes(32))
    header = keystore.Header(opslimit, memlimit, crypto.random_bytes(keystore.SALT_LEN))
    key = crypto.derive_key(passphrase.encode(), header.salt, opslimit, memlimit)
    slot = keystore.Slot(Kind.REAL, real, spare_time, secrets.database_key, secrets.identity_key)
    _write_keystore(home, header, {_randbelow(keystore.SLOTS): (key, slot)})
    return UnlockedProfile(home, secrets, real)


def _new_database(home: Path, index: int, key: bytes, times: int | None = None) -> int:
    """A new empty database in file `index` (whatever was there goes first), with
    `times` as its access and modification times if given; its modification time."""
    path = home / DATABASE_FILES[index]
    _remove(path)
    with private_files():
        Database(path, key).close()
    if times is not None:
        os.utime(path, ns=(times, times))
    return path.stat().st_mtime_ns


def _remove(path: Path) -> None:
    """A database file and the files SQLite keeps beside it."""
    for name in (path.name, *(path.name + suffix for suffix in SQLITE_SUFFIXES)):
        (path.parent / name).unlink(missing_ok=True)


def _write_keystore(
    home: Path, header: keystore.Header, sealed: dict[int, tuple[bytes, keystore.Slot]]
) -> None:
    """Write the keystore: `sealed` maps a place to (key, slot); every other place is
    random. An existing keystore is overwritten in place, keeping its times, so its
    old bytes do not linger in a freed block of the file system and its modification
    time does not tell when a duress passphrase was set."""
    slots = [
        keystore.seal(sealed[i][0], header, i, sealed[i][1]) if i in sealed else None
        for i in range(keystore.SLOTS)
    ]
    blob = keystore.encode(header, [s if s is not None else keystore.random_slot() for s in slots])
    _overwrite(home / KEYSTORE_FILE, blob)


def _overwrite(path: Path, blob: bytes) -> None:
    before = path.stat() if path.exists() else None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.pwrite(fd, blob, 0)
        os.ftruncate(fd, len(blob))
        os.fsync(fd)
    finally:
        os.close(fd)
    if before is not None:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def unlock(home: Path, passphrase: str, *, allow_weak_kdf: bool = False) -> UnlockedProfile:
    """The profile's secrets; WeakKeystore (before any Argon2id run) if its key
    derivation is below the floor and allow_weak_kdf is not given.

    The duress passphrase opens the decoy the same way and, if so sealed, destroys the
    real profile's keys first. A keystore of the first layout is brought to this one.
    """
    raw = _read_keystore(home)
    if not keystore.is_keystore(raw):
        return _unlock_first_layout(home, raw, passphrase, allow_weak_kdf)
    header = keystore.header_of(raw)
    _check_floor(header.opslimit, header.memlimit, allow_weak_kdf)
    key = crypto.derive_key(passphrase.encode(), header.salt, header.opslimit, header.memlimit)
    found = keystore.open_slots(key, raw)
    if found is None:
        raise ProfileError(_("wrong passphrase"))
    index, slot = found
    if slot.kind is Kind.DECOY_WIPE:
        _destroy_real(home, header, key, index, slot)
    _touch_change_times(home)
    return UnlockedProfile(home, Secrets(slot.database_key, slot.identity_key), slot.database)


def _read_keystore(home: Path) -> bytes:
    path = home / KEYSTORE_FILE
    if not path.exists():
        raise ProfileError(
            _("no profile in {home}: create one with 'shora init'").format(home=home)
        )
    tighten(home)
    return path.read_bytes()


def _check_floor(opslimit: int, memlimit: int, allow_weak_kdf: bool) -> None:
    if kdf_is_weak(opslimit, memlimit) and not allow_weak_kdf:
        raise WeakKeystore(
            _(
                "This profile was made with weak key derivation, meant only for tests, so it "
                "stays locked: anyone holding its files could guess the passphrase quickly. "
                "Create a new profile with 'shora init' for real use; to open this one for "
                "a test, set {flag}."
            ).format(flag=f"{INSECURE_TEST_KDF_ENV}={INSECURE_TEST_KDF_CONSENT}")
        )


def _touch_change_times(home: Path) -> None:
    """Set the change time (which no program can set to a chosen value) of the keystore
    and both databases to now, at every unlock: it then says when the profile was last
    unlocked, never which file a duress unlock replaced."""
    for name in (KEYSTORE_FILE, *DATABASE_FILES):
        path = home / name
        if path.is_file() and not path.is_symlink():
            path.chmod(FILE_MODE)


def _destroy_real(
    home: Path, header: keystore.Header, key: bytes, index: int, slot: keystore.Slot
) -> None:
    """Under duress: every slot but the decoy's becomes random bytes (overwritten in
    place), the decoy's is sealed again as the profile's only one, and the real
    database gives way to a new spare bearing the spare's old times."""
    promoted = keystore.Slot(
        Kind.REAL, slot.database, slot.spare_time, slot.database_key, slot.identity_key
    )
    _write_keystore(home, header, {index: (key, promoted)})
    _new_database(home, 1 - slot.database, crypto.random_bytes(32), slot.spare_time)


def _unlock_first_layout(
    home: Path, raw: bytes, passphrase: str, allow_weak_kdf: bool
) -> UnlockedProfile:
    """A keystore of the first layout (one sealed blob, one database): unlocked, then
    brought to the slotted layout with a spare database beside the real one."""
    try:
        ks = msgspec.msgpack.decode(raw, type=SealedKeystore)
    except DECODE_ERRORS as exc:
        raise ProfileError(_("the keystore in {home} is damaged").format(home=home)) from exc
    _check_floor(ks.opslimit, ks.memlimit, allow_weak_kdf)
    key = crypto.derive_key(passphrase.encode(), ks.salt, ks.opslimit, ks.memlimit)
    plain = crypto.aead_decrypt(key, ks.sealed, KEYSTORE_AD)
    if plain is None:
        raise ProfileError(_("wrong passphrase"))
    try:
        secrets = msgspec.msgpack.decode(plain, type=Secrets)
    except DECODE_ERRORS as exc:
        raise ProfileError(_("the keystore in {home} is damaged").format(home=home)) from exc
    real = _place_real_database(home)
    spare_time = _new_database(home, 1 - real, crypto.random_bytes(32))
    header = keystore.Header(ks.opslimit, ks.memlimit, ks.salt)  # the same key opens it
    slot = keystore.Slot(Kind.REAL, real, spare_time, secrets.database_key, secrets.identity_key)
    _write_keystore(home, header, {_randbelow(keystore.SLOTS): (key, slot)})
    _touch_change_times(home)
    return UnlockedProfile(home, secrets, real)


def _place_real_database(home: Path) -> int:
    """Which file holds an old profile's database: moved to a file chosen at random, as
    a new profile's is, unless SQLite's files beside it show it may be open."""
    first = home / DATABASE_FILE
    if any((home / (DATABASE_FILE + s)).exists() for s in SQLITE_SUFFIXES):
        return 0
    if first.exists() and _randbelow(2):
        first.rename(home / DATABASE_FILES[1])
        return 1
    return 0


def set_duress(
    home: Path, passphrase: str, duress: str | None, *, wipe: bool, allow_weak_kdf: bool = False
) -> None:
    """Seal `duress` as the duress passphrase (None: remove it), checked with the real
    `passphrase`. A duress passphrase already set keeps its decoy's content; a new one
    gets a new empty decoy in the spare file. With `wipe`, typing it destroys the
    real profile's keys. The keystore keeps its size, salt and shape; only its slots'
    bytes change."""
    raw = _read_keystore(home)
    if not keystore.is_keystore(raw):
        unlock(home, passphrase, allow_weak_kdf=allow_weak_kdf).close()  # the new layout
        raw = _read_keystore(home)
    header = keystore.header_of(raw)
    _check_floor(header.opslimit, header.memlimit, allow_weak_kdf)
    key = crypto.derive_key(passphrase.encode(), header.salt, header.opslimit, header.memlimit)
    found = keystore.open_slots(key, raw)
    if found is None or found[1].kind is not Kind.REAL:
        raise ProfileError(_("wrong passphrase"))
    real = found[1]
    spare = 1 - real.database
    places = list(range(keystore.SLOTS))
    import secrets  # as in _randbelow

    secrets.SystemRandom().shuffle(places)
    if duress is None:
        _write_keystore(home, header, {places[0]: (key, real)})
        _new_database(home, spare, crypto.random_bytes(32), real.spare_time)
        return
    _check_new_passphrase(duress)
    if duress == passphrase:
        raise ProfileError(_("the duress passphrase must differ from the passphrase"))
    duress_key = crypto.derive_key(duress.encode(), header.salt, header.opslimit, header.memlimit)
    kept = keystore.open_slots(duress_key, raw)
    if kept is not None:
        decoy_key, identity_key = kept[1].database_key, kept[1].identity_key
    else:
        decoy_key, identity_key = crypto.random_bytes(32), crypto.random_bytes(32)
        _new_database(home, spare, decoy_key, real.spare_time)
    kind = Kind.DECOY_WIPE if wipe else Kind.DECOY
    decoy = keystore.Slot(kind, spare, real.spare_time, decoy_key, identity_key)
    _write_keystore(home, header, {places[0]: (key, real), places[1]: (duress_key, decoy)})


def panic(home: Path) -> None:
    """Destroy the profile for good, in a few milliseconds: the keystore is overwritten
    with random bytes in place, flushed to the device and removed, then the databases
    (encrypted under a key only the keystore held) and SQLite's files beside them are
    removed. Nothing opens afterwards, not even with the passphrase."""
    path = home / KEYSTORE_FILE
    for name in (KEYSTORE_FILE, KEYSTORE_FILE + ".new"):
        target = home / name
        if target.is_file() and not target.is_symlink():
            size = max(target.stat().st_size, keystore.SIZE)
            fd = os.open(target, os.O_WRONLY)
            try:
                os.pwrite(fd, crypto.random_bytes(size), 0)
                os.fsync(fd)
            finally:
                os.close(fd)
    path.unlink(missing_ok=True)
    (home / (KEYSTORE_FILE + ".new")).unlink(missing_ok=True)
    for name in DATABASE_FILES:
        _remove(home / name)
    _sync_directory(home)
    try:
        home.rmdir()  # only if nothing else is there
    except OSError:
        pass


def _sync_directory(home: Path) -> None:
    try:
        fd = os.open(home, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
