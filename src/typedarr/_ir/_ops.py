"""The operations of the IR: elementwise maps and zips, and the structural operations.

Each member's value is its name (what `render` and error messages print). A new elementwise
operation is one member here and one spelling in each engine (the reference evaluator's
table, the fused engine's `_scalar`); the `match` statements over these enums end in
`assert_never`, so mypy names every engine that lacks it.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeAlias


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


class Structural(Enum):
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
    shaped as the pooled input (`arg`: `k`). MAX_POOL2D: the largest value of each
    non-overlapping `k x k` window, NaN if any is (`arg`: `k`); MAX_POOL2D_GRAD: its
    adjoint from the pooled input `src[0]` and `dy` `src[1]`, shaped as the input: each
    window's gradient goes to one element, its first NaN if it holds one, else its first
    largest value in row-major order (PyTorch's rule for ties), the rest get 0 (`arg`: `k`).
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
    MAX_POOL2D = "max_pool2d"
    MAX_POOL2D_GRAD = "max_pool2d_grad"
    CHUNKED = "chunked"
    RESHAPE = "reshape"


Op: TypeAlias = UnaryOp | BinaryOp | Structural

COMPARISONS = frozenset({BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE,
                         BinaryOp.EQ, BinaryOp.NE})
