"""The command line speaks the same join links as the pages: `shora invite` prints the
link to the newcomer's join page (and writes its QR code); `shora join` takes it, shows
the council's name while waiting and prints the link to a member's admit page, which
`shora admit` takes."""

from __future__ import annotations

import re
from pathlib import Path

from test_cli import Profile


def test_a_link_each_way_on_the_command_line(tmp_path: Path) -> None:
    a, b = Profile(tmp_path, "nasrin"), Profile(tmp_path, "bahar")
    for person in (a, b):
        person.ok("init")
    a.ok("council", "create", "Block 4 committee", "--as", "Nasrin")
    made = a.json("invite", "Block 4 committee", "--qr", str(tmp_path / "invite.svg"))
    assert made["link"].startswith("http://127.0.0.1:8150/join#shora:invite/")
    assert made["link"].endswith("?council=Block%204%20committee")
    assert "http://127.0.0.1:8150/join#" in a.ok("invite", "Block 4 committee")
    out = b.ok("join", made["link"], "--as", "Bahar")
    admit = re.search(r"http://127\.0\.0\.1:8150/admit#shora:join/\S+", out)
    assert admit is not None
    assert "Block 4 committee" in b.ok("council", "list")  # the name, while waiting
    assert "Bahar is admitted" in a.ok("admit", admit.group(0))


def test_need_help_says_what_posting_one_takes(tmp_path: Path) -> None:
    shown = " ".join(Profile(tmp_path, "nasrin").ok("need", "--help").split())
    assert "Required to post" in shown and "required for the category medicine" in shown
    assert "required with --medicine" in shown
