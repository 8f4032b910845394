"""Reductions of seed 000 (`sum_rows`, `sum_cols`), seed 003's per-channel `sum_channels`,
the batch statistics (per column of a Matrix, per channel of a Tensor4, of a whole Vector),
maxima and minima, and the scalar `sum_all` and `mean_all`.

The sums return delayed Vectors, so `sum_rows((x - rows_like(mu, x)) ** 2)` stays one
expression that a fused `compute` evaluates in a single pass over `x`. The maxima (for the
log-sum-exp shift) and minima are computed at once and return manifest Vectors.
"""

from __future__ import annotations

import math
from typing import Any, overload

from typing_extensions import TypeVar

from . import _compute
from ._errors import ShapeError
from ._ir import UnaryOp, reduce_max, reduce_sum, unary
from ._matrix import MatrixLike
from ._tensor4 import Tensor4Like
from ._vector import DVector, Vector, VectorLike

R = TypeVar("R", default=Any)
C = TypeVar("C", default=Any)


def sum_rows(m: MatrixLike[Any, C]) -> DVector[C]:
    """The sum of each **column**, summing over the rows (seed 000's `_sumRows`).

    >>> sum_rows(Matrix.from_list([[1, 2], [3, 4]])).compute()
    Vector U Par (Sz1 2) float32
    [ 4.0, 6.0 ]
    """
    _check_matrix("sum_rows", m)
    return DVector._wrap(reduce_sum(m._node, 0), m.strategy)


def sum_cols(m: MatrixLike[R, Any]) -> DVector[R]:
    """The sum of each **row**, summing over the columns (seed 000's `_sumCols`).

    >>> sum_cols(Matrix.from_list([[1, 2], [3, 4]])).compute()
    Vector U Par (Sz1 2) float32
    [ 3.0, 7.0 ]
    """
    _check_matrix("sum_cols", m)
    return DVector._wrap(reduce_sum(m._node, 1), m.strategy)


def sum_channels(x: Tensor4Like[Any, C, Any, Any]) -> DVector[C]:
    """The sum of each channel over samples, rows and columns (seed 003's
    `nd.sum(x, axis=(0, 2, 3))`).

    >>> sum_channels(Tensor4.ones(2, 3, 4, 5)).compute()
    Vector U Par (Sz1 3) float32
    [ 40.0, 40.0, 40.0 ]
    """
    if not isinstance(x, Tensor4Like):
        raise ShapeError(f"sum_channels reduces a Tensor4, got {type(x).__name__}")
    # The samples first: a fused kernel adds whole contiguous (C, H, W) blocks, which
    # vectorise, and the two sums left run over a tensor the batch size smaller.
    return DVector._wrap(reduce_sum(reduce_sum(reduce_sum(x._node, 0), 2), 1), x.strategy)


# The Matrix overload first: an untyped argument (Any) gets its result, as before Vectors had one.
@overload
def mean(m: MatrixLike[Any, C] | Tensor4Like[Any, C, Any, Any]) -> DVector[C]: ...
@overload
def mean(m: VectorLike[Any]) -> float: ...
def mean(m: VectorLike[Any] | MatrixLike[Any, C] | Tensor4Like[Any, C, Any, Any]
         ) -> float | DVector[C]:
    """The mean of each column of a Matrix (a batch mean: one value per feature), or of each
    channel of a Tensor4 (over samples, rows and columns: seed 003's batchnorm mean); of a
    Vector, the mean of its elements, a float (its only axis). For the mean of every element
    of a Matrix use `mean_all`.

    Raises ShapeError for an array with nothing to average.

    >>> mean(Matrix.from_list([[1, 2], [3, 6]])).compute()
    Vector U Par (Sz1 2) float32
    [ 2.0, 4.0 ]
    >>> mean(Vector.from_list([1, 2, 6]))
    3.0
    """
    if isinstance(m, VectorLike):
        return mean_all(m)
    if isinstance(m, Tensor4Like):
        return sum_channels(m) * (1.0 / _per_channel("mean", m))
    _check_rows("mean", m)
    return sum_rows(m) * (1.0 / m.rows)


# The Matrix overload first: an untyped argument (Any) gets its result, as before Vectors had one.
@overload
def var(m: MatrixLike[Any, C] | Tensor4Like[Any, C, Any, Any]) -> DVector[C]: ...
@overload
def var(m: VectorLike[Any]) -> float: ...
def var(m: VectorLike[Any] | MatrixLike[Any, C] | Tensor4Like[Any, C, Any, Any]
        ) -> float | DVector[C]:
    """The population variance of each column of a Matrix, or of each channel of a Tensor4
    (divided by the count, as batchnorm does); of a Vector, the variance of its elements, a
    float (numpy's `np.var(v)`, `ddof=0`).

    >>> var(Matrix.from_list([[1, 0], [3, 0]])).compute()
    Vector U Par (Sz1 2) float32
    [ 1.0, 0.0 ]
    >>> var(Vector.from_list([1, 3]))
    1.0
    """
    from ._broadcast import channels_like, rows_like

    if isinstance(m, VectorLike):
        centred_vector = m - mean_all(m)
        return sum_all(centred_vector * centred_vector) / m.size
    if isinstance(m, Tensor4Like):
        count = _per_channel("var", m)
        centred = m - channels_like(mean(m), m)
        return sum_channels(centred * centred) * (1.0 / count)
    _check_rows("var", m)
    centred_rows = m - rows_like(mean(m), m)
    return sum_rows(centred_rows * centred_rows) * (1.0 / m.rows)


