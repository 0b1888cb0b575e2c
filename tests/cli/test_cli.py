"""The ``shora`` command line through the whole story.

Three people (Nasrin, Bahram, Cyrus) each have a profile. Nasrin founds a council,
invites the others, bundles carry events between them; Cyrus is removed by two
vouches and cannot read what is written after; Bahram leaves. Then the failures:
wrong passphrase, unknown council, missing profile, a damaged bundle.

Commands run in this process through click's test runner (`cli_run.in_process`);
the story runs once more as real processes (marked slow), and a few tests start a
real process for what only one shows: the entry point, its exit codes, no terminal.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest

from cli_run import INSECURE_KDF_ENV as INSECURE_KDF_ENV  # for the other command line tests
from cli_run import as_process, base_env, in_process
from shora.cli import main
from shora.cli.main import cli
from shora.i18n import SUPPORTED, _, using_language

PERSIAN_DIGITS = set("۰۱۲۳۴۵۶۷۸۹")
COUNCIL = "Block 4 committee"


INSECURE_KDF_WARNING = "WARNING: insecure test key derivation is on"


def _in_every_language(message: str) -> frozenset[str]:
    found = set()
    for lang in SUPPORTED:
        with using_language(lang):
            found.add(_(message))
    return frozenset(found)


INSECURE_KDF_WARNINGS = _in_every_language(main.INSECURE_KDF_WARNING)


def error_lines(stderr: str) -> list[str]:
    """What a command wrote on stderr, less the test key derivation's warning."""
    return [line for line in stderr.strip().splitlines() if line not in INSECURE_KDF_WARNINGS]


class Profile:
    """One person's profile, driven through the real command line."""

    def __init__(
        self, root: Path, name: str, passphrase: str | None = None, *, process: bool = False
    ) -> None:
        self.root = root
        self.home = root / name
        self.passphrase = passphrase or f"passphrase-of-{name}"
        self.process = process  # a real `shora` process for each command, else in this one

    def run(self, *args: str, passphrase: str | None = None) -> subprocess.CompletedProcess[str]:
        env = base_env()
        env["SHORA_HOME"] = str(self.home)
        env["SHORA_PASSPHRASE"] = passphrase if passphrase is not None else self.passphrase
        if self.process:
            return as_process(args, env, cwd=self.root)
        return in_process(args, env, cwd=self.root)

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def fails(self, *args: str, code: int = 1, passphrase: str | None = None) -> str:
        """Run a command that must fail: one line on stderr, no traceback; return the line."""
        result = self.run(*args, passphrase=passphrase)
        assert result.returncode == code, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        lines = error_lines(result.stderr)
        assert len(lines) == 1, result.stderr
        return lines[0]


def sync(src: Profile, dst: Profile, council: str | None = None) -> str:
    """Carry src's events to dst in a bundle file; return what dst's import said."""
    path = src.root / f"{src.home.name}-to-{dst.home.name}.bundle"
    extra = ("--council", council) if council else ()
    out = src.ok("bundle", "export", *extra, "-o", str(path))
    assert "written to" in out
    return dst.ok("bundle", "import", str(path))


def bring_in(inviter: Profile, newcomer: Profile, name: str) -> None:
    qr = inviter.root / f"invite-{name}.svg"
    invitation = inviter.json("invite", COUNCIL, "--expires-days", "۳", "--qr", str(qr))
    assert invitation["uri"].startswith("shora:invite/")
    assert invitation["text"].count("-") > 3
    assert qr.read_text(encoding="utf-8").lstrip().startswith("<svg")
    request = newcomer.root / f"{name}.request"
    out = newcomer.ok("join", invitation["text"], "--as", name, "-o", str(request))
    assert "shora admit" in out
    assert request.read_text(encoding="utf-8").startswith("shora:join/")
    result = inviter.json("admit", f"@{request}")
    assert result == {
        "council": invitation["council"],
        "name": name,
        "admitted": True,
        "supporters": 1,
        "needed": 1,
    }
    out = sync(inviter, newcomer, COUNCIL)
    assert "Council keys received" in out


