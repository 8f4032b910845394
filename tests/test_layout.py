"""The house's shape, checked: imports run one way, and rooms stay small.

typedarr is built in layers, each importing only those below it (docs/guide/layout.md):
the IR, then the engines, then the dispatcher, then the front-end, then jit. nn sits on top
and uses typedarr's public names only. The test reads every module's imports with `ast`
(nothing is imported or run) and fails on an import that points up a layer, or from nn into
a private typedarr module. A line budget keeps files and functions small enough to read;
the few exceptions are listed with the reason they are allowed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"  # the packages live under src/ (no clone folder shadows them)
PACKAGES = ("typedarr", "nn")

# The layers of typedarr, bottom first. A module belongs to the first layer whose prefix
# matches its dotted name; support modules (errors, strategies, atomic writes, BLAS threads)
# sit at the bottom beside the IR and import nothing above it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("support", ("typedarr._errors", "typedarr._strategy", "typedarr._atomic",
                 "typedarr._blas", "typedarr._buffers", "typedarr._text")),
    ("ir", ("typedarr._ir",)),
    ("engines", ("typedarr._engine", "typedarr._reference", "typedarr._fused",
                 "typedarr._dask")),
    ("dispatch", ("typedarr._compute", "typedarr._trace")),
    ("front", ("typedarr._",)),  # every other private module: the typed front-end
    ("jit", ("typedarr._jit", "typedarr._structure")),
    ("api", ("typedarr",)),
)
# Deliberate exceptions, each with its reason. Empty today: keep it so.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {}

FILE_BUDGET = 400
FUNCTION_BUDGET = 60
# Files and functions allowed over the budget, and why.
OVER_BUDGET: dict[str, str] = {
    "nn/_pass.py::_pass": "seed 000's recursive pass: one match whose arms hold each dense "
                          "layer's forward and backward maths, read as one function as in "
                          "the seed (the image layers' arms are in _pass4)",
}


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((SRC / package).rglob("*.py")):
            parts = path.relative_to(SRC).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def _layer(module: str) -> int:
    longest, found = -1, -1
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            hit = module == prefix or module.startswith(prefix + ".") or (
                prefix.endswith("._") and module.startswith(prefix))
            if hit and len(prefix) > longest:
                longest, found = len(prefix), rank
    assert found >= 0, f"{module} is in no layer of LAYERS"
    return found


def _imports(module: str, path: Path) -> Iterator[tuple[str, int, bool]]:
    """(imported module, line, only for type checking) for each import of `path`."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    checking: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            checking.update(id(n) for child in node.body for n in ast.walk(child))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, id(node) in checking
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:  # `from . import _x` imports the module `_x`
                sub = f"{base}.{alias.name}"
                yield (sub if _resolved(sub) == sub else base), node.lineno, id(node) in checking


def _resolved(target: str) -> str | None:
    """The project module `target` names, or None for the standard library and the rest."""
    parts = target.split(".")
    while parts:
        name = ".".join(parts)
        path = SRC.joinpath(*parts)
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            return name
        parts.pop()
    return None


def upward_imports() -> list[str]:
    """Every import in typedarr or nn that runs against the direction, as readable lines."""
    found: list[str] = []
    for module, path in _modules():
        for target, line, type_only in dict.fromkeys(_imports(module, path)):
            resolved = _resolved(target)
            if resolved is None or resolved == module or type_only:
                continue
            where = f"{path.relative_to(SRC)}:{line}: {module} imports {resolved}"
            if module.startswith("nn") and resolved.startswith("typedarr"):
                if resolved != "typedarr":
                    found.append(f"{where} (nn uses typedarr's public names only)")
                continue
            if not module.startswith("typedarr") or not resolved.startswith("typedarr"):
                continue
            if module == "typedarr" or (module, resolved) in ALLOWED_UPWARD:
                continue
            if _layer(resolved) > _layer(module):
                found.append(f"{where} ({LAYERS[_layer(module)][0]} -> "
                             f"{LAYERS[_layer(resolved)][0]}: up a layer)")
    return found


