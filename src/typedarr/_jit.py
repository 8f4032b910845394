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
import inspect
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar, overload

import numpy as np

from . import _compute, _construct, _trace
from ._array import _Array
from ._errors import TraceError
from ._ir import Node, Structural, is_leaf
from ._kernel_scalars import kernel_scalars, scalar_program
from ._runtime_scalar import Scalar, Specialised
from ._strategy import Par, Seq, combine
from ._structure import (
    Captured,
    Fixed,
    FromInput,
    FromOutput,
    Key,
    Rebuild,
    flatten,
    rebuilder,
    replace,
    results,
)

P = ParamSpec("P")
T = TypeVar("T")
Array = np.ndarray[Any, np.dtype[Any]]


@overload
def jit(fn: Callable[P, T], *, static: Iterable[int | str] = ()) -> Jitted[P, T]: ...


@overload
def jit(fn: None = None, *, static: Iterable[int | str] = ()
        ) -> Callable[[Callable[P, T]], Jitted[P, T]]: ...


def jit(fn: Callable[P, T] | None = None, *, static: Iterable[int | str] = ()
        ) -> Jitted[P, T] | Callable[[Callable[P, T]], Jitted[P, T]]:
    """`fn` compiled: traced on its first call per input structure, one kernel call after.

    Inside `fn`, arrays cannot be turned into values (numpy, `float`, `bool`, indexing by
    data, `sum_all`): such code raises `TraceError` saying what to do instead. Results equal
    the eager ones within floating-point rounding.

    A number argument (Python's or numpy's) is a runtime input: a new value is no new trace
    (an optimiser's step count, a learning-rate schedule), unless the traced code reads the
    value itself (`if`, a size, `float()`), which specialises the compiled function on it.
    `static` names arguments (by position or name) that are part of the structure whatever
    they hold, as does `field(metadata={"static": True})` on a dataclass field.

    >>> @jit
    ... def affine(x, w, b, scale):
    ...     return compute(relu(x @ w + rows_like(b, x)) * scale)
    >>> y = affine(Matrix.ones(2, 3), Matrix.ones(3, 2), Vector.zeros(2), 2.0)
    >>> y
    Matrix U Par (Sz (2 :. 2)) float32
    [ [ 6.0, 6.0 ]
    , [ 6.0, 6.0 ]
    ]
    >>> _ = affine(Matrix.ones(2, 3), Matrix.ones(3, 2), Vector.zeros(2), 0.5)
    >>> affine.traces
    1
    """
    if fn is None:
        return lambda f: Jitted(f, static)
    return Jitted(fn, static)


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One traced structure: how to call its kernel and rebuild its results.

    `numbers` computes, from the call's number arguments, the rank-0 values the kernel reads
    (its last `nscalars` inputs) followed by the numbers the function returns; `guard` are
    the number arguments whose values the trace read (it is valid for those values only).
    """

    run: Callable[[list[Array]], list[Array]]
    draws: tuple[tuple[int, _trace.Draw], ...]
    ninputs: int
    rebuild: Rebuild  # the results from the result tree: where each array's values come from
    numbers: Callable[[list[Array]], list[Array]] | None
    nscalars: int
    guard: frozenset[int]


class Jitted(Generic[P, T]):
    """A compiled function (see `jit`); `traces` counts the structures traced so far.

    It keeps the `MAX_STRUCTURES` most recently used structures: an argument that changes
    at every call and is static, or read by the traced code, traces again at every call and
    must not keep every trace alive.
    """

    MAX_STRUCTURES = 64

    def __init__(self, fn: Callable[P, T], static: Iterable[int | str] = ()) -> None:
        self._fn = fn
        self._compiled: OrderedDict[tuple[Key, tuple[Any, ...]], _Compiled] = OrderedDict()
        self._guards: dict[Key, tuple[int, ...]] = {}  # the numbers a structure's traces read
        self._traces = 0
        self._lock = threading.Lock()
        self._tracer: int | None = None  # the thread tracing `fn` now, holding `_lock`
        self._static_positions, self._static_names = _static_arguments(fn, tuple(static))
        functools.update_wrapper(self, fn)

    @property
    def traces(self) -> int:
        return self._traces

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        if self._static_positions or self._static_names:
            args, kwargs = self._fixed(args, kwargs)  # type: ignore[assignment]
        arrays: list[_Array] = []
        generators: list[np.random.Generator] = []
        numbers: list[Any] = []
        key = flatten((args, kwargs), arrays, generators, numbers)
        if self._tracer == threading.get_ident():
            # The lock is this thread's own: waiting for it would never end.
            raise TraceError(f"{getattr(self._fn, '__name__', 'a jit function')} called "
                             f"itself while being traced: a compiled function cannot "
                             f"recurse; write the recursion as a loop over the layers or "
                             f"call the Python definition (fn.__wrapped__) inside")
        with self._lock:
            full = (key, _values(numbers, self._guards.get(key, ())))
            compiled = self._compiled.get(full)
            if compiled is None:
                self._tracer = threading.get_ident()
                try:
                    compiled = self._trace(args, kwargs, arrays, generators, numbers)
                finally:
                    self._tracer = None
                self._traces += 1
                guard = tuple(sorted(compiled.guard.union(self._guards.get(key, ()))))
                if guard:
                    self._guards[key] = guard
                self._compiled[(key, _values(numbers, guard))] = compiled
                if len(self._compiled) > self.MAX_STRUCTURES:
                    self._compiled.popitem(last=False)
            else:
                self._compiled.move_to_end(full)
        inputs = [_contiguous(a._values()) for a in arrays]
        inputs += [np.empty(0)] * (compiled.ninputs - len(inputs))
        for slot, d in compiled.draws:
            inputs[slot] = _construct.draw(d.kind, d.shape, generators[d.generator], d.params,
                                           d.dtype)
        values: list[Array] = []
        if compiled.numbers is not None:
            values = compiled.numbers(numbers)
            if compiled.nscalars:
                inputs[-compiled.nscalars:] = values[:compiled.nscalars]
        outs = compiled.run(inputs)
        result: T = compiled.rebuild(outs, inputs, arrays, values[compiled.nscalars:])
        return result

    def _fixed(self, args: tuple[Any, ...], kwargs: dict[str, Any]
               ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The arguments, those `static` names wrapped as static."""
        fixed_args = tuple(Fixed(a) if i in self._static_positions else a
                           for i, a in enumerate(args))
        fixed_kwargs = {k: Fixed(v) if k in self._static_names else v
                        for k, v in kwargs.items()}
        return fixed_args, fixed_kwargs

    def _trace(self, args: Any, kwargs: Any, arrays: list[_Array],
               generators: list[np.random.Generator], numbers: list[Any]) -> _Compiled:
        trace = _trace.Trace(generators)
        seen = Specialised()
        traced = [type(a)._wrap(trace.add_input(a.shape, a.dtype), a.strategy) for a in arrays]
        scalars = [Scalar.argument(i, v, np.asarray(v).dtype, seen)
                   for i, v in enumerate(numbers)]
        _trace.start(trace)
        fn: Callable[..., Any] = self._fn  # called with the traced stand-ins of its arguments
        try:
            result = fn(*replace(args, iter(traced), iter(scalars)),
                        **replace(kwargs, iter(traced), iter(scalars)))
        finally:
            _trace.stop()
        outputs: list[_Array] = []
        returned: list[Scalar] = []
        tree = flatten(result, outputs, [], returned, results=True)
        nodes: dict[int, Node] = {}
        for a in outputs:
            if not (is_leaf(a._node) or a._node.op is Structural.INPUT):
                nodes.setdefault(id(a._node), a._node)
        roots = tuple(nodes.values())
        slots = {id(n): k for k, n in enumerate(roots)}
        where = [FromInput(a._node.arg) if a._node.op is Structural.INPUT else
                 Captured(a._node) if is_leaf(a._node) else FromOutput(slots[id(a._node)])
                 for a in outputs]
        roots, read = kernel_scalars(roots, {id(s.node) for s in scalars}, trace)
        # As eager compute: Par if any input is Par, Seq if all are (Par when none is given).
        strategy = (functools.reduce(combine, (a.strategy for a in arrays), Seq) if arrays
                    else Par)
        computed = read + tuple(s.node for s in returned)
        return _Compiled(_compute.compile_program(roots, tuple(trace.inputs), strategy),
                         tuple(trace.draws), len(trace.inputs),
                         rebuilder(results(tree, iter(where), iter(outputs))),
                         scalar_program(computed, tuple(s.node for s in scalars))
                         if computed else None,
                         len(read), frozenset(seen.used))


