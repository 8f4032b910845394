"""Replace a generated section of a Markdown file between two marker comments.

A section is the text between `<!-- NAME:begin -->` and `<!-- NAME:end -->`; scripts that
measure something (`examples.reproduce`) rewrite only their own section, so the hand-written
rest of the page is never touched. The file is replaced atomically. A section may be made
of blocks, each between `<!-- NAME-KEY:begin -->` and `<!-- NAME-KEY:end -->` (one per seed
in the results section), so that a script can rewrite some blocks and keep the others.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from typedarr._atomic import atomic_writer


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
    head, _, tail = _split(path, text, name)
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    new = f"{head}{begin}\n{body.strip()}\n{end}{tail}"
    with atomic_writer(path) as f:  # a crash leaves the old page, never half of one
        f.write(new.encode("utf-8"))


def read_section(path: Path, name: str) -> str:
    """The text between the markers of section `name` in `path`, without the markers.

    Raises ValueError when the markers are missing, repeated or out of order.
    """
    return _split(path, path.read_text(encoding="utf-8"), name)[1].strip()


def _split(path: Path, text: str, name: str) -> tuple[str, str, str]:
    """`text` before the section's begin marker, between the markers, after the end one."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(f"{path} needs exactly one {begin} followed by one {end}")
    head, rest = text.split(begin)
    body, tail = rest.split(end)
    return head, body, tail


def split_blocks(body: str, name: str) -> dict[str, str]:
    """The blocks of a section's text, by key, in the order they appear.

    Raises ValueError when the text holds anything outside its blocks (a rewrite that keeps
    the blocks would lose it) or a key twice.

    >>> split_blocks(join_blocks("r", {"1": "one", "2": "two"}), "r")
    {'1': 'one', '2': 'two'}
    """
    pattern = re.compile(rf"<!-- {re.escape(name)}-([\w.]+):begin -->\n(.*?)\n"
                         rf"<!-- {re.escape(name)}-\1:end -->", re.DOTALL)
    blocks: dict[str, str] = {}
    for match in pattern.finditer(body):
        key = match.group(1)
        if key in blocks:
            raise ValueError(f"section {name!r} holds block {key!r} twice")
        blocks[key] = match.group(2).strip()
    outside = pattern.sub("", body).strip()
    if outside:
        raise ValueError(f"section {name!r} holds text outside its blocks (it would be lost "
                         f"by rewriting some blocks): {outside[:80]!r}")
    return blocks


def join_blocks(name: str, blocks: Mapping[str, str]) -> str:
    """A section's text made of `blocks` (key to text), each between its markers."""
    return "\n\n".join(f"<!-- {name}-{key}:begin -->\n{text.strip()}\n<!-- {name}-{key}:end -->"
                       for key, text in blocks.items())
