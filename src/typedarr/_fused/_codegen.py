"""Python source for numba from a program: one function of loop nests per structure.

Each materialised instruction (see `_layout`) gets one loop nest, in dependency order, so a
reduction inside an elementwise expression is finished into a temporary before the loops
that read it. Inside a nest every other instruction is computed inline; a value needed twice
at the same element is computed once into a local (common subexpressions), and a value that
depends only on the outer indices is computed once in the outermost loop it can be, not in
the inner loop. The outer loop of each big nest is a `prange`: the module compiles the same
body twice, once with `parallel=True` (`Par`) and once plain (`Seq`, where `prange` is
`range`). Nests are written for any rank.

Reductions (a max is written as a sum is, keeping the larger value instead of adding, NaN
winning as in numpy): a sum over the first axis runs that axis outer and the rest inner (contiguous,
vectorised), accumulating in the node's dtype into one partial per chunk of the first axis
(a chunk per thread under `Par`, one chunk under `Seq`), then adds the partials; under `Seq`
this is numpy's own order for `sum(axis=0)`, so the result is bitwise the reference's. A sum
over the last axis accumulates each output element in float64: numpy sums a contiguous row
pairwise, and a float32 chain would be less accurate than the reference. A sum over a middle
axis accumulates into its output in the node's dtype, as numpy adds slices in order.
Products call `np.dot` (BLAS through numba) on stored operands; a transposed operand is read
as a view of the stored one. Convolutions and pooling have nests of their own
(`_convolution`). A reshape is no nest at all: its stored operand viewed under the new shape
(copied only into an output, or out of a leaf that is not C-contiguous).
"""

from __future__ import annotations

from itertools import count
from typing import assert_never

from .._ir import FLOATS, BinaryOp, Float, Program, Structural, UnaryOp
from . import _convolution, _scalar
from ._layout import Layout, analyse, scratch
from ._plan import WINDOWED

_INDENT = "    "
_TYPED_CONSTANTS = [f"{name}_{s} = {t}({value})"
                    for s, t in ((f.suffix, f.scalar) for f in FLOATS)
                    for name, value in (("one", 1.0), ("zero", 0.0))]


def generate(program: Program) -> str:
    """The source of a module defining `seq` and `par`, the two compiled variants.

    Both take `(out0, ..., a0, a1, ..., consts, dims, nchunks)`: the result arrays, the leaf
    arrays, the constant values (float64), the sizes of the broadcasts and the number of
    chunks a reduction over the first axis is split into; then, for a `scratch` program, its
    temporaries (`_layout.scratch`), which it otherwise allocates itself.
    """
    graph = analyse(program)
    nleaves = sum(1 for ins in program.instrs if ins.op is Structural.LEAF)
    temps = [t.name for t in scratch(graph)] if program.scratch else []
    params = ", ".join([*(f"out{i}" for i in range(len(program.outputs))),
                        *(f"a{i}" for i in range(nleaves)), "consts", "dims", "nchunks",
                        *temps])
    body = [*_preamble(graph), *_nests(graph), *_copies(graph)]
    lines = ['"""A typedarr fused kernel, generated from its program: do not edit."""', "",
             "import math", "", "import numba", "import numpy as np",
             "from numba import prange", ""]
    for variant in ("seq", "par"):
        lines += ["", f"def {variant}_kernel({params}):", *(_INDENT + b for b in body), ""]
    # No `cache=True`: `_cache` gives each variant its checked disk cache, or none.
    lines += ["", 'seq = numba.njit(nogil=True, error_model="numpy")(seq_kernel)',
              'par = numba.njit(nogil=True, error_model="numpy", parallel=True)(par_kernel)',
              ""]
    return "\n".join(lines)


def _preamble(graph: Layout) -> list[str]:
    lines = list(_TYPED_CONSTANTS)
    for ins in graph.instrs:
        if ins.op is Structural.CONST:
            lines.append(f"cn{ins.arg} = {ins.dt.scalar}(consts[{ins.arg}])")
    return lines


