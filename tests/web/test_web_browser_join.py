"""Joining in Chromium: the invitation's link opens the join page with the token moved
from the fragment into the form (and out of the address bar, even through the
passphrase page); the join page reads the invitation's QR code from the camera (a fake
camera showing the code; headless Chromium on Linux has no BarcodeDetector, so the
vendored jsQR reads it); the join request's copy button puts its link on the clipboard,
and that link opens the member's admit page ready to admit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import segno
from playwright.sync_api import Browser, sync_playwright

from web.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, Person, screenshot_dir
from web.servers import Served
from web.test_web_browser import PASSPHRASE, create_profile
from web.test_web_decisions import words

pytestmark = pytest.mark.slow
WIDTH, HEIGHT = 640, 480


def write_y4m(path: Path, text: str, frames: int = 10) -> None:
    """A short video of the QR code of `text`, black on white, in the YUV4MPEG2 form
    Chromium's fake camera plays in a loop."""
    matrix = segno.make(text, error="m", micro=False).matrix
    border = 4
    size = len(matrix) + 2 * border
    scale = min(WIDTH, HEIGHT) // size
    luma = bytearray([235]) * (WIDTH * HEIGHT)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    start = ((y + border) * scale + dy) * WIDTH + (x + border) * scale
                    luma[start : start + scale] = bytes([16]) * scale
    chroma = bytes([128]) * (WIDTH * HEIGHT // 4)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + bytes(luma) + chroma + chroma)


@pytest.fixture
def camera(tmp_path: Path) -> Iterator[tuple[Browser, Path]]:
    """Chromium with a fake camera playing the file the test writes before scanning."""
    video = tmp_path / "camera.y4m"
    write_y4m(video, "nothing yet")
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield browser, video
        browser.close()


def test_a_link_and_a_scan_each_way(camera: tuple[Browser, Path], tmp_path: Path) -> None:
    chromium, video = camera
    shots = screenshot_dir(tmp_path / "shots")
    a = Served(tmp_path / "nasrin", "--interval", "60")
    b = Served(tmp_path / "bahar", "--interval", "60")
    try:
        nasrin = Person(chromium, a, "en", shots)
        bahar = Person(chromium, b, "fa", shots)
        bahar.context.grant_permissions(["clipboard-read", "clipboard-write", "camera"])
        create_profile(nasrin)
        create_profile(bahar)
        nasrin.page.fill("#name", "Block 4 committee")
        nasrin.page.fill("#founder", "Nasrin")
        nasrin.submit("form[action='/councils']")
        home = nasrin.page.url.removeprefix(a.base)
        nasrin.goto(home + "/members")
        nasrin.submit(f"form[action='{home}/invite']")
        link = nasrin.page.input_value("#invitation-link")
        fragment = urlsplit(link).fragment
        assert nasrin.page.locator("button[data-share='invitation-link']").is_visible()

        # The link, opened on Bahar's node: the token in the form, not in the address bar.
        page = bahar.page
        page.set_viewport_size(PHONE)
        bahar.goto("/join#" + fragment)
        assert page.input_value("#invitation") == fragment
        assert "#" not in page.url
        # Through the passphrase page too (a locked profile keeps the link's fragment).
        bahar.goto("/councils")
        bahar.submit("form[action='/lock']")
        bahar.goto("/join#" + fragment)
        assert "/unlock" in page.url and "#" not in page.url
        page.fill("#passphrase", PASSPHRASE)
        bahar.submit("form[action^='/unlock']")
        assert urlsplit(page.url).path == "/join"
        assert page.input_value("#invitation") == fragment

        # The camera: the code of the link, read into the field.
        write_y4m(video, link)
        bahar.goto("/join")
        assert page.input_value("#invitation") == ""
        page.locator(".scan-start").click()
        page.wait_for_function(
            "() => document.querySelector('#invitation').value.startsWith('shora:invite/')",
            timeout=30_000,
        )
        assert page.input_value("#invitation") == fragment
        assert page.locator(".scan-video").is_hidden()  # the camera is off again
        bahar.screenshots("join-scanned")
        page.fill("#join-name", "Bahar")
        bahar.submit("form[action='/join']")
        assert "Block 4 committee" in page.content()
        assert bahar.axe() == []
        assert bahar.fits_a_phone()
        bahar.screenshots("join-waiting")
        page.set_viewport_size(PHONE)

        # Copy (or share) the join request's link; it opens Nasrin's admit page.
        button = page.locator("button[data-share='join-request-link']")
        button.click()
        request_link = page.input_value("#join-request-link")
        if not page.evaluate("() => typeof navigator.share === 'function'"):
            copied = page.evaluate("() => navigator.clipboard.readText()")
            assert copied == request_link
        nasrin.goto("/admit#" + urlsplit(request_link).fragment)
        assert nasrin.page.input_value("#request").startswith("shora:join/")
        nasrin.submit("form[action='/admit']")
        assert "Bahar is admitted." in words(nasrin.page.content())
        for person in (nasrin, bahar):
            assert person.csp_errors == []
            person.close()
    finally:
        a.stop()
        b.stop()
