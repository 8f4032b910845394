"""The structure of a `jit` call: its arguments as a hashable key, its results as a recipe.

`flatten` describes an argument tree (typed arrays, tuples, lists, dicts, dataclasses,
generators and static values) as a `Key`, the arrays appended in depth-first order; a traced
function's results are described the same way and turned by `results` into a `Result` tree
that says where each array's values come from (a kernel output, an input, or an array the
trace captured); `rebuilder` turns it, once per trace, into the function that makes a
call's results. The nodes are small typed
records (named tuples, so a key is hashed and compared in C on every call; two kinds never
compare equal: they differ in length, or, for `Items` and `ScalarArg`, in the type of the
second field, a tuple against an int).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, TypeAlias, assert_never

import numpy as np

from ._array import _Array
from ._errors import TraceError
from ._ir import Node, leaf
from ._runtime_scalar import Scalar, runtime_dtype
from ._strategy import Strategy

Array = np.ndarray[Any, np.dtype[Any]]
STATIC = "static"
"""The dataclass field metadata key that makes a field static: `field(metadata={"static":
True})` (a number field is otherwise a runtime input, see `_runtime_scalar`)."""
_PYTHON_DTYPES = frozenset({np.dtype(np.float64), np.dtype(np.int64)})


class ArrayArg(NamedTuple):
    """A typed array: its kind, shape, dtype and strategy (its values are an input)."""

    kind: type
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    strategy: Strategy


class Static(NamedTuple):
    """Anything else: part of the structure (an argument's must be hashable)."""

    value: Any


class GeneratorArg(NamedTuple):
    """A `numpy.random.Generator`, passed through for the random arrays drawn from it."""


class ScalarArg(NamedTuple):
    """A number (see `_runtime_scalar`): by its dtype, its value a runtime input; in a
    result tree, the `k`-th scalar the traced function returned."""

    dtype: np.dtype[Any]
    k: int = -1


@dataclasses.dataclass(frozen=True, slots=True)
class Fixed:
    """An argument `jit(..., static=...)` names: static whatever it holds (a wrapper the
    call makes, never a key)."""

    value: Any


class Items(NamedTuple):
    """A tuple, list, dict or dataclass (`kind`) of trees: the trees, or (key, tree) pairs
    for a dict and (field name, tree) pairs for a dataclass."""

    kind: type
    items: tuple[Any, ...]


Key: TypeAlias = ArrayArg | Static | GeneratorArg | ScalarArg | Items


class FromOutput(NamedTuple):
    """The values of the compiled program's `k`-th output."""

    k: int


class FromInput(NamedTuple):
    """The traced function returned its `slot`-th input array."""

    slot: int


class Captured(NamedTuple):
    """An array the trace captured (made outside it): returned as it is."""

    node: Node


Where: TypeAlias = FromOutput | FromInput | Captured


class ArrayResult(NamedTuple):
    """A result array: its kind and strategy, and where its values come from."""

    kind: type
    strategy: Strategy
    where: Where


Result: TypeAlias = ArrayResult | Static | ScalarArg | Items


def flatten(x: Any, arrays: list[_Array], generators: list[np.random.Generator],
            scalars: list[Any], results: bool = False) -> Key:
    """The structure of `x`, its arrays appended to `arrays` and its numbers to `scalars`
    (depth first; in a result tree, the traced `Scalar`s)."""
    if isinstance(x, _Array):
        arrays.append(x)
        return ArrayArg(type(x), x.shape, x.dtype, x.strategy)
    kind = type(x)
    declared = _fields(kind)
    if declared is not None:  # a dataclass: the most common container (layers, optimisers)
        return Items(kind, tuple([
            (name, _static(getattr(x, name)) if static and not results
             else flatten(getattr(x, name), arrays, generators, scalars, results))
            for name, static in declared]))
    if kind is tuple or kind is list or isinstance(x, (tuple, list)):
        return Items(kind, tuple([flatten(v, arrays, generators, scalars, results)
                                  for v in x]))
    if isinstance(x, Fixed):
        return _static(x.value)
    if isinstance(x, dict):
        return Items(dict, tuple([(k, flatten(x[k], arrays, generators, scalars, results))
                                  for k in x]))
    if results:  # anything else a traced function returns comes back as it is
        if isinstance(x, Scalar):
            scalars.append(x)
            return ScalarArg(x.dtype, len(scalars) - 1)
        return Static(x)
    dtype = runtime_dtype(x)
    if dtype is not None:
        scalars.append(x)
        return ScalarArg(dtype)
    if isinstance(x, np.random.Generator):
        generators.append(x)
        return GeneratorArg()
    if isinstance(x, np.ndarray):
        raise TraceError("a jit function takes typed arrays, not numpy arrays: convert with "
                         "Matrix.from_numpy or Vector.from_numpy")
    return _static(x)


# A type's dataclass fields as (name, static) pairs, or None for a type that is no
# dataclass: read once per type (dataclasses.fields costs more than the walk itself).
_FIELDS: dict[type, tuple[tuple[str, bool], ...] | None] = {}


def _fields(kind: type) -> tuple[tuple[str, bool], ...] | None:
    try:
        return _FIELDS[kind]
    except KeyError:
        pass
    found = (tuple((f.name, bool(f.metadata.get(STATIC))) for f in dataclasses.fields(kind))
             if dataclasses.is_dataclass(kind) and kind is not Fixed else None)
    _FIELDS[kind] = found
    return found


def _static(x: Any) -> Static:
    try:
        hash(x)
    except TypeError:
        raise TraceError(f"an argument of a jit function that is not an array must be "
                         f"hashable (it is part of the compiled structure): got "
                         f"{type(x).__name__}") from None
    return Static(x)


def replace(x: Any, arrays: Iterator[Any], scalars: Iterator[Any]) -> Any:
    """`x` with its arrays and numbers replaced, in `flatten`'s order, by the next of
    `arrays` and `scalars` (static parts kept)."""
    if isinstance(x, _Array):
        return next(arrays)
    declared = _fields(type(x))
    if declared is not None:
        return _rebuild_dataclass(type(x), {
            name: getattr(x, name) if static else replace(getattr(x, name), arrays, scalars)
            for name, static in declared})
    if isinstance(x, (tuple, list)):
        return type(x)(replace(v, arrays, scalars) for v in x)
    if isinstance(x, Fixed):
        return x.value
    if isinstance(x, dict):
        return {k: replace(v, arrays, scalars) for k, v in x.items()}
    if runtime_dtype(x) is not None:
        return next(scalars)
    return x


def results(tree: Key, where: Iterator[Where], outputs: Iterator[_Array]) -> Result:
    """The result tree with each array described by where its values come from."""
    match tree:
        case ArrayArg():
            a = next(outputs)
            return ArrayResult(type(a), a.strategy, next(where))
        case Static() | ScalarArg():
            return tree
        case Items(kind, items) if kind in (tuple, list):
            return Items(kind, tuple(results(v, where, outputs) for v in items))
        case Items(kind, items):  # a dict's keys, a dataclass's field names
            return Items(kind, tuple((k, results(v, where, outputs)) for k, v in items))
        case GeneratorArg():
            raise AssertionError("a traced function's results hold no generator")
        case _:
            assert_never(tree)


Rebuild: TypeAlias = Callable[[list[Array], list[Array], list[_Array], list[Array]], Any]
"""`(outs, inputs, given, numbers) -> results`: what `rebuilder` makes of a result tree."""


def rebuilder(tree: Result) -> Rebuild:
    """The function making a call's results from `tree`, decided once per trace (a call then
    runs no match): kernel outputs wrapped in their kinds, arguments returned as they are,
    numbers from the `numbers` the call computed (Python's float and int for float64 and
    int64, numpy scalars otherwise)."""
    match tree:
        case ArrayResult(kind, strategy, FromInput(slot)):
            wrap: Any = kind

            def argument(outs: list[Array], inputs: list[Array], given: list[_Array],
                         numbers: list[Array]) -> Any:
                if slot < len(given) and type(given[slot]) is kind:
                    return given[slot]  # returned unchanged: no copy
                return wrap._wrap(leaf(inputs[slot]), strategy)
            return argument
        case ArrayResult(kind, strategy, FromOutput(k)):
            wrap = kind
            return lambda outs, inputs, given, numbers: wrap._wrap(leaf(outs[k]), strategy)
        case ArrayResult(kind, strategy, Captured(node)):
            captured = kind._wrap(node, strategy)  # type: ignore[attr-defined]
            return lambda outs, inputs, given, numbers: captured
        case ArrayResult():
            raise AssertionError(f"a result array from {tree.where!r}")
        case Static(value):
            return lambda outs, inputs, given, numbers: value
        case ScalarArg(dtype, k) if dtype in _PYTHON_DTYPES:
            return lambda outs, inputs, given, numbers: numbers[k].item()
        case ScalarArg(_, k):
            return lambda outs, inputs, given, numbers: numbers[k][()]
        case Items(kind, items) if kind is dict:
            entries = [(key, rebuilder(v)) for key, v in items]
            return lambda outs, inputs, given, numbers: {
                key: f(outs, inputs, given, numbers) for key, f in entries}
        case Items(kind, items) if kind in (tuple, list):
            parts = [rebuilder(v) for v in items]
            return lambda outs, inputs, given, numbers: kind(
                [f(outs, inputs, given, numbers) for f in parts])
        case Items(kind, items):
            named = [(name, rebuilder(v)) for name, v in items]
            return lambda outs, inputs, given, numbers: _rebuild_dataclass(kind, {
                name: f(outs, inputs, given, numbers) for name, f in named})
        case _:
            assert_never(tree)


def _rebuild_dataclass(kind: type, fields: dict[str, Any]) -> Any:
    """An instance of the dataclass `kind` with `fields`, without running its `__init__`
    (its checks ran when the original was made; traced arrays have no values to check)."""
    obj: Any = object.__new__(kind)
    for name, value in fields.items():
        object.__setattr__(obj, name, value)
    return obj
