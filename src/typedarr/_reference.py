"""The plain-numpy reference evaluator: the definition of what every node means.

Any faster engine must agree with it (the property tests hold them to it). It evaluates a
node once however often it is referenced, and its broadcasts are numpy views, so it never
materialises an `Expand` on its own. Floating-point exceptions follow IEEE quietly
(`log(0)` is `-inf`), exactly as a compiled kernel does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, assert_never

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._errors import TraceError
from ._ir import COMPARISONS, BinaryOp, Node, Structural, UnaryOp, leaf, postorder, substitute
from ._strategy import Strategy

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


@dataclass(frozen=True, slots=True)
class ReferenceEngine:
    """The reference evaluator behind the `Engine` interface: it covers every node (a
    chunked array by loading it whole, which is its definition, not the way to compute it),
    so it is also what every engine's `Uncovered` falls back to."""

    def covers(self, roots: tuple[Node, ...]) -> bool:
        return True

    def evaluate_many(self, roots: tuple[Node, ...], strategy: Strategy
                      ) -> tuple[Array, ...]:
        outs = evaluate_many(roots)
        for out in outs:
            out.flags.writeable = False
        return outs

    def compile_program(self, roots: tuple[Node, ...], inputs: tuple[Node, ...],
                        strategy: Strategy) -> Callable[[list[Array]], list[Array]]:
        return program(roots, inputs)


def _eval_once(node: Node, src: list[Array]) -> Array:
    match node.op:
        case Structural.LEAF:
            data: Array = node.arg
            return data
        case Structural.CONST:
            return np.asarray(node.arg, dtype=node.dtype)
        case UnaryOp.CAST:
            return src[0].astype(node.dtype)
        case UnaryOp():
            return UNARY[node.op](src[0]).astype(node.dtype, copy=False)
        case BinaryOp():
            out = BINARY[node.op](src[0], src[1])
            # Note: comparisons give 0.0/1.0 masks in the operands' dtype, not booleans.
            return out.astype(node.dtype, copy=node.op in COMPARISONS)
        case Structural.WHERE:
            return np.where(src[0] != 0, src[1], src[2]).astype(node.dtype)
        case Structural.EXPAND:
            axis, _ = node.arg
            return np.broadcast_to(np.expand_dims(src[0], axis), node.shape)
        case Structural.SUM:
            total: Array = src[0].sum(axis=node.arg, dtype=node.dtype)
            return total
        case Structural.MAX:
            top: Array = src[0].max(axis=node.arg)
            return top
        case Structural.PERMUTE:
            return np.transpose(src[0], node.arg)
        case Structural.RESHAPE:  # row-major: the source's values in C order
            return np.reshape(np.ascontiguousarray(src[0]), node.shape)
        case Structural.CHUNKED:
            # The definition, not the way to compute it: `_compute` sends graphs holding
            # chunked arrays to the Dask engine, which never loads one whole.
            whole: Array = np.asarray(node.arg.compute(), dtype=node.dtype)
            return whole
        case Structural.INPUT:
            raise TraceError(f"input {node.arg} of a traced function has no values yet")
        case Structural.MATMUL:
            product: Array = np.matmul(src[0], src[1])
            return product
        case Structural.CONV2D:
            return conv2d(src[0], src[1], *node.arg)
        case Structural.CONV2D_GRAD_INPUT:
            return conv2d_grad_input(src[0], src[1], node.shape, *node.arg)
        case Structural.CONV2D_GRAD_WEIGHT:
            return conv2d_grad_weight(src[0], src[1], node.shape, *node.arg)
        case Structural.AVG_POOL2D:
            return avg_pool2d(src[0], node.arg)
        case Structural.AVG_POOL2D_GRAD:
            return avg_pool2d_grad(src[0], node.arg, node.shape)
        case Structural.MAX_POOL2D:
            return max_pool2d(src[0], node.arg)
        case Structural.MAX_POOL2D_GRAD:
            return max_pool2d_grad(src[0], src[1], node.arg)
        case _:
            assert_never(node.op)


# Convolution by lowering to one matrix product (im2col): the windows of the padded input
# are a strided view, and tensordot copies them into columns and calls BLAS.


