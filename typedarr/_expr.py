"""The typed IR behind delayed arrays: one frozen record per node, whatever its operation.

A `Node` is `(op, src, arg, shape, dtype)`, as tinygrad's UOp is: `op` says what the node
does (an elementwise `UnaryOp`/`BinaryOp`, or a `Form` that moves, reduces or multiplies),
`src` are the nodes it reads, and `arg` is the one operation-specific field (a leaf's data,
a constant's value, a broadcast's axis and size, a reduction's axis, a permutation). Adding a
kind of node is one `Form` member and its arms in the evaluators, never a new class.

Nodes know nothing about Matrix or Vector: they carry a shape of any rank and a dtype, so
every rank uses the same graph. The typed front classes check their operands before
building a node; the builders here trust them. Nodes compare by identity (`eq=False`): a
subexpression referenced twice is the *same* node, which is what lets an evaluator compute
it once. Graphs may be deep (a loop of ten thousand updates): everything that walks one
does so with `postorder`, never by recursion.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeAlias

import numpy as np

Shape: TypeAlias = tuple[int, ...]
DType: TypeAlias = np.dtype[Any]
Array: TypeAlias = np.ndarray[Any, DType]


class UnaryOp(Enum):
    """Elementwise maps of one operand."""

    NEG = "neg"
    ABS = "abs"
    EXP = "exp"
    LOG = "log"
    SQRT = "sqrt"
    TANH = "tanh"
    SIGMOID = "sigmoid"
    RELU = "relu"
    CAST = "cast"


class BinaryOp(Enum):
    """Elementwise zips of two operands (either may be a scalar constant)."""

    ADD = "add"
    SUB = "sub"
    MUL = "mul"
    DIV = "div"
    POW = "pow"
    MAX = "maximum"
    MIN = "minimum"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    EQ = "eq"
    NE = "ne"


class Form(Enum):
    """The operations that are not one elementwise function.

    LEAF: manifest data (`arg`: the read-only array); CONST: a Python scalar in the dtype of
    the array it meets, rank 0 (`arg`: the float); WHERE: `src[1]` where `src[0]` is non-zero,
    else `src[2]`; EXPAND: a new axis, an index map and never a copy (`arg`: `(axis, size)`);
    SUM: the sum over one axis, which disappears (`arg`: the axis); PERMUTE: axes reordered,
    `out.shape[i] == x.shape[perm[i]]` (`arg`: `perm`); MATMUL: the product of a rank-2
    `src[0]` with a rank-2 or rank-1 `src[1]` (BLAS); MAX: the largest value over one axis,
    NaN if any is (`arg`: the axis); INPUT: an argument of a function being traced by
    `typedarr.jit`, whose values exist only when the compiled function runs (`arg`: its
    position among the inputs); CHUNKED: an array whose values live in blocks elsewhere,
    on disk or in a cluster (`arg`: the `dask.array.Array`), computed by the Dask engine
    block by block and never held whole by the in-memory engines; RESHAPE: the same values
    in row-major order under another shape of as many elements (`arg`: the new shape),
    what `flatten` and `unflatten` are inside a trace (an engine stores the source
    contiguously and views it under the new shape).

    Convolution and pooling read rank-4 `(N, C, H, W)` sources and, like MATMUL, read them
    whole (an engine stores their sources first). CONV2D: the cross-correlation of `src[0]`
    `(N, C, H, W)` with the weights `src[1]` `(O, C, KH, KW)`, giving `(N, O, H', W')`
    (`arg`: `(stride, padding)`, zero padding on every side); CONV2D_GRAD_INPUT: its adjoint
    with respect to the input, from `dy` `src[0]` and the weights `src[1]`, shaped as the
    input (`arg`: `(stride, padding)`); CONV2D_GRAD_WEIGHT: its adjoint with respect to the
    weights, from the input `src[0]` and `dy` `src[1]`, shaped as the weights (`arg`:
    `(stride, padding)`); AVG_POOL2D: the mean of each non-overlapping `k x k` window
    (`arg`: `k`; a remainder of rows or columns is dropped); AVG_POOL2D_GRAD: its adjoint,
    shaped as the pooled input (`arg`: `k`).
    """

    LEAF = "array"
    CONST = "const"
    WHERE = "where"
    EXPAND = "expand"
    SUM = "sum"
    PERMUTE = "permute"
    MATMUL = "matmul"
    MAX = "max"
    INPUT = "input"
    CONV2D = "conv2d"
    CONV2D_GRAD_INPUT = "conv2d_grad_input"
    CONV2D_GRAD_WEIGHT = "conv2d_grad_weight"
    AVG_POOL2D = "avg_pool2d"
    AVG_POOL2D_GRAD = "avg_pool2d_grad"
    CHUNKED = "chunked"
    RESHAPE = "reshape"


Op: TypeAlias = UnaryOp | BinaryOp | Form

COMPARISONS = frozenset({BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE,
                         BinaryOp.EQ, BinaryOp.NE})


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
        assert self.op is Form.LEAF
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
    """A manifest array (the caller hands over read-only data)."""
    return _node(Form.LEAF, (), data, data.shape, data.dtype)


# Whether this process has made a CHUNKED node: until it has, no graph can hold one and
# `holds_chunked` answers without walking (in-memory computes pay nothing for Dask).
_chunked_made: list[bool] = [False]


def chunked(blocks: Any, shape: Shape, dtype: DType) -> Node:
    """An array held in blocks elsewhere (`blocks`: a dask array of `shape` and `dtype`)."""
    _chunked_made[0] = True
    return _node(Form.CHUNKED, (), blocks, shape, dtype)


def holds_chunked(roots: Iterable[Node]) -> bool:
    """Whether the graph of `roots` reads a CHUNKED node (and so runs on the Dask engine)."""
    return _chunked_made[0] and any(n.op is Form.CHUNKED for n in postorder(roots))


def const(value: float, dtype: DType) -> Node:
    """A scalar, stored in the dtype of the array it meets."""
    return _node(Form.CONST, (), value, (), dtype)


def is_leaf(node: Node) -> bool:
    return node.op is Form.LEAF


def unary(op: UnaryOp, x: Node, dtype: DType | None = None) -> Node:
    """`op` applied to every element; `dtype` only for `CAST`."""
    return _node(op, (x,), None, x.shape, x.dtype if dtype is None else dtype)


def binary(op: BinaryOp, a: Node, b: Node) -> Node:
    """`op` zipped over `a` and `b`, which have the same shape or one of them is a CONST."""
    array = b if a.op is Form.CONST else a
    return _node(op, (a, b), None, array.shape, array.dtype)


def where(cond: Node, a: Node, b: Node) -> Node:
    """`cond` is always an array; `a` and `b` have its shape and dtype or are scalars."""
    return _node(Form.WHERE, (cond, a, b), None, cond.shape, cond.dtype)


def expand(x: Node, axis: int, size: int) -> Node:
    shape = (*x.shape[:axis], size, *x.shape[axis:])
    return _node(Form.EXPAND, (x,), (axis, size), shape, x.dtype)


def reduce_sum(x: Node, axis: int) -> Node:
    return _node(Form.SUM, (x,), axis, x.shape[:axis] + x.shape[axis + 1:], x.dtype)


def reduce_max(x: Node, axis: int) -> Node:
    return _node(Form.MAX, (x,), axis, x.shape[:axis] + x.shape[axis + 1:], x.dtype)


def input_(slot: int, shape: Shape, dtype: DType) -> Node:
    """The `slot`-th input of a traced function."""
    return _node(Form.INPUT, (), slot, shape, dtype)


def permute(x: Node, perm: tuple[int, ...]) -> Node:
    return _node(Form.PERMUTE, (x,), perm, tuple(x.shape[p] for p in perm), x.dtype)


def reshape(x: Node, shape: Shape) -> Node:
    """`x`'s values, row-major, under `shape` (as many elements: the caller checks)."""
    return _node(Form.RESHAPE, (x,), shape, shape, x.dtype)


