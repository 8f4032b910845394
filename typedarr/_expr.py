"""The expression graph behind delayed arrays: one frozen node type per kind of operation.

Nodes know nothing about Matrix or Vector: they carry a shape of any rank and a dtype, so
rank-3 and rank-4 arrays use the same graph. The typed front classes check their operands
before building a node; the builders here trust them. Nodes compare by identity
(`eq=False`): a subexpression referenced twice is the *same* node, which is what lets an
evaluator compute it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeAlias, assert_never

import numpy as np

Shape: TypeAlias = tuple[int, ...]
DType: TypeAlias = np.dtype[Any]


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
    """Elementwise zips of two operands (either may be a scalar `Const`)."""

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


COMPARISONS = frozenset({BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE,
                         BinaryOp.EQ, BinaryOp.NE})


@dataclass(frozen=True, slots=True, eq=False)
class Leaf:
    """A manifest array: read-only numpy data."""

    data: np.ndarray[Any, DType]

    @property
    def shape(self) -> Shape:
        shape: Shape = self.data.shape  # already a tuple: read on every operator, so no copy
        return shape

    @property
    def dtype(self) -> DType:
        dt: DType = self.data.dtype
        return dt


@dataclass(frozen=True, slots=True, eq=False)
class Const:
    """A Python scalar, stored in the dtype of the array it meets (rank 0)."""

    value: float
    dtype: DType

    @property
    def shape(self) -> Shape:
        return ()


@dataclass(frozen=True, slots=True, eq=False)
class Unary:
    op: UnaryOp
    x: Node
    shape: Shape
    dtype: DType


@dataclass(frozen=True, slots=True, eq=False)
class Binary:
    op: BinaryOp
    a: Node
    b: Node
    shape: Shape
    dtype: DType


@dataclass(frozen=True, slots=True, eq=False)
class Where:
    """`a` where `cond` is non-zero, else `b`."""

    cond: Node
    a: Node
    b: Node
    shape: Shape
    dtype: DType


@dataclass(frozen=True, slots=True, eq=False)
class Expand:
    """A new axis of length `size` inserted at `axis`: an index map, never a copy."""

    x: Node
    axis: int
    size: int
    shape: Shape
    dtype: DType


@dataclass(frozen=True, slots=True, eq=False)
class Reduce:
    """The sum over `axis` (the axis disappears)."""

    x: Node
    axis: int
    shape: Shape
    dtype: DType


@dataclass(frozen=True, slots=True, eq=False)
class Permute:
    """Axes reordered: `out.shape[i] == x.shape[perm[i]]` (a transpose for rank 2)."""

    x: Node
    perm: tuple[int, ...]
    shape: Shape
    dtype: DType


Node: TypeAlias = Leaf | Const | Unary | Binary | Where | Expand | Reduce | Permute


# The builders run for every operator of every expression: they fill the frozen fields with
# object.__setattr__ held in a global, which the dataclasses' generated __init__ looks up
# field by field (measured: 0.77 µs a Binary through __init__, 0.50 µs here).
_new = object.__new__
_set = object.__setattr__


def unary(op: UnaryOp, x: Node, dtype: DType | None = None) -> Unary:
    """`op` applied to every element; `dtype` only for `CAST`."""
    node: Unary = _new(Unary)
    _set(node, "op", op)
    _set(node, "x", x)
    _set(node, "shape", x.shape)
    _set(node, "dtype", x.dtype if dtype is None else dtype)
    return node


def binary(op: BinaryOp, a: Node, b: Node) -> Binary:
    """`op` zipped over `a` and `b`, which have the same shape or one of them is a Const."""
    array = b if type(a) is Const else a
    node: Binary = _new(Binary)
    _set(node, "op", op)
    _set(node, "a", a)
    _set(node, "b", b)
    _set(node, "shape", array.shape)
    _set(node, "dtype", array.dtype)
    return node


def where(cond: Node, a: Node, b: Node) -> Where:
    """`cond` is always an array; `a` and `b` have its shape and dtype or are scalars."""
    return Where(cond, a, b, cond.shape, cond.dtype)


def expand(x: Node, axis: int, size: int) -> Expand:
    shape = (*x.shape[:axis], size, *x.shape[axis:])
    node: Expand = _new(Expand)
    _set(node, "x", x)
    _set(node, "axis", axis)
    _set(node, "size", size)
    _set(node, "shape", shape)
    _set(node, "dtype", x.dtype)
    return node


def reduce_sum(x: Node, axis: int) -> Reduce:
    return Reduce(x, axis, x.shape[:axis] + x.shape[axis + 1:], x.dtype)


def permute(x: Node, perm: tuple[int, ...]) -> Permute:
    return Permute(x, perm, tuple(x.shape[p] for p in perm), x.dtype)


def render(node: Node, budget: int = 40) -> str:
    """A one-line description of the graph, leaves by shape: never evaluates anything.

    At most `budget` nodes are spelled out (a shared subexpression counts each time it is
    reached), so describing a deep graph stays cheap.
    """
    left = [budget]

    def go(n: Node) -> str:
        left[0] -= 1
        if left[0] < 0:
            return "..."
        match n:
            case Leaf():
                return "array(" + ", ".join(map(str, n.shape)) + ")"
            case Const():
                return repr(n.value)
            case Unary():
                name = f"astype({n.dtype})" if n.op is UnaryOp.CAST else n.op.value
                return f"{name}({go(n.x)})"
            case Binary():
                return f"{n.op.value}({go(n.a)}, {go(n.b)})"
            case Where():
                return f"where({go(n.cond)}, {go(n.a)}, {go(n.b)})"
            case Expand():
                return f"expand({go(n.x)}, axis={n.axis}, size={n.size})"
            case Reduce():
                return f"sum({go(n.x)}, axis={n.axis})"
            case Permute():
                return f"permute({go(n.x)}, {n.perm})"
            case _:
                assert_never(n)

    return go(node)
