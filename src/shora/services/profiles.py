"""Profiles, for the interfaces: where a profile lives and whether one is there.
Light on purpose: every command reads these before it knows what it will need."""

from __future__ import annotations

from shora.kernel.profile import INSECURE_TEST_KDF as INSECURE_TEST_KDF
from shora.kernel.profile import default_home as default_home
from shora.kernel.profile import exists as exists

__all__ = ["INSECURE_TEST_KDF", "default_home", "exists"]
