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

import dataclasses
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
from ._ir import Node, Structural, is_leaf, leaf
from ._strategy import Par, combine

P = ParamSpec("P")
T = TypeVar("T")
Array = np.ndarray[Any, np.dtype[Any]]
Tree = Any  # a structure description: nested tuples, hashable


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
    results: Tree  # the result tree, arrays as ("out", k) or ("in", slot)


class Jitted(Generic[P, T]):
    """A compiled function (see `jit`); `traces` counts the structures traced so far.

    It keeps the `MAX_STRUCTURES` most recently used structures: a static argument that
    changes at every call (an optimiser's step count, say) traces again at every call, and
    must not keep every trace alive.
    """

    MAX_STRUCTURES = 64

    def __init__(self, fn: Callable[P, T]) -> None:
        self._fn = fn
        self._compiled: OrderedDict[Tree, _Compiled] = OrderedDict()
        self._traces = 0
        self._lock = threading.Lock()
        functools.update_wrapper(self, fn)

    @property
    def traces(self) -> int:
        return self._traces

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        arrays: list[_Array] = []
        generators: list[np.random.Generator] = []
        key = _flatten((args, kwargs), arrays, generators)
        with self._lock:
            compiled = self._compiled.get(key)
            if compiled is None:
                compiled = self._compiled[key] = self._trace(args, kwargs, arrays, generators)
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
        result: T = _rebuild(compiled.results, outs, inputs, arrays)
        return result

    def _trace(self, args: Any, kwargs: Any, arrays: list[_Array],
               generators: list[np.random.Generator]) -> _Compiled:
        trace = _trace.Trace(generators)
        traced = [type(a)._wrap(trace.add_input(a.shape, a.dtype), a.strategy) for a in arrays]
        _trace.start(trace)
        try:
            result = self._fn(*_replace(args, iter(traced)), **_replace(kwargs, iter(traced)))
        finally:
            _trace.stop()
        outputs: list[_Array] = []
        tree = _flatten(result, outputs, [], results=True)
        nodes: dict[int, Node] = {}
        for a in outputs:
            if not (is_leaf(a._node) or a._node.op is Structural.INPUT):
                nodes.setdefault(id(a._node), a._node)
        roots = tuple(nodes.values())
        slots = {id(n): k for k, n in enumerate(roots)}
        where = [("in", a._node.arg) if a._node.op is Structural.INPUT else
                 ("leaf", a._node) if is_leaf(a._node) else ("out", slots[id(a._node)])
                 for a in outputs]
        strategy = functools.reduce(combine, (a.strategy for a in arrays), Par)
        return _Compiled(_compute.compile_program(roots, tuple(trace.inputs), strategy),
                         tuple(trace.draws), len(trace.inputs),
                         _results(tree, iter(where), iter(outputs)))


def _contiguous(a: Array) -> Array:
    """`a`, or a C-contiguous copy where BLAS could not read it (a strided view)."""
    return a if a.flags.c_contiguous or a.flags.f_contiguous else np.ascontiguousarray(a)


def _flatten(x: Any, arrays: list[_Array], generators: list[np.random.Generator],
             results: bool = False) -> Tree:
    """The structure of `x`, its arrays appended to `arrays` (depth first)."""
    if isinstance(x, _Array):
        arrays.append(x)
        return ("array", type(x), x.shape, x.dtype.char, x.strategy)
    if isinstance(x, (tuple, list)):
        return (type(x), tuple(_flatten(v, arrays, generators, results) for v in x))
    if isinstance(x, dict):
        return (dict, tuple((k, _flatten(x[k], arrays, generators, results)) for k in x))
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return (type(x), tuple((f.name, _flatten(getattr(x, f.name), arrays, generators,
                                                 results)) for f in dataclasses.fields(x)))
    if results:  # anything else a traced function returns comes back as it is
        return ("static", x)
    if isinstance(x, np.random.Generator):
        generators.append(x)
        return ("generator",)
    if isinstance(x, np.ndarray):
        raise TraceError("a jit function takes typed arrays, not numpy arrays: convert with "
                         "Matrix.from_numpy or Vector.from_numpy")
    try:
        hash(x)
    except TypeError:
        raise TraceError(f"an argument of a jit function that is not an array must be "
                         f"hashable (it is part of the compiled structure): got "
                         f"{type(x).__name__}") from None
    return ("static", x)


def _replace(x: Any, arrays: Any) -> Any:
    """`x` with its arrays replaced, in `_flatten`'s order, by the next of `arrays`."""
    if isinstance(x, _Array):
        return next(arrays)
    if isinstance(x, (tuple, list)):
        return type(x)(_replace(v, arrays) for v in x)
    if isinstance(x, dict):
        return {k: _replace(v, arrays) for k, v in x.items()}
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return _rebuild_dataclass(type(x), {f.name: _replace(getattr(x, f.name), arrays)
                                            for f in dataclasses.fields(x)})
    return x


def _results(tree: Tree, where: Any, outputs: Any) -> Tree:
    """The result tree with each array described by where its values come from."""
    if tree[0] == "array":
        a = next(outputs)
        return ("array", type(a), a.strategy, next(where))
    if tree[0] == "static":
        return tree
    if tree[0] is dict or tree[0] in (tuple, list):
        kind, items = tree
        if kind is dict:
            return (dict, tuple((k, _results(v, where, outputs)) for k, v in items))
        return (kind, tuple(_results(v, where, outputs) for v in items))
    kind, fields = tree
    return (kind, tuple((name, _results(v, where, outputs)) for name, v in fields))


def _rebuild(tree: Tree, outs: list[Array], inputs: list[Array], given: list[_Array]) -> Any:
    """The results: kernel outputs wrapped in their kinds, arguments returned as they are."""
    head = tree[0]
    if head == "array":
        _, kind, strategy, (source, k) = tree
        if source == "in" and k < len(given) and type(given[k]) is kind:
            return given[k]
        node = leaf(outs[k]) if source == "out" else leaf(inputs[k]) if source == "in" else k
        return kind._wrap(node, strategy)
    if head == "static":
        return tree[1]
    if head is dict:
        return {k: _rebuild(v, outs, inputs, given) for k, v in tree[1]}
    if head in (tuple, list):
        return head(_rebuild(v, outs, inputs, given) for v in tree[1])
    return _rebuild_dataclass(head, {name: _rebuild(v, outs, inputs, given)
                                     for name, v in tree[1]})


def _rebuild_dataclass(kind: type, fields: dict[str, Any]) -> Any:
    """An instance of the dataclass `kind` with `fields`, without running its `__init__`
    (its checks ran when the original was made; traced arrays have no values to check)."""
    obj: Any = object.__new__(kind)
    for name, value in fields.items():
        object.__setattr__(obj, name, value)
    return obj
