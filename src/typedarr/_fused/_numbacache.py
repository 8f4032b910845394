"""numba's disk cache of one kernel variant, kept where typedarr checked and checked on read.

numba's own cache looks for a directory (`NUMBA_CACHE_DIR`, the module's `__pycache__`, a
user-wide directory, ...) and unpickles what it finds there; a truncated or garbled file
makes every later call raise. For typedarr's kernels the cache is pinned to the kernel
module's `__pycache__`, which `_cachedir.private_directory` created or checked, and each
file numba writes ends in a sha256 of the rest (numba's reader ignores bytes after a
pickle), written with `atomic_writer`. A file whose digest does not match, or that fails to
load in any way, is deleted with the rest of its entry and the variant is compiled again
(one `KernelCacheWarning` per process); a file that cannot be written costs the disk cache,
not the compute.

Concurrent writers (Dask workers, parallel jobs sharing the directory) are safe: numba reads
the index, adds an entry and writes it back, so two processes saving different signatures at
once could leave the index naming one signature's data file while it holds the other's
machine code, each file intact. Here an entry is written (index and data file) under an
exclusive `flock` on the variant's `.lock` file and read under a shared one, and every data
file also ends in a digest of the index key it was written for, checked before it is loaded:
a data file that claims another signature is damaged (removed, compiled again), never run.

This leans on numba's cache classes (`numba.core.caching`, the same from numba 0.60 to 0.68):
the locator, the implementation and the index/data file pair are subclassed, not copied;
`tests/test_fusion.py` checks that a second process loads what the first compiled.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import importlib
import io
import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .._atomic import atomic_writer
from ._cachedir import warn_once

if sys.platform != "win32":
    import fcntl

_DIGEST_SIZE = hashlib.sha256().digest_size
LOCK_SUFFIX = ".lock"
# numba's partial type information does not cover these classes: use them untyped.
caching: Any = importlib.import_module("numba.core.caching")


class DamagedFile(Exception):
    """A cache file whose content does not match the digest it ends with."""


def enable(dispatcher: Any) -> None:
    """Give a numba dispatcher, compiled from a kernel module file, its checked disk cache."""
    dispatcher._cache = _KernelCache(dispatcher.py_func)


class _Locator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):  # type: ignore[misc]
    """The module's `__pycache__`: created and checked by `_cachedir` before the module was
    written, so it is never created here (numba would create it with the default mode)."""

    def __init__(self, py_func: Any, py_file: str) -> None:
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = os.path.join(os.path.dirname(py_file), "__pycache__")

    def ensure_cache_path(self) -> None:
        pass

    def get_cache_path(self) -> str:
        return self._cache_path


class _Impl(caching.CompileResultCacheImpl):  # type: ignore[misc]
    """numba's implementation with the locator fixed: `NUMBA_CACHE_DIR` and
    `NUMBA_CACHE_LOCATOR_CLASSES` do not move typedarr's kernels out of their checked place."""

    def __init__(self, py_func: Any) -> None:
        py_file = py_func.__code__.co_filename
        self._lineno = py_func.__code__.co_firstlineno
        self._locator = _Locator(py_func, py_file)
        module = os.path.splitext(os.path.basename(py_file))[0]
        self._filename_base = self.get_filename_base(f"{module}.{py_func.__qualname__}",
                                                     getattr(sys, "abiflags", ""))


class _Files(caching.IndexDataCacheFile):  # type: ignore[misc]
    """numba's index and data files, each ending in a digest of the rest (a data file also in
    the digest of its key, before that), read and written under the variant's lock."""

    def __init__(self, *, cache_path: str, filename_base: str, source_stamp: Any) -> None:
        super().__init__(cache_path=cache_path, filename_base=filename_base,
                         source_stamp=source_stamp)
        self.lock_path = os.path.join(cache_path, filename_base + LOCK_SUFFIX)

    def save(self, key: Any, data: Any) -> None:
        """numba's `save` (same names, same index), the whole read-modify-write locked."""
        with _locked(self.lock_path, exclusive=True):
            overloads = self._load_index()
            name = overloads.get(key)
            if name is None:
                taken = set(overloads.values())
                name = next(n for n in map(self._data_name, itertools.count(1))
                            if n not in taken)
                overloads[key] = name
                self._save_index(overloads)
            with self._open_for_write(self._data_path(name)) as f:
                f.write(self._dump(data) + _key_digest(key))

    def load(self, key: Any) -> Any:
        """numba's `load`, locked against writers, of a data file written for `key` only.

        Raises DamagedFile when a file does not match its digest or the data file was written
        for another key.
        """
        with _locked(self.lock_path, exclusive=False):
            name = self._load_index().get(key)
            if name is None:
                return None
            path = self._data_path(name)
            payload = _verified(path)
            if payload is None:
                return None
            if payload[-_DIGEST_SIZE:] != _key_digest(key):
                raise DamagedFile(f"{path} holds the code of another signature than the "
                                  f"index names it for")
            return self._load_data(name)  # numba's unpickling ignores the bytes after it

    @contextlib.contextmanager
    def _open_for_write(self, filepath: str) -> Iterator[IO[bytes]]:
        buffer = io.BytesIO()
        yield buffer
        payload = buffer.getvalue()
        with atomic_writer(filepath, mode=0o600) as f:
            f.write(payload + hashlib.sha256(payload).digest())

    def _load_index(self) -> Any:
        _verified(self._index_path)
        return super()._load_index()


class _KernelCache(caching.FunctionCache):  # type: ignore[misc]
    _impl_class = _Impl

    def __init__(self, py_func: Any) -> None:
        super().__init__(py_func)
        self._cache_file = _Files(cache_path=self._cache_path,
                                  filename_base=self._impl.filename_base,
                                  source_stamp=self._impl.locator.get_source_stamp())

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        try:
            return super().load_overload(sig, target_context)
        except Exception as err:  # any failure to read back what we wrote: compile again
            self._discard()
            warn_once("damaged", f"typedarr's kernel cache entry {self._impl.filename_base} "
                                 f"in {self._cache_path} could not be loaded ({err!r}); it "
                                 f"was removed and the kernel is compiled again")
            return None

    def save_overload(self, sig: Any, data: Any) -> None:
        try:
            super().save_overload(sig, data)  # reads the index first, to add this entry
        except DamagedFile:
            self._discard()
        except OSError:
            pass  # a cache that cannot be written costs time, not the compute

    def _discard(self) -> None:
        """Delete this variant's index and data files (not its lock: a process waiting on it
        would then hold a lock nobody else sees)."""
        lock_path = self._cache_file.lock_path
        pattern = os.path.join(glob.escape(self._cache_path),
                               glob.escape(self._impl.filename_base) + ".*")
        with _locked(lock_path, exclusive=True):
            for path in glob.glob(pattern):
                if path != lock_path:
                    with contextlib.suppress(OSError):
                        os.unlink(path)


@contextlib.contextmanager
def _locked(path: str, *, exclusive: bool) -> Iterator[None]:
    """Hold the advisory lock `path` (a file, created 0600): exclusive to write an entry,
    shared to read one.

    A lock that cannot be taken (a read-only directory, a file system without locks; Windows
    has no `flock`) is done without: the key digest of the data files still keeps another
    signature's code from running, and at worst a racing writer's entry is lost.
    """
    if sys.platform == "win32":
        yield
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


def _key_digest(key: Any) -> bytes:
    """What ties a data file to its index key: numba's key (signature with every array's
    dtype, rank, layout and flags, target, bytecode hashes) is fully spelled by its repr."""
    return hashlib.sha256(repr(key).encode()).digest()


def _verified(path: str) -> bytes | None:
    """The content of the file at `path` without its digest, None when it is missing.

    Raises DamagedFile unless the file ends in the sha256 of the rest.
    """
    try:
        content = Path(path).read_bytes()
    except FileNotFoundError:
        return None
    payload, digest = content[:-_DIGEST_SIZE], content[-_DIGEST_SIZE:]
    if len(content) < _DIGEST_SIZE or hashlib.sha256(payload).digest() != digest:
        raise DamagedFile(f"{path} does not match its digest")
    return payload