def test_imports_run_one_way() -> None:
    assert upward_imports() == []


def test_the_ir_imports_nothing_of_typedarr() -> None:
    outside = [f"{module} imports {_resolved(target)}"
               for module, path in _modules() if module.startswith("typedarr._ir")
               for target, _, _ in _imports(module, path)
               if (_resolved(target) or "").startswith("typedarr")
               and not (_resolved(target) or "").startswith("typedarr._ir")]
    assert outside == []


def import_circles() -> list[list[str]]:
    """The groups of modules that import each other in a circle (TYPE_CHECKING imports and
    the package's own `__init__`, which re-exports everything, left out)."""
    edges: dict[str, set[str]] = {}
    for module, path in _modules():
        targets = edges.setdefault(module, set())
        for target, _, type_only in _imports(module, path):
            resolved = _resolved(target)
            if resolved and not type_only and resolved != module and resolved not in PACKAGES:
                targets.add(resolved)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return circles


def test_no_import_circles() -> None:
    assert import_circles() == []


def test_the_direction_check_sees_a_planted_upward_import(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    # The check itself can fail: a copy of the tree with one IR module importing the
    # front-end, and nn importing a private typedarr module, must be reported.
    for package in PACKAGES:
        for path in (SRC / package).rglob("*.py"):
            copy = tmp_path / path.relative_to(SRC)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(path.read_text())
    ir = next(p for p in sorted((tmp_path / "typedarr").rglob("*.py"))
              if _layer(_name(p, tmp_path)) == 1)
    ir.write_text(ir.read_text() + "\nfrom typedarr import _matrix\n")
    layer_nn = tmp_path / "nn" / "_planted.py"
    layer_nn.write_text("from typedarr._matrix import Matrix\n")
    monkeypatch.setattr(__import__(__name__), "SRC", tmp_path)
    found = upward_imports()
    assert any("_matrix" in f and "up a layer" in f for f in found), found
    assert any("nn._planted" in f and "public names only" in f for f in found), found


def _name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> Iterator[tuple[str, Path]]:
    # Each file with the name the budget lists it by: packages from src/, scripts from the root.
    for base, folders in ((SRC, PACKAGES), (ROOT, ("examples", "benchmarks"))):
        for folder in folders:
            for path in sorted((base / folder).rglob("*.py")):
                yield str(path.relative_to(base)), path


def over_budget() -> list[str]:
    """Files over FILE_BUDGET lines and functions over FUNCTION_BUDGET, not excused."""
    found = []
    for rel, path in _sources():
        text = path.read_text()
        lines = text.count("\n")
        if lines > FILE_BUDGET and rel not in OVER_BUDGET:
            found.append(f"{rel}: {lines} lines (budget {FILE_BUDGET})")
        for node in ast.walk(ast.parse(text, rel)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                length = node.end_lineno - node.lineno + 1
                key = f"{rel}::{node.name}"
                if length > FUNCTION_BUDGET and key not in OVER_BUDGET:
                    found.append(f"{key}: {length} lines (budget {FUNCTION_BUDGET})")
    return found


def test_files_and_functions_keep_to_the_line_budget() -> None:
    assert over_budget() == []


def test_every_listed_exception_still_exists() -> None:
    # An exception whose file or function has gone (or shrunk) is removed from the list.
    for key in OVER_BUDGET:
        rel, _, function = key.partition("::")
        path = SRC / rel if (SRC / rel).is_file() else ROOT / rel
        assert path.is_file(), key
        text = path.read_text()
        if not function:
            assert text.count("\n") > FILE_BUDGET, f"{key} is within budget: unlist it"
            continue
        lengths = [n.end_lineno - n.lineno + 1 for n in ast.walk(ast.parse(text))
                   if isinstance(n, ast.FunctionDef) and n.name == function
                   and n.end_lineno is not None]
        assert lengths and max(lengths) > FUNCTION_BUDGET, f"{key} is within budget: unlist it"