def _copies(graph: Layout) -> list[str]:
    """An instruction that is several outputs is computed once, then copied."""
    return [f"out{i}[...] = {graph.target(k)}" for i, k in enumerate(graph.outputs)
            if graph.target(k) != f"out{i}"]


def _nests(graph: Layout) -> list[str]:
    names = count()
    lines: list[str] = []
    for group in _groups(graph):
        for k in group:
            if (graph.target(k).startswith("t") and not graph.scratch
                    and graph.instrs[k].op is not Structural.RESHAPE):
                shape = ", ".join(graph.extents[k])
                dtype = graph.instrs[k].dt.scalar
                lines.append(f"t{k} = np.empty(({shape},), {dtype})")
        k = group[0]
        ins = graph.instrs[k]
        if _first_axis_reduction(graph, k):
            lines += _sum_first(graph, group, names)
        elif ins.op is Structural.SUM or ins.op is Structural.MAX:
            lines += _sum_inner(graph, k, names)
        elif ins.op is Structural.MATMUL:
            lines += _matmul(graph, k)
        elif ins.op is Structural.RESHAPE:
            lines += _reshape(graph, k)
        elif ins.op in WINDOWED:
            lines += _windowed(graph, k)
        else:
            lines += _elementwise(graph, k, names)
    return lines


def _first_axis_reduction(graph: Layout, k: int) -> bool:
    ins = graph.instrs[k]
    return (ins.op is Structural.SUM or ins.op is Structural.MAX) and ins.arg == 0


def _groups(graph: Layout) -> list[list[int]]:
    """The materialised instructions in order, consecutive reductions over the first axis of
    same-sized data that do not read each other grouped: one pass computes them all (the
    gradients of a batchnorm's gamma and beta read `dz` once)."""
    groups: list[list[int]] = []
    for k in graph.materialised:
        last = groups[-1] if groups else []
        if (last and _first_axis_reduction(graph, k) and _first_axis_reduction(graph, last[0])
                and graph.extents[graph.instrs[k].src[0]]
                == graph.extents[graph.instrs[last[0]].src[0]]
                and not _stored_reads(graph, k) & set(last)):
            last.append(k)
        else:
            groups.append([k])
    return groups


def _stored_reads(graph: Layout, k: int) -> set[int]:
    """The materialised instructions that computing `k` inline reads."""
    found: set[int] = set()
    stack, seen = list(graph.instrs[k].src), set()
    while stack:
        j = stack.pop()
        if j in seen:
            continue
        seen.add(j)
        if j in graph.materialised:
            found.add(j)
        else:
            stack.extend(graph.instrs[j].src)
    return found


