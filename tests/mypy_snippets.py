"""Run typing snippets through mypy's API and compare its errors with the marked lines.

Shared by `test_core_typing` and `test_nn_typing`. A good snippet must be clean under
`--strict`; in a bad snippet every line marked `# E: <code>[, <code>]` must produce exactly
those mypy error codes, and no other line may produce any.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = ROOT / "tests" / "typecheck"

ERROR = re.compile(r"^(?P<path>.+?):(?P<line>\d+): error: (?P<message>.*?)"
                   r"(?:  \[(?P<code>[a-z-]+)\])?$")
MARK = re.compile(r"#\s*E:\s*(?P<codes>[a-z-]+(?:\s*,\s*[a-z-]+)*)\s*$")


class MypyRun:
    """The error codes and messages of one mypy run (project config, `--strict`), by file
    and line, and its raw report."""

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
        """The error codes mypy gave `path`, by line."""
        return {n: set(c) for n, c in self.codes.get(path.resolve(), {}).items()}

    def stray(self, snippets: list[Path]) -> list[Path]:
        """Files with errors that are not among `snippets` (the library itself, say)."""
        known = {p.resolve() for p in snippets}
        return [p for p in self.codes if p not in known]

    def messages_of(self, path: Path) -> str:
        """Every error message of `path`, one per line."""
        return "\n".join(m for (p, _), ms in self.messages.items() if p == path.resolve()
                         for m in ms)


def expected_errors(path: Path) -> dict[int, set[str]]:
    """The codes each marked line of a bad snippet must produce."""
    out: dict[int, set[str]] = {}
    for lineno, text in enumerate(path.read_text().splitlines(), start=1):
        found = MARK.search(text)
        if found:
            out[lineno] = {c.strip() for c in found["codes"].split(",")}
    return out


def mismatches(run: MypyRun, path: Path) -> list[str]:
    """Each line of a bad snippet where mypy's codes differ from the marked ones, explained."""
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
    return problems
