"""Compiled kernels, cached in memory by structural key and on disk across processes.

numba caches only functions defined in a real source file, so each structure's kernel
source is written to a module file named by the hash of that source (so two versions of
typedarr sharing a directory never overwrite each other's kernels), in the kernel
directory (`$TYPEDARR_CACHE_DIR`, else `$XDG_CACHE_HOME/typedarr/kernels`, else
`~/.cache/typedarr/kernels`), and executed from the source in memory; numba's machine code
is kept beside it (`_numbacache`), so a second process loads instead of compiling. A module
file is published with `atomic_writer` and never rewritten while intact (a hard link of a
finished temporary file: first writer wins), so concurrent processes compiling the same
kernel both succeed, and numba's entries, stamped with the file, stay valid.

What the cache trusts: numba unpickles its cache files, so whoever can write the kernel
directory could run code in every process that computes. typedarr uses a directory only if
it and its `__pycache__` are real directories owned by the current user that nobody else can
write, reached through directories and links that only the user or root control
(`_cachedir` says exactly what is checked); it creates its directories 0700. Otherwise it
warns once (`KernelCacheWarning`) and compiles in memory for the process, reading and writing
no file: there is no shared fallback directory. Inside a trusted directory nothing is taken
on faith either: a module file must hold exactly its source (its name is the hash of it),
numba's files end in a digest of their content, and a damaged entry is removed, compiled
again and replaced (one warning). The directory is bounded (`TYPEDARR_CACHE_MAX_MB`, least
recently used kernels evicted), and so is the table in memory (`MAX_KERNELS_IN_MEMORY`,
oldest first).
"""

from __future__ import annotations

import hashlib
import sys
import threading
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._atomic import atomic_writer
from .._ir import Program as Key
from . import _cachedir, _numbacache
from ._cachedir import kernel_dir as kernel_dir
from ._codegen import generate

# A structure's kernel costs a fraction of a megabyte of process memory once loaded, more
# while numba compiles it; a program that builds ever new structures (a loop that grows an
# expression) must not keep them all. The oldest kernel goes first: keeping recency on every
# look-up would cost each compute more than reloading an evicted kernel from disk (a few
# milliseconds, once per MAX_KERNELS_IN_MEMORY new structures) costs.
MAX_KERNELS_IN_MEMORY = 256


@dataclass(frozen=True, slots=True)
class Kernel:
    """The two compiled variants of one structure (each compiled on its first call).

    `file`: its module file in the kernel directory (None: compiled in memory only);
    `new`: this process wrote that file, so no process has compiled the kernel yet (what
    `_precompile` hands to another process)."""

    seq: Any  # numba dispatchers: typed as Any, numba has no type information
    par: Any
    file: Path | None = None
    new: bool = False


@dataclass(frozen=True, slots=True)
class CacheStats:
    """What the engine has done in this process.

    `structures`: kernels created (one per structural key, again if evicted and needed
    again); `compiled`: variants compiled by numba (a variant compiles once per combination
    of argument types and layouts); `loaded`: variants loaded from numba's disk cache instead.
    """

    structures: int
    compiled: int
    loaded: int


_kernels: dict[Key, Kernel] = {}  # oldest first
_lock = threading.Lock()
_retired = CacheStats(0, 0, 0)  # the counts of evicted kernels (changed under `_lock`)


def kernel_for(key: Key) -> Kernel:
    """The kernel of the structure `key`, generating and importing it on first use.

    The table only ever holds complete kernels: an interrupted load leaves no entry.
    """
    found = _kernels.get(key)
    if found is None:
        with _lock:
            found = _kernels.get(key)
            if found is None:
                found = _load(key)
                _kernels[key] = found
                while len(_kernels) > MAX_KERNELS_IN_MEMORY:
                    _retire(_kernels.pop(next(iter(_kernels))))
    return found


