#!/usr/bin/env bash
# Creates .venv (if missing) and installs the project with its dev extra into it.
# Sourced by main.sh and test.sh, so both work on a fresh machine with nothing installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# A stamp keeps repeated runs fast: reinstall only when pyproject.toml changed.
stamp=.venv/.typedarr-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  touch "$stamp"
fi
# The docs tests look at pages as a reader does, in headless Chromium (Debian's package):
# installed here when missing, where apt can (root on a Debian machine, as CI is).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
    && [ "$(id -u)" = 0 ]; then
  apt-get install -y -q chromium >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } \
    || echo "setup.sh: could not install chromium (the docs rendering test needs it)" >&2
fi
