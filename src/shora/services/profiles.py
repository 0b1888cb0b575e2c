"""A person's profile for the command line and the pages: whether there is one,
creating and unlocking it (kernel/profile.py), and the key derivation limits."""

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
