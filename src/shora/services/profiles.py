"""A person's profile for the command line and the pages: whether there is one,
creating and unlocking it (kernel/profile.py), the duress passphrase, and the panic
wipe."""

from __future__ import annotations

from pathlib import Path

from shora.kernel import crypto, profile
from shora.kernel.profile import INSECURE_TEST_KDF as INSECURE_TEST_KDF
from shora.kernel.profile import INSECURE_TEST_KDF_CONSENT as INSECURE_TEST_KDF_CONSENT
from shora.kernel.profile import INSECURE_TEST_KDF_ENV as INSECURE_TEST_KDF_ENV
from shora.kernel.profile import UnlockedProfile as UnlockedProfile
from shora.kernel.profile import WeakKeystore as WeakKeystore
from shora.kernel.profile import default_home as default_home

__all__ = [
    "DEFAULT_KDF",
    "INSECURE_TEST_KDF",
    "INSECURE_TEST_KDF_CONSENT",
    "INSECURE_TEST_KDF_ENV",
    "UnlockedProfile",
    "WeakKeystore",
    "create",
    "default_home",
    "exists",
    "panic",
    "set_duress",
    "unlock",
]

DEFAULT_KDF = (crypto.KDF_OPSLIMIT, crypto.KDF_MEMLIMIT)
"""Argon2id (opslimit, memlimit) of a new profile."""


def exists(home: Path) -> bool:
    """Whether `home` holds a profile."""
    return profile.exists(home)


def create(home: Path, passphrase: str, *, weak_kdf: bool = False) -> UnlockedProfile:
    """A new profile, sealed with the default key derivation (or INSECURE_TEST_KDF,
    for tests, with weak_kdf)."""
    limits = INSECURE_TEST_KDF if weak_kdf else DEFAULT_KDF
    return profile.create(home, passphrase, *limits, allow_weak_kdf=weak_kdf)


def unlock(home: Path, passphrase: str, *, allow_weak_kdf: bool = False) -> UnlockedProfile:
    """Open a profile with its passphrase (ProfileError if wrong)."""
    return profile.unlock(home, passphrase, allow_weak_kdf=allow_weak_kdf)


def set_duress(
    home: Path, passphrase: str, duress: str | None, *, wipe: bool, allow_weak_kdf: bool = False
) -> None:
    """Seal a duress passphrase (None removes it), checked with the real passphrase:
    typed at any unlock it opens a decoy profile and, with `wipe`, first destroys the
    real profile's keys. ProfileError if the passphrase is wrong or the new one unfit."""
    profile.set_duress(home, passphrase, duress, wipe=wipe, allow_weak_kdf=allow_weak_kdf)


def panic(home: Path) -> None:
    """Destroy the profile in `home` for good (crypto-erase): a node serving it in
    another process is told to lock first (and locks anyway within a second once its
    keystore is gone); the caller stops its own. Nothing to do if there is none."""
    from shora.services import locking  # here: asyncio only for the commands that lock

    locking.request_lock(home)
    profile.panic(home)
