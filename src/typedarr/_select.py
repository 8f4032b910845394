"""Picking rows of a Matrix or elements of a Vector: an int, a slice, or an index array.

Index arrays are how mini-batches are drawn (`x[perm[i:i + 100]]`), so they are checked
strictly: one axis, integer dtype, every index in range. Booleans are refused, since numpy
would read them as a mask and a Python list of them as 0/1 indices. Integers are Python's
or numpy's (`np.int64`) alike.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

Index = int | np.integer[Any] | slice | Sequence[int] | np.ndarray[Any, Any]


def select(data: np.ndarray[Any, Any], index: Index, kind: str) -> np.ndarray[Any, Any] | float:
    """`data[index]` along the first axis, read-only; a float for one Vector element."""
    n = data.shape[0]
    if isinstance(index, bool | np.bool_):
        raise TypeError(f"{kind} indices are integers, not booleans")
    if isinstance(index, numbers.Integral):
        i = int(index)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range for a {kind} of {n} "
                             f"{'rows' if data.ndim == 2 else 'elements'}")
        return float(data[i]) if data.ndim == 1 else data[i]
    if isinstance(index, slice):
        return data[index]
    if isinstance(index, tuple):
        raise TypeError(f"{kind} indexing takes one index (rows), not a tuple {index!r}")
    idx = _index_array(index, kind)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)][0]
        raise IndexError(f"index {bad} is out of range for a {kind} of length {n}")
    out: np.ndarray[Any, Any] = data[idx]
    out.flags.writeable = False
    return out


def _index_array(index: object, kind: str) -> np.ndarray[Any, Any]:
    """`index` as a 1-d integer array, refusing floats, bools (also among ints) and ranks."""
    if not isinstance(index, np.ndarray | Sequence):
        raise TypeError(f"{kind} indices are ints, slices or 1-d integer arrays, got "
                        f"{type(index).__name__} {index!r}")
    idx = np.asarray(index)
    if idx.size == 0:
        idx = idx.astype(np.intp)
    if idx.ndim != 1 or idx.dtype.kind not in "iu":
        raise TypeError(f"{kind} index arrays must be 1-d integers, got {idx.dtype} "
                        f"with shape {idx.shape}")
    if not isinstance(index, np.ndarray) and any(isinstance(i, bool | np.bool_) for i in index):
        raise TypeError(f"{kind} indices are integers, not booleans (a list mixes them)")
    return idx
