#!/bin/sh
# Install Shora on Android under Termux, for `shora community serve` (docs/termux.md).
# Every dependency is built from source with clang, except cryptography (Rust), which
# comes prebuilt from Termux's own repository. Run from the repository's root.
set -eu

if [ -z "${PREFIX:-}" ] || [ ! -d "$PREFIX/bin" ] || ! command -v pkg >/dev/null 2>&1; then
  echo "This script is for Termux on Android (pkg not found)." >&2
  exit 1
fi

# The compiler and the C libraries the extensions link to; cryptography prebuilt.
pkg install -y python clang make cmake ninja pkg-config libffi libsodium openssl \
  python-cryptography

# Build against the system's libsodium instead of compiling the bundled copy.
export SODIUM_INSTALL=system
# zeroconf: the pure Python build (no Cython needed).
export SKIP_CYTHON=1
# Use every core for the C builds (SQLite, libsecp256k1, zstd).
export MAKEFLAGS="-j$(nproc 2>/dev/null || echo 2)"
export CMAKE_BUILD_PARALLEL_LEVEL="$(nproc 2>/dev/null || echo 2)"

python -m pip install --upgrade pip wheel setuptools

# The dependencies pinned in pyproject.toml, cryptography left to Termux's package
# (installed above; any recent version serves). PyPI has no Android build of the
# compiled ones, so pip builds them from their sources here with clang.
deps=$(python - <<'PY'
import tomllib
with open("pyproject.toml", "rb") as f:
    deps = tomllib.load(f)["project"]["dependencies"]
print(" ".join(d for d in deps if not d.startswith("cryptography")))
PY
)
# shellcheck disable=SC2086
python -m pip install $deps

# Shora itself, without asking pip to rebuild cryptography at the pinned version.
python -m pip install --no-deps .

python -c "import cryptography, nacl, coincurve, apsw, msgspec, zstandard; print('ok')"
echo "Installed. Run: termux-wake-lock; shora community serve --lan"
