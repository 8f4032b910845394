#!/usr/bin/env bash
# The main job: sets up .venv, then runs the tour of the public API.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
.venv/bin/python -m examples.tour "$@"
