"""Fixtures the in-process web tests share; a test module imports the ones it uses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from web.client import Browser, browser


@pytest.fixture
def person(tmp_path: Path) -> Iterator[Browser]:
    """A logged-in browser on a fresh profile it created."""
    with browser(tmp_path / "home") as b:
        b.create_profile()
        yield b
