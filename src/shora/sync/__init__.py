"""Sync: reconciliation of envelope sets between nodes and relays (docs/sync.md).

``shora.sync.negentropy`` is the sans-I/O Negentropy engine (protocol version 1, as
NIP-77 uses it); ``shora.sync.nip77`` builds and parses the NIP-77 JSON messages.
"""

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
