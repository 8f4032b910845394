#!/usr/bin/env bash
# Every check the project has: mypy --strict, ruff, pytest (property, gradient and typing
# tests), then the documentation site built strictly (its tutorials executed).
# Sets up .venv first, so it runs on a fresh clone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
echo "== mypy --strict (mypy.ini)"
.venv/bin/python -m mypy
echo "== ruff"
.venv/bin/python -m ruff check .
echo "== pytest"
.venv/bin/python -m pytest "$@"
echo "== docs (mkdocs build --strict)"
bash scripts/docs.sh
