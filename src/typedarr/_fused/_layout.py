"""What the code generator needs to know about a program beyond its instructions.

For each instruction: the kernel source expressions of its extents (`a0.shape[1]`,
`dims[0]`, ...). And which instructions a kernel materialises: every output (into `out0`,
`out1`, ...), every reduction (sum or max), product, convolution and pooling (into a
temporary, computed by its own loop nest before the loops that read it), every computed
node under a broadcast (so `rows_like(exp(v), x)` takes one `exp` per column, not one per
element), every computed operand of a product, a convolution or a pooling, every reshape and its
computed operand (a reshape is a view of its stored operand, never a loop), and every node
whose inline expression would grow past `MAX_INLINE` operations (a deep chain is cut into
loop nests of bounded size, which keeps numba's compile time bounded). Everything else is
computed inline, element by element, and never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import assert_never

from .._ir import BinaryOp, Instr, Program, Structural, UnaryOp
from ._plan import WINDOWED

# The most operations one element's inline expression may hold before it is stored.
MAX_INLINE = 64


@dataclass(frozen=True, slots=True)
class Layout:
    instrs: tuple[Instr, ...]
    extents: tuple[tuple[str, ...], ...]
    materialised: tuple[int, ...]  # in dependency order
    outputs: tuple[int, ...]
    scratch: bool  # temporaries are the kernel's arguments

    def target(self, k: int) -> str:
        """The array a materialised instruction is written to (its first output, if any)."""
        if k in self.outputs:
            return f"out{self.outputs.index(k)}"
        return f"t{k}"


def analyse(program: Program) -> Layout:
    """The extents and the materialised instructions of `program`."""
    instrs = program.instrs
    extents: list[tuple[str, ...]] = []
    for ins in instrs:
        extents.append(_extents(ins, [extents[s] for s in ins.src]))
    return Layout(instrs, tuple(extents), _materialised(program), program.outputs,
                 program.scratch)


def _extents(ins: Instr, src: list[tuple[str, ...]]) -> tuple[str, ...]:
    match ins.op:
        case Structural.LEAF:
            return tuple(f"a{ins.arg}.shape[{d}]" for d in range(ins.rank))
        case Structural.CONST:
            return ()
        case Structural.EXPAND:
            assert isinstance(ins.arg, tuple)
            axis, dim = ins.arg
            return (*src[0][:axis], f"dims[{dim}]", *src[0][axis:])
        case Structural.SUM | Structural.MAX:
            assert isinstance(ins.arg, int)
            return src[0][:ins.arg] + src[0][ins.arg + 1:]
        case Structural.PERMUTE:
            assert isinstance(ins.arg, tuple)
            return tuple(src[0][p] for p in ins.arg)
        case Structural.RESHAPE:
            assert isinstance(ins.arg, tuple)
            return tuple(f"dims[{ins.arg[0] + d}]" for d in range(ins.rank))
        case Structural.MATMUL:
            return src[0][:1] + src[1][1:]
        case Structural.CONV2D:
            assert isinstance(ins.arg, tuple)
            s, p = ins.arg
            (n, _, h, w), (o, _, kh, kw) = src
            return (n, o, f"({h} + {2 * p} - {kh}) // {s} + 1",
                    f"({w} + {2 * p} - {kw}) // {s} + 1")
        case Structural.AVG_POOL2D | Structural.MAX_POOL2D:
            assert isinstance(ins.arg, tuple)
            n, c, h, w = src[0]
            return (n, c, f"{h} // {ins.arg[0]}", f"{w} // {ins.arg[0]}")
        case Structural.CONV2D_GRAD_INPUT:  # (N, C) of (dy, w), then H, W
            assert isinstance(ins.arg, tuple)
            return (src[0][0], src[1][1], *_dims(ins.arg[-1]))
        case Structural.CONV2D_GRAD_WEIGHT:  # (O, C) of (x, dy), then KH, KW
            assert isinstance(ins.arg, tuple)
            return (src[1][1], src[0][1], *_dims(ins.arg[-1]))
        case Structural.AVG_POOL2D_GRAD:  # (N, C) of dy, then H, W
            assert isinstance(ins.arg, tuple)
            return (*src[0][:2], *_dims(ins.arg[-1]))
        case Structural.MAX_POOL2D_GRAD:  # the pooled input's
            return src[0]
        case UnaryOp() | BinaryOp() | Structural.WHERE:
            return max(src, key=len)  # the extents of an array operand
        case Structural.INPUT | Structural.CHUNKED:  # a program's inputs are LEAF instructions
            raise AssertionError(f"a program holds no {ins.op.value} instruction")
        case _:
            assert_never(ins.op)


def _dims(d: int) -> tuple[str, str]:
    return f"dims[{d}]", f"dims[{d + 1}]"


def _materialised(program: Program) -> tuple[int, ...]:
    instrs = program.instrs
    chosen = set(program.outputs)
    stored = (Structural.LEAF, Structural.SUM, Structural.MAX, Structural.MATMUL,
              Structural.RESHAPE, *WINDOWED)
    for k, ins in enumerate(instrs):
        if ins.op in stored and ins.op is not Structural.LEAF:
            chosen.add(k)
        if ins.op is Structural.EXPAND:
            (s,) = ins.src
            if instrs[s].op not in stored:
                chosen.add(s)
        if ins.op is Structural.RESHAPE:
            (s,) = ins.src
            if instrs[s].op is not Structural.LEAF:
                chosen.add(s)
        if ins.op is Structural.MATMUL or ins.op in WINDOWED:
            for s in ins.src:
                if _transposed(instrs, s):  # BLAS reads the stored operand transposed
                    s = instrs[s].src[0]
                if instrs[s].op is not Structural.LEAF:
                    chosen.add(s)
    size = [0] * len(instrs)  # operations inline in each instruction's element expression
    for k, ins in enumerate(instrs):
        if ins.op is Structural.LEAF or ins.op is Structural.CONST:
            continue
        size[k] = 1 + sum(0 if s in chosen else size[s] for s in ins.src)
        if size[k] > MAX_INLINE:
            chosen.add(k)
            size[k] = 0
    return tuple(sorted(chosen))


def _transposed(instrs: tuple[Instr, ...], k: int) -> bool:
    """A transpose a product reads as a view of its stored operand: nothing to copy."""
    return instrs[k].op is Structural.PERMUTE and instrs[k].arg == (1, 0)


class Holds(Enum):
    """What a kernel's temporary holds (the value is its parameter's name prefix)."""

    WHOLE = "t"  # a materialised instruction, its node's shape
    PARTS = "part"  # a first-axis reduction's per-chunk partials, (nchunks, *its shape)


@dataclass(frozen=True, slots=True)
class Temporary:
    """One temporary of a kernel: what it `holds` for instruction `instr`."""

    holds: Holds
    instr: int

    @property
    def name(self) -> str:
        """The kernel's parameter name (`t3`, `part5`)."""
        return f"{self.holds.value}{self.instr}"


def scratch(graph: Layout) -> list[Temporary]:
    """The temporaries of a kernel, in its parameter order. A reshape needs none: it is a
    view of its operand's memory."""
    out: list[Temporary] = []
    for k in graph.materialised:
        ins = graph.instrs[k]
        if k not in graph.outputs and ins.op is not Structural.RESHAPE:
            out.append(Temporary(Holds.WHOLE, k))
        if ins.op in (Structural.SUM, Structural.MAX) and ins.arg == 0:
            out.append(Temporary(Holds.PARTS, k))
    return out
