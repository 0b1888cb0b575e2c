"""The static files shipped with the pages (src/shora/web/static)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def static_dir() -> Path:
    return Path(str(resources.files("shora.web") / "static"))


def read_static(name: str) -> str:
    return (static_dir() / name).read_text(encoding="utf-8")
