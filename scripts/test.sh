#!/usr/bin/env bash
# Install everything the tests need into .venv, then run every check the project claims:
# ruff (lint and format), mypy --strict on src/, the catalogues, and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"

# Debian's Chromium for the browser tests (Playwright drives it with its bundled driver;
# it never downloads a browser of its own).
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null >/dev/null
  apt-get install -y -qq chromium </dev/null >/dev/null
fi

# An independent JavaScript Negentropy implementation for the interoperability tests,
# and axe-core, which the browser tests run inside the pages (WCAG AA checks).
if command -v npm >/dev/null 2>&1; then
  if [ ! -f .cache/node/node_modules/nostr-tools/package.json ]; then
    npm install --silent --no-audit --no-fund --prefix .cache/node nostr-tools@2.25.2 >/dev/null
  fi
  if [ ! -f .cache/node/node_modules/axe-core/axe.min.js ]; then
    npm install --silent --no-audit --no-fund --prefix .cache/node axe-core@4.14.1 >/dev/null
  fi
  export SHORA_NOSTR_TOOLS="$PWD/.cache/node/node_modules/nostr-tools"
  export SHORA_AXE_CORE="$PWD/.cache/node/node_modules/axe-core/axe.min.js"
fi

echo "== ruff"
.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/ruff format --check src tests benchmarks scripts
echo "== mypy --strict"
.venv/bin/mypy
echo "== catalogues"
.venv/bin/python scripts/update_catalogues.py --check
echo "== tests"
# Every test, the slow ones too (a plain `pytest` leaves them out: see pyproject.toml), in
# one worker process per core (pytest-xdist; SHORA_TEST_WORKERS=N sets how many). Each
# worker is started with -X dev -b like the run itself: xdist's own -n would start plain
# interpreters, and bytes/str mix-ups would no longer fail the tests. The workers take one
# test at a time, the slow ones first (tests/conftest.py), so that no worker is left with
# a queue of browser walks while the other has finished.
export SHORA_STRICT_INTERPRETER=1  # tests/test_interpreter_flags.py checks the workers
WORKERS=${SHORA_TEST_WORKERS:-$(nproc 2>/dev/null || echo 2)}
.venv/bin/python -X dev -b -m pytest -m "slow or not slow" \
  --dist load --maxschedchunk 1 --tx "${WORKERS}*popen//python=$PWD/.venv/bin/python -X dev -b" "$@"
