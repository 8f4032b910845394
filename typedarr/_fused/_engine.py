"""The fused engine's entry: plan the graph, find its kernel, allocate the result, run.

Importing this module imports numba: `_compute` treats an ImportError here as "the fused
engine is unavailable". The per-call path is kept short (one walk over the graph, one dict
look-up, one allocation, one call), since a 100x300 batch takes only tens of microseconds
in numpy. Importing it also chooses numba's threading layer (fork safety, see
`_choose_threading_layer`); big kernels and first compiles run where Ctrl-C cannot hold
them up (`_in_background`).
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from .. import _reference
from .._expr import Node
from .._strategy import Par, Strategy
from ._cache import kernel_for
from ._plan import Unfusable, make_plan

# Below this many elements in the largest node, `Par` runs the sequential variant: waking
# the threads costs more than they give. Measured by `python -m benchmarks.fusion` (its
# threshold sweep).
PAR_THRESHOLD = 1 << 21

# From this many elements (and for a variant's first call, which compiles it) the kernel runs
# in a worker thread while the main thread waits in a way Ctrl-C interrupts: a kernel cannot
# be stopped, but the caller gets control back at once. Below it, starting a thread would
# cost a noticeable part of the kernel's time, and the kernel ends soon anyway.
BACKGROUND_WORK = 1 << 22


def _choose_threading_layer() -> None:
    """numba's threading layer: 'workqueue' unless the user chose one.

    GNU OpenMP ('omp', numba's choice on Linux when TBB is absent) kills any child forked
    after a parallel kernel ran, and data loaders and `multiprocessing` fork. 'workqueue' is
    fork-safe on every platform and ships with numba (TBB is faster but pip's TBB is not
    found by numba in a virtual environment, and forking from a thread other than the one
    that started TBB is undefined). Its workers wait passively, so they do not starve BLAS's
    threads between kernels. It is not thread-safe: `_par_lock` serialises parallel kernels.
    numba reads this setting when it starts its threads, at the first parallel kernel.
    """
    config: Any = importlib.import_module("numba.core.config")  # untyped in numba's stubs
    if "NUMBA_THREADING_LAYER" not in os.environ and config.THREADING_LAYER == "default":
        config.THREADING_LAYER = "workqueue"


_choose_threading_layer()
_par_lock = threading.Lock()


def evaluate(node: Node, strategy: Strategy) -> np.ndarray[Any, np.dtype[Any]]:
    """The values of `node` computed by one fused kernel: fresh, C-contiguous, read-only.

    Graphs the kernels do not cover (rank 3 and 4) go to the reference evaluator.
    """
    try:
        plan = make_plan(node)
    except Unfusable:
        out = _reference.evaluate(node)
    else:
        kernel = kernel_for(plan.key)
        out = np.empty(node.shape, node.dtype)
        if strategy is Par and plan.work >= PAR_THRESHOLD:
            variant, call = kernel.par, _call_parallel
            args = (kernel.par, out, *plan.leaves, plan.consts, plan.dims,
                    numba.get_num_threads())
        else:
            variant = call = kernel.seq
            args = (out, *plan.leaves, plan.consts, plan.dims, 1)
        if ((plan.work >= BACKGROUND_WORK or not variant.overloads)
                and threading.current_thread() is threading.main_thread()):
            _in_background(call, *args)
        else:
            call(*args)
    out.flags.writeable = False
    return out


def _call_parallel(variant: Any, *args: Any) -> None:
    with _par_lock:
        variant(*args)


def _in_background(function: Callable[..., object], *args: Any) -> None:
    """Run `function(*args)` in a worker thread; wait for it so that Ctrl-C (delivered to the
    main thread) interrupts the wait.

    An interrupted wait abandons the call: the kernel (or the compile) runs to its end in its
    daemon thread, its result is dropped, and the memory it writes is freed when it ends; a
    parallel kernel holds `_par_lock` until then, so the next parallel compute waits for it
    (interruptibly too). A compile finished this way is kept, so an interrupted first compute
    leaves a working kernel, never a half-made one. At exit the thread does not delay the
    interpreter.
    """
    failure: list[BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            function(*args)
        except BaseException as err:  # handed to the waiting thread
            failure.append(err)
        finally:
            done.set()

    threading.Thread(target=work, name="typedarr-kernel", daemon=True).start()
    while not done.wait(0.1):  # a timed wait: interruptible everywhere, Windows included
        pass
    if failure:
        raise failure[0]
