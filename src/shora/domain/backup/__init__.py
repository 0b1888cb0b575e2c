"""Backups of a member's keys held by the members they trust (docs/protocol.md §9.2)."""
