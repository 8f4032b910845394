"""Result buffers recycled: a large array computed after another of the same size was freed
reuses its memory instead of fresh pages.

Fresh memory of a large allocation arrives unmapped, and the first write to each page costs
a page fault: on a memory-bound kernel that is a large share of the time. So a result of at
least `MIN_BYTES` is carved from a block the pool keeps; a block is free again when nothing
but the pool refers to it. Every array that shares a block's memory, a view of a view
included, holds the block itself as its numpy `base`, so the block's reference count says
exactly whether any of them is alive (this is CPython's reference counting, which typedarr
relies on here; an array whose memory is still in use is never handed out twice). The pool
keeps at most `MAX_BYTES` of blocks; beyond that, results are plain `np.empty`. Small results
are always plain `np.empty`: the allocator already recycles them.

A thread inside `unpooled()` gets plain `np.empty` too: a Dask task's results are held and
freed by Dask, which counts a worker's memory against its limit; blocks the pool kept after
Dask freed them would be memory Dask cannot see nor spill (see `_dask._block`).
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[Any]]

MIN_BYTES = 1 << 20
MAX_BYTES = 256 << 20

_blocks: dict[int, list[Array]] = {}  # block size -> blocks (uint8), in use or free
_kept = 0  # bytes of blocks kept, in use or free (changed under `_lock`)
_lock = threading.Lock()
_plain = threading.local()  # `on` while a thread is inside `unpooled()`


def empty(shape: tuple[int, ...], dtype: np.dtype[Any]) -> Array:
    """An uninitialised C-contiguous array, its memory recycled when it is large."""
    global _kept
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < MIN_BYTES or getattr(_plain, "on", False):
        return np.empty(shape, dtype)
    with _lock:
        block = _free_block(nbytes)
        if block is None:
            block = np.empty(nbytes, np.uint8)
            if _kept + nbytes <= MAX_BYTES:
                _blocks.setdefault(nbytes, []).append(block)
                _kept += nbytes
        out: Array = block.view(dtype).reshape(shape)
    return out


def _free_block(nbytes: int) -> Array | None:
    for block in _blocks.get(nbytes, ()):
        # Referred to by the list, the loop variable and getrefcount's argument: nothing else.
        if sys.getrefcount(block) <= 3:
            return block
    return None


@contextlib.contextmanager
def unpooled() -> Iterator[None]:
    """Within this block, this thread's results are plain `np.empty`, never pool blocks."""
    before = getattr(_plain, "on", False)
    _plain.on = True
    try:
        yield
    finally:
        _plain.on = before


def kept() -> int:
    """Bytes of blocks the pool keeps (in use or free)."""
    return _kept