class _Nest:
    """The statements of one loop nest: each value bound once, at the shallowest loop level
    where everything it depends on is known (1: the outermost loop)."""

    __slots__ = ("graph", "levels", "lines", "memo", "names", "node")

    def __init__(self, graph: Layout, node: int, levels: dict[str, int],
                 names: count[int]) -> None:
        self.graph, self.node, self.levels, self.names = graph, node, levels, names
        self.lines: dict[int, list[str]] = {lv: [] for lv in range(1, len(levels) + 1)}
        self.memo: dict[tuple[int, tuple[str, ...]], tuple[str, int]] = {}

    def value(self, k: int, idx: tuple[str, ...]) -> tuple[str, int]:
        """The variable holding instruction `k` at index `idx`, and the level it is bound at.

        An explicit stack instead of recursion: inline expressions may be deep.
        """
        stack = [(k, idx)]
        while stack:
            top = stack[-1]
            if top in self.memo:
                stack.pop()
                continue
            needed = [n for n in self._sources(*top) if n not in self.memo]
            if needed:
                stack.extend(needed)
            else:
                self.memo[top] = self._compute(*top)
                stack.pop()
        return self.memo[(k, idx)]

    def _inline(self, k: int) -> bool:
        return k == self.node or k not in self.graph.materialised

    def _sources(self, k: int, idx: tuple[str, ...]) -> list[tuple[int, tuple[str, ...]]]:
        ins = self.graph.instrs[k]
        if ins.op in (Structural.LEAF, Structural.CONST) or not self._inline(k):
            return []
        if ins.op is Structural.EXPAND:  # the broadcast axis is dropped from the index
            assert isinstance(ins.arg, tuple)
            axis = ins.arg[0]
            return [(ins.src[0], idx[:axis] + idx[axis + 1:])]
        if ins.op is Structural.PERMUTE:  # out[idx] = x[jdx] with jdx[perm[d]] = idx[d]
            assert isinstance(ins.arg, tuple)
            jdx = dict(zip(ins.arg, idx, strict=True))
            return [(ins.src[0], tuple(jdx[d] for d in range(len(idx))))]
        return [(s, idx) for s in ins.src]

    def _compute(self, k: int, idx: tuple[str, ...]) -> tuple[str, int]:
        ins = self.graph.instrs[k]
        if ins.op is Structural.CONST:
            return f"cn{ins.arg}", 0
        if ins.op is Structural.LEAF:  # a rank-0 input (a runtime scalar) is read as [()]
            return self._bind(f"a{ins.arg}[{', '.join(idx) or '()'}]", self._index_level(idx))
        if not self._inline(k):
            return self._bind(f"{self.graph.target(k)}[{', '.join(idx)}]",
                              self._index_level(idx))
        sources = self._sources(k, idx)
        if ins.op is Structural.EXPAND or ins.op is Structural.PERMUTE:
            return self.memo[sources[0]]
        args = [self.memo[s] for s in sources]
        names = [a for a, _ in args]
        level = max(lv for _, lv in args)
        dt = ins.dt
        match ins.op:
            case BinaryOp.POW if ins.arg is not None:
                assert isinstance(ins.arg, float)
                return self._bind(_scalar.power(names[0], ins.arg, dt), level)
            case UnaryOp():
                return self._bind(_scalar.unary(ins.op, names[0], dt), level)
            case BinaryOp():
                return self._bind(_scalar.binary(ins.op, names[0], names[1], dt), level)
            case Structural.WHERE:
                cond_dt = self.graph.instrs[ins.src[0]].dt
                cond, a, b = names
                return self._bind(_scalar.where(cond, a, b, cond_dt), level)
            case (Structural.LEAF | Structural.CONST | Structural.EXPAND | Structural.SUM
                  | Structural.PERMUTE | Structural.MATMUL | Structural.MAX | Structural.INPUT
                  | Structural.CHUNKED | Structural.RESHAPE | Structural.CONV2D
                  | Structural.CONV2D_GRAD_INPUT | Structural.CONV2D_GRAD_WEIGHT
                  | Structural.AVG_POOL2D | Structural.AVG_POOL2D_GRAD | Structural.MAX_POOL2D
                  | Structural.MAX_POOL2D_GRAD):
                raise AssertionError(f"{ins.op.value} is not computed inline")
            case _:
                assert_never(ins.op)

    def _index_level(self, idx: tuple[str, ...]) -> int:
        return max((self.levels[i] for i in idx), default=0)

    def _bind(self, expr: str, level: int) -> tuple[str, int]:
        name = f"v{next(self.names)}"
        level = max(level, 1)
        self.lines[level].append(f"{name} = {expr}")
        return name, level


def _loops(heads: list[str], nest: _Nest, first_level: int, body: list[str]) -> list[str]:
    """Loop headers `heads` nested, each level's bindings inside its loop, then `body`."""
    out: list[str] = []
    for depth, head in enumerate(heads):
        out += [_INDENT * depth + head,
                *(_INDENT * (depth + 1) + line for line in nest.lines[first_level + depth])]
    return out + [_INDENT * len(heads) + line for line in body]


def _elementwise(graph: Layout, k: int, names: count[int]) -> list[str]:
    ext = graph.extents[k]
    idx = tuple(f"i{k}_{d}" for d in range(len(ext)))
    nest = _Nest(graph, k, {i: d + 1 for d, i in enumerate(idx)}, names)
    val, _ = nest.value(k, idx)
    # Small temporaries (a reduced vector under a broadcast) are not worth a thread each.
    outer = "prange" if k in graph.outputs or len(ext) > 1 else "range"
    heads = [f"for {i} in {outer if d == 0 else 'range'}({e}):"
             for d, (i, e) in enumerate(zip(idx, ext, strict=True))]
    return _loops(heads, nest, 1, [f"{graph.target(k)}[{', '.join(idx)}] = {val}"])