def max_rows(m: MatrixLike[Any, C]) -> Vector[C]:
    """The largest value of each column, in memory (a fusion boundary, like `@`).

    >>> max_rows(Matrix.from_list([[1, 5], [3, 4]]))
    Vector U Par (Sz1 2) float32
    [ 3.0, 5.0 ]
    """
    _check_rows("max_rows", m)
    return _manifest_max(m, 0)


def max_cols(m: MatrixLike[R, Any]) -> Vector[R]:
    """The largest value of each row, in memory: the shift of a log-sum-exp softmax.

    >>> max_cols(Matrix.from_list([[1, 5], [3, 4]]))
    Vector U Par (Sz1 2) float32
    [ 5.0, 4.0 ]
    """
    _check_cols("max_cols", m)
    return _manifest_max(m, 1)


def min_rows(m: MatrixLike[Any, C]) -> Vector[C]:
    """The smallest value of each column, in memory (NaN if any value of it is).

    >>> min_rows(Matrix.from_list([[1, 5], [3, 4]]))
    Vector U Par (Sz1 2) float32
    [ 1.0, 4.0 ]
    """
    _check_rows("min_rows", m)
    return _manifest_min(m, 0)


def min_cols(m: MatrixLike[R, Any]) -> Vector[R]:
    """The smallest value of each row, in memory (NaN if any value of it is).

    >>> min_cols(Matrix.from_list([[1, 5], [3, 4]]))
    Vector U Par (Sz1 2) float32
    [ 1.0, 3.0 ]
    """
    _check_cols("min_cols", m)
    return _manifest_min(m, 1)


def _manifest_max(m: MatrixLike[Any, Any], axis: int) -> Vector[Any]:
    return DVector._wrap(reduce_max(m._node, axis), m.strategy).compute()


def _manifest_min(m: MatrixLike[Any, Any], axis: int) -> Vector[Any]:
    # Note: min is -max(-x), one graph for the engines (negation is exact and keeps NaN), so
    # every engine that reduces with MAX, fused and Dask included, computes it in one pass.
    node = unary(UnaryOp.NEG, reduce_max(unary(UnaryOp.NEG, m._node), axis))
    return DVector._wrap(node, m.strategy).compute()


def sum_all(x: MatrixLike[Any, Any] | VectorLike[Any]) -> float:
    """The sum of every element of a Matrix or Vector, as a Python float.

    Raises TypeError for anything else, and TraceError inside a `jit` trace (a traced
    array has no values yet: return the array and sum it outside).

    >>> sum_all(Matrix.from_list([[1, 2], [3, 4]])), sum_all(Vector.from_list([1, 2]))
    (10.0, 3.0)
    """
    if not isinstance(x, MatrixLike | VectorLike):
        raise TypeError(f"sum_all takes a Matrix or Vector, got {type(x).__name__}")
    node = x._node
    while node.shape:  # one axis at a time: a chunked array is summed block by block
        node = reduce_sum(node, 0)
    return float(_compute.evaluate(node, x.strategy))


def mean_all(x: MatrixLike[Any, Any] | VectorLike[Any]) -> float:
    """The mean of every element of a Matrix or Vector, as a Python float (numpy's `x.mean()`).

    Raises ShapeError for an array with no elements.

    >>> mean_all(Matrix.from_list([[1, 2], [3, 6]]))
    3.0
    """
    if not isinstance(x, MatrixLike | VectorLike):
        raise TypeError(f"mean_all takes a Matrix or Vector, got {type(x).__name__}")
    count = math.prod(x.shape)
    if count == 0:
        raise ShapeError(f"mean_all of a {x._KIND} {x.shape} with no elements is undefined")
    return sum_all(x) / count


def _per_channel(name: str, x: Tensor4Like[Any, Any, Any, Any]) -> int:
    """How many values each channel of `x` has; ShapeError when there are none."""
    n, _, h, w = x.shape
    if n * h * w == 0:
        raise ShapeError(f"{name} of a Tensor4 {x.shape} with no values per channel is "
                         f"undefined")
    return n * h * w


def _check_matrix(name: str, m: object) -> None:
    if not isinstance(m, MatrixLike):
        raise ShapeError(f"{name} reduces a Matrix, got {type(m).__name__}")


def _check_rows(name: str, m: MatrixLike[Any, Any]) -> None:
    _check_matrix(name, m)
    if m.rows == 0:
        raise ShapeError(f"{name} of a Matrix with no rows is undefined")


def _check_cols(name: str, m: MatrixLike[Any, Any]) -> None:
    _check_matrix(name, m)
    if m.cols == 0:
        raise ShapeError(f"{name} of a Matrix with no columns is undefined")


sumRows = sum_rows  # massiv's name
"""massiv's name for `sum_rows`: the same function."""
sumCols = sum_cols  # massiv's name
"""massiv's name for `sum_cols`: the same function."""
