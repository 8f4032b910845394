"""Where the largest and smallest values are: `argmax_rows`, `argmax_cols` and the argmins.

Named as the maxima are (DESIGN §1): `argmax_rows(m)` reduces over the rows, one position
per **column** (the row holding that column's largest value); `argmax_cols(m)` reduces over
the columns, one position per **row**: the class a row of scores predicts, the nearest
centroid of a row of distances (`argmin_cols`). They return `Indices`, positions that pick
rows (`m[idx]`), make one-hot rows (`nn.one_hot(idx, k)`) and compare into masks.

As numpy does: a tie gives the **first** position (so one-hot rows built from it hold a
single one), and a NaN counts as the largest (and the smallest) value, so a row holding
one gives the position of its first NaN.

Inside a `jit` trace, or for a chunked array, each is one graph of the nodes every engine
already has (a maximum, a comparison, a selection, a minimum as `-max(-x)`), so `jit`
compiles it like any expression and Dask computes it block by block. On values in memory
the engine computes the Matrix and numpy's `argmax` searches it: the same positions (the
tests hold each engine's graph to numpy), and faster than the graph's two fused passes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from typing_extensions import TypeVar

from . import _compute
from ._errors import ShapeError
from ._indices import Indices
from ._ir import (
    FLOAT64,
    BinaryOp,
    Node,
    UnaryOp,
    binary,
    const,
    expand,
    holds_chunked,
    leaf,
    reduce_max,
    unary,
)
from ._ir import where as where_node
from ._matrix import MatrixLike
from ._trace import tracing

R = TypeVar("R", default=Any)
C = TypeVar("C", default=Any)

# Positions are held as floats, exact below 2**24 in float32 (2**53 in float64): an axis
# at least this long is searched in float64.
_EXACT_FLOAT32 = 2 ** 24


def argmax_rows(m: MatrixLike[Any, C]) -> Indices[C]:
    """For each column, the row of its largest value (the first such row on a tie).

    Raises ShapeError for a Matrix with no rows.

    >>> argmax_rows(Matrix.from_list([[1, 5], [3, 5]]))
    Indices U Par (Sz1 2)
    [ 1, 0 ]
    """
    return _positions("argmax_rows", m, 0, negate=False)


def argmax_cols(m: MatrixLike[R, Any]) -> Indices[R]:
    """For each row, the column of its largest value (the first such column on a tie): the
    class each row of scores predicts.

    Raises ShapeError for a Matrix with no columns.

    >>> argmax_cols(Matrix.from_list([[1, 5, 5], [3, 2, 0]]))
    Indices U Par (Sz1 2)
    [ 1, 0 ]
    """
    return _positions("argmax_cols", m, 1, negate=False)


def argmin_rows(m: MatrixLike[Any, C]) -> Indices[C]:
    """For each column, the row of its smallest value (the first such row on a tie).

    >>> argmin_rows(Matrix.from_list([[1, 5], [3, 4]]))
    Indices U Par (Sz1 2)
    [ 0, 1 ]
    """
    return _positions("argmin_rows", m, 0, negate=True)


def argmin_cols(m: MatrixLike[R, Any]) -> Indices[R]:
    """For each row, the column of its smallest value (the first such column on a tie): the
    nearest centroid of each row of distances.

    >>> argmin_cols(Matrix.from_list([[4, 1, 1], [0, 2, 3]]))
    Indices U Par (Sz1 2)
    [ 1, 0 ]
    """
    return _positions("argmin_cols", m, 1, negate=True)


def _positions(name: str, m: object, axis: int, negate: bool) -> Indices[Any]:
    if not isinstance(m, MatrixLike):
        raise ShapeError(f"{name} reduces a Matrix, got {type(m).__name__}")
    if m.shape[axis] == 0:
        raise ShapeError(f"{name} of a Matrix {m.shape} with no {('rows', 'columns')[axis]} "
                         f"is undefined")
    if tracing() or holds_chunked((m._node,)):  # the graph: compiled, or block by block
        x = unary(UnaryOp.NEG, m._node) if negate else m._node
        (node,) = _compute.materialise((first_largest(x, axis),), m.strategy)
        return Indices._wrap(node, m.strategy)
    # In memory, numpy's own search on the values the engine computed: the same positions
    # (the tests hold the graph to it), several times faster than two fused passes.
    values = _compute.evaluate(m._node, m.strategy)
    found = (np.argmin if negate else np.argmax)(values, axis=axis)
    dtype = m.dtype if m.shape[axis] < _EXACT_FLOAT32 else FLOAT64.dtype
    return Indices._wrap(leaf(_read_only(found.astype(dtype))), m.strategy)


def first_largest(x: Node, axis: int) -> Node:
    """The first position along `axis` of the largest value of the rank-2 `x` (of its first
    NaN, if it holds one), as floats in `x`'s dtype or float64 for a long axis."""
    n, other = x.shape[axis], x.shape[1 - axis]
    if n >= _EXACT_FLOAT32 and x.dtype != FLOAT64.dtype:
        x = unary(UnaryOp.CAST, x, FLOAT64.dtype)
    top = expand(reduce_max(x, axis), axis, n)
    # A NaN is never equal to the maximum (NaN itself then): `x != x` marks it instead.
    hit = binary(BinaryOp.MAX, binary(BinaryOp.EQ, x, top), binary(BinaryOp.NE, x, x))
    grid = expand(leaf(_arange(n, x.dtype)), 1 - axis, other)  # each element's position
    candidates = where_node(hit, grid, const(float(n), x.dtype))
    # The smallest candidate, -max(-c): the first position that holds the maximum.
    return unary(UnaryOp.NEG, reduce_max(unary(UnaryOp.NEG, candidates), axis))


def _arange(n: int, dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    return _read_only(np.arange(n, dtype=dtype))


def _read_only(out: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out.flags.writeable = False
    return out
