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

from ._errors import TraceError
from ._expr import COMPARISONS, BinaryOp, Form, Node, UnaryOp, leaf, postorder, substitute

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
    (out,) = evaluate_many((node,))
    return out


def evaluate_many(roots: tuple[Node, ...]) -> tuple[Array, ...]:
    """The values of several roots, each node of their shared graph evaluated once.

    The walk is iterative (`postorder`), and an intermediate value is dropped as soon as
    the last node reading it is done, so a long chain holds a few arrays, not all of them.
    """
    readers: dict[int, int] = {}
    order = list(postorder(roots))
    for node in order:
        for s in node.src:
            readers[id(s)] = readers.get(id(s), 0) + 1
    for root in roots:
        readers[id(root)] = readers.get(id(root), 0) + 1  # kept to the end
    values: dict[int, Array] = {}
    with np.errstate(all="ignore"):
        for node in order:
            values[id(node)] = _eval_once(node, [values[id(s)] for s in node.src])
            for s in node.src:
                readers[id(s)] -= 1
                if readers[id(s)] == 0:
                    del values[id(s)]
    # asarray, not ascontiguousarray, which makes a rank-0 result one element of rank 1
    return tuple(np.asarray(values[id(r)], dtype=r.dtype, order="C") for r in roots)


def program(roots: tuple[Node, ...], inputs: tuple[Node, ...]
            ) -> Callable[[list[Array]], list[Array]]:
    """`roots` as a function of the arrays of `inputs` (a traced function's INPUT nodes)."""
    def call(arrays: list[Array]) -> list[Array]:
        given = {id(n): leaf(a) for n, a in zip(inputs, arrays, strict=True)}
        outs = evaluate_many(substitute(roots, given))
        for out in outs:
            out.flags.writeable = False
        return list(outs)

    return call


def _eval_once(node: Node, src: list[Array]) -> Array:
    match node.op:
        case Form.LEAF:
            data: Array = node.arg
            return data
        case Form.CONST:
            return np.asarray(node.arg, dtype=node.dtype)
        case UnaryOp.CAST:
            return src[0].astype(node.dtype)
        case UnaryOp():
            return UNARY[node.op](src[0]).astype(node.dtype, copy=False)
        case BinaryOp():
            out = BINARY[node.op](src[0], src[1])
            # Note: comparisons give 0.0/1.0 masks in the operands' dtype, not booleans.
            return out.astype(node.dtype, copy=node.op in COMPARISONS)
        case Form.WHERE:
            return np.where(src[0] != 0, src[1], src[2]).astype(node.dtype)
        case Form.EXPAND:
            axis, _ = node.arg
            return np.broadcast_to(np.expand_dims(src[0], axis), node.shape)
        case Form.SUM:
            total: Array = src[0].sum(axis=node.arg, dtype=node.dtype)
            return total
        case Form.MAX:
            top: Array = src[0].max(axis=node.arg)
            return top
        case Form.PERMUTE:
            return np.transpose(src[0], node.arg)
        case Form.CHUNKED:
            # The definition, not the way to compute it: `_compute` sends graphs holding
            # chunked arrays to the Dask engine, which never loads one whole.
            whole: Array = np.asarray(node.arg.compute(), dtype=node.dtype)
            return whole
        case Form.INPUT:
            raise TraceError(f"input {node.arg} of a traced function has no values yet")
        case Form.MATMUL:
            product: Array = np.matmul(src[0], src[1])
            return product
        case _:
            assert_never(node.op)
