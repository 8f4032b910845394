"""The plain-numpy reference evaluator: the definition of what every node means.

Any faster engine must agree with it (the property tests hold them to it). It evaluates a
node once however often it is referenced, and its broadcasts are numpy views, so it never
materialises an `Expand` on its own. Floating-point exceptions follow IEEE quietly
(`log(0)` is `-inf`), exactly as a compiled kernel does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, assert_never

import numpy as np

from ._expr import (
    COMPARISONS,
    Binary,
    BinaryOp,
    Const,
    Expand,
    Leaf,
    Node,
    Permute,
    Reduce,
    Unary,
    UnaryOp,
    Where,
)

Array = np.ndarray[Any, np.dtype[Any]]


def _sigmoid(x: Array) -> Array:
    # With e = exp(-|x|) (never overflows), 1/(1+e) for x >= 0 and e/(1+e) for x < 0 keep
    # full relative accuracy in both tails; 0.5*(1 + tanh(x/2)) rounds the left tail to 0.
    e = np.exp(-np.abs(x))
    out: Array = np.where(x >= 0, 1.0, e).astype(x.dtype, copy=False) / (1.0 + e)
    return out


UNARY: dict[UnaryOp, Callable[[Array], Array]] = {
    UnaryOp.NEG: np.negative,
    UnaryOp.ABS: np.abs,
    UnaryOp.EXP: np.exp,
    UnaryOp.LOG: np.log,
    UnaryOp.SQRT: np.sqrt,
    UnaryOp.TANH: np.tanh,
    UnaryOp.SIGMOID: _sigmoid,
    UnaryOp.RELU: lambda x: np.maximum(x, 0),
}

BINARY: dict[BinaryOp, Callable[[Array, Array], Array]] = {
    BinaryOp.ADD: np.add,
    BinaryOp.SUB: np.subtract,
    BinaryOp.MUL: np.multiply,
    BinaryOp.DIV: np.divide,
    BinaryOp.POW: np.power,
    BinaryOp.MAX: np.maximum,
    BinaryOp.MIN: np.minimum,
    BinaryOp.LT: np.less,
    BinaryOp.LE: np.less_equal,
    BinaryOp.GT: np.greater,
    BinaryOp.GE: np.greater_equal,
    BinaryOp.EQ: np.equal,
    BinaryOp.NE: np.not_equal,
}


def evaluate(node: Node) -> Array:
    """The values of `node` as a fresh C-contiguous array of its dtype."""
    with np.errstate(all="ignore"):
        out = _eval(node, {})
    return np.ascontiguousarray(out, dtype=node.dtype)


def _eval(node: Node, memo: dict[int, Array]) -> Array:
    key = id(node)
    if key not in memo:
        memo[key] = _eval_once(node, memo)
    return memo[key]


def _eval_once(node: Node, memo: dict[int, Array]) -> Array:
    match node:
        case Leaf():
            return node.data
        case Const():
            return np.asarray(node.value, dtype=node.dtype)
        case Unary(op=UnaryOp.CAST):
            return _eval(node.x, memo).astype(node.dtype)
        case Unary():
            return UNARY[node.op](_eval(node.x, memo)).astype(node.dtype, copy=False)
        case Binary():
            out = BINARY[node.op](_eval(node.a, memo), _eval(node.b, memo))
            # Note: comparisons give 0.0/1.0 masks in the operands' dtype, not booleans.
            return out.astype(node.dtype, copy=node.op in COMPARISONS)
        case Where():
            cond = _eval(node.cond, memo) != 0
            return np.where(cond, _eval(node.a, memo), _eval(node.b, memo)).astype(node.dtype)
        case Expand():
            x = np.expand_dims(_eval(node.x, memo), node.axis)
            return np.broadcast_to(x, node.shape)
        case Reduce():
            total: Array = _eval(node.x, memo).sum(axis=node.axis, dtype=node.dtype)
            return total
        case Permute():
            return np.transpose(_eval(node.x, memo), node.perm)
        case _:
            assert_never(node)
