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
    "shora.sync.relay_connection",
    "shora.web",
    "zeroconf",
    "segno",
    "babel",
    "starlette",
    "uvicorn",
    "websockets",
)
# What printing the help (or the version) needs none of either: the event codec's
# schemas, the crypto, the store, the process hardening (for a command only), shutil's
# archive modules (the terminal's width is read without it), the standard gettext's
# `locale` (click's words are made before the language is chosen) and pathlib.
NOT_FOR_HELP = (
    "msgspec",
    "typing_extensions",
    "nacl",
    "apsw",
    "ctypes",
    "shora.kernel",
    "shora.services",
    "shutil",
    "locale",
    "pathlib",
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
    "concurrent.futures",  # the ingest pool, started by the first batch of 64 envelopes
    "subprocess",  # and its checking processes, by an import of 2,048
    "queue",
    "logging",
    # Nor what a read leaves on disk since kinds are registered on first decode:
    "shora.domain.aid.kinds",  # the aid pipeline's schemas
    "shora.domain.care.kinds",
    "shora.domain.fund.kinds",
    "shora.domain.decisions.state",  # the counting, loaded by the first proposal
    "shora.services.governance",
    "shora.services.decisions",
    "coincurve",  # secp256k1: envelopes for relays only
    "platformdirs",  # the default data directory: --home is given
    "zstandard",
    "zoneinfo",
    "secrets",  # and random with it: only where a profile is made or its slots moved
    "random",
    "locale",  # click's words are made without the standard gettext
    "shutil",  # the help's terminal width
    # The hashes and the constant-time comparison are libsodium's, loaded for the key
    # derivation: not OpenSSL's libcrypto through hashlib or hmac. prctl is called
    # through `_ctypes`, without ctypes' family of types.
    "hashlib",
    "_hashlib",
    "hmac",
    "ctypes",
    # msgspec is imported without it (its fallbacks are typing's own on Python 3.11+).
    "typing_extensions",
)


# Run after a command: no module of ours it loaded defines a dataclass (the records it
# reads are msgspec Structs: a dataclass's methods are compiled from source when its
# module is imported, about a millisecond each, twenty of them a seventh of a start-up).
NO_DATACLASS = (
    "import inspect\n"
    "made = [f'{name}.{attr}' for name, module in list(sys.modules.items())"
    " if name.startswith('shora') for attr, value in vars(module).items()"
    " if inspect.isclass(value) and value.__module__ == name"
    " and '__dataclass_fields__' in vars(value)]\n"
    "assert not made, made"
)


def _profile(tmp_path: Path) -> tuple[dict[str, str], str]:
    """A profile with a council and a post, and the environment that opens it."""
    env = {**os.environ, **base_env(), "SHORA_PASSPHRASE": "a passphrase", "SHORA_LANG": "en"}
    home = str(tmp_path / "home")
    made = (["init"], ["council", "create", "Block 4", "--as", "Nasrin"], ["post", "Block 4", "Hi"])
    for args in made:
        subprocess.run(
            [sys.executable, "-m", "shora.cli.main", "--home", home, *args],
            capture_output=True,
            check=True,
            env=env,
        )
    return env, home


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
    assert not loaded & set(NOT_FOR_HELP)
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
    assert not _loaded_after(code) & (set(HEAVY) | set(NOT_FOR_HELP))


def test_the_help_in_persian_loads_nothing_more() -> None:
    code = (
        "from shora.cli.main import run\n"
        "import contextlib, io\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out): code = run(['--lang', 'fa', '--help'])\n"
        "assert code == 0 and 'شورا' in out.getvalue(), out.getvalue()"
    )
    assert not _loaded_after(code) & (set(HEAVY) | set(NOT_FOR_HELP))


def test_the_entry_point_hardens_the_process_before_a_command_runs(tmp_path: Path) -> None:
    """Hardening moved from the first line of main() to just before a command: what
    runs before it parses arguments and prints help, and holds no key."""
    env, home = _profile(tmp_path)
    code = (
        "import contextlib, io\n"
        "from shora.cli import main\n"
        "from shora.kernel import memory\n"
        f"sys.argv = ['shora', '--home', {home!r}, 'members', 'Block 4']\n"
        "assert memory.is_dumpable()\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main.main()\n"
        "import resource\n"
        "assert resource.getrlimit(resource.RLIMIT_CORE) == (0, 0)\n"
        "assert not memory.is_dumpable() or not sys.platform.startswith('linux')"
    )
    _loaded_after(code, env=env)