def _sum_first(graph: Layout, group: list[int], names: count[int]) -> list[str]:
    """Reductions over the first axis of same-sized data, in one pass: the first axis split
    into chunks (a partial result per chunk), the other axes inside, then the partials
    combined."""
    k = group[0]
    ext = graph.extents[graph.instrs[k].src[0]]
    idx = tuple(f"i{k}_{d}" for d in range(len(ext)))
    c, rest, rest_idx = f"ch{k}", ext[1:], idx[1:]
    at = ", ".join(rest_idx)
    nest = _Nest(graph, k, {i: d + 1 for d, i in enumerate(idx)}, names)
    setup: list[str] = []
    folds: list[str] = []
    tails: list[str] = []
    for r in group:
        ins = graph.instrs[r]
        p, s, acc = f"part{r}", f"s{r}", ins.dt.scalar
        val, _ = nest.value(ins.src[0], idx)
        setup.append(f"{p}.fill({_start(ins.op, ins.dt)})" if graph.scratch else
                     f"{p} = np.full((nchunks, {', '.join(rest)}), "
                     f"{_start(ins.op, ins.dt)}, {acc})")
        folds += _fold(ins.op, f"{p}[{c}, {at}]", val)
        tails += [f"{s} = {p}[0, {at}]", f"for {c} in range(1, nchunks):",
                  *(_INDENT + line for line in _fold(ins.op, s, f"{p}[{c}, {at}]")),
                  f"{graph.target(r)}[{at}] = {s}"]
    heads = [f"for {idx[0]} in range(({ext[0]} * {c}) // nchunks, "
             f"({ext[0]} * ({c} + 1)) // nchunks):",
             *(f"for {i} in range({e}):" for i, e in zip(rest_idx, rest, strict=True))]
    inner = _loops(heads, nest, 1, folds)
    combine = [f"for {i} in range({e}):" for i, e in zip(rest_idx, rest, strict=True)]
    return [*setup, f"for {c} in prange(nchunks):", *(_INDENT + line for line in inner),
            *(_INDENT * d + h for d, h in enumerate(combine)),
            *(_INDENT * len(combine) + line for line in tails)]


def _sum_inner(graph: Layout, k: int, names: count[int]) -> list[str]:
    """A sum over an axis after the first: the output's loops outside, the axis inside."""
    ins = graph.instrs[k]
    (x,) = ins.src
    assert isinstance(ins.arg, int)
    axis, ext = ins.arg, graph.extents[x]
    idx = tuple(f"i{k}_{d}" for d in range(len(ext)))
    nest = _Nest(graph, k, {i: d + 1 for d, i in enumerate(idx)}, names)
    val, _ = nest.value(x, idx)
    out_idx = ", ".join(idx[:axis] + idx[axis + 1:])
    target = f"{graph.target(k)}[{out_idx}]"
    heads = [f"for {i} in {'prange' if d == 0 else 'range'}({e}):"
             for d, (i, e) in enumerate(zip(idx, ext, strict=True))]
    if axis == len(ext) - 1:  # the last axis: an accumulator per output element
        s, acc = f"s{k}", ins.dt.scalar
        # A sum accumulates in float64 (see the module docstring); a max is exact anyway.
        start = "np.float64(0.0)" if ins.op is Structural.SUM else _start(ins.op, ins.dt)
        outer = _loops(heads[:-1], nest, 1, [f"{s} = {start}"])
        inner = [*(_INDENT * axis + h for h in heads[-1:]),
                 *(_INDENT * (axis + 1) + line for line in nest.lines[axis + 1]),
                 *(_INDENT * (axis + 1) + line for line in _fold(ins.op, s, val)),
                 _INDENT * axis + f"{target} = {acc}({s})"]
        return outer + inner
    # A middle axis: zero the output's slice, then add the axis's slices in order.
    zero = [*(_INDENT * d + f"for {i} in range({e}):"
              for d, (i, e) in enumerate(zip(idx[axis + 1:], ext[axis + 1:], strict=True)))]
    zero.append(_INDENT * len(zero) + f"{target} = {_start(ins.op, ins.dt)}")
    body = _loops(heads, nest, 1, _fold(ins.op, target, val))
    prefix = len(heads[:axis])
    split = sum(1 + len(nest.lines[d + 1]) for d in range(prefix))  # lines before loop `axis`
    return [*body[:split], *(_INDENT * prefix + line for line in zero), *body[split:]]


