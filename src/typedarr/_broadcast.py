"""The explicit broadcasts: seed 000's `br`, `rows_like`, `cols_like` (DESIGN §1), and
seed 003's per-channel `channels_like` (DESIGN §7).

Each returns a delayed array whose node is an index map over the Vector: nothing of the
result's size exists until `compute`, and a fused kernel never builds it at all.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypeVar

from ._args import Size, size
from ._errors import ShapeError
from ._ir import expand
from ._matrix import DMatrix, MatrixLike
from ._tensor4 import DTensor4, Tensor4Like
from ._vector import VectorLike

R = TypeVar("R", default=Any)
C = TypeVar("C", default=Any)
N = TypeVar("N", default=Any)
H = TypeVar("H", default=Any)
W = TypeVar("W", default=Any)


def br(n: Size, v: VectorLike[N]) -> DMatrix[Any, N]:
    """A Matrix of `n` rows, every one equal to `v` (seed 000's `br`).

    Raises ShapeError unless `v` is a Vector and `n` a non-negative integer (a Python or
    numpy int; a bool is refused).

    >>> br(3, Vector.from_list([1, 2, 3, 4])).shape
    (3, 4)
    """
    if not isinstance(v, VectorLike):
        raise ShapeError(f"br repeats a Vector, got {type(v).__name__}")
    rows = size("br: the row count", n)
    return DMatrix._wrap(expand(v._node, 0, rows), v.strategy)


def rows_like(v: VectorLike[C], m: MatrixLike[R, Any]) -> DMatrix[R, C]:
    """`v` repeated as the rows of a Matrix with as many rows as `m`: shape `(m.rows, len(v))`.

    Only the row count is taken from `m` (massiv's `rowsLike`).

    >>> rows_like(Vector.zeros(4), Matrix.zeros(3, 2)).shape
    (3, 4)
    """
    _check_pair("rows_like", v, m)
    return DMatrix._wrap(expand(v._node, 0, m.rows), v.strategy)


def cols_like(v: VectorLike[R], m: MatrixLike[Any, C]) -> DMatrix[R, C]:
    """`v` repeated as the columns of a Matrix with as many columns as `m`: `out[i, j] = v[i]`.

    Shape `(len(v), m.cols)`; only the column count is taken from `m` (massiv's `colsLike`).

    >>> cols_like(Vector.zeros(4), Matrix.zeros(3, 2)).shape
    (4, 2)
    """
    _check_pair("cols_like", v, m)
    return DMatrix._wrap(expand(v._node, 1, m.cols), v.strategy)


def channels_like(v: VectorLike[C], x: Tensor4Like[N, C, H, W]) -> DTensor4[N, C, H, W]:
    """`v` repeated over the samples, rows and columns of `x`: `out[n, c, h, w] = v[c]`.

    Seed 003's `v.reshape((1, C, 1, 1))`, made explicit: a Vector of one value per channel
    (a batchnorm mean, a convolution's bias) meets a Tensor4 of that many channels. Raises
    ShapeError when the Vector's size is not `x`'s channel count.

    >>> channels_like(Vector.from_list([1, 2]), Tensor4.zeros(3, 2, 4, 5)).shape
    (3, 2, 4, 5)
    """
    if not isinstance(v, VectorLike) or not isinstance(x, Tensor4Like):
        raise ShapeError(f"channels_like(v, x) takes a Vector and a Tensor4, got "
                         f"{type(v).__name__} and {type(x).__name__}")
    n, c, h, w = x.shape
    if v.size != c:
        raise ShapeError(f"channels_like(v, x): Vector {v.shape} does not have one value per "
                         f"channel of Tensor4 {x.shape} ({c} channels)")
    node = expand(expand(expand(v._node, 0, n), 2, h), 3, w)
    return DTensor4._wrap(node, v.strategy)


def _check_pair(name: str, v: object, m: object) -> None:
    if not isinstance(v, VectorLike) or not isinstance(m, MatrixLike):
        raise ShapeError(f"{name}(v, m) takes a Vector and a Matrix, got "
                         f"{type(v).__name__} and {type(m).__name__}")


rowsLike = rows_like  # massiv's name
"""massiv's name for `rows_like`: the same function."""
colsLike = cols_like  # massiv's name
"""massiv's name for `cols_like`: the same function."""
