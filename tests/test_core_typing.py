"""Static typing: model-code snippets in tests/typecheck/ run through mypy and pyright.

Good snippets (`core_good_*.py`) must be clean under mypy `--strict` and pyright's strict
mode; in bad snippets (`core_bad_*.py`) every line marked `# E: <code>[, <code>] [| <pyright
rule>, ...]` must produce exactly those errors in both checkers and no other line may produce
any (see `typing_snippets`). All good snippets share one mypy run and all bad snippets another
(mypy costs seconds per run), with one cache so the second run reuses the first's analysis of
typedarr and numpy; pyright checks every snippet, core and nn, in one process.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typing_snippets import SNIPPETS, Run, expected_errors, mismatches, pyright_run, run_mypy

GOOD = sorted(SNIPPETS.glob("core_good_*.py"))
BAD = sorted(SNIPPETS.glob("core_bad_*.py"))
CHECKERS = ["mypy", "pyright"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy_cache")


@pytest.fixture(scope="module")
def good_run(cache_dir: Path) -> Run:
    return run_mypy(GOOD, cache_dir)


@pytest.fixture(scope="module")
def bad_run(cache_dir: Path, good_run: Run) -> Run:  # after good_run: a warm cache
    return run_mypy(BAD, cache_dir)


@pytest.fixture(scope="module")
def pyright() -> Run:
    return pyright_run()


def test_snippets_exist() -> None:
    assert len(GOOD) >= 3 and len(BAD) >= 2
    for path in BAD:
        assert expected_errors(path), f"{path.name} marks no line with '# E: <code>'"


def test_every_snippet_is_checked() -> None:
    """mypy checks the snippets these globs (and test_nn_typing's) find, pyright all of them."""
    kinds = ("core_good_", "core_bad_", "nn_good_", "nn_bad_")
    unchecked = [p.name for p in SNIPPETS.glob("*.py") if not p.name.startswith(kinds)]
    assert not unchecked, f"name them {', '.join(k + '*.py' for k in kinds)}: {unchecked}"


def test_mypy_ran(good_run: Run, bad_run: Run) -> None:
    assert good_run.status == 0 and not good_run.stderr, good_run.report
    assert bad_run.status == 1 and not bad_run.stderr, bad_run.report
    stray = bad_run.stray(GOOD + BAD)
    assert not stray, f"errors outside the snippets (typedarr itself?): {bad_run.report}"


def test_pyright_ran(pyright: Run) -> None:
    assert pyright.status == 1 and not pyright.stderr, pyright.report
    stray = pyright.stray(sorted(SNIPPETS.glob("*.py")))
    assert not stray, f"errors outside the snippets: {pyright.report}"


@pytest.mark.parametrize("checker", CHECKERS)
@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_good_snippet_is_strict_clean(request: pytest.FixtureRequest, checker: str,
                                      path: Path) -> None:
    run: Run = request.getfixturevalue("good_run" if checker == "mypy" else "pyright")
    assert not run.lines(path), run.messages_of(path)


@pytest.mark.parametrize("checker", CHECKERS)
@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_snippet_fails_where_marked(request: pytest.FixtureRequest, checker: str,
                                        path: Path) -> None:
    run: Run = request.getfixturevalue("bad_run" if checker == "mypy" else "pyright")
    problems = mismatches(run, path)
    assert not problems, "\n".join(problems)


def test_pyright_passes_on_typedarr_itself() -> None:
    """Not only a user's code: typedarr's own source is clean under pyright too (mypy --strict
    checks it in the test command); dask's partial annotations are ignored line by line."""
    from typing_snippets import ROOT, run_pyright

    files = sorted((ROOT / "src" / "typedarr").rglob("*.py"))
    run = run_pyright(files)
    found = [m for ms in run.messages.values() for m in ms]
    assert run.status == 0 and found == [], "\n".join(found) or run.stderr
