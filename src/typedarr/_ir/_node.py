"""The typed IR behind delayed arrays: one frozen record per node, whatever its operation.

A `Node` is `(op, src, arg, shape, dtype)`, as tinygrad's UOp is: `op` says what the node
does (an elementwise `UnaryOp`/`BinaryOp`, or a `Structural` that moves, reduces or multiplies),
`src` are the nodes it reads, and `arg` is the one operation-specific field (a leaf's data,
a constant's value, a broadcast's axis and size, a reduction's axis, a permutation). Adding a
kind of node is one `Structural` member and its arms in the evaluators, never a new class.

Nodes know nothing about Matrix or Vector: they carry a shape of any rank and a dtype, so
every rank uses the same graph. The typed front classes check their operands before
building a node; the builders here trust them. Nodes compare by identity (`eq=False`): a
subexpression referenced twice is the *same* node, which is what lets an evaluator compute
it once. Graphs may be deep (a loop of ten thousand updates): everything that walks one
does so with `_walks.postorder`, never by recursion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from ._frozen import frozen
from ._ops import BinaryOp, Op, Structural, UnaryOp

Shape: TypeAlias = tuple[int, ...]
DType: TypeAlias = np.dtype[Any]
Array: TypeAlias = np.ndarray[Any, DType]


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    """One operation of a delayed array's graph (see the module docstring for `arg`)."""

    op: Op
    src: tuple[Node, ...]
    arg: Any
    shape: Shape
    dtype: DType

    @property
    def data(self) -> Array:
        """A LEAF's array."""
        assert self.op is Structural.LEAF
        data: Array = self.arg
        return data


# The builders run for every operator of every expression: they fill the frozen fields with
# object.__setattr__ held in a global, which is cheaper than the dataclass's generated
# __init__ looking each field up in turn.
_new = object.__new__
_set = object.__setattr__


def _node(op: Op, src: tuple[Node, ...], arg: Any, shape: Shape, dtype: DType) -> Node:
    node: Node = _new(Node)
    _set(node, "op", op)
    _set(node, "src", src)
    _set(node, "arg", arg)
    _set(node, "shape", shape)
    _set(node, "dtype", dtype)
    return node


def leaf(data: Array) -> Node:
    """A manifest array, holding `data` frozen (see `_frozen`: its write flag cannot be set
    again, whoever reaches the array)."""
    data = frozen(data)
    return _node(Structural.LEAF, (), data, data.shape, data.dtype)


# Whether this process has made a CHUNKED node: until it has, no graph can hold one and
# `holds_chunked` answers without walking (in-memory computes pay nothing for Dask). It only
# ever turns True, a single store, so it needs no lock.
_chunked_made = False


def chunked(blocks: Any, shape: Shape, dtype: DType) -> Node:
    """An array held in blocks elsewhere (`blocks`: a dask array of `shape` and `dtype`)."""
    global _chunked_made
    _chunked_made = True
    return _node(Structural.CHUNKED, (), blocks, shape, dtype)


def chunked_made() -> bool:
    """Whether any CHUNKED node exists or has existed in this process."""
    return _chunked_made


def const(value: float, dtype: DType) -> Node:
    """A scalar, stored in the dtype of the array it meets."""
    return _node(Structural.CONST, (), value, (), dtype)


def is_leaf(node: Node) -> bool:
    return node.op is Structural.LEAF


def unary(op: UnaryOp, x: Node, dtype: DType | None = None) -> Node:
    """`op` applied to every element; `dtype` only for `CAST`."""
    return _node(op, (x,), None, x.shape, x.dtype if dtype is None else dtype)


def binary(op: BinaryOp, a: Node, b: Node) -> Node:
    """`op` zipped over `a` and `b`, which have the same shape or one of them is a CONST."""
    array = b if a.op is Structural.CONST else a
    return _node(op, (a, b), None, array.shape, array.dtype)


def where(cond: Node, a: Node, b: Node) -> Node:
    """`cond` is always an array; `a` and `b` have its shape and dtype or are scalars."""
    return _node(Structural.WHERE, (cond, a, b), None, cond.shape, cond.dtype)


