"""Running the ``shora`` command line in tests.

`in_process` runs it in the test's own process through click's test runner: the same
entry point (`shora.cli.main.run`, which turns errors into one line and an exit code),
the same environment, working directory and empty, non-terminal stdin as a process
would get, and the result in the shape `subprocess.run` returns, so the same
assertions hold. It is the default: starting Python and importing the command line
took about a second a command on a loaded machine, and most tests prove nothing by it.

`as_process` starts a real ``python -m shora.cli.main``: for what only a process
shows (that the entry point starts, its exit code, a umask, a signal, a server).

Between in-process runs nothing is carried over: the language chosen is set in a
copy of the context, the command tree's help is put back into its msgids, and the
environment, working directory and struct cache are restored.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import struct
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from click.testing import CliRunner

from conftest import INSECURE_KDF_ENV as INSECURE_KDF_ENV  # the one definition
from shora.cli import main
from shora.cli.localise import localise_tree
from shora.i18n import using_language

# What the command line reads from the environment, set or cleared for every run.
_OWN = ("LANG", "LC_ALL", "LC_MESSAGES")


def base_env(*, insecure_kdf: bool = True) -> dict[str, str]:
    """The environment of a `shora` process in tests: English, and (unless told not to)
    the test-only fast key derivation, which it then warns about on stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHORA_") and k not in _OWN}
    env.update(LANG="C.UTF-8", PYTHONIOENCODING="utf-8")
    if insecure_kdf:
        env.update(INSECURE_KDF_ENV)
    return env


def in_process(
    args: Sequence[str],
    env: Mapping[str, str],
    cwd: Path | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`shora ARGS` run in this process with exactly the environment `env` (variables
    not in it are unset for the run), in `cwd`, with `input` (else nothing) on a stdin
    that is not a terminal."""
    changes: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    changes.update(env)
    runner = CliRunner(charset="utf-8")
    with contextlib.ExitStack() as stack:
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        out, err, _mixed = stack.enter_context(runner.isolation(input=input, env=changes))
        try:
            code = contextvars.copy_context().run(main.run, list(args))
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            stdout = _text(out.getvalue())
            stderr = _text(err.getvalue())
    # The next test (or run) starts from the msgids and a clean struct cache, whatever
    # language this run spoke and whatever segno packed (see conftest).
    with using_language("en"):
        localise_tree(main.cli)
    struct._clearcache()
    return subprocess.CompletedProcess(["shora", *args], code, stdout, stderr)


def _text(raw: bytes) -> str:
    """Output as `subprocess.run(text=True)` reads it: universal newlines."""
    return raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def as_process(
    args: Sequence[str],
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """`python -m shora.cli.main ARGS` as a real process, stdin from /dev/null."""
    return subprocess.run(
        [sys.executable, "-m", "shora.cli.main", *args],
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )
