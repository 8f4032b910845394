"""The explicit broadcasts of seed 000: `br`, `rows_like`, `cols_like` (DESIGN §1).

Each returns a delayed Matrix whose node is an index map over the Vector: nothing of the
Matrix's size exists until `compute`, and a fused kernel never builds it at all.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypeVar

from ._args import Size, size
from ._errors import ShapeError
from ._expr import expand
from ._matrix import DMatrix, MatrixLike
from ._vector import VectorLike

R = TypeVar("R", default=Any)
C = TypeVar("C", default=Any)
N = TypeVar("N", default=Any)


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


def _check_pair(name: str, v: object, m: object) -> None:
    if not isinstance(v, VectorLike) or not isinstance(m, MatrixLike):
        raise ShapeError(f"{name}(v, m) takes a Vector and a Matrix, got "
                         f"{type(v).__name__} and {type(m).__name__}")


rowsLike = rows_like  # massiv's name
colsLike = cols_like  # massiv's name