def test_a_read_command_loads_neither_the_sync_engine_nor_the_tallies(tmp_path: Path) -> None:
    """`shora members` and `shora log` open the profile and read; the rest stays on disk."""
    env, home = _profile(tmp_path)
    code = (
        "from shora.cli.main import run\n"
        "import contextlib, io\n"
        "out = io.StringIO()\n"
        f"with contextlib.redirect_stdout(out): code = run(['--home', {home!r}, 'members', "
        "'Block 4'])\n"
        "assert code == 0 and 'Nasrin' in out.getvalue(), out.getvalue()\n"
        f"with contextlib.redirect_stdout(out): code = run(['--home', {home!r}, 'log', "
        "'Block 4'])\n"
        "assert code == 0 and 'Hi' in out.getvalue(), out.getvalue()\n" + NO_DATACLASS
    )
    loaded = _loaded_after(code, env=env)
    assert "shora.node" in loaded
    assert not loaded & (set(HEAVY) - {"shora.node"})
    assert not loaded & set(NOT_FOR_READING)
    assert not {m for m in loaded if m.startswith("nacl.") and "bindings" not in m} - {
        "nacl._sodium",
        "nacl.exceptions",
        "nacl.encoding",
        "nacl.pwhash",
        "nacl.pwhash._argon2",
        "nacl.pwhash.argon2i",
        "nacl.pwhash.argon2id",
        "nacl.pwhash.scrypt",
        "nacl.utils",
    }


def test_reading_a_capability_makes_no_dataclass(tmp_path: Path) -> None:
    """The lists of needs, proposals, stocks and people read records made as Structs: a
    dataclass costs about a millisecond at import (the tallies and the governance views,
    serialised through `plain`, stay dataclasses and are not loaded by these)."""
    env, home = _profile(tmp_path)
    reads = (
        ["need", "Block 4", "--list"],
        ["result", "Block 4"],
        ["task", "list", "Block 4"],
        ["stock", "list", "Block 4"],
        ["missing", "list", "Block 4"],
        ["deadman", "status", "Block 4"],
    )
    code = "from shora.cli.main import run\nimport contextlib, io\nout = io.StringIO()\n" + "".join(
        f"with contextlib.redirect_stdout(out): assert run(['--home', {home!r}, *{args!r}]) == 0\n"
        for args in reads
    )
    _loaded_after(code + NO_DATACLASS, env=env)


def test_listing_peers_and_relays_loads_no_sync_engine_nor_other_services(tmp_path: Path) -> None:
    """`shora peers` and `shora relays list` read the peer book: the network service is
    built, and the housekeeping it holds, but none of the services its chores call."""
    env, home = _profile(tmp_path)
    code = (
        "from shora.cli.main import run\n"
        "import contextlib, io\n"
        "out = io.StringIO()\n"
        f"with contextlib.redirect_stdout(out): code = run(['--home', {home!r}, 'peers'])\n"
        "assert code == 0 and 'No peers yet' in out.getvalue(), out.getvalue()\n"
        f"with contextlib.redirect_stdout(out): code = run(['--home', {home!r}, 'relays', "
        "'list'])\n"
        "assert code == 0, out.getvalue()"
    )
    loaded = _loaded_after(code, env=env)
    assert "shora.services.network" in loaded
    assert not loaded & (set(HEAVY) - {"shora.node", "shora.web"})
    assert not loaded & {"shora.services.locking", "shora.sync.transport", "python_socks"}
    services = {m for m in loaded if m.startswith("shora.services.")}
    assert services == {
        "shora.services.councils",
        "shora.services.housekeeping",
        "shora.services.network",
        "shora.services.profiles",
    }


def test_msgspec_is_loaded_without_typing_extensions_which_stays_importable() -> None:
    code = (
        "import shora.kernel, msgspec\n"
        "assert 'typing_extensions' not in sys.modules\n"
        "class Body(msgspec.Struct):\n"
        "    n: 'int'\n"
        "assert msgspec.json.decode(b'{\"n\": 1}', type=Body) == Body(1)\n"
        "import typing_extensions\n"
        "assert typing_extensions.get_type_hints is not None"
    )
    loaded = _loaded_after(code)
    assert {"msgspec", "typing_extensions"} <= loaded
