"""Installing the pages on a phone: the manifest, the icons, the service worker (which
keeps the static files only), the static files' cache headers, and their weight."""

from __future__ import annotations

import re

from shora.web.app import static_version
from shora.web.app_files import static_dir
from web.client import Browser
from web.fixtures import person

__all__ = ["person"]

BUDGET = 200 * 1024  # bytes: what a first visit fetches (CSS, JS, one font family)


def every_page_loads(html: str) -> list[str]:
    """The static files a page names, without their version."""
    return [m.split("?")[0] for m in re.findall(r'(?:href|src)="(/static/[^"]+)"', html)]


def payload(html: str) -> dict[str, int]:
    """Style sheet, scripts and fonts of a page, by name, in bytes."""
    sizes: dict[str, int] = {}
    for path in every_page_loads(html):
        name = path.removeprefix("/static/")
        if name.endswith((".css", ".js")):
            sizes[name] = (static_dir() / name).stat().st_size
            if name.endswith(".css"):
                css = (static_dir() / name).read_text(encoding="utf-8")
                for font in re.findall(r'url\("([^"]+\.woff2)"\)', css):
                    sizes[font] = (static_dir() / font).stat().st_size
    return sizes


def test_the_static_payload_is_small(person: Browser) -> None:
    page = person.get("/councils").text
    sizes = payload(page)
    assert {"shora.css", "shora.js", "htmx-2.0.11.min.js"} <= set(sizes)
    assert any(name.endswith(".woff2") for name in sizes)
    assert sum(sizes.values()) < BUDGET, sizes


def test_static_files_are_kept_and_pages_never(person: Browser) -> None:
    version = static_version()
    page = person.get("/councils")
    assert f"/static/shora.css?v={version}" in page.text
    assert page.headers["cache-control"] == "no-store"
    css = person.get(f"/static/shora.css?v={version}")
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    font = person.get("/static/fonts/Vazirmatn-Regular.woff2")
    assert "max-age=2592000" in font.headers["cache-control"]
    for path in ("/api/councils", "/sync", "/sw.js"):
        assert person.get(path).headers["cache-control"] == "no-store", path


def test_the_manifest_icons_and_service_worker(person: Browser) -> None:
    page = person.get("/councils").text
    assert 'rel="manifest"' in page
    manifest = person.get("/static/manifest.webmanifest").json()
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        got = person.get(icon["src"])
        assert got.status_code == 200 and got.content.startswith(b"\x89PNG"), icon
        side = int.from_bytes(got.content[16:20], "big")
        assert f"{side}x{side}" == icon["sizes"]
    worker = person.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert f"shora-static-{static_version()}" in worker.text
    # It answers from its cache only for /static/ (browser test: the cache holds no page).
    assert 'url.pathname.indexOf("/static/") !== 0' in worker.text
    csp = worker.headers["content-security-policy"]
    assert "manifest-src 'self'" in csp and "worker-src 'self'" in csp