def expand(x: Node, axis: int, size: int) -> Node:
    shape = (*x.shape[:axis], size, *x.shape[axis:])
    return _node(Structural.EXPAND, (x,), (axis, size), shape, x.dtype)


def reduce_sum(x: Node, axis: int) -> Node:
    return _node(Structural.SUM, (x,), axis, x.shape[:axis] + x.shape[axis + 1:], x.dtype)


def reduce_max(x: Node, axis: int) -> Node:
    return _node(Structural.MAX, (x,), axis, x.shape[:axis] + x.shape[axis + 1:], x.dtype)


def input_(slot: int, shape: Shape, dtype: DType) -> Node:
    """The `slot`-th input of a traced function."""
    return _node(Structural.INPUT, (), slot, shape, dtype)


def permute(x: Node, perm: tuple[int, ...]) -> Node:
    return _node(Structural.PERMUTE, (x,), perm, tuple(x.shape[p] for p in perm), x.dtype)


def reshape(x: Node, shape: Shape) -> Node:
    """`x`'s values, row-major, under `shape` (as many elements: the caller checks)."""
    return _node(Structural.RESHAPE, (x,), shape, shape, x.dtype)


def matmul(a: Node, b: Node) -> Node:
    """`a @ b`: `a` is rank 2, `b` rank 2 or 1, inner sizes already checked."""
    return _node(Structural.MATMUL, (a, b), None, a.shape[:1] + b.shape[1:], a.dtype)


def conv2d_shape(x: Shape, w: Shape, stride: int, padding: int) -> Shape:
    """The shape of the convolution of an `x` `(N, C, H, W)` with a `w` `(O, C, KH, KW)`."""
    (n, _, h, wd), (o, _, kh, kw) = x, w
    return n, o, (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1


def conv2d(x: Node, w: Node, stride: int, padding: int) -> Node:
    """The cross-correlation of `x` `(N, C, H, W)` with `w` `(O, C, KH, KW)` (checked)."""
    shape = conv2d_shape(x.shape, w.shape, stride, padding)
    return _node(Structural.CONV2D, (x, w), (stride, padding), shape, x.dtype)


def conv2d_grad_input(dy: Node, w: Node, x_shape: Shape, stride: int, padding: int) -> Node:
    """The gradient of a convolution's input: `dy` `(N, O, H', W')`, `w` `(O, C, KH, KW)`."""
    return _node(Structural.CONV2D_GRAD_INPUT, (dy, w), (stride, padding), x_shape, dy.dtype)


def conv2d_grad_weight(x: Node, dy: Node, w_shape: Shape, stride: int, padding: int) -> Node:
    """The gradient of a convolution's weights: `x` `(N, C, H, W)`, `dy` `(N, O, H', W')`."""
    return _node(Structural.CONV2D_GRAD_WEIGHT, (x, dy), (stride, padding), w_shape, x.dtype)


def avg_pool2d(x: Node, k: int) -> Node:
    """The mean of each `k x k` window of `x` `(N, C, H, W)`: `(N, C, H // k, W // k)`."""
    n, c, h, w = x.shape
    return _node(Structural.AVG_POOL2D, (x,), k, (n, c, h // k, w // k), x.dtype)


def avg_pool2d_grad(dy: Node, k: int, x_shape: Shape) -> Node:
    """The gradient of `avg_pool2d` with respect to its input of shape `x_shape`."""
    return _node(Structural.AVG_POOL2D_GRAD, (dy,), k, x_shape, dy.dtype)


def max_pool2d(x: Node, k: int) -> Node:
    """The largest value of each `k x k` window of `x` `(N, C, H, W)`: `(N, C, H // k, W // k)`."""
    n, c, h, w = x.shape
    return _node(Structural.MAX_POOL2D, (x,), k, (n, c, h // k, w // k), x.dtype)


def max_pool2d_grad(x: Node, dy: Node, k: int) -> Node:
    """The gradient of `max_pool2d(x, k)` with respect to `x`, from `dy`."""
    return _node(Structural.MAX_POOL2D_GRAD, (x, dy), k, x.shape, dy.dtype)


def with_src(node: Node, src: tuple[Node, ...]) -> Node:
    """`node` reading `src` instead of its own sources (same operation, shape and dtype)."""
    return _node(node.op, src, node.arg, node.shape, node.dtype)
