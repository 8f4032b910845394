"""A big program's first call compiles its pieces on two cores: half in a helper process.

A compiled program of many pieces (a CNN's training step: about twenty kernels) compiles
each kernel on its first call, one after the other, and numba's compiler holds the GIL, so
threads would not help. When at least two of the pieces are kernels no process has compiled
yet (their module files are new), the first call starts ONE helper process
(`_precompile.main` in a new Python) that compiles the later half of them, with the exact
argument types the call will pass, into the kernel directory's disk cache, while this
process runs the first half as usual (compiling them). Before it runs a piece of the
helper's half it waits for the helper; numba then loads that piece from the disk cache. The
disk cache's own rules hold: entries are written under its lock and checked on read, and a
helper that fails or is interrupted only costs the time: the piece is compiled here.

The helper is given, on its standard input as JSON, each kernel's module file (which it
loads only from the trusted kernel directory, and only if the file holds the source its
name is the hash of), the variant, and each argument's type (dtype, rank, layout,
writability, or an int): no pickle, no data. With one core, with no disk cache, with
fewer than two new kernels, or with `TYPEDARR_COMPILE_HELPER=0`, nothing is started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numba
import numpy as np

from ._cache import Kernel, kernel_from_file

Array = np.ndarray[Any, np.dtype[Any]]


def describe(arg: object) -> list[Any]:
    """The numba type of a kernel argument, as JSON: ["array", dtype, ndim, layout,
    readonly] or ["int"]."""
    if isinstance(arg, np.ndarray):
        typeof: Any = numba.typeof  # untyped in numba's stubs
        t = typeof(arg)
        return ["array", arg.dtype.str, t.ndim, t.layout, not arg.flags.writeable]
    if isinstance(arg, int):
        return ["int"]
    raise TypeError(f"no kernel argument of type {type(arg).__name__}")


def like(dtype: np.dtype[Any], ndim: int, *, readonly: bool) -> Array:
    """A placeholder with the type a computed array argument will have (C-contiguous)."""
    out: Array = np.empty((0,) * ndim, dtype)
    out.flags.writeable = not readonly
    return out


def job(kernel: Kernel, par: bool, args: list[object]) -> dict[str, Any] | None:
    """What the helper needs to compile `kernel`'s variant for `args` (None: nothing to do,
    as for a kernel compiled in memory only)."""
    if kernel.file is None or not kernel.new:
        return None
    return {"file": str(kernel.file), "variant": "par" if par else "seq",
            "args": [describe(a) for a in args]}


class Helper:
    """The helper process compiling `jobs` (started at once, waited for by `wait`)."""

    def __init__(self, jobs: list[dict[str, Any]]) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        if (not jobs or (os.cpu_count() or 1) < 2
                or os.environ.get("TYPEDARR_COMPILE_HELPER", "1") == "0"):
            return
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", "from typedarr._fused._precompile import main; main()"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps(jobs).encode())
            self._proc.stdin.close()
        except OSError:  # no process to start: compile here
            self._proc = None

    def wait(self) -> None:
        """Until the helper is done (interruptibly: Ctrl-C stops waiting and the helper)."""
        proc = self._proc
        if proc is None:
            return
        try:
            while True:
                try:
                    proc.wait(timeout=0.1)
                    break
                except subprocess.TimeoutExpired:
                    continue
        except BaseException:
            proc.kill()
            raise
        finally:
            self._proc = None


def _signature(args: list[list[Any]]) -> tuple[Any, ...]:
    types: Any = numba.types
    out = []
    for a in args:
        if a[0] == "int":
            out.append(types.int64)
        else:
            _, dtype, ndim, layout, readonly = a
            out.append(types.Array(numba.from_dtype(np.dtype(dtype)), ndim, layout,
                                   readonly=readonly))
    return tuple(out)


def main() -> int:
    """The helper: compile each job read from standard input into the disk cache (compiling
    launches no thread, so numba's threading layer is not chosen here)."""
    for item in json.loads(sys.stdin.read()):
        kernel = kernel_from_file(Path(item["file"]))
        variant = kernel.par if item["variant"] == "par" else kernel.seq
        variant.compile(_signature(item["args"]))
    return 0

