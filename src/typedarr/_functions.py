"""Elementwise functions for every kind of array, and `compute` as a function.

Each is typed once through `_Elementwise[Op, D]`: the argument's kind fixes the result
(`exp(Matrix[B, H])` is a `DMatrix[B, H]`, `exp(Vector[H])` a `DVector[H]`), and the other
operands of `maximum` and `where` must be that same kind with the same dimensions.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Any, Protocol, TypeVar, cast, overload

from . import _compute
from ._array import _Array, _Elementwise
from ._ir import BinaryOp, UnaryOp
from ._ir import where as where_node
from ._strategy import combine

Op = TypeVar("Op")
D = TypeVar("D")
M = TypeVar("M")
M2 = TypeVar("M2")
M3 = TypeVar("M3")
M4 = TypeVar("M4")
M_co = TypeVar("M_co", covariant=True)


def exp(x: _Elementwise[Op, D]) -> D:
    """`e ** x` elementwise, delayed.

    >>> exp(Vector.from_list([0, 1])).compute()
    Vector U Par (Sz1 2) float32
    [ 1.0, 2.7182817 ]
    """
    return _typed("exp", x)._map(UnaryOp.EXP)


def log(x: _Elementwise[Op, D]) -> D:
    """The natural logarithm elementwise, delayed (`log(0)` is `-inf`, as in IEEE).

    >>> log(Vector.from_list([1, 0])).compute()
    Vector U Par (Sz1 2) float32
    [ 0.0, -inf ]
    """
    return _typed("log", x)._map(UnaryOp.LOG)


def sqrt(x: _Elementwise[Op, D]) -> D:
    """The square root elementwise, delayed (NaN below 0, as in IEEE).

    >>> sqrt(Vector.from_list([4, 9])).compute()
    Vector U Par (Sz1 2) float32
    [ 2.0, 3.0 ]
    """
    return _typed("sqrt", x)._map(UnaryOp.SQRT)


def tanh(x: _Elementwise[Op, D]) -> D:
    """The hyperbolic tangent elementwise, delayed.

    >>> tanh(Vector.from_list([0])).compute()
    Vector U Par (Sz1 1) float32
    [ 0.0 ]
    """
    return _typed("tanh", x)._map(UnaryOp.TANH)


def sigmoid(x: _Elementwise[Op, D]) -> D:
    """The logistic function `1 / (1 + exp(-x))` elementwise, delayed; never overflows.

    >>> sigmoid(Vector.from_list([0, -1000])).compute()
    Vector U Par (Sz1 2) float32
    [ 0.5, 0.0 ]
    """
    return _typed("sigmoid", x)._map(UnaryOp.SIGMOID)


def relu(x: _Elementwise[Op, D]) -> D:
    """`max(x, 0)` elementwise, delayed.

    >>> relu(Vector.from_list([-1, 2])).compute()
    Vector U Par (Sz1 2) float32
    [ 0.0, 2.0 ]
    """
    return _typed("relu", x)._map(UnaryOp.RELU)


def maximum(a: _Elementwise[Op, D], b: Op | float) -> D:
    """The larger of `a` and `b` elementwise; `b` is the same kind and shape, or a scalar.

    Raises ShapeError when `b` has another kind or shape (naming the helper that repeats a
    Vector), DTypeError when its dtype differs, TypeError when `b` is neither an array of
    `a`'s kind nor a number.

    >>> maximum(Vector.from_list([-1, 2]), 0.0).compute()
    Vector U Par (Sz1 2) float32
    [ 0.0, 2.0 ]
    """
    return _refuse_unhandled("maximum", _typed("maximum", a)._zip(BinaryOp.MAX, b), b)


def minimum(a: _Elementwise[Op, D], b: Op | float) -> D:
    """The smaller of `a` and `b` elementwise; `b` is the same kind and shape, or a scalar.

    Raises as `maximum` does.

    >>> minimum(Vector.from_list([-1, 2]), Vector.zeros(2)).compute()
    Vector U Par (Sz1 2) float32
    [ -1.0, 0.0 ]
    """
    return _refuse_unhandled("minimum", _typed("minimum", a)._zip(BinaryOp.MIN, b), b)


def clip(x: _Elementwise[Op, D], low: Op | float, high: Op | float) -> D:
    """`x` limited to `[low, high]` elementwise (numpy's `np.clip`): `low` and `high` are
    numbers or arrays of `x`'s kind and shape; a NaN of `x` stays NaN.

    It is `minimum(maximum(x, low), high)`, one fused pass, with the bounds checked: numbers
    with `low > high`, or a NaN bound, raise ValueError (numpy would quietly give `high`).

    >>> clip(Vector.from_list([-2, 0.5, 3]), 0, 1).compute()
    Vector U Par (Sz1 3) float32
    [ 0.0, 0.5, 1.0 ]
    """
    for name, bound in (("low", low), ("high", high)):
        if isinstance(bound, numbers.Real) and math.isnan(bound):
            raise ValueError(f"clip: {name} is NaN; bounds are numbers or arrays")
    if isinstance(low, numbers.Real) and isinstance(high, numbers.Real) and low > high:
        raise ValueError(f"clip: low {low} is above high {high}")
    lower = _refuse_unhandled("clip", _typed("clip", x)._zip(BinaryOp.MAX, low), low)
    assert isinstance(lower, _Elementwise)  # x's own delayed kind
    return cast(D, _refuse_unhandled("clip", lower._zip(BinaryOp.MIN, high), high))


def _typed(name: str, x: _Elementwise[Op, D]) -> _Elementwise[Op, D]:
    """`x`, if it is a typed array; else the TypeError that says what to write instead (a
    numpy array would otherwise fail with a bare AttributeError)."""
    if isinstance(x, _Elementwise):
        return x
    got = type(x).__name__  # type: ignore[unreachable]  # untyped callers
    if isinstance(x, numbers.Real):
        fix = (f"for a Python number use math.{name}" if hasattr(math, name)
               else "it works on arrays only")
    else:
        fix = "convert a numpy array with Matrix.from_numpy or Vector.from_numpy"
    raise TypeError(f"ta.{name} takes a typed array (Matrix, Vector or Tensor4), got {got}: "
                    f"{fix}")


def _refuse_unhandled(name: str, out: D, b: object) -> D:
    """`out`, unless the operand was neither an array nor a number (`_zip` then answers
    NotImplemented, which an operator hands back to Python but a function must not return)."""
    if out is NotImplemented:
        raise TypeError(f"{name}(a, b) takes an array of a's kind or a number as b, got "
                        f"{type(b).__name__}")
    return out


def where(cond: _Elementwise[Op, D], a: Op | float, b: Op | float) -> D:
    """`a` where `cond` is non-zero (a mask from a comparison), else `b`, elementwise.

    >>> x = Vector.from_list([-1, 2])
    >>> where(x > 0, x, 0.5 * x).compute()
    Vector U Par (Sz1 2) float32
    [ -0.5, 2.0 ]
    """
    cond = _typed("where", cond)
    a_got = cond._operand("select (where) from", a)
    b_got = cond._operand("select (where) from", b)
    if a_got is None or b_got is None:
        raise TypeError("where(cond, a, b) takes arrays of cond's kind or Python numbers")
    node = where_node(cond._node, a_got[0], b_got[0])
    return cond._delayed(node, combine(a_got[1], b_got[1]))


class _Computes(Protocol[M_co]):
    def compute(self) -> M_co: ...


@overload
def compute(x: _Computes[M], /) -> M: ...
@overload
def compute(x: _Computes[M], y: _Computes[M2], /) -> tuple[M, M2]: ...
@overload
def compute(x: _Computes[M], y: _Computes[M2], z: _Computes[M3], /) -> tuple[M, M2, M3]: ...
@overload
def compute(x: _Computes[M], y: _Computes[M2], z: _Computes[M3], w: _Computes[M4], /
            ) -> tuple[M, M2, M3, M4]: ...
@overload
def compute(x: _Computes[M], y: _Computes[M], z: _Computes[M], w: _Computes[M],
            v: _Computes[M], /, *more: _Computes[M]) -> tuple[M, ...]: ...
def compute(*xs: _Computes[Any]) -> Any:
    """The values of `x` in memory (massiv's `compute`): one pass for a delayed array.

    Given several arrays, a tuple of their values, computed together: one kernel over their
    shared graph, so a subexpression they share is computed once and reductions over the
    same data share a pass.

    >>> compute(br(2, Vector.from_list([1, 2])))
    Matrix U Par (Sz (2 :. 2)) float32
    [ [ 1.0, 2.0 ]
    , [ 1.0, 2.0 ]
    ]
    >>> m = Matrix.from_list([[1, 2], [3, 4]])
    >>> total, biggest = compute(sum_rows(m), sum_cols(m))
    >>> total.to_numpy(), biggest.to_numpy()
    (array([4., 6.], dtype=float32), array([3., 7.], dtype=float32))
    """
    if len(xs) == 1:
        return xs[0].compute()
    if not xs:
        raise TypeError("compute() needs at least one array")
    arrays: list[_Array] = []
    for x in xs:
        if not isinstance(x, _Array):
            raise TypeError(f"compute takes typedarr arrays, not {type(x).__name__}")
        arrays.append(x)
    strategy = functools.reduce(combine, (a.strategy for a in arrays))
    nodes = _compute.materialise(tuple(a._node for a in arrays), strategy)
    return tuple(a._computed(n) for a, n in zip(arrays, nodes, strict=True))
