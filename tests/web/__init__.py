"""Helpers for the web interface's tests (the tests themselves are tests/test_web_*.py)."""
