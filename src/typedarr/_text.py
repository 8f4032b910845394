"""Numbers read from text (a checkpoint's metadata, a flag, an environment variable): exactly
their ASCII digits, or nothing.

Python's `float` and `int` are lenient in ways text from outside should not be: they take
`1_0` (as 10), surrounding spaces, digits of other scripts (Arabic-Indic, say), and `float`
takes `nan` and `inf`. A support module (it imports nothing of typedarr), so the engines'
settings can use it too.
"""

from __future__ import annotations

import re

_DECIMAL = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?", re.ASCII)
_INTEGER = re.compile(r"[-+]?[0-9]+", re.ASCII)


def parse_number(text: str) -> float | None:
    """`text` as a float when it is a decimal number in ASCII digits, else None.

    Stricter than `float`, which also takes `1_0`, surrounding spaces, other scripts' digits
    and `nan`/`inf`: text from a file, a flag or the environment means exactly its
    digits or nothing.

    >>> parse_number("1e-3"), parse_number("1_0"), parse_number(" 2"), parse_number("nan")
    (0.001, None, None, None)
    """
    return float(text) if _DECIMAL.fullmatch(text) else None


def parse_integer(text: str) -> int | None:
    """`text` as an int when it is ASCII digits with an optional sign, else None (see
    `parse_number`).

    >>> parse_integer("42"), parse_integer("4_2"), parse_integer("4.0")
    (42, None, None)
    """
    return int(text) if _INTEGER.fullmatch(text) else None
