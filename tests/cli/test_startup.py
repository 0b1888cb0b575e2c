"""Commands start fast: the command line imports only what the command it runs needs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from cli_run import base_env
from shora.cli import main
from shora.cli.localise import localise_tree
from shora.i18n import using_language

HEAVY = (
    "shora.node",
    "shora.sync.runner",
    "shora.sync.relay",
    "shora.web",
    "zeroconf",
    "segno",
    "babel",
    "starlette",
    "uvicorn",
    "websockets",
)
# What a command that only reads needs neither: the counting of votes, the aid pipeline,
# the federation's flows, bundles, the sync engine's transport and Negentropy.
NOT_FOR_READING = (
    "shora.domain.decisions.tally",
    "shora.services.aid",
    "shora.services.federation_flow",
    "shora.services.bundles",
    "shora.sync.transport",
    "shora.sync.runner",
    "shora.sync.negentropy",
    "asyncio",
)


def _loaded_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    ).stdout
    return set(out.splitlines()[-1].split())


def test_importing_the_command_line_loads_no_heavy_module() -> None:
    loaded = _loaded_after("import shora.cli.main")
    assert "shora.cli.main" in loaded
    assert not loaded & set(HEAVY)


def test_the_help_listing_imports_no_command_module() -> None:
    code = (
        "from shora.cli.main import run\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()): run(['--lang', 'en', '--help'])"
    )
    loaded = _loaded_after(code)
    assert "shora.cli.main" in loaded
    assert not loaded & set(HEAVY)  # the catalogue is read without Babel too
    assert not {m for m in loaded if m.startswith("shora.cli.") and m != "shora.cli.main"} - {
        "shora.cli.localise"
    }


def test_the_lazy_table_matches_every_command() -> None:
    """Each listed command exists where the table says, under that name, with that help."""
    group = main.cli
    assert isinstance(group, click.Group)
    with using_language("en"), click.Context(group) as ctx:
        for name, (_module, _attr, help_text) in main.COMMANDS.items():
            command = group.get_command(ctx, name)
            assert command is not None and command.name == name
            localise_tree(command)  # back to the msgids, whatever ran before
            assert command.help == help_text, name
        assert len(group.list_commands(ctx)) == len(main.COMMANDS) + 1  # and init


def test_the_help_lists_every_command_with_its_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "shora.cli.main", "--lang", "en", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    listed = " ".join(out.split("Commands:")[1].split())
    assert " init Create a profile" in f" {listed}"
    for name, (_module, _attr, help_text) in main.COMMANDS.items():
        assert f" {name} " in f" {listed}", name
        assert f" {name} {' '.join(help_text.split()[:2])}" in f" {listed}", name


def test_the_version_is_printed_without_loading_anything_heavy() -> None:
    import shora

    code = (
        "from shora.cli.main import run\n"
        "import contextlib, io\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out): code = run(['--version'])\n"
        f"assert code == 0 and out.getvalue() == 'shora {shora.__version__}\\n', out.getvalue()"
    )
    assert not _loaded_after(code) & set(HEAVY)


def test_a_read_command_loads_neither_the_sync_engine_nor_the_tallies(tmp_path: Path) -> None:
    """`shora members` opens the profile and reads; the rest stays on disk."""
    env = {**os.environ, **base_env(), "SHORA_PASSPHRASE": "a passphrase", "SHORA_LANG": "en"}
    home = str(tmp_path / "home")
    for args in (["init"], ["council", "create", "Block 4", "--as", "Nasrin"]):
        subprocess.run(
            [sys.executable, "-m", "shora.cli.main", "--home", home, *args],
            capture_output=True,
            check=True,
            env=env,
        )
    code = (
        "from shora.cli.main import run\n"
        "import contextlib, io\n"
        "out = io.StringIO()\n"
        f"with contextlib.redirect_stdout(out): code = run(['--home', {home!r}, 'members', "
        "'Block 4'])\n"
        "assert code == 0 and 'Nasrin' in out.getvalue(), out.getvalue()"
    )
    loaded = _loaded_after(code, env=env)
    assert "shora.node" in loaded
    assert not loaded & (set(HEAVY) - {"shora.node"})
    assert not loaded & set(NOT_FOR_READING)
