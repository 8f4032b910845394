"""What `store(x, path, overwrite=True)` may replace: a zarr array, and nothing else.

Replacing a path deletes what was there, so the path must be a directory that holds one zarr
array and only that: its metadata file (`zarr.json` with `"node_type": "array"`, or zarr 2's
`.zarray`), its attributes, and chunk files named by their indices. A directory of other
files, a zarr group, a regular file or a symbolic link is refused with an error naming what
was found, and left as it was.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

# Every file a zarr array may hold, relative to its directory: zarr 3's metadata and its
# chunks under `c/` (default encoding) or named `0.1.2` (v2 encoding), zarr 2's metadata
# files and chunks named `0.1` or nested `0/1`.
_ENTRY = re.compile(r"(zarr\.json|\.zarray|\.zattrs|\.zmetadata|c(/[0-9]+)*"
                    r"|[0-9]+([./][0-9]+)*)", re.ASCII)


def refuse_unless_zarr_array(path: Path) -> None:
    """Raise FileExistsError unless `path` is a directory holding exactly one zarr array."""
    problem = _problem(path)
    if problem is not None:
        raise FileExistsError(f"{path} exists and {problem}: store(..., overwrite=True) "
                              f"replaces only a zarr array; remove it yourself or choose "
                              f"another path")


def _problem(path: Path) -> str | None:
    """Why `path` is not a replaceable zarr array (None: it is one)."""
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return "is a symbolic link (pass the path it names)"
    if not stat.S_ISDIR(mode):
        return "is not a directory"
    kind = _metadata(path)
    if kind != "array":
        return kind
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            full = Path(top) / name
            rel = full.relative_to(path).as_posix()
            if full.is_symlink() or not (full.is_dir() or full.is_file()):
                return f"holds {rel}, which is not a plain file or directory"
            if not _ENTRY.fullmatch(rel):
                return f"holds {rel}, which is not part of a zarr array"
    return None


def _metadata(path: Path) -> str:
    """"array" for a zarr array's metadata, else what the directory is instead."""
    for name, format_ in (("zarr.json", 3), (".zarray", 2)):
        try:
            meta = json.loads((path / name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError, RecursionError):
            return f"holds a {name} that is not JSON"
        if not isinstance(meta, dict) or meta.get("zarr_format") != format_:
            return f"holds a {name} that is not zarr {format_} metadata"
        if format_ == 3 and meta.get("node_type") != "array":
            return f"is a zarr {meta.get('node_type')!s:.20}, not an array"
        return "array"
    if (path / ".zgroup").exists():
        return "is a zarr group, not an array"
    return "is not a zarr array (no zarr.json or .zarray)"
