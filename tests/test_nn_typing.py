"""Static typing of nn: network snippets in tests/typecheck/ run through mypy's API.

As `test_core_typing` does for typedarr: good snippets (`nn_good_*.py`, seed 000's network
with named dimensions) must be clean under `--strict`; in bad snippets (`nn_bad_*.py`) every
line marked `# E: <code>[, <code>]` must produce exactly those mypy error codes and no other
line may produce any. All snippets share one mypy run (mypy costs seconds per run).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy_snippets import SNIPPETS, MypyRun, expected_errors, mismatches

GOOD = sorted(SNIPPETS.glob("nn_good_*.py"))
BAD = sorted(SNIPPETS.glob("nn_bad_*.py"))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> MypyRun:
    return MypyRun(GOOD + BAD, tmp_path_factory.mktemp("mypy_cache"))


def test_snippets_exist() -> None:
    assert GOOD and BAD
    for path in BAD:
        assert expected_errors(path), f"{path.name} marks no line with '# E: <code>'"


def test_mypy_ran(run: MypyRun) -> None:
    assert run.status == 1 and not run.stderr, run.report
    stray = run.stray(GOOD + BAD)
    assert not stray, f"errors outside the snippets (nn itself?): {run.report}"


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_good_snippet_is_strict_clean(run: MypyRun, path: Path) -> None:
    assert not run.lines(path), run.messages_of(path)


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_snippet_fails_where_marked(run: MypyRun, path: Path) -> None:
    problems = mismatches(run, path)
    assert not problems, "\n".join(problems)