def stats() -> CacheStats:
    """Counts of kernels created, compiled and loaded in this process so far."""
    with _lock:
        kernels = list(_kernels.values())
        retired = _retired
    variants = [v for k in kernels for v in (k.seq, k.par)]
    return CacheStats(
        retired.structures + len(kernels),
        retired.compiled + sum(sum(v.stats.cache_misses.values()) for v in variants),
        retired.loaded + sum(sum(v.stats.cache_hits.values()) for v in variants))


def _retire(kernel: Kernel) -> None:
    variants = (kernel.seq, kernel.par)
    global _retired
    _retired = CacheStats(
        _retired.structures + 1,
        _retired.compiled + sum(sum(v.stats.cache_misses.values()) for v in variants),
        _retired.loaded + sum(sum(v.stats.cache_hits.values()) for v in variants))
    # The module holds the dispatchers; numba finds it by name only while loading a kernel.
    sys.modules.pop(kernel.seq.py_func.__module__, None)


def _load(key: Key) -> Kernel:
    source = generate(key)
    name = _cachedir.PREFIX + hashlib.sha256(source.encode()).hexdigest()[:24]
    path, new = _publish(name, source)
    return _module(name, source, path, new)


def kernel_from_file(path: Path) -> Kernel:
    """The kernel of a module file another process published (`_precompile`'s worker):
    only from the trusted kernel directory, and only a file holding the source its name is
    the hash of. Raises ValueError otherwise."""
    directory = _cachedir.private_directory(kernel_dir())
    source = path.read_bytes()
    name = path.stem
    if (path.parent != directory or path.suffix != ".py"
            or name != _cachedir.PREFIX + hashlib.sha256(source).hexdigest()[:24]):
        raise ValueError(f"{path} is not a kernel module of {directory}")
    return _module(name, source.decode(), path, False)


def _module(name: str, source: str, path: Path | None, new: bool) -> Kernel:
    module = types.ModuleType(name)
    module.__file__ = str(path) if path else None
    exec(compile(source, str(path) if path else f"<typedarr kernel {name}>", "exec"),
         module.__dict__)
    if path is not None:
        for variant in (module.seq, module.par):
            _numbacache.enable(variant)
    # Registered only once complete: numba's disk cache imports the module by name.
    sys.modules[name] = module
    return Kernel(module.seq, module.par, path, new)


def _publish(name: str, source: str) -> tuple[Path | None, bool]:
    """The path of a module file holding exactly `source` in the trusted kernel directory,
    written if needed (and whether this call wrote it); None when no trusted directory can
    hold it."""
    configured = kernel_dir()
    try:
        directory = _cachedir.private_directory(configured)
        return _write(directory, name, source.encode())
    except _cachedir.Refused as why:
        _cachedir.warn_once("refused", f"typedarr does not trust the kernel directory "
                                       f"{configured} ({why}); kernels are compiled in memory "
                                       f"for this process only. Set TYPEDARR_CACHE_DIR to a "
                                       f"directory only you can write.")
    except OSError as err:
        _cachedir.warn_once("unusable", f"typedarr cannot keep kernels in {configured} "
                                        f"({err}); kernels are compiled in memory for this "
                                        f"process only")
    return None, False


def _write(directory: Path, name: str, data: bytes) -> tuple[Path, bool]:
    path = directory / f"{name}.py"
    try:
        found: bytes | None = path.read_bytes()
    except FileNotFoundError:
        found = None
    if found == data:
        _cachedir.touch(path)
        return path, False
    if found is not None:
        _cachedir.warn_once("damaged", f"typedarr's kernel module {path} does not hold the "
                                       f"source its name is the hash of; it was replaced")
    # Hash-named: a new file is linked, keeping one another process published meanwhile.
    with atomic_writer(path, mode=0o600, replace=found is not None) as f:
        f.write(data)
    if found is None:
        _cachedir.evict(directory, _cachedir.max_bytes(), keep=name)
    return path, True