def _start(op: object, dt: Float) -> str:
    """What a reduction starts from: 0 for a sum, -inf for a max."""
    if op is Structural.SUM:
        return _scalar.typed("zero", dt)
    return f"{dt.scalar}(-np.inf)"


def _fold(op: object, acc: str, val: str) -> list[str]:
    """`acc` combined with `val`: added, or the larger kept (NaN wins, as in numpy's max)."""
    if op is Structural.SUM:
        return [f"{acc} += {val}"]
    return [f"{acc} = {_scalar.maximum(val, acc)}"]


def _matmul(graph: Layout, k: int) -> list[str]:
    a, b = (_stored(graph, s) for s in graph.instrs[k].src)
    return [f"np.dot({a}, {b}, {graph.target(k)})"]  # BLAS writes the stored result


def _reshape(graph: Layout, k: int) -> list[str]:
    """A view of the stored operand under the new sizes (an output gets a copy)."""
    (s,) = graph.instrs[k].src
    source = graph.instrs[s]
    # numba's reshape takes contiguous arrays only; ascontiguousarray returns a C-contiguous
    # array as it is, so only a strided leaf (a transposed argument) is copied.
    src = (f"np.ascontiguousarray(a{source.arg})" if source.op is Structural.LEAF
           else graph.target(s))
    view = f"{src}.reshape(({', '.join(graph.extents[k])},))"
    target = graph.target(k)
    return [f"{target}[...] = {view}" if k in graph.outputs else f"{target} = {view}"]


def _windowed(graph: Layout, k: int) -> list[str]:
    """A convolution, its gradients or a pooling: a nest of its own over stored sources."""
    ins = graph.instrs[k]
    assert isinstance(ins.arg, tuple)
    a = _stored(graph, ins.src[0])
    b = _stored(graph, ins.src[-1])  # the second source (pooling has one)
    out, dt, (first, *rest) = graph.target(k), ins.dt.scalar, ins.arg
    match ins.op:
        case Structural.CONV2D:
            return _convolution.conv2d(k, a, b, out, dt, first, rest[0])
        case Structural.CONV2D_GRAD_INPUT:
            return _convolution.conv2d_grad_input(k, a, b, out, dt, first, rest[0])
        case Structural.CONV2D_GRAD_WEIGHT:
            return _convolution.conv2d_grad_weight(k, a, b, out, dt, first, rest[0])
        case Structural.AVG_POOL2D:
            return _convolution.avg_pool2d(k, a, out, dt, first)
        case Structural.AVG_POOL2D_GRAD:
            return _convolution.avg_pool2d_grad(k, a, out, dt, first)
        case Structural.MAX_POOL2D:
            return _convolution.max_pool2d(k, a, out, first)
        case Structural.MAX_POOL2D_GRAD:
            return _convolution.max_pool2d_grad(k, a, b, out, dt, first)
        case (UnaryOp() | BinaryOp() | Structural.LEAF | Structural.CONST | Structural.WHERE
              | Structural.EXPAND | Structural.SUM | Structural.PERMUTE | Structural.MATMUL
              | Structural.MAX | Structural.INPUT | Structural.CHUNKED | Structural.RESHAPE):
            raise AssertionError(f"{ins.op.value} is not a windowed operation")
        case _:
            assert_never(ins.op)


def _stored(graph: Layout, k: int) -> str:
    ins = graph.instrs[k]
    if ins.op is Structural.LEAF:
        return f"a{ins.arg}"
    if ins.op is Structural.PERMUTE and k not in graph.materialised:  # a transposed operand
        return _stored(graph, ins.src[0]) + ".T"
    return graph.target(k)
