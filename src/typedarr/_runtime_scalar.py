"""Runtime scalars: a Python number that reaches a `typedarr.jit` function through an argument.

As JAX treats Python scalars, a number argument (an optimiser's step count `t`, its `lr`, a
schedule's factor) is by default an input of the compiled program, not part of its
structure: the function is traced once, and each call passes the number's current value.
While the function is traced the number is a `Scalar`: a rank-0 node of the graph that
arithmetic with numbers and other `Scalar`s extends, and that an array operation repeats over
the array's shape (an EXPAND of it, so every engine sees an ordinary broadcast).

A `Scalar` also carries the value it has in the call being traced. Code that needs the
value itself (`if momentum:`, `range(k)`, `float(x)`, a comparison, a size such as a pool's
`k` or a convolution's `stride`) gets it, and the compiled function is then *specialised* on
that argument: it is traced again for a call where the argument has another value, exactly
as a static argument is. So every program stays correct, and only the numbers used in
arithmetic travel as runtime inputs. `jit(fn, static=...)` makes an argument static outright.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np

from ._ir import BinaryOp, DType, Node, Shape, UnaryOp, binary, const, expand, input_, unary

Number: TypeAlias = int | float | np.integer[Any] | np.floating[Any]
_FLOAT64 = np.dtype(np.float64)
_INT64 = np.dtype(np.int64)


def runtime_dtype(x: object) -> DType | None:
    """The dtype a number argument has as a runtime input (Python's float and int are
    float64 and int64, a numpy scalar keeps its own), or None for anything else (a bool is
    not a number here: it decides structure)."""
    if type(x) is float:
        return _FLOAT64
    if type(x) is int:  # one beyond int64 is static: numpy would hold it as an object
        return _INT64 if -2**63 <= x < 2**63 else None
    if isinstance(x, np.floating | np.integer):  # np.bool_ is neither
        return x.dtype
    return None


@dataclass(slots=True)
class Specialised:
    """The runtime scalars of one trace whose values the traced code used (their indices)."""

    used: set[int] = field(default_factory=set)


class Scalar:
    """A number argument of a function being traced (see the module docstring)."""

    __slots__ = ("_deps", "_node", "_seen", "_value")

    _node: Node
    _value: Any
    _deps: frozenset[int]
    _seen: Specialised

    def __init__(self, node: Node, value: Any, deps: frozenset[int], seen: Specialised
                 ) -> None:
        self._node, self._value, self._deps, self._seen = node, value, deps, seen

    @classmethod
    def argument(cls, index: int, value: Any, dtype: DType, seen: Specialised) -> Scalar:
        """The `index`-th runtime scalar of a trace, holding `value` for this trace."""
        return cls(input_(index, (), dtype), value, frozenset({index}), seen)

    @property
    def node(self) -> Node:
        return self._node

    @property
    def dtype(self) -> DType:
        return self._node.dtype

    def concrete(self) -> Any:
        """The value in the call being traced; the compiled function is specialised on the
        arguments it came from (traced again when one of them changes)."""
        self._seen.used.update(self._deps)
        return self._value

    def meet(self, dtype: DType, shape: Shape) -> Node:
        """This scalar in an array operation: cast to the array's dtype (as a Python number
        is stored in the dtype of the array it meets) and repeated over its shape."""
        node = self._node if self.dtype == dtype else unary(UnaryOp.CAST, self._node, dtype)
        for axis, n in enumerate(shape):
            node = expand(node, axis, n)
        return node

    def __repr__(self) -> str:
        return f"Scalar(traced {self.dtype}: a runtime input of the jit function)"

    # What needs the value itself: specialise (see the module docstring).
    def __bool__(self) -> bool:
        return bool(self.concrete())

    def __float__(self) -> float:
        return float(self.concrete())

    def __int__(self) -> int:
        return int(self.concrete())

    def __index__(self) -> int:
        return operator.index(self.concrete())

    def __round__(self, ndigits: int | None = None) -> Any:
        return round(self.concrete(), ndigits)

    def __hash__(self) -> int:
        return hash(self.concrete())

    def __format__(self, spec: str) -> str:
        return format(self.concrete(), spec)

    def _cmp(self, other: object, fn: Callable[[Any, Any], bool]) -> Any:
        if isinstance(other, Scalar):
            return fn(self.concrete(), other.concrete())
        if runtime_dtype(other) is None:
            return NotImplemented
        return fn(self.concrete(), other)

    def __lt__(self, other: object) -> Any:
        return self._cmp(other, operator.lt)

    def __le__(self, other: object) -> Any:
        return self._cmp(other, operator.le)

    def __gt__(self, other: object) -> Any:
        return self._cmp(other, operator.gt)

    def __ge__(self, other: object) -> Any:
        return self._cmp(other, operator.ge)

    def __eq__(self, other: object) -> Any:
        return self._cmp(other, operator.eq)

    def __ne__(self, other: object) -> Any:
        return self._cmp(other, operator.ne)

    # Arithmetic: a new rank-0 node (and the value it has in this trace).
    def _zip(self, op: BinaryOp, fn: Callable[[Any, Any], Any], other: object,
             reflected: bool = False) -> Any:
        if isinstance(other, Scalar):
            node, value, deps = other._node, other._value, self._deps | other._deps
        else:
            dt = runtime_dtype(other)
            if dt is None:
                return NotImplemented  # an array's reflected operator takes it from here
            node, value, deps = const(other, dt), other, self._deps  # type: ignore[arg-type]
        a, b = (node, self._node) if reflected else (self._node, node)
        x, y = (value, self._value) if reflected else (self._value, value)
        if op is BinaryOp.POW and a.dtype.kind in "iu" and b.dtype.kind in "iu":
            # An int to an int power is an int or a float by the exponent's sign: Python's.
            base, exponent = (other, self) if reflected else (self, other)
            return fn(_plain(base), _plain(exponent))
        dtype = _result_dtype(op, a.dtype, b.dtype)
        result = binary(op, _cast(a, dtype), _cast(b, dtype))
        return Scalar(result, fn(x, y), deps, self._seen)

    def __add__(self, other: object) -> Any:
        return self._zip(BinaryOp.ADD, operator.add, other)

    def __radd__(self, other: object) -> Any:
        return self._zip(BinaryOp.ADD, operator.add, other, reflected=True)

    def __sub__(self, other: object) -> Any:
        return self._zip(BinaryOp.SUB, operator.sub, other)

    def __rsub__(self, other: object) -> Any:
        return self._zip(BinaryOp.SUB, operator.sub, other, reflected=True)

    def __mul__(self, other: object) -> Any:
        return self._zip(BinaryOp.MUL, operator.mul, other)

    def __rmul__(self, other: object) -> Any:
        return self._zip(BinaryOp.MUL, operator.mul, other, reflected=True)

    def __truediv__(self, other: object) -> Any:
        return self._zip(BinaryOp.DIV, operator.truediv, other)

    def __rtruediv__(self, other: object) -> Any:
        return self._zip(BinaryOp.DIV, operator.truediv, other, reflected=True)

    def __pow__(self, other: object) -> Any:
        return self._zip(BinaryOp.POW, operator.pow, other)

    def __rpow__(self, other: object) -> Any:
        return self._zip(BinaryOp.POW, operator.pow, other, reflected=True)

    def __neg__(self) -> Scalar:
        return Scalar(unary(UnaryOp.NEG, self._node), -self._value, self._deps, self._seen)

    def __pos__(self) -> Scalar:
        return self

    def __abs__(self) -> Scalar:
        return Scalar(unary(UnaryOp.ABS, self._node), abs(self._value), self._deps,
                      self._seen)

    # Whatever else Python does with numbers (//, %, math.*) reads the value: specialised.
    def __floordiv__(self, other: object) -> Any:
        return self.concrete() // _plain(other)

    def __rfloordiv__(self, other: object) -> Any:
        return _plain(other) // self.concrete()

    def __mod__(self, other: object) -> Any:
        return self.concrete() % _plain(other)

    def __rmod__(self, other: object) -> Any:
        return _plain(other) % self.concrete()

    def __trunc__(self) -> Any:
        return math.trunc(self.concrete())


def concrete(x: Any) -> Any:
    """`x`, or for a traced number argument its value (specialising the trace on it): what
    code that needs a number itself (a size, a structural choice) reads."""
    return x.concrete() if isinstance(x, Scalar) else x


_plain = concrete


def _cast(node: Node, dtype: DType) -> Node:
    return node if node.dtype == dtype else unary(UnaryOp.CAST, node, dtype)


def _result_dtype(op: BinaryOp, a: DType, b: DType) -> DType:
    """Python's rule for two numbers, in numpy's dtypes: an int with an int is an int
    (but `/` is true division), anything with a float is a float."""
    dtype: DType = np.result_type(a, b)
    if op is BinaryOp.DIV and dtype.kind in "iu":
        return _FLOAT64
    return dtype
