"""Matrix products: checked here, built as nodes, computed behind the engine door (an engine
runs a product on its computed operands: BLAS)."""

from __future__ import annotations

from . import _compute
from ._array import _Array
from ._errors import DTypeError, ShapeError
from ._ir import BinaryOp, Node, binary, permute, reduce_sum
from ._ir import matmul as matmul_node
from ._strategy import Strategy, combine


def matmul(a: _Array, b: _Array) -> tuple[Node, Strategy]:
    """`a @ b` for a Matrix or Vector `a` and a Matrix `b`, or a Matrix `a` and a Vector `b`,
    with the inner sizes checked first: a LEAF of the product, or inside a trace its node
    (the compiled program computes it)."""
    strategy = _check(a, b)
    return _compute.run(_product(a._node, b._node), strategy), strategy


def dot(a: _Array, b: _Array) -> float:
    """`v @ w` for Vectors: refused inside a trace when it depends on the trace's inputs."""
    strategy = _check(a, b)
    return float(_compute.value(_product(a._node, b._node), strategy,
                                "multiplied into a float (v @ w)"))


def _check(a: _Array, b: _Array) -> Strategy:
    """The strategy of `a @ b`, after checking that the sizes and dtypes fit."""
    if a.shape[-1] != b.shape[0]:
        raise ShapeError(f"cannot multiply {a._describe()} @ {b._describe()}: inner sizes "
                         f"{a.shape[-1]} and {b.shape[0]} differ{_hint(a, b)}")
    if a.dtype != b.dtype:
        raise DTypeError(f"cannot multiply {a._describe()} of {a.dtype} @ {b._describe()} of "
                         f"{b.dtype}: convert one with .astype")
    return combine(a.strategy, b.strategy)


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
