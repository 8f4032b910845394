"""The fused engine's entry: plan the graph, find its kernel, allocate the result, run.

Importing this module imports numba: `_compute` treats an ImportError here as "the fused
engine is unavailable". The per-call path is kept short (one walk over the graph, one dict
look-up, one allocation, one call), since a 100x300 batch takes only tens of microseconds
in numpy.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
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

from .. import _pool, _reference
from .._expr import Form, Node, leaf, postorder, with_src
from .._strategy import Par, Strategy
from ._cache import kernel_for
from ._graph import analyse, scratch
from ._plan import Plan, Unfusable, make_plan

Array = np.ndarray[Any, np.dtype[Any]]

# Below this many elements in the largest node, `Par` runs the sequential variant: waking
# the threads costs more than they give (`python -m benchmarks.fusion` sweeps it).
PAR_THRESHOLD = 1 << 20
# The most instructions one kernel holds: a deeper graph (a loop of many updates) is
# computed in pieces of at most this size, which compile once when they repeat.
MAX_PROGRAM = 512

# numba's default threading layer may be workqueue, which aborts the process when two
# threads launch parallel kernels at once; sequential kernels release the GIL and need no lock.
_par_lock = threading.Lock()


def evaluate(node: Node, strategy: Strategy) -> Array:
    """The values of `node` computed by one fused kernel: fresh, C-contiguous, read-only."""
    (out,) = evaluate_many((node,), strategy)
    return out


def evaluate_many(roots: tuple[Node, ...], strategy: Strategy) -> tuple[Array, ...]:
    """The values of several roots from one kernel over their shared graph.

    Graphs the kernels do not cover (a rank-0 result) go to the reference evaluator.
    """
    try:
        plan = make_plan(roots)
        if len(plan.program.instrs) > MAX_PROGRAM:
            plan = make_plan(_in_pieces(roots, strategy))
    except Unfusable:
        outs = _reference.evaluate_many(roots)
        for out in outs:
            out.flags.writeable = False
        return outs
    return _run(plan, roots, strategy)


def _run(plan: Plan, roots: tuple[Node, ...], strategy: Strategy) -> tuple[Array, ...]:
    kernel = kernel_for(plan.program)
    outs = tuple(_pool.empty(r.shape, r.dtype) for r in roots)
    if strategy is Par and plan.work >= PAR_THRESHOLD:
        with _par_lock:
            kernel.par(*outs, *plan.leaves, plan.consts, plan.dims, numba.get_num_threads())
    else:
        kernel.seq(*outs, *plan.leaves, plan.consts, plan.dims, 1)
    for out in outs:
        out.flags.writeable = False
    return outs


def _in_pieces(roots: tuple[Node, ...], strategy: Strategy) -> tuple[Node, ...]:
    """`roots` over a graph whose inner nodes are computed first wherever the expression
    below them grows past MAX_PROGRAM nodes (counted as a tree: sharing only cuts sooner)."""
    new: dict[int, Node] = {}
    size: dict[int, int] = {}
    for node in postorder(roots):
        src = tuple(new[id(s)] for s in node.src)
        rebuilt = node if all(a is b for a, b in zip(src, node.src, strict=True)) \
            else with_src(node, src)
        grown = 0 if node.op is Form.LEAF else 1 + sum(size[id(s)] for s in node.src)
        if grown > MAX_PROGRAM and node.shape:
            (data,) = _run(make_plan((rebuilt,)), (rebuilt,), strategy)
            rebuilt, grown = leaf(data), 0
        new[id(node)], size[id(node)] = rebuilt, grown
    return tuple(new[id(r)] for r in roots)


def compile_program(roots: tuple[Node, ...], inputs: tuple[Node, ...], strategy: Strategy
                    ) -> Callable[[list[Array]], list[Array]]:
    """One kernel computing `roots` from the arrays of `inputs` (a traced function's INPUT
    nodes), as a function of those arrays: what `typedarr.jit` calls.

    The kernel's temporaries are allocated once here and reused by every call (a lock makes
    calls from several threads take turns with them); its results are fresh each call.
    """
    try:
        plan = make_plan(roots, inputs, scratch=True)
    except Unfusable:
        return _reference.program(roots, inputs)
    kernel = kernel_for(plan.program)
    par = strategy is Par and plan.work >= PAR_THRESHOLD
    run, nchunks = (kernel.par, numba.get_num_threads()) if par else (kernel.seq, 1)
    shapes = [(r.shape, r.dtype) for r in roots]
    captured, consts, dims = plan.leaves, plan.consts, plan.dims
    instrs = plan.program.instrs
    temps = [np.empty(plan.shapes[k] if kind == "t" else (nchunks, *plan.shapes[k]),
                      np.float32 if instrs[k].dt == "f" else np.float64)
             for kind, k in scratch(analyse(plan.program))]
    lock = _par_lock if par else threading.Lock()

    def call(arrays: list[Array]) -> list[Array]:
        outs = [_pool.empty(shape, dtype) for shape, dtype in shapes]
        with lock:
            run(*outs, *arrays, *captured, consts, dims, nchunks, *temps)
        for out in outs:
            out.flags.writeable = False
        return outs

    return call
