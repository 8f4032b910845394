"""Replace a generated section of a Markdown file between two marker comments.

A section is the text between `<!-- NAME:begin -->` and `<!-- NAME:end -->`; scripts that
measure something (`examples.reproduce`) rewrite only their own section, so the hand-written
rest of the README is never touched. The file is replaced atomically.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def replace_section(path: Path, name: str, body: str) -> None:
    """Put `body` between the markers of section `name` in `path`.

    Raises ValueError when the markers are missing, repeated or out of order.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "R.md"
    >>> _ = p.write_text("a\\n<!-- t:begin -->\\nold\\n<!-- t:end -->\\nb\\n")
    >>> replace_section(p, "t", "new")
    >>> p.read_text()
    'a\\n<!-- t:begin -->\\nnew\\n<!-- t:end -->\\nb\\n'
    """
    text = path.read_text(encoding="utf-8")
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(f"{path} needs exactly one {begin} followed by one {end}")
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    new = f"{head}{begin}\n{body.strip()}\n{end}{tail}"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(new)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
