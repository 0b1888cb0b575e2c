"""Shora: councils, decisions and mutual aid that keep working when the network is cut."""

import sys

__version__ = "0.1.0"


def load_msgspec() -> None:
    """Import msgspec, if nothing has yet, without typing_extensions.

    msgspec takes get_type_hints, Required and NotRequired from typing_extensions when
    it can, and from typing otherwise. From Python 3.11 on (our oldest) they are the
    same function and forms for what msgspec asks (get_type_hints with its extras), and
    importing typing_extensions costs about 14 M instructions (5 ms) of every command's
    start: msgspec is imported as if it were absent, and the entry is taken out again,
    so that whatever imports typing_extensions later gets it. Called by the kernel's
    package and by the command line before it imports a command's module (several
    import msgspec before anything of the kernel)."""
    if "msgspec" in sys.modules or "typing_extensions" in sys.modules:
        return
    sys.modules["typing_extensions"] = None  # type: ignore[assignment]
    try:
        import msgspec  # noqa: F401
    finally:
        del sys.modules["typing_extensions"]
