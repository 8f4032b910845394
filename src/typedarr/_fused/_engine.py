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
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, assert_never

import numba
import numpy as np

from .. import _blas, _buffers
from .._blas import serial_products
from .._engine import Compiled
from .._ir import BinaryOp, Node, Structural, holds_chunked, leaf, postorder, with_src
from .._strategy import Par, Strategy
from . import _precompile
from ._cache import kernel_for
from ._layout import Holds, Temporary, analyse, scratch
from ._plan import Plan, make_plan
from ._split import Computed, Piece, ProgramInput, Source, split

Array = np.ndarray[Any, np.dtype[Any]]

# Below this many elements in the largest node, `Par` runs the sequential variant: waking
# the threads costs more than they give (`python -m benchmarks.fusion` sweeps it).
PAR_THRESHOLD = 1 << 21
# The most instructions one kernel holds: a deeper graph (a loop of many updates) is
# computed in pieces of at most this size, which compile once when they repeat.
MAX_PROGRAM = 512

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


@dataclass(frozen=True, slots=True)
class FusedEngine:
    """The fused engine behind the `Engine` interface: every graph held in memory."""

    def covers(self, roots: tuple[Node, ...]) -> bool:
        return not holds_chunked(roots)

    def evaluate_many(self, roots: tuple[Node, ...], strategy: Strategy
                      ) -> tuple[Array, ...]:
        if len(roots) == 1:
            out = _direct(roots[0], strategy)
            if out is not None:
                return (out,)
        return evaluate_many(roots, strategy)

    def compile_program(self, roots: tuple[Node, ...], inputs: tuple[Node, ...],
                        strategy: Strategy) -> Compiled:
        return compile_program(roots, inputs, strategy)


def evaluate_many(roots: tuple[Node, ...], strategy: Strategy) -> tuple[Array, ...]:
    """The values of several roots from one kernel over their shared graph.

    Raises Unfusable for a graph the kernels do not cover (a rank-0 result).
    """
    plan = make_plan(roots)
    if len(plan.program.instrs) > MAX_PROGRAM:
        plan = make_plan(_in_pieces(roots, strategy))
    return _run(plan, roots, strategy)


def _direct(node: Node, strategy: Strategy) -> Array | None:
    """The values of a single root `node` from its operands' stored values, outside a kernel
    (None: a kernel computes it).

    As the front-end did before products and reshapes were nodes: a product is one BLAS call
    on them (a transpose read as a view, never copied), a reshape a view of them, and a
    rank-0 reduction (which no kernel writes) numpy's over them.
    """
    out: Array
    match node.op:
        case Structural.MATMUL:
            out = _blas.matmul(_stored(node.src[0], strategy), _stored(node.src[1], strategy))
        case Structural.RESHAPE:
            out = np.reshape(np.ascontiguousarray(_stored(node.src[0], strategy)), node.shape)
        case Structural.SUM | Structural.MAX if not node.shape:
            out = _reduced(node, strategy)
        case _:
            return None
    if out.flags.writeable:
        out.flags.writeable = False
    return out


def _reduced(node: Node, strategy: Strategy) -> Array:
    """A rank-0 reduction: over every axis of the innermost operand of its chain at once
    (numpy's pairwise sum, as `sum_all` computes it), and the sum of a product of two
    vectors by BLAS (`v @ w`)."""
    inner = node
    while inner.op is node.op:
        inner = inner.src[0]
    if (node.op is Structural.SUM and inner.op is BinaryOp.MUL and len(inner.shape) == 1
            and all(s.shape for s in inner.src)):
        a, b = (_stored(s, strategy) for s in inner.src)
        return np.asarray(_blas.matmul(a, b), dtype=node.dtype)
    x = _stored(inner, strategy)
    return np.asarray(x.sum(dtype=node.dtype) if node.op is Structural.SUM else x.max(),
                      dtype=node.dtype)


