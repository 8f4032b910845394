"""Static typing: model-code snippets in tests/typecheck/ run through mypy's API.

Good snippets (`core_good_*.py`) must be clean under `--strict`; in bad snippets
(`core_bad_*.py`) every line marked `# E: <code>[, <code>]` must produce exactly those mypy
error codes and no other line may produce any (see `mypy_snippets`). All good snippets share
one mypy run and all bad snippets another (mypy costs seconds per run), with one cache so the
second run reuses the first's analysis of typedarr and numpy.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy_snippets import SNIPPETS, MypyRun, expected_errors, mismatches

GOOD = sorted(SNIPPETS.glob("core_good_*.py"))
BAD = sorted(SNIPPETS.glob("core_bad_*.py"))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy_cache")


@pytest.fixture(scope="module")
def good_run(cache_dir: Path) -> MypyRun:
    return MypyRun(GOOD, cache_dir)


@pytest.fixture(scope="module")
def bad_run(cache_dir: Path, good_run: MypyRun) -> MypyRun:  # after good_run: a warm cache
    return MypyRun(BAD, cache_dir)


def test_snippets_exist() -> None:
    assert len(GOOD) >= 3 and len(BAD) >= 2
    for path in BAD:
        assert expected_errors(path), f"{path.name} marks no line with '# E: <code>'"


def test_mypy_ran(good_run: MypyRun, bad_run: MypyRun) -> None:
    assert good_run.status == 0 and not good_run.stderr, good_run.report
    assert bad_run.status == 1 and not bad_run.stderr, bad_run.report
    stray = bad_run.stray(GOOD + BAD)
    assert not stray, f"errors outside the snippets (typedarr itself?): {bad_run.report}"


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_good_snippet_is_strict_clean(good_run: MypyRun, path: Path) -> None:
    assert not good_run.lines(path), good_run.messages_of(path)


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_snippet_fails_where_marked(bad_run: MypyRun, path: Path) -> None:
    problems = mismatches(bad_run, path)
    assert not problems, "\n".join(problems)
