"""The linearised program: a graph's nodes as typed instructions in post-order.

It is the structural key of a compute: each instruction names its operation, its dtype, its
one structural argument and its sources by position, plus the positions of the outputs. It
records the shape of a computation and its sharing but no sizes and no scalar values (those
travel as arguments), so one compiled kernel serves every size and every scalar. The fused
engine builds it (`_fused._plan.make_plan`) and compiles it; the GPU engine will read the
same records.
"""

from __future__ import annotations

from typing import NamedTuple, TypeAlias

from ._dtypes import Float
from ._ops import Op

Arg: TypeAlias = int | float | tuple[int, ...] | None


# Instr and Program are named tuples, not dataclasses: one of each is made per node and per
# compute, and a program is hashed for every kernel look-up; tuples do both in C.
class Instr(NamedTuple):
    """One node of a program: `arg` is the structural part of the node's own `arg`.

    LEAF: the index of its array among the kernel's inputs; CONST: the index of its value;
    EXPAND: `(axis, index of its size among the dims)`; SUM, MAX: the axis; PERMUTE: the
    permutation; POW with a special exponent: the exponent (and one source); CONV2D:
    `(stride, padding)`; AVG_POOL2D, MAX_POOL2D and MAX_POOL2D_GRAD: `(k,)`; the other
    gradients: the same as their forward's, then the
    index among the dims of the first of their output's last two sizes; RESHAPE: `(index
    among the dims of the first of its output's sizes,)`; else None.
    """

    op: Op
    dt: Float
    arg: Arg
    src: tuple[int, ...]
    rank: int


class Program(NamedTuple):
    """A kernel's structure: its instructions and which of them it writes out.

    `scratch`: the kernel takes its temporaries as arguments instead of allocating them, so
    a compiled function can keep them from call to call.
    """

    instrs: tuple[Instr, ...]
    outputs: tuple[int, ...]
    scratch: bool = False
