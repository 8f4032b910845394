"""`jit`: a function of typed arrays traced once per input structure and compiled into one
fused kernel, products and reductions included.

The first call with a given structure (the kinds, shapes and dtypes of the array arguments,
and the values of every other argument) runs the function on traced arrays (see `_trace`),
then hands every array it returns to the fused engine as the outputs of ONE program: the
loop nests, reductions and BLAS products of the whole function in one numba call (a program
as big as a CNN's training step: a few calls of pieces of it, see `_fused._split`), cached
by the program's structure in memory and on disk as every kernel is. Later calls flatten
their arguments, draw the random arrays the trace met, and make that call.

Arguments and results may be typed arrays, tuples, lists, dicts and dataclasses of them;
anything else in an argument is static (part of the structure, so it must be hashable), and
a `numpy.random.Generator` is passed through for the random arrays drawn from it.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

import numpy as np

from . import _compute, _construct, _trace
from ._array import _Array
from ._errors import TraceError
from ._ir import Node, Structural, is_leaf
from ._strategy import Par, Seq, combine
from ._structure import (
    Captured,
    FromInput,
    FromOutput,
    Key,
    Result,
    flatten,
    rebuild,
    replace,
    results,
)

P = ParamSpec("P")
T = TypeVar("T")
Array = np.ndarray[Any, np.dtype[Any]]


def jit(fn: Callable[P, T]) -> Jitted[P, T]:
    """`fn` compiled: traced on its first call per input structure, one kernel call after.

    Inside `fn`, arrays cannot be turned into values (numpy, `float`, `bool`, indexing by
    data, `sum_all`): such code raises `TraceError` saying what to do instead. Results equal
    the eager ones within floating-point rounding.

    >>> @jit
    ... def affine(x, w, b):
    ...     return compute(relu(x @ w + rows_like(b, x)))
    >>> y = affine(Matrix.ones(2, 3), Matrix.ones(3, 2), Vector.zeros(2))
    >>> y
    Matrix U Par (Sz (2 :. 2)) float32
    [ [ 3.0, 3.0 ]
    , [ 3.0, 3.0 ]
    ]
    """
    return Jitted(fn)


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One traced structure: how to call its kernel and rebuild its results."""

    run: Callable[[list[Array]], list[Array]]
    draws: tuple[tuple[int, _trace.Draw], ...]
    ninputs: int
    results: Result  # the result tree: where each array's values come from


class Jitted(Generic[P, T]):
    """A compiled function (see `jit`); `traces` counts the structures traced so far.

    It keeps the `MAX_STRUCTURES` most recently used structures: a static argument that
    changes at every call (an optimiser's step count, say) traces again at every call, and
    must not keep every trace alive.
    """

    MAX_STRUCTURES = 64

    def __init__(self, fn: Callable[P, T]) -> None:
        self._fn = fn
        self._compiled: OrderedDict[Key, _Compiled] = OrderedDict()
        self._traces = 0
        self._lock = threading.Lock()
        self._tracer: int | None = None  # the thread tracing `fn` now, holding `_lock`
        functools.update_wrapper(self, fn)

    @property
    def traces(self) -> int:
        return self._traces

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        arrays: list[_Array] = []
        generators: list[np.random.Generator] = []
        key = flatten((args, kwargs), arrays, generators)
        if self._tracer == threading.get_ident():
            # The lock is this thread's own: waiting for it would never end.
            raise TraceError(f"{getattr(self._fn, '__name__', 'a jit function')} called "
                             f"itself while being traced: a compiled function cannot "
                             f"recurse; write the recursion as a loop over the layers or "
                             f"call the Python definition (fn.__wrapped__) inside")
        with self._lock:
            compiled = self._compiled.get(key)
            if compiled is None:
                self._tracer = threading.get_ident()
                try:
                    compiled = self._trace(args, kwargs, arrays, generators)
                finally:
                    self._tracer = None
                self._compiled[key] = compiled
                self._traces += 1
                if len(self._compiled) > self.MAX_STRUCTURES:
                    self._compiled.popitem(last=False)
            else:
                self._compiled.move_to_end(key)
        inputs = [_contiguous(a._values()) for a in arrays]
        inputs += [np.empty(0)] * (compiled.ninputs - len(inputs))
        for slot, d in compiled.draws:
            inputs[slot] = _construct.draw(d.kind, d.shape, generators[d.generator], d.params,
                                           d.dtype)
        outs = compiled.run(inputs)
        result: T = rebuild(compiled.results, outs, inputs, arrays)
        return result

    def _trace(self, args: Any, kwargs: Any, arrays: list[_Array],
               generators: list[np.random.Generator]) -> _Compiled:
        trace = _trace.Trace(generators)
        traced = [type(a)._wrap(trace.add_input(a.shape, a.dtype), a.strategy) for a in arrays]
        _trace.start(trace)
        try:
            result = self._fn(*replace(args, iter(traced)), **replace(kwargs, iter(traced)))
        finally:
            _trace.stop()
        outputs: list[_Array] = []
        tree = flatten(result, outputs, [], results=True)
        nodes: dict[int, Node] = {}
        for a in outputs:
            if not (is_leaf(a._node) or a._node.op is Structural.INPUT):
                nodes.setdefault(id(a._node), a._node)
        roots = tuple(nodes.values())
        slots = {id(n): k for k, n in enumerate(roots)}
        where = [FromInput(a._node.arg) if a._node.op is Structural.INPUT else
                 Captured(a._node) if is_leaf(a._node) else FromOutput(slots[id(a._node)])
                 for a in outputs]
        # As eager compute: Par if any input is Par, Seq if all are (Par when none is given).
        strategy = (functools.reduce(combine, (a.strategy for a in arrays), Seq) if arrays
                    else Par)
        return _Compiled(_compute.compile_program(roots, tuple(trace.inputs), strategy),
                         tuple(trace.draws), len(trace.inputs),
                         results(tree, iter(where), iter(outputs)))


def _contiguous(a: Array) -> Array:
    """`a`, or a C-contiguous copy where BLAS could not read it (a strided view)."""
    return a if a.flags.c_contiguous or a.flags.f_contiguous else np.ascontiguousarray(a)
