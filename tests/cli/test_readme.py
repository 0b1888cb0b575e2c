"""The README works when followed literally: its own `sh` blocks, extracted from the
file, run in order as written, for three people on three profiles (Nasrin, Bahram,
Cyrus: a comment line naming one says whose device the next lines run on), in one
folder standing for the USB stick between them. Only the placeholders the README
names in capitals are replaced, by what the earlier commands printed. A block the
README marks "not run by tests/cli/test_readme.py" must say why, and only the set-up,
the test run, federation and the network are allowed that."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_cli import base_env

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PEOPLE = ("Nasrin", "Bahram", "Cyrus")
SKIP = re.compile(r"<!-- not run by tests/cli/test_readme\.py: (.+?) -->\s*$")
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
# What each placeholder stands for: the text an earlier command printed.
FOUND = {
    "SHORA-INVITATION-TEXT": re.compile(r"^[A-Z2-7]{5}(?:-[A-Z2-7]{1,5}){4,}$", re.M),
    "SHORA-JOIN-REQUEST": re.compile(r"^shora:join/\S+$", re.M),
    "PROPOSAL-ID": re.compile(r"\b([0-9a-f]{12})\b"),
    "NEED-ID": re.compile(r"\b([0-9a-f]{12})\b"),
}
MADE_BY = {
    "SHORA-INVITATION-TEXT": "invite",
    "SHORA-JOIN-REQUEST": "join",
    "PROPOSAL-ID": "propose",
    "NEED-ID": "need",
}


@dataclass
class Block:
    text: str
    skipped: str | None  # why, if the README says it is not run


@dataclass
class Run:
    folder: Path
    person: str = PEOPLE[0]
    printed: dict[str, str] = field(default_factory=dict)  # placeholder -> value
    outputs: list[tuple[str, str, str]] = field(default_factory=list)  # person, line, out

    def shora(self, line: str) -> str:
        args = shlex.split(line, comments=True)
        assert args[0] == "shora", line
        args = [self.printed.get(a, a) for a in args[1:]]
        missing = [a for a in args if a in FOUND]
        assert not missing, f"{missing} used before a command printed it: {line}"
        env = base_env()
        env.update(
            SHORA_HOME=str(self.folder / "homes" / self.person),
            SHORA_PASSPHRASE=f"the passphrase of {self.person}",
        )
        done = subprocess.run(
            [sys.executable, "-m", "shora.cli.main", *args],
            cwd=self.folder,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
        )
        assert done.returncode == 0, (self.person, line, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        self.outputs.append((self.person, line, done.stdout))
        for name, made_by in MADE_BY.items():
            if args and args[0] == made_by:
                found = FOUND[name].search(done.stdout)
                assert found is not None, (name, done.stdout)
                self.printed[name] = found.group(found.lastindex or 0)
        return done.stdout

    def follow(self, block: str) -> None:
        for raw in block.splitlines():
            line = raw.strip()
            if not line:
                continue
            if line.startswith("#"):
                named = [p for p in PEOPLE if re.search(rf"\b{p}\b", line)]
                if named:
                    self.person = named[-1] if "then" in line else named[0]
                continue
            self.shora(line)


def blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    found = []
    for match in BLOCK.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skipped = SKIP.search(before)
        found.append(Block(match.group(1), skipped.group(1) if skipped else None))
    return found


def test_the_readme_runs_as_written(tmp_path: Path) -> None:
    found = blocks()
    readme = README.read_text(encoding="utf-8")
    explained = readme.split("Words in capitals stand", 1)[1].split("\n\n", 1)[0]
    for name in FOUND:  # every placeholder substituted is one the README explains
        assert name in explained, name
    skipped = [b for b in found if b.skipped]
    assert [b.text.split()[0:2] for b in skipped] == [
        ["python3", "-m"],  # the set-up: install and serve
        ["bash", "scripts/test.sh"],  # install and test
        ["shora", "federation"],
        ["shora", "relays"],
    ]
    assert len(found) - len(skipped) >= 3
    run = Run(tmp_path)
    for block in found:
        if block.skipped is None:
            run.follow(block.text)
    said: dict[tuple[str, str], str] = {}
    for person, line, out in run.outputs:
        key = (person, line.split()[1])
        said[key] = said.get(key, "") + out
    # What the story promises, on the devices it says.
    assert "Council keys received" in said["Bahram", "bundle"]
    log = said["Bahram", "log"]
    assert "Water: At the mosque at 6" in log
    members = said["Bahram", "members"]
    assert re.search(r"Cyrus\s.*removed", members), members
    assert "recall" in said["Bahram", "recall"].lower()
    assert (tmp_path / "block4-needs.csv").read_text(encoding="utf-8").count("#") > 2
    assert (tmp_path / "invite.png").read_bytes()[:4] == b"\x89PNG"
