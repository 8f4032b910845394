"""The fused engine's entry: plan the graph, find its kernel, allocate the result, run.

Importing this module imports numba: `_compute` treats an ImportError here as "the fused
engine is unavailable". The per-call path is kept short (one walk over the graph, one dict
look-up, one allocation, one call), since a 100x300 batch takes only tens of microseconds
in numpy.
"""

from __future__ import annotations

import os
import threading
from typing import Any

# numba's OpenMP threads spin after each parallel kernel (libgomp's default) and OpenBLAS's
# threads spin after each matmul: on few cores the two pools starve each other, and a
# training loop that alternates matmuls and fused kernels slows down several times (an
# MNIST step, 784-300-50-10 batch 100: 8.5 ms instead of 2.7 ms on 2 cores). Waiting
# passively costs a thread wake-up per parallel kernel instead, which PAR_THRESHOLD pays
# for. libgomp reads this when numba loads it, at the first parallel kernel; a value the
# user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # after the environment it must see (ruff allows code before imports here)
import numpy as np

from .. import _reference
from .._expr import Node
from .._strategy import Par, Strategy
from ._cache import kernel_for
from ._plan import Unfusable, make_plan

# Below this many elements in the largest node, `Par` runs the sequential variant: waking
# the threads costs more than they give. Measured by `python -m benchmarks.fusion` (its
# threshold sweep) on 2 cores with passive waiting: Par costs ~70 µs of wake-up, breaks
# even near 1M elements and is 1.3x faster at 2M (spinning threads broke even at 64k, but
# see OMP_WAIT_POLICY above for what spinning costs next to BLAS).
PAR_THRESHOLD = 1 << 20

# numba's default threading layer may be workqueue, which aborts the process when two
# threads launch parallel kernels at once; sequential kernels release the GIL and need no lock.
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
            with _par_lock:
                kernel.par(out, *plan.leaves, plan.consts, plan.dims, numba.get_num_threads())
        else:
            kernel.seq(out, *plan.leaves, plan.consts, plan.dims, 1)
    out.flags.writeable = False
    return out
