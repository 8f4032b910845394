"""Checking a dataset file against the md5 it must have: of its uncompressed content, or
of the published `.gz` file (`Check`)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CHUNK = 1 << 16


class MnistChecksumError(ValueError):
    """Raised when a file does not have the expected md5 (of its uncompressed content, or of
    the published `.gz` file where a dataset knows only that one)."""


@dataclass(frozen=True, slots=True)
class Check:
    """The md5 each file must have (None: unchecked), and whether it is the `.gz` file's."""

    md5: Mapping[str, str | None]
    compressed: bool


def file_md5(path: Path) -> Any:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest


def check_md5(actual: str, expected: str, source: str, compressed: bool = False) -> None:
    if actual != expected:
        what = "the .gz file" if compressed else "the uncompressed data"
        raise MnistChecksumError(f"{source}: md5 of {what} is {actual}, expected {expected}")

