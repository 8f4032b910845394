"""Picking rows, columns and elements: an int, a slice, or an index array for each axis.

Index arrays are how mini-batches are drawn (`x[perm[i:i + 100]]`), so they are checked
strictly: one axis, integer dtype, every index in range. Booleans are refused, since numpy
would read them as a mask and a Python list of them as 0/1 indices. Integers are Python's
or numpy's (`np.int64`) alike, and an `Indices` (what `argmax_cols` returns) is an index
array.

A Matrix also takes a pair, `m[rows, cols]`, each an int (that axis disappears), a slice
or an index array: `m[:, j]` is column `j` as a Vector, `m[:, a:b]` a Matrix of those
columns. Note: numpy pairs two index arrays elementwise (`m[[0, 1], [2, 3]]` is two
elements) where the rest of indexing takes whole axes; typedarr refuses two index arrays
and names both spellings (`m[rows][:, cols]` for the sub-matrix).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

Index = int | np.integer[Any] | slice | Sequence[int] | np.ndarray[Any, Any]
Key = int | slice | np.ndarray[Any, Any]


def select(data: np.ndarray[Any, Any], index: Index, kind: str) -> np.ndarray[Any, Any] | float:
    """`data[index]` along the first axis, read-only; a float for one Vector element."""
    if isinstance(index, tuple):
        raise TypeError(f"{kind} indexing takes one index, not a tuple {index!r}")
    key = axis_key(index, data.shape[0], kind, "rows" if data.ndim == 2 else "elements")
    if isinstance(key, int):
        return float(data[key]) if data.ndim == 1 else data[key]
    return _read_only(data[key])


def select_pair(data: np.ndarray[Any, Any], index: tuple[Any, ...]
                ) -> np.ndarray[Any, Any] | float:
    """`data[rows, cols]` of a 2-d `data`, each axis taken whole: a float for two ints, 1-d
    for one int, else 2-d (a fresh, contiguous, read-only copy)."""
    if len(index) != 2:
        raise TypeError(f"Matrix indexing takes m[rows] or m[rows, cols], got {len(index)} "
                        f"indices {index!r}")
    rows = axis_key(index[0], data.shape[0], "Matrix", "rows")
    cols = axis_key(index[1], data.shape[1], "Matrix", "columns")
    if isinstance(rows, np.ndarray) and isinstance(cols, np.ndarray):
        raise TypeError("m[rows, cols] with two index arrays is ambiguous (numpy pairs them "
                        "into single elements): write m[rows][:, cols] for the rows x cols "
                        "sub-matrix, or [m[i, j] for i, j in zip(rows, cols)] for the pairs")
    if isinstance(rows, int) and isinstance(cols, int):
        return float(data[rows, cols])
    picked = data[rows]
    return _read_only(picked[cols] if picked.ndim == 1 else picked[:, cols])


def axis_key(index: object, n: int, kind: str, what: str) -> Key:
    """`index` checked against an axis of `n` `what` (rows, columns, elements)."""
    if isinstance(index, bool | np.bool_):
        raise TypeError(f"{kind} indices are integers, not booleans")
    if isinstance(index, numbers.Integral):
        i = int(index)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range for a {kind} of {n} {what}")
        return i
    if isinstance(index, slice):
        return index
    idx = _index_array(index, kind)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)][0]
        raise IndexError(f"index {bad} is out of range for a {kind} of {n} {what}")
    return idx


def _read_only(out: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out = np.ascontiguousarray(out)
    if out.flags.writeable and not out.flags.owndata:  # a view of the owner's memory: copy
        out = out.copy()
    out.flags.writeable = False
    return out


def integer_vector(x: object) -> tuple[np.ndarray[Any, Any], bool]:
    """`x` as an array (an empty one as intp), and whether it is a 1-d array of integers:
    what row indices and integer labels must be."""
    idx = np.asarray(x)
    if idx.size == 0:
        idx = idx.astype(np.intp)
    return idx, idx.ndim == 1 and idx.dtype.kind in "iu"


def _index_array(index: object, kind: str) -> np.ndarray[Any, Any]:
    """`index` as a 1-d integer array, refusing floats, bools (also among ints) and ranks."""
    if not isinstance(index, np.ndarray | Sequence) or isinstance(index, str):
        raise TypeError(f"{kind} indices are ints, slices or 1-d integer arrays, got "
                        f"{type(index).__name__} {index!r}")
    idx, integers = integer_vector(index)
    if not integers:
        raise TypeError(f"{kind} index arrays must be 1-d integers, got {idx.dtype} "
                        f"with shape {idx.shape}")
    if (not isinstance(index, np.ndarray) and idx.dtype.kind in "iu"
            and any(isinstance(i, bool | np.bool_) for i in index)):
        raise TypeError(f"{kind} indices are integers, not booleans (a list mixes them)")
    return idx