def _stored(node: Node, strategy: Strategy) -> Array:
    """The values of an operand of a direct root: a leaf's data, a transpose as a view."""
    if node.op is Structural.LEAF:
        return node.data
    if node.op is Structural.PERMUTE and node.arg == (1, 0):
        return _stored(node.src[0], strategy).T
    return FusedEngine().evaluate_many((node,), strategy)[0]


def _run(plan: Plan, roots: tuple[Node, ...], strategy: Strategy) -> tuple[Array, ...]:
    kernel = kernel_for(plan.program)
    outs = tuple(_buffers.empty(r.shape, r.dtype) for r in roots)
    par = strategy is Par and plan.work >= PAR_THRESHOLD
    variant, nchunks = (kernel.par, numba.get_num_threads()) if par else (kernel.seq, 1)
    _launch(variant, par, plan.work, *outs, *plan.leaves, plan.consts, plan.dims, nchunks)
    for out in outs:
        out.flags.writeable = False
    return outs


def _launch(variant: Any, par: bool, work: int, *args: Any) -> None:
    """Call a kernel variant: under `_par_lock` when parallel, and in the background when it
    is big or compiles on this call (see `_in_background`)."""
    call = _call_parallel if par else _call
    if ((work >= BACKGROUND_WORK or not variant.overloads)
            and threading.current_thread() is threading.main_thread()):
        _in_background(call, variant, *args)
    else:
        call(variant, *args)


def _call(variant: Any, *args: Any) -> None:
    variant(*args)


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


def _in_pieces(roots: tuple[Node, ...], strategy: Strategy) -> tuple[Node, ...]:
    """`roots` over a graph whose inner nodes are computed first wherever the expression
    below them grows past MAX_PROGRAM nodes (counted as a tree: sharing only cuts sooner)."""
    new: dict[int, Node] = {}
    size: dict[int, int] = {}
    for node in postorder(roots):
        src = tuple(new[id(s)] for s in node.src)
        rebuilt = node if all(a is b for a, b in zip(src, node.src, strict=True)) \
            else with_src(node, src)
        grown = 0 if node.op is Structural.LEAF else 1 + sum(size[id(s)] for s in node.src)
        if grown > MAX_PROGRAM and node.shape:
            (data,) = _run(make_plan((rebuilt,)), (rebuilt,), strategy)
            rebuilt, grown = leaf(data), 0
        new[id(node)], size[id(node)] = rebuilt, grown
    return tuple(new[id(r)] for r in roots)


def compile_program(roots: tuple[Node, ...], inputs: tuple[Node, ...], strategy: Strategy
                    ) -> Compiled:
    """The kernels computing `roots` from the arrays of `inputs` (a traced function's INPUT
    nodes), as a function of those arrays: what `typedarr.jit` calls.

    One kernel, or for a big program one per piece (`_split`), called in turn. Raises
    Unfusable for a graph the kernels do not cover.
    """
    plan = make_plan(roots, inputs, scratch=True)
    return serial_products(_program(plan, len(inputs), strategy), _largest_product(roots))


def _largest_product(roots: tuple[Node, ...]) -> int:
    """The multiply-adds of the biggest matrix product among `roots`' nodes (0 if none)."""
    return max((n.src[0].shape[0] * n.src[0].shape[1] * n.shape[1]
                for n in postorder(roots) if n.op is Structural.MATMUL), default=0)


def _program(plan: Plan, ninputs: int, strategy: Strategy
             ) -> Callable[[list[Array]], list[Array]]:
    """The kernel, or one kernel per piece of a big program, called in turn."""
    par = strategy is Par
    pieces = split(plan, ninputs, PAR_THRESHOLD if par else None)
    if pieces is None:
        return _one_kernel(plan, par and plan.work >= PAR_THRESHOLD)
    calls = [(_one_kernel(make_plan(p.roots, p.inputs, scratch=True), p.threads), p)
             for p in pieces]
    outputs = plan.program.outputs
    first = [True]
    lock = threading.Lock()

    def call(arrays: list[Array]) -> list[Array]:
        with lock:  # the first call may hand half of the new kernels to a helper process
            helper, handed = _helper(calls, arrays) if first and first.pop() else (None, set())
        values: dict[int, Array] = {}
        for i, (run, piece) in enumerate(calls):
            if helper is not None and i in handed:
                helper.wait()  # then this piece loads from the disk cache
            given = [_source(s, arrays, values) for s in piece.sources]
            values.update(zip(piece.writes, run(given), strict=True))
        return [values[k] for k in outputs]

    return call


