"""Picking rows of a Matrix or elements of a Vector: an int, a slice, or an index array.

Index arrays are how mini-batches are drawn (`x[perm[i:i + 100]]`), so they are checked
strictly: one axis, integer dtype, every index in range. Booleans are refused, since numpy
would read them as a mask and a Python list of them as 0/1 indices.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

Index = int | slice | Sequence[int] | np.ndarray[Any, Any]


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
    idx = np.asarray(index)
    if idx.size == 0:
        idx = idx.astype(np.intp)
    if idx.ndim != 1 or idx.dtype.kind not in "iu":
        raise TypeError(f"{kind} index arrays must be 1-d integers, got {idx.dtype} "
                        f"with shape {idx.shape}")
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)][0]
        raise IndexError(f"index {bad} is out of range for a {kind} of length {n}")
    out: np.ndarray[Any, Any] = data[idx]
    out.flags.writeable = False
    return out
