"""Threads for numpy's matrix products: one for a small product, BLAS's own choice otherwise.

OpenBLAS splits a product over its threads from a few hundred thousand multiply-adds on.
For a small product that wins a fraction of a millisecond on an idle machine and costs
many milliseconds on a busy one: the caller waits until its helper thread gets a core, and
the helper then spins, holding a core that numba's threads (the fused kernels, the
convolutions) need next. A network's products at the batch sizes of training are small
(`64 x 800 @ 800 x 128`), so `matmul` runs a product below `SERIAL` multiply-adds on the
calling thread and leaves bigger ones to BLAS's threads.

The limit is set through threadpoolctl on the BLAS libraries loaded (numpy's among them)
for the duration of the product only, and restored after. Only products on the main
thread are limited: threadpoolctl lets one thread set OpenBLAS's limits (the first that
sets one), and the main thread is where a user sets theirs.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

# Multiply-adds below which a product runs on the calling thread (see the module docstring).
SERIAL = 1 << 24

Array = np.ndarray[Any, np.dtype[Any]]
T = TypeVar("T")
R = TypeVar("R")


def matmul(a: Array, b: Array) -> Any:
    """`np.matmul(a, b)` of matrices or vectors, on one thread when it is small."""
    if (a.size * (b.shape[-1] if b.ndim == 2 else 1) >= SERIAL
            or threading.current_thread() is not threading.main_thread()):
        return np.matmul(a, b)
    with one_thread():
        return np.matmul(a, b)


def serial_products(call: Callable[[T], R], largest: int) -> Callable[[T], R]:
    """`call` (a compiled program, whose products are BLAS calls from numba) run with BLAS
    on the calling thread when its `largest` product is below `SERIAL` multiply-adds: the
    same rule as `matmul`, for products that numba makes through SciPy's BLAS."""
    if largest >= SERIAL:
        return call

    def serial(arg: T) -> R:
        if threading.current_thread() is not threading.main_thread():
            return call(arg)
        with one_thread():
            return call(arg)

    return serial


@contextmanager
def one_thread() -> Iterator[None]:
    """BLAS products inside run on the calling thread (the main thread: module docstring)."""
    saved = [(lib, lib.num_threads) for lib in _libraries()]
    for lib, _ in saved:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, threads in saved:
            lib.set_num_threads(threads)


@functools.cache
def _libraries() -> list[Any]:
    """threadpoolctl's controllers of the BLAS libraries loaded at the first small product:
    numpy's, which `np.matmul` calls, and SciPy's, which numba's `np.dot` calls (loaded
    here first so that it is among them)."""
    from threadpoolctl import ThreadpoolController

    with contextlib.suppress(ImportError):
        importlib.import_module("scipy.linalg.cython_blas")

    return list(ThreadpoolController().select(user_api="blas").lib_controllers)