def _static_arguments(fn: Callable[..., Any], static: tuple[int | str, ...]
                      ) -> tuple[frozenset[int], frozenset[str]]:
    """The positions and names of the arguments `static` names (a name passed by position
    is found by `fn`'s signature)."""
    if not static:
        return frozenset(), frozenset()
    params = list(inspect.signature(fn).parameters.values())
    positions, names = set(), set()
    for s in static:
        if isinstance(s, int) and not isinstance(s, bool):
            positions.add(s)
            if 0 <= s < len(params) and params[s].kind is not params[s].VAR_POSITIONAL:
                names.add(params[s].name)
        elif isinstance(s, str):
            names.add(s)
            for i, p in enumerate(params):
                if p.name == s and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                    positions.add(i)
            if all(p.name != s for p in params) and not any(
                    p.kind is p.VAR_KEYWORD for p in params):
                raise TypeError(f"jit: static names {s!r}, which is no argument of "
                                f"{getattr(fn, '__name__', fn)}")
        else:
            raise TypeError(f"jit: static takes argument positions and names, got {s!r}")
    return frozenset(positions), frozenset(names)


def _values(numbers: list[Any], guard: tuple[int, ...]) -> tuple[Any, ...]:
    """The guarded numbers exactly (a float by its bits: -0.0 is not 0.0, NaN is NaN)."""
    return tuple((type(v), float(v).hex()) if isinstance(v, float | np.floating)
                 else (type(v), v) for v in (numbers[i] for i in guard))


def _contiguous(a: Array) -> Array:
    """`a`, or a C-contiguous copy where BLAS could not read it (a strided view)."""
    return a if a.flags.c_contiguous or a.flags.f_contiguous else np.ascontiguousarray(a)
