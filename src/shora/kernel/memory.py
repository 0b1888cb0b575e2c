"""Keys in memory: no core dumps, pages kept out of swap, zeroed when the profile locks.

Python cannot promise much here (docs/security.md, "A running node"): bytes objects
are immutable and may be copied by any call; the collector frees them without zeroing;
libraries keep their own copies. What this module does is what a program can do: the
profile's two keys live in one bytearray, locked into RAM with libsodium's
sodium_mlock (which also keeps it out of core dumps where the platform allows) and
zeroed with sodium_memzero when the profile locks; the process refuses core dumps
and, on Linux, being read by debuggers of the same user.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def _prctl() -> Callable[..., int]:
    """The C library's prctl, called with C ints and returning one.

    Through `_ctypes`, the C half of ctypes: importing ctypes itself makes its whole
    family of C types, about 8 M instructions (3 ms) of every command's start, for
    this one call. ctypes is the fallback where `_ctypes` lacks what this uses."""
    try:
        import _ctypes
        import os

        class Function(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO  # returns a C int

        libc = _ctypes.dlopen(None, os.RTLD_NOW)  # type: ignore[arg-type]
        address = _ctypes.dlsym(libc, "prctl")
        function: Callable[..., int] = Function(address)
        return function
    except (AttributeError, OSError, TypeError):
        import ctypes

        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return prctl


def harden_process() -> None:
    """No core dump of this process, and on Linux no ptrace or /proc/PID/mem reads by
    other processes of the same user (the process is no longer 'dumpable')."""
    if sys.platform == "win32":
        return  # Windows writes no core files; its crash dumps are a system setting
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        _prctl()(PR_SET_DUMPABLE, 0, 0, 0, 0)  # the C library already loaded


def is_dumpable() -> bool:
    """Whether this process may still be dumped or traced (Linux; True elsewhere)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(_prctl()(PR_GET_DUMPABLE, 0, 0, 0, 0))


def locked(size: int) -> bytearray:
    """A zeroed bytearray whose pages are locked into RAM where the platform allows
    (sodium_mlock fails quietly past RLIMIT_MEMLOCK: the keys are then still zeroed
    on lock, only not kept out of swap)."""
    from nacl._sodium import ffi, lib  # here: a process that never unlocks skips it

    buf = bytearray(size)
    lib.sodium_mlock(ffi.from_buffer(buf), size)
    return buf


def wipe(buf: bytearray) -> None:
    """Zero `buf` in place. Its page stays locked: munlock works on whole pages, and
    another profile's keys may share this one (a node holding several people's)."""
    from nacl._sodium import ffi, lib

    if buf:
        lib.sodium_memzero(ffi.from_buffer(buf), len(buf))
