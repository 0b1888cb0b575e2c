"""Keeping a process's keys out of core dumps and debuggers (kernel/memory.py): light
enough to run first thing in every `shora` process."""

from __future__ import annotations

from shora.kernel import memory


def harden_process() -> None:
    """Refuse core dumps (and, on Linux, debuggers of the same user) for this process:
    call once, at the start of a process that will hold keys."""
    memory.harden_process()
