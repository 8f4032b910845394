"""Static typing: model-code snippets in tests/typecheck/ run through mypy's API.

Good snippets (`core_good_*.py`) must be clean under `--strict`; in bad snippets
(`core_bad_*.py`) every line marked `# E: <code>[, <code>]` must produce exactly those mypy
error codes and no other line may produce any. All good snippets share one mypy run and all
bad snippets another (mypy costs seconds per run), with one cache so the second run reuses
the first's analysis of typedarr and numpy.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = ROOT / "tests" / "typecheck"
GOOD = sorted(SNIPPETS.glob("core_good_*.py"))
BAD = sorted(SNIPPETS.glob("core_bad_*.py"))

ERROR = re.compile(r"^(?P<path>.+?):(?P<line>\d+): error: (?P<message>.*?)"
                   r"(?:  \[(?P<code>[a-z-]+)\])?$")
MARK = re.compile(r"#\s*E:\s*(?P<codes>[a-z-]+(?:\s*,\s*[a-z-]+)*)\s*$")

Errors = dict[Path, dict[int, set[str]]]


class MypyRun:
    """The errors of one mypy run, by file and line, and its raw report."""

    def __init__(self, files: list[Path], cache_dir: Path) -> None:
        stdout, stderr, status = api.run([
            "--strict", "--config-file", str(ROOT / "mypy.ini"), "--cache-dir", str(cache_dir),
            "--show-error-codes", "--no-error-summary", "--no-pretty", "--no-color-output",
            *map(str, files),
        ])
        self.report = stdout + stderr
        self.status = status
        self.stderr = stderr
        self.errors: Errors = defaultdict(lambda: defaultdict(set))
        self.messages: dict[tuple[Path, int], list[str]] = defaultdict(list)
        for line in stdout.splitlines():
            found = ERROR.match(line)
            if found:
                path = Path(found["path"]).resolve()
                lineno = int(found["line"])
                self.errors[path][lineno].add(found["code"] or "?")
                self.messages[(path, lineno)].append(line)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy_cache")


@pytest.fixture(scope="module")
def good_run(cache_dir: Path) -> MypyRun:
    return MypyRun(GOOD, cache_dir)


@pytest.fixture(scope="module")
def bad_run(cache_dir: Path, good_run: MypyRun) -> MypyRun:  # after good_run: a warm cache
    return MypyRun(BAD, cache_dir)


def expected_errors(path: Path) -> dict[int, set[str]]:
    """The codes each marked line of a bad snippet must produce."""
    out: dict[int, set[str]] = {}
    for lineno, text in enumerate(path.read_text().splitlines(), start=1):
        found = MARK.search(text)
        if found:
            out[lineno] = {c.strip() for c in found["codes"].split(",")}
    return out


def test_snippets_exist() -> None:
    assert len(GOOD) >= 3 and len(BAD) >= 2
    for path in BAD:
        assert expected_errors(path), f"{path.name} marks no line with '# E: <code>'"


def test_mypy_ran(good_run: MypyRun, bad_run: MypyRun) -> None:
    assert good_run.status == 0 and not good_run.stderr, good_run.report
    assert bad_run.status == 1 and not bad_run.stderr, bad_run.report
    snippets = {p.resolve() for p in GOOD + BAD}
    stray = [p for p in bad_run.errors if p not in snippets]
    assert not stray, f"errors outside the snippets (typedarr itself?): {bad_run.report}"


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_good_snippet_is_strict_clean(good_run: MypyRun, path: Path) -> None:
    errors = good_run.errors.get(path.resolve(), {})
    report = "\n".join(m for (p, _), ms in good_run.messages.items() if p == path.resolve()
                       for m in ms)
    assert not errors, report


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_snippet_fails_where_marked(bad_run: MypyRun, path: Path) -> None:
    expected = expected_errors(path)
    got = {line: set(codes) for line, codes in bad_run.errors.get(path.resolve(), {}).items()}
    lines = path.read_text().splitlines()
    problems = []
    for lineno in sorted(expected.keys() | got.keys()):
        want, have = expected.get(lineno, set()), got.get(lineno, set())
        if want != have:
            messages = bad_run.messages.get((path.resolve(), lineno), [])
            problems.append(f"line {lineno}: expected {sorted(want) or 'no error'}, mypy gave "
                            f"{sorted(have) or 'none'}\n    {lines[lineno - 1].strip()}\n    "
                            + "\n    ".join(messages))
    assert not problems, "\n".join(problems)
