"""All of Shora's SQL: the encrypted database and its table groups.

`Store` is the database with one accessor per group of tables, as
``store.councils.my_key(council)``; nothing outside this package writes a query
(tests/test_architecture.py holds it). See docs/architecture.md, "Storage"."""

from __future__ import annotations

from pathlib import Path

from shora.kernel.storage.councils import Councils
from shora.kernel.storage.database import SCHEMA_VERSION, Database
from shora.kernel.storage.epochs import Epochs
from shora.kernel.storage.events import Events
from shora.kernel.storage.members import Members
from shora.kernel.storage.network import Network
from shora.kernel.storage.waiting import Waiting

__all__ = ["SCHEMA_VERSION", "Database", "Store"]


class Store(Database):
    """The database and its table groups."""

    def __init__(self, path: Path, key: bytes) -> None:
        super().__init__(path, key)
        self.councils = Councils(self)
        self.events = Events(self)
        self.members = Members(self)
        self.epochs = Epochs(self)
        self.waiting = Waiting(self)
        self.network = Network(self)