@pytest.fixture(params=["in_process", pytest.param("process", marks=pytest.mark.slow)])
def people(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Profile, Profile, Profile]:
    """Three profiles; the story runs in this process, and (slow) as real processes."""
    process = request.param == "process"
    a, b, c = (Profile(tmp_path, n, process=process) for n in ("nasrin", "bahram", "cyrus"))
    for p in (a, b, c):
        result = p.run("init")
        assert result.returncode == 0, result.stderr
        assert INSECURE_KDF_WARNING in result.stderr
        assert str(p.home) in result.stdout and "shora council create" in result.stdout
    return a, b, c


def test_the_whole_story(people: tuple[Profile, Profile, Profile]) -> None:
    a, b, c = people
    created = a.json("council", "create", COUNCIL, "--as", "Nasrin", "--description", "our block")
    assert created["name"] == COUNCIL and created["members"] == 1
    assert created["rules"]["removal_vouches"] == 2
    council_id = created["id"]

    # Bahram joins, sees the council and writes; Nasrin reads it.
    bring_in(a, b, "Bahram")
    [seen] = b.json("council", "list")
    assert (seen["id"], seen["status"], seen["members"]) == (council_id, "member", 2)
    assert "Message posted" in b.ok("post", COUNCIL, "hello from Bahram")
    sync(b, a)
    log = a.ok("log", council_id[:8])
    assert "hello from Bahram" in log and "Bahram" in log and "message" in log

    # Cyrus joins the same way; Bahram learns of him.
    bring_in(a, c, "Cyrus")
    sync(a, b)
    assert {m["name"] for m in b.json("members", COUNCIL)} == {"Nasrin", "Bahram", "Cyrus"}

    # Removing Cyrus takes two vouches.
    out = a.ok("remove", COUNCIL, "Cyrus", "--reason", "informer")
    assert "1 of the 2 members" in out
    sync(a, b)
    out = b.ok("remove", COUNCIL, "Cyrus")
    assert "Cyrus is removed" in out
    sync(b, a)
    sync(b, c)
    assert c.json("council", "show", COUNCIL)["status"] == "removed"
    statuses = {m["name"]: m["status"] for m in a.json("members", COUNCIL)}
    assert statuses == {"Nasrin": "active", "Bahram": "active", "Cyrus": "removed"}

    # What is written after the removal does not reach Cyrus.
    a.ok("post", COUNCIL, "secret after removal", "--title", "Meeting")
    out = sync(a, c)
    assert "Accepted: 0 events" in out and "does not hold" in out  # held, or refused
    log = c.ok("log", COUNCIL)
    assert "hello from Bahram" in log
    assert "secret after removal" not in log
    assert all("secret" not in e["summary"] for e in c.json("log", COUNCIL))
    assert "secret after removal" in a.ok("log", COUNCIL, "--limit", "۵")
    assert c.json("council", "show", COUNCIL)["status"] == "removed"
    # the removal's grant names whom the new key went to, from its 8-byte tags
    grants = [e["summary"] for e in a.json("log", COUNCIL) if e["kind"] == "epoch.grant"]
    assert grants and sorted(grants[0].split(", ")) == ["Bahram", "Nasrin"]

    # Bahram leaves; Nasrin's import replaces the council's key.
    assert "You have left" in b.ok("leave", COUNCIL, "--reason", "moving away")
    assert b.json("council", "show", COUNCIL)["status"] == "left"
    out = sync(b, a)
    assert "keys were brought up to date" in out
    statuses = {m["name"]: m["status"] for m in a.json("members", COUNCIL)}
    assert statuses == {"Nasrin": "active", "Bahram": "left", "Cyrus": "removed"}

    # Paging through the log.
    first, second = a.json("log", COUNCIL, "--limit", "3"), a.json("log", COUNCIL, "--offset", "3")
    assert len(first) == 3 and first[0]["clock"] >= second[0]["clock"]
    assert {e["id"] for e in first}.isdisjoint(e["id"] for e in second)


def test_a_second_vouch_is_needed_to_admit_under_vouch_rules(tmp_path: Path) -> None:
    a, b = Profile(tmp_path, "a"), Profile(tmp_path, "b")
    for p in (a, b):
        p.ok("init")
    a.ok("council", "create", COUNCIL, "--as", "A", "--admission", "vouches")
    rules = a.json("council", "show", COUNCIL)["rules"]
    assert rules["admission"] == "vouches" and rules["admission_vouches"] == 2
    # With one member, two vouches are more than there are members: one admits.
    invitation = a.json("invite", COUNCIL)
    request = b.json("join", invitation["uri"], "--as", "B")["request"]
    out = a.ok("admit", request)
    assert "B is admitted" in out and "bundle export" in out


