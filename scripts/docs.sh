#!/usr/bin/env bash
# Builds the documentation site into site/ (or the folder given: `bash scripts/docs.sh DIR`)
# in strict mode: a warning (a broken link, a missing API reference, a docstring griffe
# cannot read, a tutorial whose code raises) fails the build. Sets up .venv first.
# The site works offline: open site/index.html.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
# The tutorials import typedarr, nn and examples from this checkout.
export NO_MKDOCS_2_WARNING=1  # the theme's notice about its successor, not a warning
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}"
.venv/bin/python -m mkdocs build --strict --site-dir "${1:-site}"
