"""Sync: reconciliation of envelope sets between nodes and relays (docs/sync.md).

``shora.sync.negentropy`` is the sans-I/O Negentropy engine (protocol version 1, as
NIP-77 uses it); ``shora.sync.nip77`` builds and parses the NIP-77 JSON messages.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shora.sync.negentropy import (
        ClientStep,
        Negentropy,
        NegentropyError,
        NegentropyStateError,
        Storage,
        UnsupportedVersion,
    )

__all__ = [
    "ClientStep",
    "Negentropy",
    "NegentropyError",
    "NegentropyStateError",
    "Storage",
    "UnsupportedVersion",
]


def __getattr__(name: str) -> Any:
    """The Negentropy engine's names, imported on first use: a command that only reads
    imports shora.sync's small modules without the engine."""
    if name in __all__:
        from shora.sync import negentropy

        return getattr(negentropy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
