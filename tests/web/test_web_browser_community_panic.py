"""The panic wipe on a real `shora community serve` process, in a real Chromium: a
phone's Esc three times destroys its own profile only, and `shora community panic
--all` from the operator's terminal ends the other phone's session at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from cli_run import base_env, in_process
from shora.services.community import Community
from web.test_web_browser_community import CommunityNode, Phone, chromium

__all__ = ["chromium"]

pytestmark = pytest.mark.slow


@pytest.fixture
def node(tmp_path: Path) -> Iterator[CommunityNode]:
    made = CommunityNode(tmp_path / "community", tmp_path / "home")
    try:
        yield made
    finally:
        made.stop()


def test_esc_three_times_and_panic_all_on_a_community_node(
    chromium: Browser, node: CommunityNode, tmp_path: Path
) -> None:
    root = tmp_path / "community"
    nasrin, bahram = Phone(chromium, node, "Nasrin"), Phone(chromium, node, "Bahram")
    try:
        nasrin.create_profile()
        bahram.create_profile()
        # His Panic page: accessible, fits the phone, asks once.
        bahram.goto("/panic")
        assert bahram.axe() == [] and bahram.fits()
        assert bahram.page.locator("button.danger").count() == 1
        # Esc three times on any page destroys his profile, and only his.
        bahram.goto("/councils")
        with bahram.page.expect_navigation():
            for _ in range(3):
                bahram.page.keyboard.press("Escape")
        assert [p.label for p in Community(root).people()] == ["Nasrin"]
        bahram.goto("/councils")
        assert bahram.path().startswith("/unlock")
        nasrin.goto("/councils")
        assert nasrin.path() == "/councils"
        # The operator wipes every profile: her next page is the unlock page.
        env = {**base_env(), "SHORA_HOME": str(tmp_path / "home")}
        wiped = in_process(["community", "panic", "--all", "--yes", "--dir", str(root)], env)
        assert wiped.returncode == 0, wiped.stderr
        nasrin.goto("/councils")
        assert nasrin.path().startswith("/unlock")
        assert Community(root).people() == []
        assert nasrin.csp_errors == [] and bahram.csp_errors == []
    finally:
        nasrin.close()
        bahram.close()
