"""The front-end's chunked constructors and sinks (from_dask, from_zarr, to_dask, store),
importing dask only when called; the Dask engine (`_dask`) computes what they build.

dask and zarr are an optional extra (`pip install 'typedarr[dask]'`): typedarr imports
without them, and the first chunked array says how to install them if they are missing.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ._compute import current_engine
from ._errors import DTypeError, ShapeError
from ._ir import FLOAT_DTYPES, Node, chunked

if TYPE_CHECKING:
    import dask.array as da

    from ._array import _Array

_INSTALL = "pip install 'typedarr[dask]'"


def chunked_leaf(blocks: object, rank: int, kind: str) -> Node:
    """The node of a chunked array of `kind` over the dask array `blocks`, validated as
    `from_numpy` validates: rank and dtype (the values are not read: that is a full pass)."""
    da = _dask_array(f"{kind}.from_dask")
    if not isinstance(blocks, da.Array):
        raise TypeError(f"{kind}.from_dask takes a dask array, got {type(blocks).__name__}"
                        f"{f': use {kind}.from_numpy' if isinstance(blocks, np.ndarray) else ''}")
    array = _any(blocks)  # a dask array (typed as object: dask is an optional extra)
    if isinstance(getattr(array, "_meta", None), np.ma.MaskedArray):
        raise TypeError(f"{kind}.from_dask takes plain blocks, got a masked dask array: its "
                        f"mask would be dropped and the values hidden under it kept; fill it "
                        f"explicitly (da.ma.filled(x, 0.0))")
    if array.ndim != rank:
        raise ShapeError(f"{kind}.from_dask needs a {rank}-d array, got shape {array.shape}")
    if any(np.isnan(n) for n in array.shape):
        raise ShapeError(f"{kind}.from_dask needs known sizes, got shape {array.shape}: call "
                         f".compute_chunk_sizes() on the dask array first")
    if array.dtype not in FLOAT_DTYPES:
        raise DTypeError(f"{kind}.from_dask takes float32 or float64, got {array.dtype}: "
                         f"convert explicitly, e.g. x.astype(np.float32)")
    return chunked(array, tuple(int(n) for n in array.shape), np.dtype(array.dtype))


def zarr_leaf(source: object, rank: int, kind: str) -> Node:
    """The node of a chunked array over a zarr array, or the zarr array stored at a path."""
    da = _dask_array(f"{kind}.from_zarr")
    if isinstance(source, str | os.PathLike):
        if not os.path.exists(source):
            raise FileNotFoundError(f"{kind}.from_zarr: no zarr array at {source}")
        source = os.fspath(source)
    return chunked_leaf(da.from_zarr(source), rank, kind)


def to_dask(x: _Array) -> da.Array:
    """`x`'s values as a lazy dask array (see `_Array.to_dask`; `x` is a typed array)."""
    _dask_array("to_dask")
    from ._dask import to_dask as lazy

    return lazy(x._node, current_engine())


def store(x: _Array, target: str | os.PathLike[str] | Any, *, overwrite: bool = False
          ) -> None:
    """Compute `x` block by block into `target`, never holding it whole in memory.

    Args:
        x: a Matrix or Vector (delayed, chunked or in memory).
        target: a path, where a new zarr array is written (beside it first, then renamed
            into place), or an existing array of `x`'s shape to fill (a zarr array, a
            numpy memmap).
        overwrite: replace a zarr array that already exists at the path. Nothing else is
            replaced: a path holding anything but one zarr array (a directory of other
            files, a zarr group, a file, a link) is refused and left as it was.

    Raises FileExistsError for an existing path without `overwrite`, or with it for a path
    that is not a zarr array; ShapeError for a target of another shape; DTypeError for a
    target of another dtype (a store never converts: float32 values into an int32 or
    float16 array would be truncated or rounded).

    >>> import dask.array, pathlib, tempfile, zarr
    >>> x = Matrix.from_dask(dask.array.ones((4, 3), chunks=2, dtype=np.float32))
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "y.zarr"
    >>> store(2 * x + 1, path)
    >>> zarr.open_array(path)[0]
    array([3., 3., 3.], dtype=float32)
    """
    # An array's node says it is a Matrix or Vector: `_array` imports this module.
    if not isinstance(getattr(x, "_node", None), Node):
        raise TypeError(f"store takes a Matrix or Vector, got {type(x).__name__}")
    _dask_array("store")
    from ._dask import store as write

    write(x._node, target, overwrite, current_engine())


def _dask_array(what: str) -> Any:
    try:
        import dask.array
        import zarr  # noqa: F401  (both are the extra: fail here, not half-way through)
    except ImportError as err:
        raise ImportError(f"{what} needs dask and zarr ({err}): {_INSTALL}") from err
    return dask.array


def _any(x: object) -> Any:
    return x
