"""Matrix products: a boundary of fusion, where operands are computed and BLAS runs."""

from __future__ import annotations

import numpy as np

from . import _blas, _compute, _trace
from ._array import _Array
from ._errors import DTypeError, ShapeError
from ._ir import BinaryOp, Node, binary, const, holds_chunked, leaf, permute, reduce_sum
from ._ir import matmul as matmul_node
from ._strategy import Strategy, combine


def matmul(a: _Array, b: _Array) -> tuple[Node, Strategy]:
    """`a @ b` for Matrix and Vector operands, with the inner sizes checked first: a LEAF of
    the product, or inside a trace a MATMUL node the compiled program computes."""
    if a.shape[-1] != b.shape[0]:
        raise ShapeError(f"cannot multiply {a._describe()} @ {b._describe()}: inner sizes "
                         f"{a.shape[-1]} and {b.shape[0]} differ{_hint(a, b)}")
    if a.dtype != b.dtype:
        raise DTypeError(f"cannot multiply {a._describe()} of {a.dtype} @ {b._describe()} of "
                         f"{b.dtype}: convert one with .astype")
    strategy = combine(a.strategy, b.strategy)
    if _trace.active() is not None and a._RANK == 2:
        return matmul_node(a._node, b._node), strategy
    if holds_chunked((a._node, b._node)):
        # Never loaded whole: the Dask engine runs dask's blocked product.
        out = _compute.evaluate(_product(a._node, b._node), strategy)
    else:
        out = _blas.matmul(a._values(), b._values())
    if isinstance(out, np.ndarray) and out.ndim:
        out.flags.writeable = False  # fresh from BLAS: ours alone, no copy needed
        return leaf(out), strategy
    return const(float(out), a.dtype), strategy


def _product(a: Node, b: Node) -> Node:
    """`a @ b` as a node: a MATMUL with a rank-2 left operand, or a dot product's sum."""
    if len(a.shape) == 2:
        return matmul_node(a, b)
    if len(b.shape) == 2:
        return matmul_node(permute(b, (1, 0)), a)  # v @ m == m.T @ v
    return reduce_sum(binary(BinaryOp.MUL, a, b), 0)


def _hint(a: _Array, b: _Array) -> str:
    if b._RANK == 2 and a.shape[-1] == b.shape[1]:
        return ": did you mean a @ b.T?"
    if a._RANK == 2 and a.shape[0] == b.shape[0]:
        return ": did you mean a.T @ b?"
    return ""
