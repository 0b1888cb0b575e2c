"""The test run's interpreter checks what `python -X dev -b` checks, in every process
that runs tests: scripts/test.sh starts its pytest-xdist workers with those flags, which
xdist's own `-n` would leave out (and bytes/str mix-ups would pass unseen)."""

from __future__ import annotations

import os
import sys

STRICT_ENV = "SHORA_STRICT_INTERPRETER"
"""Set by scripts/test.sh, which promises the flags; a plain `pytest` promises nothing."""


def test_the_workers_run_in_dev_mode_with_bytes_warnings() -> None:
    if os.environ.get(STRICT_ENV) != "1":
        return
    assert sys.flags.dev_mode, "started without -X dev"
    assert sys.flags.bytes_warning, "started without -b"
