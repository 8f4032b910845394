"""mkdocs hooks: the API reference's sections, generated from the packages' `__init__.py`.

A page line `<!-- api: typedarr -->` becomes one `##` heading per section comment of
`src/typedarr/__init__.py` (`# Construct: ...`, `# Broadcast and reduce`, ...) and one
mkdocstrings `::: typedarr.NAME` block per name that section re-exports, in its order. The
build fails when a name of `__all__` is in no section or a section names one not in
`__all__`, so the reference cannot miss a public name or keep a removed one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_API = re.compile(r"^<!-- api: (\w+) -->$", re.MULTILINE)


def sections(package: str, src: Path = ROOT / "src") -> list[tuple[str, list[str]]]:
    """The `(title, names)` of each section comment in `SRC/PACKAGE/__init__.py`.

    Raises ValueError when the sections' names and `__all__` differ.
    """
    path = src / package / "__init__.py"
    text = path.read_text(encoding="utf-8")
    found: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        comment = re.match(r"^# (?!isort)(.+)$", line)
        imported = re.match(r"^from \.\w+ import (\w+) as \1$", line)
        if comment:
            found.append((comment.group(1), []))
        elif imported:
            if not found:
                raise ValueError(f"{path}: {imported.group(1)} is imported before any section")
            found[-1][1].append(imported.group(1))
    listed = {name for _, names in found for name in names}
    public = set(_all(text))
    if listed != public:
        raise ValueError(f"{path}: __all__ and the sections differ: only in __all__ "
                         f"{sorted(public - listed)}, only in sections {sorted(listed - public)}")
    return [(title, names) for title, names in found if names]


def _all(text: str) -> list[str]:
    """The names of `__all__` in a module's source."""
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list)
            return [str(v) for v in value]
    raise ValueError("no __all__")


def api_markdown(package: str) -> str:
    """The reference of `package`: a heading per section, a mkdocstrings block per name."""
    parts: list[str] = []
    for title, names in sections(package):
        parts.append(f"## {title}\n")
        parts += [f"::: {package}.{name}\n" for name in names]
    return "\n".join(parts)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """mkdocs' hook: expands the `<!-- api: PACKAGE -->` lines of a page."""
    return _API.sub(lambda m: api_markdown(m.group(1)), markdown)
