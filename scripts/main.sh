#!/usr/bin/env bash
# The main job: sets up .venv, then trains seed 000's network on MNIST and prints its test
# accuracy (`python -m examples.mnist`; extra arguments are passed on, e.g. --epochs 3).
# The data: --data-dir, else $TYPEDARR_DATA, else the workplace copy beside the project
# (../shared/datasets/mnist) when there is one, else the per-user cache, downloaded into it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
if [ -z "${TYPEDARR_DATA:-}" ] && [ -d ../shared/datasets/mnist ]; then
  export TYPEDARR_DATA="$PWD/../shared/datasets/mnist"
fi
.venv/bin/python -m examples.mnist "$@"
