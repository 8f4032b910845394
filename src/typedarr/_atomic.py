"""Writing a file so that readers see the old content or the new, never half of it.

The one copy of the idiom the kernel cache, `nn.save` and the MNIST download share: write a
private temporary file beside the destination, fsync it, then publish it with one rename
(or, for files that are never rewritten, one hard link: the first writer wins) and fsync
the directory, so the name survives a crash too. A destination that is a symbolic link is
written through: the file it points to is replaced, beside itself, and the link is kept. A
destination that exists but is not a regular file (a directory, a FIFO, a device) is
refused: renaming over it would replace the node, not write into it.

A new file gets 0o666 less the umask, as `open` would give it. The umask is read without
changing it: `os.umask` can only read it by setting it, and it is process-wide, so a file
another thread creates in between would get the temporary value (0: world-writable).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def destination(path: str | os.PathLike[str]) -> Path:
    """Where writing to `path` must land: `path` itself, or what its symbolic links name.

    Raises IsADirectoryError or FileExistsError (both OSError) when the destination exists and
    is not a regular file.
    """
    dest = Path(os.path.realpath(path))
    try:
        mode = os.stat(dest).st_mode
    except FileNotFoundError:
        return dest
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{path} is a directory")
    if not stat.S_ISREG(mode):
        raise FileExistsError(f"{path} exists and is not a regular file")
    return dest


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], *, mode: int | None = None,
                  replace: bool = True) -> Iterator[IO[bytes]]:
    """A binary file whose content becomes `path`'s when the block ends without an error.

    Args:
        path: the destination (see `destination` for links and special files).
        mode: the permission bits of the published file; default: those of the file it
            replaces, else 0o666 less the umask (what `open` would give).
        replace: False publishes with a hard link, keeping a file that already exists
            (for content that is named by its own hash and never changes).

    Raises OSError when the file cannot be written; the destination is then as it was.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.bin"
    >>> with atomic_writer(path) as f:
    ...     _ = f.write(b"all or nothing")
    >>> path.read_bytes()
    b'all or nothing'
    """
    dest = destination(path)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode(dest) if mode is None else mode)
        if replace:
            os.replace(tmp, dest)
        else:
            _link(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    fsync_directory(dest.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable (best effort: some file systems refuse)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _link(tmp: str, dest: Path) -> None:
    try:
        os.link(tmp, dest)
    except FileExistsError:
        pass  # published first by another writer
    except OSError:
        os.replace(tmp, dest)  # a file system without hard links


STATUS = "/proc/self/status"  # Linux (4.7 and later) shows the umask there


def _mode(dest: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(dest).st_mode)
    except FileNotFoundError:
        return 0o666 & ~umask(dest.parent)


def umask(directory: Path) -> int:
    """The process's umask, read without changing it: from `STATUS` where the system has
    it, else from the mode a probe file created 0o666 in `directory` gets."""
    with contextlib.suppress(OSError, ValueError), open(STATUS, encoding="ascii") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8) & 0o777
    return _probed_umask(directory)


def _probed_umask(directory: Path) -> int:
    while True:
        probe = directory / f".umask-probe.{secrets.token_hex(8)}"
        try:
            fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        try:
            return 0o666 & ~stat.S_IMODE(os.fstat(fd).st_mode)
        finally:
            os.close(fd)
            os.unlink(probe)