def matmul(a: Node, b: Node) -> Node:
    """`a @ b`: `a` is rank 2, `b` rank 2 or 1, inner sizes already checked."""
    return _node(Form.MATMUL, (a, b), None, a.shape[:1] + b.shape[1:], a.dtype)


def conv2d_shape(x: Shape, w: Shape, stride: int, padding: int) -> Shape:
    """The shape of the convolution of an `x` `(N, C, H, W)` with a `w` `(O, C, KH, KW)`."""
    (n, _, h, wd), (o, _, kh, kw) = x, w
    return n, o, (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1


def conv2d(x: Node, w: Node, stride: int, padding: int) -> Node:
    """The cross-correlation of `x` `(N, C, H, W)` with `w` `(O, C, KH, KW)` (checked)."""
    shape = conv2d_shape(x.shape, w.shape, stride, padding)
    return _node(Form.CONV2D, (x, w), (stride, padding), shape, x.dtype)


def conv2d_grad_input(dy: Node, w: Node, x_shape: Shape, stride: int, padding: int) -> Node:
    """The gradient of a convolution's input: `dy` `(N, O, H', W')`, `w` `(O, C, KH, KW)`."""
    return _node(Form.CONV2D_GRAD_INPUT, (dy, w), (stride, padding), x_shape, dy.dtype)


def conv2d_grad_weight(x: Node, dy: Node, w_shape: Shape, stride: int, padding: int) -> Node:
    """The gradient of a convolution's weights: `x` `(N, C, H, W)`, `dy` `(N, O, H', W')`."""
    return _node(Form.CONV2D_GRAD_WEIGHT, (x, dy), (stride, padding), w_shape, x.dtype)


def avg_pool2d(x: Node, k: int) -> Node:
    """The mean of each `k x k` window of `x` `(N, C, H, W)`: `(N, C, H // k, W // k)`."""
    n, c, h, w = x.shape
    return _node(Form.AVG_POOL2D, (x,), k, (n, c, h // k, w // k), x.dtype)


def avg_pool2d_grad(dy: Node, k: int, x_shape: Shape) -> Node:
    """The gradient of `avg_pool2d` with respect to its input of shape `x_shape`."""
    return _node(Form.AVG_POOL2D_GRAD, (dy,), k, x_shape, dy.dtype)


def postorder(roots: Iterable[Node]) -> Iterator[Node]:
    """Every node reachable from `roots`, once each, after all of its sources.

    An explicit stack, so a graph of any depth is walked without Python's recursion limit.
    """
    seen: set[int] = set()
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack: list[tuple[Node, int]] = [(root, 0)]
        while stack:
            node, i = stack[-1]
            if i < len(node.src):
                stack[-1] = (node, i + 1)
                child = node.src[i]
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, 0))
            else:
                stack.pop()
                yield node


def render(node: Node, budget: int = 40) -> str:
    """A one-line description of the graph, leaves by shape: never evaluates anything.

    At most `budget` nodes are spelled out (a shared subexpression counts each time it is
    reached); deeper parts show as `...`, so describing a graph of any depth stays cheap
    (and the recursion here is at most `budget` deep).
    """
    left = [budget]

    def go(n: Node) -> str:
        left[0] -= 1
        if left[0] < 0:
            return "..."
        match n.op:
            case Form.LEAF:
                return "array(" + ", ".join(map(str, n.shape)) + ")"
            case Form.CHUNKED:
                return "chunked(" + ", ".join(map(str, n.shape)) + ")"
            case Form.CONST:
                return repr(n.arg)
            case UnaryOp.CAST:
                return f"astype({n.dtype})({go(n.src[0])})"
            case Form.EXPAND:
                return f"expand({go(n.src[0])}, axis={n.arg[0]}, size={n.arg[1]})"
            case Form.SUM | Form.MAX:
                return f"{n.op.value}({go(n.src[0])}, axis={n.arg})"
            case Form.INPUT:
                return f"input{n.arg}(" + ", ".join(map(str, n.shape)) + ")"
            case Form.PERMUTE | Form.RESHAPE:
                return f"{n.op.value}({go(n.src[0])}, {n.arg})"
            case Form.CONV2D | Form.CONV2D_GRAD_INPUT | Form.CONV2D_GRAD_WEIGHT:
                stride, padding = n.arg
                return (f"{n.op.value}(" + ", ".join(go(s) for s in n.src)
                        + f", stride={stride}, padding={padding})")
            case Form.AVG_POOL2D | Form.AVG_POOL2D_GRAD:
                return f"{n.op.value}({go(n.src[0])}, k={n.arg})"
        return f"{n.op.value}(" + ", ".join(go(s) for s in n.src) + ")"

    return go(node)


def with_src(node: Node, src: tuple[Node, ...]) -> Node:
    """`node` reading `src` instead of its own sources (same operation, shape and dtype)."""
    return _node(node.op, src, node.arg, node.shape, node.dtype)


def substitute(roots: tuple[Node, ...], replace: dict[int, Node]) -> tuple[Node, ...]:
    """`roots` with each node whose id is in `replace` replaced, and what reads it rebuilt."""
    new: dict[int, Node] = {}
    for node in postorder(roots):
        found = replace.get(id(node))
        if found is None:
            src = tuple(new[id(s)] for s in node.src)
            same = all(a is b for a, b in zip(src, node.src, strict=True))
            found = node if same else with_src(node, src)
        new[id(node)] = found
    return tuple(new[id(r)] for r in roots)
