"""Static typing of nn: network snippets in tests/typecheck/ run through mypy and pyright.

As `test_core_typing` does for typedarr: good snippets (`nn_good_*.py`, seed 000's network
with named dimensions) must be clean under mypy `--strict` and pyright's strict mode; in bad
snippets (`nn_bad_*.py`) every line marked `# E: <code>[, <code>] [| <pyright rule>, ...]`
must produce exactly those errors in both checkers and no other line may produce any. All nn
snippets share one mypy run (mypy costs seconds per run); pyright checks every snippet, core
and nn, in one process.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typing_snippets import SNIPPETS, Run, expected_errors, mismatches, pyright_run, run_mypy

GOOD = sorted(SNIPPETS.glob("nn_good_*.py"))
BAD = sorted(SNIPPETS.glob("nn_bad_*.py"))
CHECKERS = ["mypy", "pyright"]


@pytest.fixture(scope="module")
def mypy_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_mypy(GOOD + BAD, tmp_path_factory.mktemp("mypy_cache"))


@pytest.fixture(scope="module")
def pyright() -> Run:
    return pyright_run()


def test_snippets_exist() -> None:
    assert GOOD and BAD
    for path in BAD:
        assert expected_errors(path), f"{path.name} marks no line with '# E: <code>'"


def test_mypy_ran(mypy_run: Run) -> None:
    assert mypy_run.status == 1 and not mypy_run.stderr, mypy_run.report
    stray = mypy_run.stray(GOOD + BAD)
    assert not stray, f"errors outside the snippets (nn itself?): {mypy_run.report}"


def test_pyright_ran(pyright: Run) -> None:
    assert pyright.status == 1 and not pyright.stderr, pyright.report
    stray = pyright.stray(sorted(SNIPPETS.glob("*.py")))
    assert not stray, f"errors outside the snippets: {pyright.report}"


@pytest.mark.parametrize("checker", CHECKERS)
@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_good_snippet_is_strict_clean(request: pytest.FixtureRequest, checker: str,
                                      path: Path) -> None:
    run: Run = request.getfixturevalue("mypy_run" if checker == "mypy" else "pyright")
    assert not run.lines(path), run.messages_of(path)


@pytest.mark.parametrize("checker", CHECKERS)
@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_snippet_fails_where_marked(request: pytest.FixtureRequest, checker: str,
                                        path: Path) -> None:
    run: Run = request.getfixturevalue("mypy_run" if checker == "mypy" else "pyright")
    problems = mismatches(run, path)
    assert not problems, "\n".join(problems)
