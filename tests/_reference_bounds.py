"""How far an engine's values may be from the reference evaluator's, element by element.

`error_bounds`: a fused kernel does the reference's IEEE arithmetic in the same dtype and
order, except that numba's exp/log/tanh/pow may differ from numpy's by a few ulps and
reductions may add in another order (Par's per-thread partials; sum_cols accumulates in
float64). So each element may differ from the reference by what an error analysis of that
element allows: a few ulps of every operation's result, carried to the output through each
operation's derivative, and the reordering bound of each sum. A small element gets a small
bound (no slack borrowed from the largest value of the result), and NaN and infinities
must match exactly (`_compare`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _compare import assert_elementwise_close

from typedarr import _reference
from typedarr._ir import COMPARISONS, BinaryOp, Node, Structural, UnaryOp, render

Array = np.ndarray[Any, np.dtype[Any]]
# Each operation may be this many ulps of its result away from the reference (numba's and
# numpy's exp/log/tanh/pow round differently; x**3 is two products, not one pow).
ULPS = 8


def assert_matches_reference(got: Array, node: Node) -> None:
    want = _reference.evaluate(node)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert got.flags.c_contiguous and not got.flags.writeable
    value, bound = error_bounds(node)
    np.testing.assert_array_equal(value, want)  # the analysis follows the reference's values
    # First-order bounds: twice them covers the second-order terms.
    assert_elementwise_close(got, want, 2 * bound, context=render(node))


def error_bounds(root: Node) -> tuple[Array, Array]:
    """The reference's value of every element of `root` and how far from it a correct engine
    may be: each operation adds ULPS ulps of its result (and of underflow), and carries its
    operands' bounds through its derivative (first order). A comparison or a `where` whose
    operands lie within their bounds of the decision may go either way: its bound is then
    the distance between the two outcomes. A sum adds its reordering bound, n eps sum|x|.
    Walked with an explicit stack, so graphs of any depth are analysed.
    """
    done: dict[int, tuple[Array, Array]] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in done:
            continue
        children = _children(node)
        if ready:
            done[id(node)] = _bound_of(node, [done[id(c)] for c in children])
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in done)
    value, bound = done[id(root)]
    return np.broadcast_to(value, root.shape), np.broadcast_to(bound, root.shape)


def _children(node: Node) -> tuple[Node, ...]:
    return node.src


def _carried(derivative: Any, bound: Any) -> Array:
    """|derivative| * bound, 0 where the operand is exact, unbounded where that is NaN."""
    out: Array = np.where(np.asarray(bound) == 0, 0.0, np.abs(derivative) * bound)
    return np.where(np.isnan(out), np.inf, out)


def _bound_of(node: Node, operands: list[tuple[Array, Array]]) -> tuple[Array, Array]:
    info = np.finfo(node.dtype)
    vs = [v for v, _ in operands]
    es = [e for _, e in operands]

    def rounded(v: Array) -> Array:
        return ULPS * (float(info.eps) * np.abs(v) + float(info.smallest_subnormal))

    with np.errstate(all="ignore"):
        match node.op:
            case Structural.LEAF:
                return node.data, np.zeros(())
            case Structural.CONST:
                return np.asarray(node.arg, dtype=node.dtype), np.zeros(())
            case UnaryOp.CAST:
                v = vs[0].astype(node.dtype)
                return v, es[0] + rounded(v)
            case UnaryOp() as op:
                (x,) = vs
                v = _reference.UNARY[op](x).astype(node.dtype, copy=False)
                slope = {UnaryOp.EXP: v, UnaryOp.LOG: 1 / x, UnaryOp.SQRT: 0.5 / v,
                         UnaryOp.TANH: 1 - v * v, UnaryOp.SIGMOID: v * (1 - v)}.get(op, 1.0)
                return v, _carried(slope, es[0]) + rounded(v)
            case BinaryOp() as op if op in COMPARISONS:
                (a, b), (ea, eb) = vs, es
                v = _reference.BINARY[op](a, b).astype(node.dtype)
                decided = (np.isnan(a) | np.isnan(b) | (ea + eb == 0)
                           | (np.abs(a - b) > 2 * (ea + eb)))
                return v, np.where(decided, 0.0, 1.0)
            case BinaryOp.MAX | BinaryOp.MIN as op:
                v = _reference.BINARY[op](*vs).astype(node.dtype, copy=False)
                return v, np.maximum(*es)  # 1-Lipschitz in each operand
            case BinaryOp() as op:
                (a, b), (ea, eb) = vs, es
                v = _reference.BINARY[op](a, b).astype(node.dtype, copy=False)
                slopes = {BinaryOp.ADD: (1.0, 1.0), BinaryOp.SUB: (1.0, 1.0),
                          BinaryOp.MUL: (b, a), BinaryOp.DIV: (1 / b, v / b),
                          BinaryOp.POW: (b * a ** (b - 1), v * np.log(a))}[op]
                return v, _carried(slopes[0], ea) + _carried(slopes[1], eb) + rounded(v)
            case Structural.WHERE:
                (c, a, b), (ec, ea, eb) = vs, es
                v = np.where(c != 0, a, b).astype(node.dtype)
                either = (ec > 0) & ~(np.abs(c) > 2 * ec) & ~np.isnan(c)
                both = np.abs(a - b) + np.maximum(ea, eb)
                return v, np.where(either, np.where(np.isnan(both), np.inf, both),
                                   np.where(c != 0, ea, eb))
            case Structural.EXPAND:
                axis = node.arg[0]

                def expanded(a: Array) -> Array:
                    return np.broadcast_to(np.expand_dims(a, axis), node.shape)
                return expanded(vs[0]), expanded(np.broadcast_to(es[0], node.src[0].shape))
            case Structural.SUM:
                (x,), (ex,) = vs, es
                v = x.sum(axis=node.arg, dtype=node.dtype)
                terms = np.abs(x).astype(np.float64).sum(axis=node.arg)
                carried = np.broadcast_to(ex, x.shape).sum(axis=node.arg)
                return v, carried + ULPS * x.shape[node.arg] * float(info.eps) * terms
            case Structural.MAX:  # 1-Lipschitz: the largest operand bound along the axis
                (x,), (ex,) = vs, es
                return x.max(axis=node.arg), np.broadcast_to(ex, x.shape).max(axis=node.arg)
            case Structural.PERMUTE:
                return (np.transpose(vs[0], node.arg),
                        np.transpose(np.broadcast_to(es[0], node.src[0].shape), node.arg))
            case Structural.MATMUL:  # another summation order (BLAS): n eps |a||b| plus carried
                (a, b), (ea, eb) = vs, es
                v = np.matmul(a, b)
                terms = np.matmul(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))
                carried = (np.matmul(np.broadcast_to(ea, a.shape), np.abs(b))
                           + np.matmul(np.abs(a), np.broadcast_to(eb, b.shape)))
                return v, carried + ULPS * a.shape[-1] * float(info.eps) * terms
    raise AssertionError(f"no error bound for {node.op}")