def test_rename_and_post_in_a_thread(tmp_path: Path) -> None:
    a = Profile(tmp_path, "a")
    a.ok("init")
    a.ok("council", "create", COUNCIL, "--as", "A")
    assert "updated" in a.ok("council", "rename", COUNCIL, "--name", "Block 5")
    assert a.json("council", "show", "Block 5")["name"] == "Block 5"
    a.ok("post", "Block 5", "first")
    [first] = [e for e in a.json("log", "Block 5") if e["kind"] == "post.message"]
    a.ok("post", "Block 5", "a reply", "--thread", first["id"][:12])
    assert "a reply" in a.ok("log", "Block 5")
    assert a.fails("council", "rename", "Block 5", code=2).startswith("Error: ")


def test_persian_output_has_persian_words_and_digits(tmp_path: Path) -> None:
    a = Profile(tmp_path, "a")
    a.ok("init")
    a.ok("council", "create", "کميته", "--as", "نسرين")  # Arabic ي is stored as Persian ی
    out = a.ok("--lang", "fa", "council", "list")
    assert "کمیته" in out and "عضو" in out
    assert PERSIAN_DIGITS & set(out)
    assert "۱" in out.splitlines()[1]
    show = a.ok("--lang", "fa", "council", "show", "کمیته")
    assert "قواعد" in show and "ضمانت" in show
    assert "۲" in show  # two vouches to remove
    help_text = a.ok("--lang", "fa", "council", "create", "--help")
    assert "گزینه‌ها" in help_text and "کاربرد:" in help_text
    line = a.fails("--lang", "fa", "council", "show", "هیچ")
    assert line.startswith("خطا")
    assert "شورایی" in line and "no council" not in line  # the node's refusal, in Persian


