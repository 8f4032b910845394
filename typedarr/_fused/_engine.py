"""The fused engine's entry: plan the graph, find its kernel, allocate the result, run.

Importing this module imports numba: `_compute` treats an ImportError here as "the fused
engine is unavailable". The per-call path is kept short (one walk over the graph, one dict
look-up, one allocation, one call), since a 100x300 batch takes only tens of microseconds
in numpy.
"""

from __future__ import annotations

import threading
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
# threshold sweep) on 2 cores: Par breaks even near 32k elements and wins from 64k on.
PAR_THRESHOLD = 65_536

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
