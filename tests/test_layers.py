"""The direction of typedarr's imports (DESIGN §8): IR <- support <- engines <- dispatcher <-
front-end <- jit <- the package, each module importing only its own layer or those below.

Imports under `if TYPE_CHECKING:` are annotations, not a dependency at run time, and are not
counted (a deliberate pair such as `_matrix`/`_vector` uses them).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "typedarr"

# Lower layers first; a module not named here is front-end.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("IR", ("typedarr._ir",)),
    ("support", ("typedarr._errors", "typedarr._strategy", "typedarr._atomic",
                 "typedarr._blas", "typedarr._buffers", "typedarr._engine")),
    ("engines", ("typedarr._reference", "typedarr._fused", "typedarr._dask")),
    ("dispatcher", ("typedarr._compute", "typedarr._trace")),
    ("front-end", ()),
    ("jit", ("typedarr._jit", "typedarr._structure")),
    ("package", ("typedarr",)),
)
FRONT = [name for name, _ in LAYERS].index("front-end")


def layer(module: str) -> int:
    """The index in LAYERS of `module` (a dotted name inside typedarr)."""
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes if p != "typedarr"):
            return rank
    return len(LAYERS) - 1 if module == "typedarr" else FRONT


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, module: str, is_package: bool) -> list[str]:
    """The typedarr modules `source` (of `module`) imports at run time."""
    found: list[str] = []
    here = module.split(".") if is_package else module.split(".")[:-1]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            names = [f"{target}.{a.name}" for a in node.names]
            found.extend(n if (PACKAGE.parent / n.replace(".", "/")).exists()
                         or (PACKAGE.parent / (n.replace(".", "/") + ".py")).exists()
                         else target for n in names)
        elif isinstance(node, ast.Import):
            found.extend(a.name for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return [m for m in found if m == "typedarr" or m.startswith("typedarr.")]


def upward(sources: dict[str, tuple[str, bool]]) -> list[str]:
    """Each import of `sources` (module -> (source, is a package)) that runs up a layer."""
    return [f"{module} ({LAYERS[layer(module)][0]}) imports {target} "
            f"({LAYERS[layer(target)][0]})"
            for module, (source, is_package) in sorted(sources.items())
            for target in imported(source, module, is_package)
            if layer(target) > layer(module)]


def house() -> dict[str, tuple[str, bool]]:
    return {module_name(p): (p.read_text(), p.name == "__init__.py")
            for p in PACKAGE.rglob("*.py")}


def test_no_import_runs_up_a_layer() -> None:
    assert upward(house()) == []


def test_the_ir_imports_nothing_else_of_typedarr() -> None:
    for module, (source, is_package) in house().items():
        if layer(module) == 0:
            assert all(layer(t) == 0 for t in imported(source, module, is_package)), module


def test_a_planted_upward_import_is_found() -> None:
    sources = house()
    source, is_package = sources["typedarr._ir._node"]
    sources["typedarr._ir._node"] = (source + "\nfrom .. import _compute\n", is_package)
    source, is_package = sources["typedarr._fused._plan"]
    sources["typedarr._fused._plan"] = (source + "\ndef f():\n    from .._array import _Array\n",
                                        is_package)
    assert upward(sources) == [
        "typedarr._fused._plan (engines) imports typedarr._array (front-end)",
        "typedarr._ir._node (IR) imports typedarr._compute (dispatcher)",
    ]


def test_type_only_imports_are_not_dependencies() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import _compute\n"
    assert imported(source, "typedarr._ir._node", False) == []