def command_paths(command: click.Command, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    if isinstance(command, click.Group):
        with click.Context(command) as ctx:  # the top group imports its commands lazily
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                paths += command_paths(sub, (*prefix, name))
    return paths


def test_home_and_passphrase_file_options_replace_the_environment(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("from-a-file-passphrase\n", encoding="utf-8")
    home = tmp_path / "elsewhere"

    def shora(*args: str) -> subprocess.CompletedProcess[str]:
        # no SHORA_HOME, no SHORA_PASSPHRASE
        return in_process(["--home", str(home), *args], base_env(), cwd=tmp_path)

    assert shora("--passphrase-file", str(secret), "init").returncode == 0
    assert (home / "keystore").exists()
    result = shora("--passphrase-file", str(secret), "council", "list", "--json")
    assert result.returncode == 0 and json.loads(result.stdout) == []
    result = shora("council", "list")  # nothing to read the passphrase from, and no terminal
    assert result.returncode == 1 and "--passphrase-file" in result.stderr


def test_help_works_for_every_command(tmp_path: Path) -> None:
    paths = command_paths(cli)
    assert len(paths) >= 18
    env = {**base_env(insecure_kdf=False), "SHORA_HOME": str(tmp_path / "none")}
    for path in paths:
        result = in_process([*path, "--help"], env, cwd=tmp_path)
        assert result.returncode == 0, (path, result.stderr)
        assert result.stdout.startswith("Usage: shora"), (path, result.stdout)
        assert "Options:" in result.stdout and not result.stderr
    assert not (tmp_path / "none").exists()  # --help opens no profile


def test_the_entry_point_runs_as_a_process_with_its_exit_codes(tmp_path: Path) -> None:
    """`python -m shora.cli.main` starts, prints its help, and exits 0, 1 or 2 as the
    error calls for, asking nothing when stdin is not a terminal."""
    env = {**base_env(insecure_kdf=False), "SHORA_HOME": str(tmp_path / "home")}
    shown = as_process(["--help"], env, cwd=tmp_path)
    assert shown.returncode == 0 and not shown.stderr
    assert shown.stdout.startswith("Usage: shora") and "council" in shown.stdout
    usage = as_process(["council", "show"], env, cwd=tmp_path)
    assert usage.returncode == 2 and "COUNCIL" in usage.stderr and not usage.stdout
    made = as_process(["init"], env, cwd=tmp_path)  # no passphrase, and no terminal to ask
    assert made.returncode == 1 and "--passphrase-file" in made.stderr
    assert "Traceback" not in usage.stderr + made.stderr
    assert not (tmp_path / "home").exists()


def test_errors_are_one_line_with_the_right_exit_code(tmp_path: Path) -> None:
    a = Profile(tmp_path, "a")
    assert "shora init" in a.fails("council", "list")  # no profile yet
    a.ok("init")
    assert "already exists" in a.fails("init")
    a.ok("council", "create", COUNCIL, "--as", "A")

    line = a.fails("council", "list", passphrase="not-the-passphrase")
    assert "wrong passphrase" in line
    assert "not found" in a.fails("council", "show", "no such council")
    assert "not found" in a.fails("remove", COUNCIL, "nobody")
    assert "invalid input" in a.fails("join", "ABCDE-FGHIJ", "--as", "X")
    assert "invalid input" in a.fails("admit", "shora:join/AAAA")
    assert "SHORA_PASSPHRASE" in a.fails("council", "list", passphrase="")

    # Usage errors: exit 2, still one line.
    assert "COUNCIL" in a.fails("council", "show", code=2)
    assert "--as NAME" in a.fails("council", "create", "X", code=2)
    assert "--nope" in a.fails("council", "list", "--nope", code=2)
    assert "whole number" in a.fails("log", COUNCIL, "--limit", "many", code=2)
    assert ".png or .svg" in a.fails("invite", COUNCIL, "--qr", "x.gif", code=2)
    assert a.fails("bundle", "import", "missing.bundle", code=2).startswith("Error: ")


def test_a_damaged_bundle_imports_what_it_can_and_the_store_still_works(tmp_path: Path) -> None:
    a, b = Profile(tmp_path, "a"), Profile(tmp_path, "b")
    for p in (a, b):
        p.ok("init")
    a.ok("council", "create", COUNCIL, "--as", "A")
    bring_in(a, b, "B")
    for i in range(6):  # incompressible text, so half the file holds only some of them
        a.ok("post", COUNCIL, f"notice number {i} " + os.urandom(1500).hex())
    full = tmp_path / "full.bundle"
    a.ok("bundle", "export", "--council", COUNCIL, "--since", "2020-01-01", "-o", str(full))
    data = full.read_bytes()
    damaged = tmp_path / "damaged.bundle"
    damaged.write_bytes(data[: len(data) // 2])

    result = b.run("bundle", "import", str(damaged))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Accepted:" in result.stdout
    assert "damaged bundle" in result.stderr.strip().splitlines()[-1]

    summary = b.json("bundle", "import", str(full))
    assert summary["damage"] is None and summary["refused"] == {}
    assert summary["accepted"] >= 1 and summary["accepted"] + summary["duplicate"] >= 6
    assert "notice number 5" in b.ok("log", COUNCIL)
    assert b.json("council", "show", COUNCIL)["status"] == "member"

    not_a_bundle = tmp_path / "text.bundle"
    not_a_bundle.write_text("hello", encoding="utf-8")
    assert "damaged bundle" in b.fails("bundle", "import", str(not_a_bundle))


def test_a_courier_carries_only_the_difference(tmp_path: Path) -> None:
    a, b = Profile(tmp_path, "nasrin"), Profile(tmp_path, "bahram")
    for p in (a, b):
        p.ok("init")
    a.ok("council", "create", COUNCIL, "--as", "Nasrin")
    bring_in(a, b, "Bahram")
    a.ok("post", COUNCIL, "after the first bundle")
    summary = tmp_path / "bahram.summary"
    assert "Summary written" in b.ok("bundle", "summary", "-o", str(summary))
    diff = tmp_path / "difference.bundle"
    a.ok("bundle", "export", "--for", str(summary), "-o", str(diff))
    out = b.ok("bundle", "import", str(diff))
    assert "after the first bundle" in b.ok("log", COUNCIL)
    assert "Refused" not in out
    b.fails("bundle", "export", "--for", str(diff), "-o", str(tmp_path / "x"))


def test_serve_on_a_fresh_home_without_a_terminal_says_what_to_do(tmp_path: Path) -> None:
    line = Profile(tmp_path, "nobody").fails("serve", "--no-web")
    assert "no profile" in line and "shora init" in line
