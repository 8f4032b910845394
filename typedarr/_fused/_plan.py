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
from typing import Any, TypeAlias

import numpy as np

from .._engine import Uncovered
from .._ir import Arg, BinaryOp, Instr, Node, Program, Structural, float_of, postorder

Array: TypeAlias = np.ndarray[Any, np.dtype[Any]]

# Exponents spelled without pow (see `_scalar.power`); any other exponent calls pow.
SPECIAL_EXPONENTS = frozenset({-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0})
_NO_FLOATS: Array = np.zeros(0, np.float64)
_NO_INTS: Array = np.zeros(0, np.int64)


# Convolution and pooling: stored operands, own loop nests (see `_convolution`); those in
# SIZED take their output's last two sizes from `dims`.
WINDOWED = frozenset({Structural.CONV2D, Structural.CONV2D_GRAD_INPUT,
                      Structural.CONV2D_GRAD_WEIGHT, Structural.AVG_POOL2D,
                      Structural.AVG_POOL2D_GRAD})
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
    instrs: list[Instr] = []
    position: dict[int, int] = {}
    data_position: dict[int, int] = {}  # two LEAF nodes over one array are one input
    leaves: list[Array] = []
    shapes: list[tuple[int, ...]] = []
    nodes: list[Node] = []
    for node in inputs:
        dt = float_of(node.dtype)
        if dt is None:
            raise Unfusable(f"dtype {node.dtype}")
        instrs.append(Instr(Structural.LEAF, dt, node.arg, (), len(node.shape)))
        shapes.append(node.shape)
        nodes.append(node)
        position[id(node)] = len(instrs) - 1
    consts: list[float] = []
    dims: list[int] = []
    work = max((math.prod(node.shape) for node in inputs), default=0)
    for node in postorder(roots):
        if id(node) in position:  # an input
            continue
        op, rank = node.op, len(node.shape)
        dt = float_of(node.dtype)
        if dt is None:
            raise Unfusable(f"dtype {node.dtype}")
        src = tuple(position[id(s)] for s in node.src)
        arg: Arg = None
        if type(op) is not Structural:  # elementwise: most nodes, decided without hashing enums
            if op is BinaryOp.POW:
                b = node.src[1]
                if b.op is Structural.CONST and b.arg in SPECIAL_EXPONENTS:
                    arg, src = float(b.arg), src[:1]
            if rank == 0:
                raise Unfusable(f"a rank-0 {op.value}")
        elif op is Structural.LEAF:
            found = data_position.get(id(node.arg))
            if found is not None:
                position[id(node)] = found
                continue
            leaves.append(node.arg)
            arg = len(inputs) + len(leaves) - 1
            work = max(work, node.arg.size)
        elif op is Structural.CONST:
            consts.append(node.arg)
            arg = len(consts) - 1
        elif rank == 0:
            raise Unfusable(f"a rank-0 {op.value}")
        elif op is Structural.EXPAND:
            dims.append(node.arg[1])
            arg = (node.arg[0], len(dims) - 1)
            work = max(work, math.prod(node.shape))
        elif op is Structural.INPUT:
            raise Unfusable(f"input {node.arg} is not among the traced function's inputs")
        elif op is Structural.CHUNKED:
            # `_compute` sends graphs holding chunked arrays to the Dask engine, which hands
            # this engine one block at a time; a whole chunked array never comes here.
            raise Unfusable("a chunked array (the Dask engine computes it block by block)")
        elif op is Structural.SUM or op is Structural.MAX or op is Structural.PERMUTE:
            arg = node.arg
        elif op is Structural.RESHAPE:  # the new sizes are sizes: they travel in `dims`
            dims.extend(node.shape)
            arg = (len(dims) - rank,)
        elif op in WINDOWED:
            # Stride, padding and window size are structural; an output size that the
            # sources do not determine (a gradient's) travels in `dims`.
            arg = node.arg if isinstance(node.arg, tuple) else (node.arg,)
            if op in SIZED:
                dims.extend(node.shape[2:])
                arg = (*arg, len(dims) - 2)
            work = max(work, _window_work(node))
        instrs.append(Instr(op, dt, arg, src, rank))
        shapes.append(node.shape)
        nodes.append(node)
        position[id(node)] = len(instrs) - 1
        if op is Structural.LEAF:
            data_position[id(node.arg)] = len(instrs) - 1
    outputs = tuple(position[id(r)] for r in roots)
    return Plan(Program(tuple(instrs), outputs, scratch), tuple(leaves),
                np.array(consts, np.float64) if consts else _NO_FLOATS,
                np.array(dims, np.int64) if dims else _NO_INTS, work, tuple(shapes),
                tuple(nodes))


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
    return math.prod(node.shape if node.op is Structural.AVG_POOL2D_GRAD else node.src[0].shape)
