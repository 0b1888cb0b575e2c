"""Getting back in on the command line: a member wipes their profile, makes a new one,
asks for their place with an invitation from another member, and two members vouch
(one in Persian); the new profile holds the same name and role."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_cli import COUNCIL, Profile, bring_in, sync


@pytest.mark.parametrize("process", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_a_wiped_member_recovers_on_the_command_line(tmp_path: Path, process: bool) -> None:
    """In this process, and (slow) as real `shora` processes, as people run it."""
    a, b, c = (Profile(tmp_path, n, process=process) for n in ("nasrin", "bahram", "cyrus"))
    for p in (a, b, c):
        p.ok("init")
    a.ok("council", "create", COUNCIL, "--as", "Nasrin")
    bring_in(a, b, "Bahram")
    bring_in(a, c, "Cyrus")
    sync(a, b, COUNCIL)
    sync(a, c, COUNCIL)
    old = next(m for m in a.json("members", COUNCIL) if m["name"] == "Nasrin")["key"]
    shutil.rmtree(a.home)  # the device is wiped

    fresh = Profile(tmp_path, "nasrin-again", process=process)
    fresh.ok("init")
    invitation = b.json("invite", COUNCIL)["link"]
    path = tmp_path / "recovery.txt"
    out = fresh.ok("recover", invitation, "--as", "nasrin", "-o", str(path))
    assert "shora vouch-recovery" in out
    request = path.read_text(encoding="utf-8").strip()
    assert request.startswith("shora:recover/")
    assert COUNCIL in fresh.ok("council", "list")  # the name, while waiting
    # Before anything is written, the voucher is shown who asks to replace whom.
    first = b.ok("vouch-recovery", request, "--yes")
    assert "take the place of" in first and "Nasrin" in first
    assert "coordinator" in first and "Vouch only if you know" in first
    assert "1 of the 2 members needed" in first
    sync(b, c, COUNCIL)
    second = c.ok("--lang", "fa", "vouch-recovery", f"@{path}", "--yes")
    assert "جایگاه" in second and "ضمانت" in second and "کلید قدیمی" in second
    sync(c, fresh, COUNCIL)
    sync(c, b, COUNCIL)
    for person in (fresh, b):
        listed = person.json("members", COUNCIL)
        people = {m["name"]: m for m in listed if m["status"] == "active"}
        assert {m["status"] for m in listed if m["key"] == old} == {"recovered"}
        assert people["Nasrin"]["roles"] == ["coordinator"]
        assert people["Nasrin"]["key"] != old
    fresh.ok("post", COUNCIL, "I am back")
    # A request for a member who is not there is refused in one line, in Persian too.
    other = Profile(tmp_path, "stranger", process=process)
    other.ok("init")
    strange = other.json("recover", b.json("invite", COUNCIL)["link"], "--as", "Nobody")
    line = b.fails("--lang", "fa", "vouch-recovery", strange["request"], "--yes")
    assert "هیچ عضو فعالی" in line


def test_a_key_backup_on_the_command_line(tmp_path: Path) -> None:
    """Nasrin leaves a backup with Bahram and Cyrus (both needed), loses her phone, and
    takes her own key back on a new profile with their two shares and her passphrase."""
    a, b, c = (Profile(tmp_path, n) for n in ("nasrin", "bahram", "cyrus"))
    for p in (a, b, c):
        p.ok("init")
    a.ok("council", "create", COUNCIL, "--as", "Nasrin")
    bring_in(a, b, "Bahram")
    bring_in(a, c, "Cyrus")
    out = a.ok("backup", COUNCIL, "--to", "Bahram", "--to", "Cyrus", "--needed", "2")
    assert "any 2 of them" in out and "shora recover" in out
    sync(a, b, COUNCIL)
    sync(a, c, COUNCIL)
    old = next(m for m in a.json("members", COUNCIL) if m["name"] == "Nasrin")["key"]
    passphrase = tmp_path / "old-passphrase"
    passphrase.write_text(a.passphrase + "\n", encoding="utf-8")
    shutil.rmtree(a.home)

    fresh = Profile(tmp_path, "nasrin-again")
    fresh.ok("init")
    request = fresh.json("recover", b.json("invite", COUNCIL)["link"], "--as", "Nasrin")["request"]
    shares = []
    for member in (b, c):
        path = tmp_path / f"{member.home.name}.share"
        out = member.ok("--lang", "fa", "release-share", request, "-o", str(path), "--yes")
        assert "سهم" in out
        shares.append(f"@{path}")
    line = fresh.fails("restore", shares[0], "--backup-passphrase-file", str(passphrase))
    assert "1 of the 2 shares" in line
    out = fresh.ok("restore", *shares, "--backup-passphrase-file", str(passphrase))
    assert "keys in" in out and "are back" in out
    sync(b, fresh, COUNCIL)
    me = [m for m in fresh.json("members", COUNCIL) if m["me"]]
    assert [m["key"] for m in me] == [old]
    fresh.ok("post", COUNCIL, "back with my own key")
