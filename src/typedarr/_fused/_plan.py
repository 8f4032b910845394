"""A graph's structural key and runtime arguments: what makes two computes share a kernel.

The key is a `Program`: the graph's nodes as typed `Instr` records in post-order, each naming
its operation, its dtype character, its one structural argument and its sources by their
position, plus the positions of the outputs. It records the graph's shape of computation and
its sharing (a node reached twice, or two leaves over the same array, is one instruction),
but no sizes and no scalar values: those travel as arguments (the leaf arrays, the constant
values and the sizes of broadcasts), so one compiled kernel serves every size and every
scalar. The one exception is an exponent numpy itself special-cases (`x ** 2` is a square,
`x ** 0.5` a square root: see `SPECIAL_EXPONENTS`), which is part of the structure: a
multiplication is much faster than `pow`, and numpy's `power(-inf, 0.5)` is `sqrt(-inf)`,
nan, where `pow` gives inf.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeAlias, assert_never

import numpy as np

from .._engine import Uncovered
from .._ir import (
    Arg,
    BinaryOp,
    Float,
    Instr,
    Node,
    Program,
    Structural,
    UnaryOp,
    float_of,
    postorder,
)

Array: TypeAlias = np.ndarray[Any, np.dtype[Any]]

# Exponents spelled without pow (see `_scalar.power`); any other exponent calls pow.
SPECIAL_EXPONENTS = frozenset({-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0})
_NO_FLOATS: Array = np.zeros(0, np.float64)
_NO_INTS: Array = np.zeros(0, np.int64)


# Convolution and pooling: stored operands, own loop nests (see `_convolution`); those in
# SIZED take their output's last two sizes from `dims`.
WINDOWED = frozenset({Structural.CONV2D, Structural.CONV2D_GRAD_INPUT,
                      Structural.CONV2D_GRAD_WEIGHT, Structural.AVG_POOL2D,
                      Structural.AVG_POOL2D_GRAD, Structural.MAX_POOL2D,
                      Structural.MAX_POOL2D_GRAD})
SIZED = frozenset({Structural.CONV2D_GRAD_INPUT, Structural.CONV2D_GRAD_WEIGHT,
                   Structural.AVG_POOL2D_GRAD})


class Unfusable(Uncovered):
    """The graph has a node the fused kernels do not cover (a rank-0 result, or a dtype other
    than float32/float64); the dispatcher evaluates it with the reference engine."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What a kernel call needs: the structure to look the kernel up by, and its arguments.

    `work` is the element count of the largest node, the size `Par` is decided on;
    `shapes` the shape of each instruction's node, and `nodes` the node itself.
    """

    program: Program
    leaves: tuple[Array, ...]
    consts: Array
    dims: Array
    work: int
    shapes: tuple[tuple[int, ...], ...]
    nodes: tuple[Node, ...]


def make_plan(roots: tuple[Node, ...], inputs: tuple[Node, ...] = (), scratch: bool = False
              ) -> Plan:
    """The program and the arguments of the graph of `roots` (none of them a LEAF).

    `inputs` are the INPUT nodes of a traced function: the kernel's first array arguments,
    in order, whether the roots read them or not; `Plan.leaves` are the arrays that follow.
    `scratch` asks for a kernel taking its temporaries as arguments (`Program.scratch`).

    Raises Unfusable for graphs the fused kernels do not cover.
    """
    b = _Builder(len(inputs))
    for node in inputs:
        b.add(node, Instr(Structural.LEAF, _float(node), node.arg, (), len(node.shape)))
    b.work = max((math.prod(node.shape) for node in inputs), default=0)
    for node in postorder(roots):
        if id(node) in b.position:  # an input
            continue
        dt = _float(node)
        if node.op is Structural.LEAF:
            found = b.data_position.get(id(node.arg))  # two LEAF nodes over one array
            if found is not None:
                b.position[id(node)] = found
                continue
        arg, src = _arg(b, node, tuple(b.position[id(s)] for s in node.src))
        b.add(node, Instr(node.op, dt, arg, src, len(node.shape)))
        if node.op is Structural.LEAF:
            b.data_position[id(node.arg)] = len(b.instrs) - 1
    return Plan(Program(tuple(b.instrs), tuple(b.position[id(r)] for r in roots), scratch),
                tuple(b.leaves), np.array(b.consts, np.float64) if b.consts else _NO_FLOATS,
                np.array(b.dims, np.int64) if b.dims else _NO_INTS, b.work, tuple(b.shapes),
                tuple(b.nodes))


class _Builder:
    """A plan being made, instruction by instruction (mutable: it lives for one call)."""

    def __init__(self, ninputs: int) -> None:
        self.ninputs = ninputs
        self.instrs: list[Instr] = []
        self.position: dict[int, int] = {}  # node id -> its instruction
        self.data_position: dict[int, int] = {}  # leaf array id -> its instruction
        self.leaves: list[Array] = []
        self.shapes: list[tuple[int, ...]] = []
        self.nodes: list[Node] = []
        self.consts: list[float] = []
        self.dims: list[int] = []
        self.work = 0

    def add(self, node: Node, instr: Instr) -> None:
        self.instrs.append(instr)
        self.shapes.append(node.shape)
        self.nodes.append(node)
        self.position[id(node)] = len(self.instrs) - 1


def _float(node: Node) -> Float:
    dt = float_of(node.dtype)
    if dt is None:
        raise Unfusable(f"dtype {node.dtype}")
    return dt


def _ranked(node: Node) -> None:
    if not node.shape:
        raise Unfusable(f"a rank-0 {node.op.value}")


def _arg(b: _Builder, node: Node, src: tuple[int, ...]) -> tuple[Arg, tuple[int, ...]]:
    """The instruction argument and sources of `node` (its sizes and values go to `b`)."""
    op = node.op
    match op:
        case UnaryOp() | BinaryOp():  # most nodes: the first case
            _ranked(node)
            exponent = node.src[1] if op is BinaryOp.POW else None
            if (exponent is not None and exponent.op is Structural.CONST
                    and exponent.arg in SPECIAL_EXPONENTS):
                return float(exponent.arg), src[:1]
            return None, src
        case Structural.LEAF:
            b.leaves.append(node.arg)
            b.work = max(b.work, node.arg.size)
            return b.ninputs + len(b.leaves) - 1, src
        case Structural.CONST:
            b.consts.append(node.arg)
            return len(b.consts) - 1, src
        case Structural.INPUT:
            raise Unfusable(f"input {node.arg} is not among the traced function's inputs")
        case Structural.CHUNKED:
            # The dispatcher sends graphs holding chunked arrays to the Dask engine, which
            # hands this engine one block at a time; a whole chunked array never comes here.
            raise Unfusable("a chunked array (the Dask engine computes it block by block)")
        case Structural.EXPAND:
            _ranked(node)
            b.dims.append(node.arg[1])
            b.work = max(b.work, math.prod(node.shape))
            return (node.arg[0], len(b.dims) - 1), src
        case Structural.SUM | Structural.MAX | Structural.PERMUTE:
            _ranked(node)
            return node.arg, src
        case Structural.RESHAPE:  # the new sizes are sizes: they travel in `dims`
            _ranked(node)
            b.dims.extend(node.shape)
            return (len(b.dims) - len(node.shape),), src
        case (Structural.CONV2D | Structural.CONV2D_GRAD_INPUT | Structural.CONV2D_GRAD_WEIGHT
              | Structural.AVG_POOL2D | Structural.AVG_POOL2D_GRAD | Structural.MAX_POOL2D
              | Structural.MAX_POOL2D_GRAD):
            _ranked(node)
            return _windowed_arg(b, node), src
        case Structural.WHERE | Structural.MATMUL:
            _ranked(node)
            return None, src
        case _:
            assert_never(op)


def _windowed_arg(b: _Builder, node: Node) -> tuple[int, ...]:
    """Stride, padding and window size are structural; an output size that the sources do
    not determine (a gradient's) travels in `dims`."""
    arg = node.arg if isinstance(node.arg, tuple) else (node.arg,)
    if node.op in SIZED:
        b.dims.extend(node.shape[2:])
        arg = (*arg, len(b.dims) - 2)
    b.work = max(b.work, _window_work(node))
    return arg


def node_work(node: Node) -> int:
    """The work of one node's loop nest: the elements it writes, or those a reduction
    reads, or a convolution's or pooling's multiply-adds."""
    if node.op in WINDOWED:
        return _window_work(node)
    if node.op is Structural.SUM or node.op is Structural.MAX:
        return math.prod(node.src[0].shape)
    return math.prod(node.shape)


def _window_work(node: Node) -> int:
    """The multiply-adds of a convolution or pooling node (what `Par` is decided on)."""
    if node.op is Structural.CONV2D or node.op is Structural.CONV2D_GRAD_INPUT:
        reads = math.prod(node.src[1].shape[1:])  # per output element: C*KH*KW or O*KH*KW
        return math.prod(node.shape) * reads
    if node.op is Structural.CONV2D_GRAD_WEIGHT:
        return math.prod(node.shape) * math.prod(node.src[1].shape) // node.shape[0]
    pooled_input = node.op is Structural.AVG_POOL2D_GRAD or node.op is Structural.MAX_POOL2D_GRAD
    return math.prod(node.shape if pooled_input else node.src[0].shape)
