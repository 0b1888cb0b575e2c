"""Shora: councils, decisions and mutual aid that keep working when the network is cut."""

__version__ = "0.1.0"
