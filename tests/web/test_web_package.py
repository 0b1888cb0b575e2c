"""Every template and static asset ships in the wheel, with the vendored licences,
and nothing in the pages refers to another host."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatchcase
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "src" / "shora" / "web"


def test_every_template_and_asset_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["shora"]
    files = [p for d in ("templates", "static") for p in (WEB / d).rglob("*") if p.is_file()]
    assert len(files) > 20
    for path in files:
        name = path.relative_to(ROOT / "src" / "shora").as_posix()
        assert any(fnmatchcase(name, g) and name.count("/") == g.count("/") for g in globs), name


def test_vendored_assets_carry_their_licences() -> None:
    static = WEB / "static"
    assert "Zero-Clause BSD" in (static / "htmx-LICENSE.txt").read_text(encoding="utf-8")
    assert (
        "SIL OPEN FONT LICENSE"
        in (static / "fonts" / "Vazirmatn-OFL.txt").read_text(encoding="utf-8").upper()
    )
    assert list((static / "fonts").glob("*.woff2"))
    assert "Apache License" in (static / "jsQR-LICENSE.txt").read_text(encoding="utf-8")
    assert "jsQR 1.4.0" in (static / "jsQR-1.4.0.min.js").read_text(encoding="utf-8")[:200]


def test_no_page_or_stylesheet_refers_to_another_host() -> None:
    texts = [p.read_text(encoding="utf-8") for p in WEB.rglob("*") if p.suffix in {".html", ".css"}]
    for text in texts:
        assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", text)
        assert not re.search(r"url\([\"']?(?:https?:)?//", text)
