"""Compiled kernels, cached in memory by structural key and on disk across processes.

numba caches only functions defined in a real source file, so each structure's kernel
source is written to a module file named by the hash of that source (so two versions of
typedarr sharing a directory never overwrite each other's kernels), in the kernel
directory (`$TYPEDARR_CACHE_DIR`, else `$XDG_CACHE_HOME/typedarr/kernels`, else
`~/.cache/typedarr/kernels`), and imported; `cache=True` then keeps numba's machine code
beside it, so a second process loads instead of compiling. A module file is published
atomically and never rewritten (a hard link of a finished temporary file, first writer
wins), so concurrent processes compiling the same kernel both succeed, and numba's cache
entries, which are stamped with the file's modification time, stay valid.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ._codegen import generate
from ._plan import Program as Key


@dataclass(frozen=True, slots=True)
class Kernel:
    """The two compiled variants of one structure (each compiled on its first call)."""

    name: str
    seq: Any  # numba dispatchers: typed as Any, numba has no type information
    par: Any


@dataclass(frozen=True, slots=True)
class CacheStats:
    """What the engine has done in this process.

    `structures`: kernels created (one per structural key); `compiled`: variants compiled
    by numba (a variant compiles once per combination of argument types and layouts);
    `loaded`: variants loaded from numba's disk cache instead.
    """

    structures: int
    compiled: int
    loaded: int


_kernels: dict[Key, Kernel] = {}
_lock = threading.Lock()


def kernel_for(key: Key) -> Kernel:
    """The kernel of the structure `key`, generating and importing it on first use."""
    found = _kernels.get(key)
    if found is None:
        with _lock:
            found = _kernels.get(key)
            if found is None:
                found = _kernels[key] = _load(key)
    return found


def stats() -> CacheStats:
    """Counts of kernels created, compiled and loaded in this process so far."""
    kernels = list(_kernels.values())
    variants = [v for k in kernels for v in (k.seq, k.par)]
    return CacheStats(len(kernels), sum(sum(v.stats.cache_misses.values()) for v in variants),
                      sum(sum(v.stats.cache_hits.values()) for v in variants))


def kernel_dir() -> Path:
    """Where kernel modules and numba's cache of them live."""
    configured = os.environ.get("TYPEDARR_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "typedarr" / "kernels"


def _load(key: Key) -> Kernel:
    source = generate(key)
    name = "typedarr_kernel_" + hashlib.sha256(source.encode()).hexdigest()[:24]
    module = sys.modules.get(name)
    if module is None:
        module = _import(name, _publish(name, source))
    return Kernel(name, module.seq, module.par)


def _publish(name: str, source: str) -> Path:
    """The path of a module file holding exactly `source`, writing it if needed."""
    try:
        return _write(kernel_dir(), name, source)
    except OSError:
        # An unwritable cache directory costs the disk cache, not the kernel.
        fallback = Path(tempfile.gettempdir()) / f"typedarr-kernels-{os.getuid()}"
        return _write(fallback, name, source)


def _write(directory: Path, name: str, source: str) -> Path:
    path = directory / f"{name}.py"
    if path.exists() and path.read_text() == source:
        return path
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    temporary.write_text(source)
    try:
        if path.exists():  # damaged (the name is the hash of the content): replace it
            os.replace(temporary, path)
        else:
            _link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _link(temporary: Path, path: Path) -> None:
    """Publish `temporary` as `path` atomically, keeping a file another process published."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # the same content, published first by another process
    except OSError:
        os.replace(temporary, path)  # a file system without hard links


def _import(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import kernel module {path}")
    module = importlib.util.module_from_spec(spec)
    # numba's disk cache re-imports the module by name when it loads a kernel.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
