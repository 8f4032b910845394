#!/usr/bin/env bash
# Mutation testing, run by hand (never in CI): mutmut plants one small bug at a time (a
# mutant) in the modules listed in pyproject.toml's [tool.mutmut] and runs, for each, only
# the tests that call the function it changed. A mutant that no test kills is a change the
# tests cannot see: read it (`mutmut show NAME`) and add the test it calls for, or say why
# it is equivalent. Takes the better part of an hour on 2 cores. Arguments go to `mutmut run`
# (e.g. a glob of mutant names to rerun); MUTMUT_CHILDREN sets its parallelism (default: 2).
# Prints the score per module at the end (also in mutants/scores.txt).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${PYTHON:-}" ]; then
  source scripts/setup.sh
  PYTHON=.venv/bin/python
fi
"$PYTHON" -c "import mutmut" 2>/dev/null || "$PYTHON" -m pip install --quiet -e '.[dev,mutation]'
# One private kernel directory for the whole run, so each mutant's tests load the kernels
# the first ones compiled (tests otherwise start from an empty one); the same few hypothesis
# examples for every mutant (the `mutation` profile in conftest.py).
kernels=$(mktemp -d)
trap 'rm -rf "$kernels"' EXIT
export TYPEDARR_TEST_CACHE_DIR="$kernels" HYPOTHESIS_PROFILE=mutation
# mutmut forks a process per mutant from one that has run Par kernels: numba's OpenMP layer
# does not survive a fork (the child's Par kernels hang), its workqueue layer does.
export NUMBA_THREADING_LAYER=workqueue
rm -rf mutants
"$PYTHON" -m mutmut run --max-children "${MUTMUT_CHILDREN:-2}" "$@" || true
"$PYTHON" -m mutmut results --all true > mutants/results.txt
# "    typedarr._reference.x_evaluate__mutmut_3: killed": count verdicts per module.
awk -F': ' '{ m = $1; gsub(/^ +/, "", m); sub(/\.x.*/, "", m); total[m]++; n[m, $2]++ }
  END { for (m in total) printf "%-22s killed %4d of %4d (%3.0f%%), survived %d, no tests %d\n",
        m, n[m, "killed"] + n[m, "timeout"], total[m],
        100 * (n[m, "killed"] + n[m, "timeout"]) / total[m], n[m, "survived"], n[m, "no tests"] }' \
  mutants/results.txt | sort | tee mutants/scores.txt