def _windows(x: Array, kh: int, kw: int, stride: int, padding: int) -> Array:
    """The view `(N, C, H', W', KH, KW)` of every window a convolution reads."""
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    view: Array = sliding_window_view(x, (kh, kw), axis=(2, 3))
    return view[:, :, ::stride, ::stride]


def conv2d(x: Array, w: Array, stride: int, padding: int) -> Array:
    """`out[n, o, i, j] = sum(x_padded[n, :, i*s:i*s+KH, j*s:j*s+KW] * w[o])`."""
    cols = _windows(x, w.shape[2], w.shape[3], stride, padding)
    out: Array = np.tensordot(cols, w, axes=([1, 4, 5], [1, 2, 3]))  # (N, H', W', O)
    return out.transpose(0, 3, 1, 2)


def conv2d_grad_weight(x: Array, dy: Array, w_shape: tuple[int, ...], stride: int,
                       padding: int) -> Array:
    """`dw[o, c, a, b] = sum over n, i, j of dy[n, o, i, j] * x_padded[n, c, i*s+a, j*s+b]`."""
    cols = _windows(x, w_shape[2], w_shape[3], stride, padding)
    out: Array = np.tensordot(dy, cols, axes=([0, 2, 3], [0, 2, 3]))
    return out


def conv2d_grad_input(dy: Array, w: Array, x_shape: tuple[int, ...], stride: int,
                      padding: int) -> Array:
    """Each output's gradient spread back over the window it read (col2im)."""
    n, c, h, wd = x_shape
    _, _, ho, wo = dy.shape
    cols = np.tensordot(dy, w, axes=([1], [0]))  # (N, H', W', C, KH, KW)
    padded = np.zeros((n, c, h + 2 * padding, wd + 2 * padding), dy.dtype)
    for a in range(w.shape[2]):
        for b in range(w.shape[3]):
            rows = slice(a, a + stride * (ho - 1) + 1, stride)
            columns = slice(b, b + stride * (wo - 1) + 1, stride)
            padded[:, :, rows, columns] += cols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
    return padded[:, :, padding:padding + h, padding:padding + wd]


def avg_pool2d(x: Array, k: int) -> Array:
    """The mean of each non-overlapping `k x k` window; a remainder is dropped."""
    n, c, h, w = x.shape
    ho, wo = h // k, w // k
    windows = x[:, :, :ho * k, :wo * k].reshape(n, c, ho, k, wo, k)
    out: Array = windows.sum(axis=(3, 5), dtype=x.dtype) / x.dtype.type(k * k)
    return out


def avg_pool2d_grad(dy: Array, k: int, x_shape: tuple[int, ...]) -> Array:
    """Each window's gradient shared equally by its `k * k` inputs; the remainder gets 0."""
    ho, wo = dy.shape[2:]
    out = np.zeros(x_shape, dy.dtype)
    share = dy / dy.dtype.type(k * k)
    out[:, :, :ho * k, :wo * k] = np.repeat(np.repeat(share, k, axis=2), k, axis=3)
    return out


def _pool_windows(x: Array, k: int) -> Array:
    """The values of each `k x k` window, `(N, C, H', W', k*k)` in row-major order."""
    n, c, h, w = x.shape
    ho, wo = h // k, w // k
    windows = x[:, :, :ho * k, :wo * k].reshape(n, c, ho, k, wo, k)
    return windows.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, ho, wo, k * k)


def max_pool2d(x: Array, k: int) -> Array:
    """The largest value of each non-overlapping `k x k` window (NaN if any is); a remainder
    is dropped."""
    out: Array = _pool_windows(x, k).max(axis=-1)
    return out


def max_pool2d_grad(x: Array, dy: Array, k: int) -> Array:
    """Each window's gradient to one of its inputs: the first NaN if the window holds one,
    else the first largest value in row-major order (numpy's argmax does both); 0 elsewhere."""
    windows = _pool_windows(x, k)
    n, c, ho, wo, kk = windows.shape
    chosen = np.arange(kk) == windows.argmax(axis=-1)[..., None]
    spread = np.where(chosen, dy[..., None], dy.dtype.type(0))
    out = np.zeros(x.shape, dy.dtype)
    out[:, :, :ho * k, :wo * k] = (spread.reshape(n, c, ho, wo, k, k)
                                   .transpose(0, 1, 2, 4, 3, 5).reshape(n, c, ho * k, wo * k))
    return out
