"""Static typing of nn: network snippets in tests/typecheck/ run through mypy's API.

As `test_core_typing` does for typedarr: good snippets (`nn_good_*.py`, seed 000's network
with named dimensions) must be clean under `--strict`; in bad snippets (`nn_bad_*.py`) every
line marked `# E: <code>[, <code>]` must produce exactly those mypy error codes and no other
line may produce any. All snippets share one mypy run (mypy costs seconds per run).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = ROOT / "tests" / "typecheck"
GOOD = sorted(SNIPPETS.glob("nn_good_*.py"))
BAD = sorted(SNIPPETS.glob("nn_bad_*.py"))

ERROR = re.compile(r"^(?P<path>.+?):(?P<line>\d+): error: (?P<message>.*?)"
                   r"(?:  \[(?P<code>[a-z-]+)\])?$")
MARK = re.compile(r"#\s*E:\s*(?P<codes>[a-z-]+(?:\s*,\s*[a-z-]+)*)\s*$")


class MypyRun:
    """The error codes and messages of one mypy run, by file and line."""

    def __init__(self, files: list[Path], cache_dir: Path) -> None:
        stdout, stderr, status = api.run([
            "--strict", "--config-file", str(ROOT / "mypy.ini"), "--cache-dir", str(cache_dir),
            "--show-error-codes", "--no-error-summary", "--no-pretty", "--no-color-output",
            *map(str, files),
        ])
        self.report, self.status, self.stderr = stdout + stderr, status, stderr
        self.codes: dict[Path, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.messages: dict[tuple[Path, int], list[str]] = defaultdict(list)
        for line in stdout.splitlines():
            found = ERROR.match(line)
            if found:
                key = (Path(found["path"]).resolve(), int(found["line"]))
                self.codes[key[0]][key[1]].add(found["code"] or "?")
                self.messages[key].append(line)

    def lines(self, path: Path) -> dict[int, set[str]]:
        return dict(self.codes.get(path.resolve(), {}))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> MypyRun:
    return MypyRun(GOOD + BAD, tmp_path_factory.mktemp("mypy_cache"))


def expected_errors(path: Path) -> dict[int, set[str]]:
    """The codes each marked line of a bad snippet must produce."""
    out: dict[int, set[str]] = {}
    for lineno, text in enumerate(path.read_text().splitlines(), start=1):
        found = MARK.search(text)
        if found:
            out[lineno] = {c.strip() for c in found["codes"].split(",")}
    return out


def test_snippets_exist() -> None:
    assert GOOD and BAD
    for path in BAD:
        assert expected_errors(path), f"{path.name} marks no line with '# E: <code>'"


def test_mypy_ran(run: MypyRun) -> None:
    assert run.status == 1 and not run.stderr, run.report
    stray = [p for p in run.codes if p not in {s.resolve() for s in GOOD + BAD}]
    assert not stray, f"errors outside the snippets (nn itself?): {run.report}"


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_good_snippet_is_strict_clean(run: MypyRun, path: Path) -> None:
    assert not run.lines(path), "\n".join(m for (p, _), ms in run.messages.items()
                                          if p == path.resolve() for m in ms)


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_snippet_fails_where_marked(run: MypyRun, path: Path) -> None:
    expected, got = expected_errors(path), run.lines(path)
    source = path.read_text().splitlines()
    problems = []
    for lineno in sorted(expected.keys() | got.keys()):
        want, have = expected.get(lineno, set()), got.get(lineno, set())
        if want != have:
            messages = run.messages.get((path.resolve(), lineno), [])
            problems.append(f"line {lineno}: expected {sorted(want) or 'no error'}, mypy gave "
                            f"{sorted(have) or 'none'}\n    {source[lineno - 1].strip()}\n    "
                            + "\n    ".join(messages))
    assert not problems, "\n".join(problems)
