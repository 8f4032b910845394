"""Read-only storage whose write flag cannot be turned back on: what every LEAF holds and
every engine's result becomes.

numpy lets anyone set `a.flags.writeable = True` again on an array that owns its memory, or
on a view of one: so `np.asarray(m).flags.writeable = True` would make a Matrix writable.
It refuses when the memory comes from a read-only buffer, so a frozen array is a view of a
read-only `memoryview` of the values (no copy). Its views (`.T`, slices, reshapes) are views
of that buffer and refuse too. What stays out of reach only by convention is numpy's own
`.base` chain walked down to the memoryview's exporter (`a.base.base.obj`): no typedarr
function hands that out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[Any]]


def is_frozen(a: Array) -> bool:
    """Whether `a` is read-only over a read-only buffer (its flag cannot be set again)."""
    if a.flags.writeable:
        return False
    base: object = a
    while isinstance(base, np.ndarray):
        base = base.base
    return isinstance(base, memoryview) and base.readonly


def frozen(a: Array) -> Array:
    """`a`'s values, frozen: `a` itself if it is, else a read-only view over a read-only
    buffer of `a` (a C-contiguous copy first where `a` is strided). `a`'s own flags are
    left as they are: it may be memory the caller lent."""
    if is_frozen(a):
        return a
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    out: Array = np.frombuffer(a.data.toreadonly(), a.dtype).reshape(a.shape)
    return out
