"""A griffe extension for the API reference: doctest examples shown as Python sessions.

typedarr's and nn's docstrings are Markdown with bare `>>>` examples (the doctests pytest
runs). Markdown would join such lines into one paragraph; this extension fences each run of
`>>>` lines and their output as a `pycon` block before mkdocstrings renders the docstring.
"""

from __future__ import annotations

from typing import Any

import griffe


def fence_doctests(text: str) -> str:
    """`text` with every doctest (a `>>>` line, its `...` lines and its output) fenced.

    >>> fence_doctests("Sum.\\n\\n>>> 1 + 1\\n2\\n")
    'Sum.\\n\\n```pycon\\n>>> 1 + 1\\n2\\n```\\n'
    """
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        starts = line.lstrip().startswith(">>>")
        if starts and not inside:
            out.append("```pycon")
            inside = True
        elif inside and not line.strip():  # a blank line ends a doctest's output
            out.append("```")
            inside = False
        out.append(line)
    if inside:
        out.append("```")
    return "\n".join(out) + "\n"


class DoctestFences(griffe.Extension):
    """Fences the doctests of every docstring griffe loads."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader,
                  **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
