"""The Dask engine: what the dispatcher runs for a graph that reads chunked arrays.

It computes with whatever scheduler Dask has active: a `dask.distributed.Client` the user
made (a `LocalCluster` or a real cluster's address), else Dask's threads. typedarr adds no
scheduler, worker or transport of its own: its tasks are pure functions of numpy blocks and a
`Recipe` (see `_block`), so a task lost with its worker is simply run again elsewhere. It is
given the in-memory engine that computes each block (and the parts that read no chunked
array): it imports no dispatcher.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import dask

# pyright reads dask's partial annotations: where they are wrong (`chunks` typed as str,
# attributes missing, `compute` not re-exported) a line ignores them.
import dask.array as da
import numpy as np

from .._atomic import fsync_directory
from .._engine import Engine
from .._errors import DTypeError, ShapeError, TraceError
from .._ir import Node, holds_chunked
from .._strategy import Strategy
from ._regions import Translation
from ._replaceable import refuse_unless_zarr_array

Array = np.ndarray[Any, np.dtype[Any]]


class DaskEngine:
    """The Dask engine behind the `Engine` interface, running `memory` on each block."""

    __slots__ = ("memory",)

    def __init__(self, memory: Engine) -> None:
        self.memory = memory

    def covers(self, roots: tuple[Node, ...]) -> bool:
        return holds_chunked(roots)

    def evaluate_many(self, roots: tuple[Node, ...], strategy: Strategy
                      ) -> tuple[Array, ...]:
        """The values of `roots` in memory: fresh, C-contiguous and read-only.

        One `dask.compute` for every root, so roots that read the same blocks share their
        reads. `strategy` is not used: Dask spreads the blocks over its threads or workers,
        and each block runs the sequential kernel.
        """
        translation = Translation(roots, self.memory)
        lazy = [translation.array(r) for r in roots if translation.chunked(r)]
        computed = iter(dask.compute(*lazy))  # pyright: ignore[reportPrivateImportUsage]
        return tuple(_owned(next(computed), r) if translation.chunked(r) else
                     translation.in_memory(r) for r in roots)

    def compile_program(self, roots: tuple[Node, ...], inputs: tuple[Node, ...],
                        strategy: Strategy) -> Any:
        """Refused: a compiled function is one kernel over arrays in memory."""
        raise TraceError("a typedarr.jit function cannot read a chunked array "
                         "(Matrix.from_dask): pass it as an argument (it is then loaded into "
                         "memory) or compute the chunked expression outside the compiled "
                         "function")


def to_dask(node: Node, memory: Engine) -> da.Array:
    """The lazy dask array of `node`'s values (nothing is computed but in-memory parts,
    by `memory`)."""
    return Translation((node,), memory).array(node)


def store(node: Node, target: object, overwrite: bool, memory: Engine) -> None:
    """Write `node`'s values to `target`: a path (a new zarr array) or an array to fill."""
    blocks = to_dask(node, memory)
    if isinstance(target, str | os.PathLike):
        _store_path(blocks, Path(os.fspath(target)), overwrite)
        return
    shape = getattr(target, "shape", None)
    if shape is None or not hasattr(target, "__setitem__"):
        raise TypeError(f"store writes to a path or to an array (zarr, a numpy memmap), got "
                        f"{type(target).__name__}")
    if tuple(shape) != blocks.shape:
        raise ShapeError(f"cannot store an array of shape {blocks.shape} into an array of "
                         f"shape {tuple(shape)}")
    _check_target_dtype(blocks.dtype, getattr(target, "dtype", None))
    chunks = getattr(target, "chunks", None)
    if isinstance(chunks, tuple):
        # One task per target chunk: two tasks never write into the same zarr chunk.
        blocks = blocks.rechunk(chunks)  # pyright: ignore[reportArgumentType]
    da.store(blocks, target, lock=chunks is None)


def _store_path(blocks: da.Array, dest: Path, overwrite: bool) -> None:
    """A new zarr array at `dest`, written beside it and renamed into place, so that a
    reader (or a crash) sees the old array or the new one, never half of one."""
    import zarr

    if os.path.lexists(dest):
        if not overwrite:
            raise FileExistsError(f"{dest} exists: pass overwrite=True to replace it")
        refuse_unless_zarr_array(dest)  # before the work: nothing else is ever deleted
    dest = dest.absolute()
    work = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp"))
    try:
        blocks = _regular(blocks)
        array = zarr.create_array(store=str(work / "a"), shape=blocks.shape,  # pyright: ignore[reportArgumentType]
                                  chunks=tuple(int(n) for n in blocks.chunksize),  # pyright: ignore[reportAttributeAccessIssue]
                                  dtype=blocks.dtype)
        da.store(blocks, array, lock=False)
        if os.path.lexists(dest):
            _move_aside(dest, work / "old")
        os.replace(work / "a", dest)
        fsync_directory(dest.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _move_aside(dest: Path, old: Path) -> None:
    """Move the zarr array at `dest` to `old` (deleted with the work directory), checking
    again what was moved: something put at `dest` since the first check goes back."""
    os.replace(dest, old)
    try:
        refuse_unless_zarr_array(old)
    except FileExistsError:
        os.rename(old, dest)
        refuse_unless_zarr_array(dest)
        raise


def _check_target_dtype(have: np.dtype[Any], target: object) -> None:
    """Raise DTypeError unless the target array holds `have` exactly: a store into another
    dtype would round, truncate or overflow the values without a word."""
    try:
        want = None if target is None else np.dtype(target)  # type: ignore[call-overload]
    except TypeError:
        want = None
    if want != have:
        raise DTypeError(f"cannot store {have} values into an array of dtype {target}: "
                         f"store into a {have} array, or convert the values explicitly "
                         f"(x.astype(np.float64)) when the target is float64")


def _regular(blocks: da.Array) -> da.Array:
    """`blocks` with chunks a zarr array can hold: equal along each axis but the last."""
    chunks = blocks.chunks
    if all(all(c == axis[0] for c in axis[:-1]) and axis[-1] <= axis[0]
           for axis in chunks if axis):
        return blocks
    return blocks.rechunk(tuple(max(axis, default=1) for axis in chunks))  # pyright: ignore[reportArgumentType]


def _owned(value: Any, node: Node) -> Array:
    """`value` as a result array: Dask may hand back a view of a block (or of the caller's
    own array), so anything it does not own outright is copied before it is frozen."""
    out = np.asarray(value, dtype=node.dtype)
    if not (out.flags.c_contiguous and out.flags.owndata and out.flags.writeable):
        out = np.array(out, order="C", copy=True)
    out.flags.writeable = False
    return out
