"""`reshape`: a Matrix or Vector as a Vector or Matrix of as many values, row-major.

The rank of the result is in the call, so it is in the type: `reshape(m, n)` is a Vector
(numpy's `m.ravel()` for `n = m.rows * m.cols`), `reshape(v, rows, cols)` a Matrix. One size
may be -1, computed from the others as numpy does. Like `flatten` for a Tensor4 it is a view
of the values in row-major order (a delayed array is computed first), and inside `jit` a
node of the compiled program.
"""

from __future__ import annotations

import math
from typing import Any, overload

from . import _compute
from ._args import Size, integer
from ._errors import ShapeError
from ._ir import reshape as reshape_node
from ._matrix import Matrix, MatrixLike
from ._vector import Vector, VectorLike


@overload
def reshape(x: MatrixLike[Any, Any] | VectorLike[Any], n: Size, /) -> Vector[Any]: ...
@overload
def reshape(x: MatrixLike[Any, Any] | VectorLike[Any], rows: Size, cols: Size, /
            ) -> Matrix[Any, Any]: ...
def reshape(x: MatrixLike[Any, Any] | VectorLike[Any], *sizes: Size
            ) -> Vector[Any] | Matrix[Any, Any]:
    """The values of `x`, row-major, as a Vector of `n` or a Matrix of `rows x cols`.

    One size may be -1 (as many as the values need). Raises ShapeError when the sizes do not
    hold exactly `x`'s values, or for a Tensor4 (use `flatten` / `unflatten`).

    >>> m = Matrix.from_list([[1, 2, 3], [4, 5, 6]])
    >>> reshape(m, 6)
    Vector U Par (Sz1 6) float32
    [ 1.0, 2.0, 3.0, 4.0, 5.0, 6.0 ]
    >>> reshape(m, 3, -1).shape
    (3, 2)
    """
    _check_kind(x)
    if len(sizes) not in (1, 2):
        raise ShapeError(f"reshape(x, n) makes a Vector and reshape(x, rows, cols) a Matrix; "
                         f"got {len(sizes)} sizes {sizes!r}")
    shape = _shape(f"{x._KIND} {x.shape}", x.shape, sizes)
    node = _compute.run(reshape_node(x._node, shape), x.strategy)
    if len(shape) == 1:
        return Vector._wrap(node, x.strategy)
    return Matrix._wrap(node, x.strategy)


def _check_kind(x: object) -> None:
    if not isinstance(x, MatrixLike | VectorLike):
        hint = ": use flatten(x) or unflatten(m, c, h, w)" if getattr(
            x, "_RANK", None) == 4 else ""
        raise ShapeError(f"reshape takes a Matrix or Vector, got {type(x).__name__}{hint}")


def _shape(what: str, old: tuple[int, ...], sizes: tuple[object, ...]) -> tuple[int, ...]:
    """`sizes` as ints holding the `prod(old)` values, -1 filled in; ShapeError otherwise."""
    count = math.prod(old)
    given = tuple(integer(s) for s in sizes)
    if any(s is None or s < -1 for s in given):
        raise ShapeError(f"reshape: sizes are non-negative ints (one may be -1), got {sizes!r}")
    ints = tuple(s for s in given if s is not None)
    if ints.count(-1) > 1:
        raise ShapeError(f"reshape: only one size may be -1, got {sizes!r}")
    known = math.prod(s for s in ints if s != -1)
    if -1 in ints:
        if known == 0 or count % known:
            raise ShapeError(f"cannot reshape {what} ({count} values) to {ints}: no size for "
                             f"the -1 makes {count} values")
        ints = tuple(count // known if s == -1 else s for s in ints)
    if math.prod(ints) != count:
        raise ShapeError(f"cannot reshape {what} ({count} values) to {ints} "
                         f"({math.prod(ints)} values): the sizes must hold exactly the values")
    return ints
