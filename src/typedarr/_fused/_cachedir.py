"""The kernel directory: where it is, whether it can be trusted, and how big it may grow.

numba unpickles the files it finds beside a kernel module, so a directory that another user
can write would let that user run code as whoever computes next. `private_directory`
therefore accepts a directory only when nobody else can write it or swap it:

- the directory and its `__pycache__` (where numba's files go) are real directories, not
  symbolic links, owned by the current user and not writable by group or others;
- every directory on the way to it is owned by the current user or root and writable by
  nobody else, unless it is sticky like /tmp (where only an entry's owner may rename it), and
  every symbolic link on the way is owned by the current user or root (the path is resolved
  one component at a time, so a link is checked where it is, then followed);
- the levels typedarr creates (the directory itself, missing parents, `__pycache__`) are
  created 0700.

These are POSIX checks; on Windows, where access is governed by ACLs and the default
directory is in the user's private profile, the configured directory is used as it is.

The directory is bounded: after a new kernel is written, the least recently used kernels
(the module's access time, set on every use) are removed with numba's files until the
directory holds at most `TYPEDARR_CACHE_MAX_MB` megabytes (default `DEFAULT_MAX_MB`).
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
import warnings
from pathlib import Path

from .._errors import KernelCacheWarning
from .._text import parse_number

DEFAULT_MAX_MB = 256.0
PREFIX = "typedarr_kernel_"
# A temporary file older than this was left by a process that died while writing it.
_STALE_TEMPORARY_S = 3600.0
_MAX_LINKS = 40  # symbolic links followed on one path, as the kernel allows


_warned: set[str] = set()
_warned_lock = threading.Lock()


class Refused(Exception):
    """A directory that the cache must not trust; the message says why."""


def kernel_dir() -> Path:
    """Where kernel modules and numba's cache of them live (as configured, unchecked)."""
    configured = os.environ.get("TYPEDARR_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "typedarr" / "kernels"


def max_bytes() -> int:
    """The size bound of the kernel directory, from `TYPEDARR_CACHE_MAX_MB`.

    Raises ValueError when the variable is set to anything but a non-negative number.
    """
    text = os.environ.get("TYPEDARR_CACHE_MAX_MB")
    if not text:
        return int(DEFAULT_MAX_MB * 2**20)
    megabytes = parse_number(text)
    if megabytes is None or not 0.0 <= megabytes < float("inf"):
        raise ValueError(f"TYPEDARR_CACHE_MAX_MB must be a non-negative number of megabytes, "
                         f"not {text!r}")
    return int(megabytes * 2**20)


def private_directory(path: Path) -> Path:
    """`path` with its `__pycache__`, created (0700) where missing, once both are checked.

    Raises Refused when another user could write or replace either, OSError when they
    cannot be created or examined.
    """
    path = Path(os.path.join(os.getcwd(), path))
    if not os.path.lexists(path):
        _make_parents(path.parent)
        _make(path)
    if not hasattr(os, "geteuid"):  # Windows: access is ACLs, the user's profile is private
        _make(path / "__pycache__")
        return path
    real_parent = _resolve(path.parent, 0)
    _check_own(real_parent / path.name)
    pycache = real_parent / path.name / "__pycache__"
    if not os.path.lexists(pycache):
        _make(pycache)
    _check_own(pycache)
    return real_parent / path.name


def evict(directory: Path, limit: int, keep: str) -> None:
    """Remove the least recently used kernels (never `keep`) until `directory` holds at most
    `limit` bytes; also numba's files whose module is gone and stale temporary files."""
    numba_files: dict[str, list[tuple[Path, int]]] = {}
    for entry in _entries(directory / "__pycache__"):
        numba_files.setdefault(entry[0].name.split(".", 1)[0], []).append(entry)
    modules: list[tuple[float, str, int]] = []
    for path, size in _entries(directory):
        if path.suffix == ".py":
            with contextlib.suppress(OSError):
                modules.append((os.stat(path).st_atime, path.stem, size))
    names = {name for _, name, _ in modules}
    for name in set(numba_files) - names:
        for path, _ in numba_files.pop(name):
            _remove(path)
    total = sum(size for _, _, size in modules) + sum(
        size for files in numba_files.values() for _, size in files)
    for _, name, size in sorted(modules):
        if total <= limit:
            break
        if name == keep:
            continue
        for path, numba_size in numba_files.get(name, []):
            _remove(path)
            total -= numba_size
        _remove(directory / f"{name}.py")
        total -= size


def touch(path: Path) -> None:
    """Mark a kernel module as used now (its access time), keeping its modification time:
    numba's cache entries are stamped with it."""
    with contextlib.suppress(OSError):
        os.utime(path, ns=(time.time_ns(), os.stat(path).st_mtime_ns))


def warn_once(kind: str, message: str) -> None:
    """One `KernelCacheWarning` per kind of problem and process: the cache repairs or works
    around what it finds, so one line says so and the rest would be noise."""
    with _warned_lock:
        if kind in _warned:
            return
        _warned.add(kind)
    warnings.warn(KernelCacheWarning(message), stacklevel=2)


def _make_parents(directory: Path) -> None:
    missing: list[Path] = []
    while not os.path.lexists(directory) and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    for level in reversed(missing):
        _make(level)


def _make(directory: Path) -> None:
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        return  # made by someone else at the same moment: checked like any found directory
    os.chmod(directory, 0o700)  # whatever the umask took away


def _resolve(path: Path, links: int) -> Path:
    """The real path of the directory `path`, every component checked as it is reached."""
    current = Path(path.anchor)
    _check_on_the_way(current, os.lstat(current))
    for name in path.parts[1:]:
        if name == "..":
            current = current.parent
            continue
        candidate = current / name
        found = os.lstat(candidate)
        if stat.S_ISLNK(found.st_mode):
            if links >= _MAX_LINKS:
                raise Refused(f"too many symbolic links on the way to {path}")
            _check_owner(candidate, found, "a symbolic link")
            current = _resolve(current / os.readlink(candidate), links + 1)
        else:
            _check_on_the_way(candidate, found)
            current = candidate
    return current


def _check_on_the_way(path: Path, found: os.stat_result) -> None:
    if not stat.S_ISDIR(found.st_mode):
        raise Refused(f"{path} is not a directory")
    _check_owner(path, found, "a directory")
    if found.st_mode & 0o022 and not found.st_mode & stat.S_ISVTX:
        raise Refused(f"{path} can be written by other users")


def _check_owner(path: Path, found: os.stat_result, what: str) -> None:
    if found.st_uid not in (os.geteuid(), 0):
        raise Refused(f"{path} is {what} owned by another user (uid {found.st_uid})")


def _check_own(path: Path) -> None:
    found = os.lstat(path)
    if stat.S_ISLNK(found.st_mode):
        raise Refused(f"{path} is a symbolic link")
    if not stat.S_ISDIR(found.st_mode):
        raise Refused(f"{path} is not a directory")
    if found.st_uid != os.geteuid():
        raise Refused(f"{path} is owned by another user (uid {found.st_uid})")
    if found.st_mode & 0o022:
        raise Refused(f"{path} can be written by other users (mode {found.st_mode & 0o777:o})")


def _entries(directory: Path) -> list[tuple[Path, int]]:
    """The kernel files in `directory` (typedarr's names only) and their sizes; temporary
    files (`atomic_writer`'s, named `.NAME.XXXX.tmp`) are left alone, or removed when stale."""
    found: list[tuple[Path, int]] = []
    now = time.time()
    with contextlib.suppress(OSError), os.scandir(directory) as it:
        for entry in it:
            with contextlib.suppress(OSError):
                status = entry.stat(follow_symlinks=False)
                if entry.name.startswith(PREFIX):
                    found.append((Path(entry.path), status.st_size))
                elif (entry.name.startswith("." + PREFIX) and entry.name.endswith(".tmp")
                      and now - status.st_mtime > _STALE_TEMPORARY_S):
                    _remove(Path(entry.path))
    return found


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
