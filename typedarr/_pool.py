"""Result buffers recycled: a large array computed after another of the same size was freed
reuses its memory instead of fresh pages.

Fresh memory of a large allocation arrives unmapped, and the first write to each page costs
a page fault: on a memory-bound kernel that is a large share of the time. So a result of at
least `MIN_BYTES` is carved from a recycled block when one of its size is free, and its block
goes back to the pool when the result (and every view of it) is garbage: a finaliser on the
array returns it. The pool holds at most `MAX_BYTES` of free blocks (oldest dropped first),
so it never keeps more memory than a few results' worth. Small results are plain `np.empty`:
the allocator already recycles them, and a finaliser would cost more than it saves.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[Any]]

MIN_BYTES = 1 << 20
MAX_BYTES = 256 << 20

_free: OrderedDict[int, list[Array]] = OrderedDict()  # block size -> free blocks (uint8)
_held = [0]
_lock = threading.Lock()


def empty(shape: tuple[int, ...], dtype: np.dtype[Any]) -> Array:
    """An uninitialised C-contiguous array, its memory recycled when it is large."""
    nbytes = int(np.prod(shape)) * dtype.itemsize
    if nbytes < MIN_BYTES:
        return np.empty(shape, dtype)
    with _lock:
        blocks = _free.get(nbytes)
        block = blocks.pop() if blocks else None
        if block is not None:
            _held[0] -= nbytes
            if not blocks:
                del _free[nbytes]
    if block is None:
        block = np.empty(nbytes, np.uint8)
    out: Array = block.view(dtype).reshape(shape)
    weakref.finalize(out, _give_back, block)
    return out


def _give_back(block: Array) -> None:
    with _lock:
        _free.setdefault(block.nbytes, []).append(block)
        _free.move_to_end(block.nbytes)
        _held[0] += block.nbytes
        while _held[0] > MAX_BYTES and _free:
            size, blocks = next(iter(_free.items()))
            blocks.pop(0)
            _held[0] -= size
            if not blocks:
                del _free[size]


def held() -> int:
    """Bytes of free blocks the pool holds now."""
    return _held[0]