def _helper(calls: list[tuple[_KernelCall, Piece]], arrays: list[Array]
            ) -> tuple[_precompile.Helper | None, set[int]]:
    """The helper process compiling the later half of the pieces whose kernels are new,
    and the pieces handed to it (see `_precompile`)."""
    new: list[tuple[int, dict[str, Any]]] = []
    for i, (run, piece) in enumerate(calls):
        given = [arrays[s.slot] if isinstance(s, ProgramInput)
                 else _precompile.like(n.dtype, len(n.shape), readonly=True)
                 for s, n in zip(piece.sources, piece.inputs, strict=True)]
        found = run.job(given)
        if found is not None:
            new.append((i, found))
    if len(new) < 2:
        return None, set()
    mine = {(j["file"], j["variant"]) for _, j in new[:len(new) // 2]}
    theirs = [(i, j) for i, j in new[len(new) // 2:] if (j["file"], j["variant"]) not in mine]
    unique = list({json.dumps(j, sort_keys=True): j for _, j in theirs}.values())
    return _precompile.Helper(unique), {i for i, _ in theirs}


class _KernelCall:
    """The kernel of `plan` (a `scratch` program) as a function of its input arrays, its
    parallel variant if `par`.

    Its temporaries are allocated once here and reused by every call (a lock makes calls
    from several threads take turns with them); its results are fresh each call.
    """

    def __init__(self, plan: Plan, par: bool) -> None:
        self._kernel = kernel = kernel_for(plan.program)
        self._par, self._work = par, plan.work
        self._variant, self._nchunks = ((kernel.par, numba.get_num_threads()) if par
                                        else (kernel.seq, 1))
        self._shapes = [(plan.shapes[k], plan.nodes[k].dtype) for k in plan.program.outputs]
        self._captured, self._consts, self._dims = plan.leaves, plan.consts, plan.dims
        self._temps = [_temporary(t, plan, self._nchunks)
                       for t in scratch(analyse(plan.program))]
        self._lock = threading.Lock()  # the temporaries are one set

    def __call__(self, arrays: list[Array]) -> list[Array]:
        outs = [_buffers.empty(shape, dtype) for shape, dtype in self._shapes]
        with self._lock:
            _launch(self._variant, self._par, self._work, *self._arguments(outs, arrays))
        for out in outs:
            out.flags.writeable = False
        return outs

    def job(self, arrays: list[Array]) -> dict[str, Any] | None:
        """What a helper process needs to compile this call for arguments like `arrays`,
        if its kernel is new and not compiled here yet (see `_precompile`)."""
        if self._variant.overloads:
            return None
        outs = [_precompile.like(dtype, len(shape), readonly=False)
                for shape, dtype in self._shapes]
        return _precompile.job(self._kernel, self._par, self._arguments(outs, arrays))

    def _arguments(self, outs: list[Array], arrays: list[Array]) -> list[Any]:
        return [*outs, *arrays, *self._captured, self._consts, self._dims, self._nchunks,
                *self._temps]


_one_kernel = _KernelCall


def _source(source: Source, arrays: list[Array], values: dict[int, Array]) -> Array:
    """The array a piece reads for `source`: a program input or an earlier piece's value."""
    match source:
        case ProgramInput(slot):
            return arrays[slot]
        case Computed(instr):
            return values[instr]
        case _:
            assert_never(source)


def _temporary(temp: Temporary, plan: Plan, nchunks: int) -> Array:
    shape = plan.shapes[temp.instr]
    dtype = plan.program.instrs[temp.instr].dt.dtype
    match temp.holds:
        case Holds.WHOLE:
            return np.empty(shape, dtype)
        case Holds.PARTS:
            return np.empty((nchunks, *shape), dtype)
        case _:
            assert_never(temp.holds)
