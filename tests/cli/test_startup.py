"""Commands start fast: the command line imports only what the command it runs needs."""

from __future__ import annotations

import subprocess
import sys

import click

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


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


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
    # Babel reads the language's catalogue to print the help in it; nothing else heavy.
    assert not loaded & (set(HEAVY) - {"babel"})
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
