"""A typed graph that reads chunked arrays, turned into lazy dask arrays.

The graph is cut at its boundaries: chunked leaves; matrix products, which run as dask's
blocked product; reshapes, dask's reshape (which rechunks where blocks do not fit the new
shape); and sums or maxima over a blocked axis (one whose values are spread over several
blocks), computed as one partial per block and then Dask's tree reduction. What lies
between boundaries is a region, and a region is ONE `dask.array.blockwise` call whose task
per block runs the whole region as one fused kernel (`_block.run_block`), however many
operations it holds. Regions over the same shape at the same depth share one call: their
outputs come out of one task per block, one pass over the blocks they read (the values of an
expression and its per-block sums, say).

Axes are matched by symbols, as `blockwise` wants them: each region names the axes of its
outputs, and the names flow down through its operations (a transpose permutes them, a
broadcast adds one, a sum over an unblocked axis contracts one) to the inputs, so Dask
aligns the blocks of every input (rechunking where two chunkings differ) and each task gets
blocks that fit together.

Each region reads its chunked inputs itself: the variance's two passes over `x` read `x`
twice, streaming it, where sharing one read would make Dask hold every block of `x` (all
of it, spilled to disk once it outgrows the workers) from the first pass to the second.

In-memory parts of the graph (those that read no chunked array) are computed first, in
memory, and enter as small inputs: a Vector (through rows_like, cols_like, br, or beside a
chunked Vector) is cut into the blocks it meets. An in-memory Matrix that meets a blocked
axis is refused with a ShapeError naming both shapes: it would travel whole into every
task, which is neither cheap nor explicit.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

# pyright reads dask's partial annotations: where they are wrong (`chunks` typed as str,
# attributes missing, `compute` not re-exported) a line ignores them.
import dask.array as da
import numpy as np
from dask.graph_manipulation import clone

from .._engine import Engine
from .._errors import ShapeError
from .._ir import BinaryOp, Node, Structural, UnaryOp, postorder
from .._strategy import Seq
from ._block import BlockExtent, Output, Recipe, Step, run_block

Syms = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the translation needs to know of each node, found in one bottom-up walk.

    `chunked`: reads a chunked array; `level`: how many boundaries lie below it (regions at
    one level never read each other); `blocked`: per axis, whether its values may be spread
    over several blocks; `boundary`: where a region ends (a product, a blocked reduction).
    """

    chunked: dict[int, bool] = field(default_factory=dict)
    level: dict[int, int] = field(default_factory=dict)
    blocked: dict[int, tuple[bool, ...]] = field(default_factory=dict)
    boundary: set[int] = field(default_factory=set)


def _analyse(roots: tuple[Node, ...]) -> _Facts:
    facts = _Facts()
    for node in postorder(roots):
        key = id(node)
        src = node.src
        chunked = node.op is Structural.CHUNKED or any(facts.chunked[id(s)] for s in src)
        level = max((facts.level[id(s)] for s in src), default=0)
        blocked = (False,) * len(node.shape)
        if node.op is Structural.CHUNKED:
            blocked = (True,) * len(node.shape)
        elif not chunked:
            pass
        elif node.op in (Structural.MATMUL, Structural.RESHAPE) or (
                node.op in (Structural.SUM, Structural.MAX)
                and facts.blocked[id(src[0])][node.arg]):
            facts.boundary.add(key)
            level, blocked = level + 1, (True,) * len(node.shape)
        elif node.op is Structural.SUM or node.op is Structural.MAX:
            inner = facts.blocked[id(src[0])]
            blocked = inner[:node.arg] + inner[node.arg + 1:]
        elif node.op is Structural.EXPAND:
            inner = facts.blocked[id(src[0])]
            blocked = (*inner[:node.arg[0]], False, *inner[node.arg[0]:])
        elif node.op is Structural.PERMUTE:
            inner = facts.blocked[id(src[0])]
            blocked = tuple(inner[p] for p in node.arg)
        else:  # elementwise: an axis is blocked where any array operand's is
            for s in src:
                if s.shape:
                    blocked = tuple(a or b for a, b in zip(blocked, facts.blocked[id(s)],
                                                           strict=True))
        facts.chunked[key], facts.level[key], facts.blocked[key] = chunked, level, blocked
    return facts


@dataclass(frozen=True, slots=True)
class _Request:
    """A region output: the blocks of `loop`, or of its partial reduction by `reduce`."""

    loop: Node
    reduce: Node | None


class Translation:
    """The dask arrays of the nodes of one graph (see the module docstring)."""

    def __init__(self, roots: tuple[Node, ...], memory: Engine) -> None:
        self.memory = memory  # the engine of each block and of the in-memory parts
        self._facts = _analyse(roots)
        self._values: dict[int, da.Array] = {}
        self._memory: dict[int, np.ndarray[Any, Any]] = {}
        self._readers: dict[int, int] = {}  # regions reading each chunked leaf so far
        groups: dict[tuple[tuple[int, ...], int], dict[tuple[int, int], _Request]] = \
            defaultdict(dict)
        for request in self._requests(roots):
            key = (request.loop.shape, self._facts.level[id(request.loop)])
            groups[key][(id(request.loop), id(request.reduce))] = request
        for key in sorted(groups, key=lambda k: k[1]):  # inputs before what reads them
            _Region(self, key[0]).build(tuple(groups[key].values()))

    def array(self, node: Node) -> da.Array:
        """The lazy values of `node` (in memory values wrapped as one block)."""
        if not self._facts.chunked[id(node)]:
            value = self.in_memory(node)
            return da.from_array(value, chunks=-1)  # pyright: ignore[reportArgumentType]
        if self._direct(node):
            return self._direct_array(node, {})
        return self._values[id(node)]

    def chunked(self, node: Node) -> bool:
        return self._facts.chunked[id(node)]

    def in_memory(self, node: Node) -> np.ndarray[Any, Any]:
        """A part that reads no chunked array, computed now by the in-memory engine."""
        found = self._memory.get(id(node))
        if found is None:
            found = self._memory[id(node)] = (
                node.data if node.op is Structural.LEAF
                else self.memory.evaluate_many((node,), Seq)[0])
        return found

    def is_input(self, node: Node) -> bool:
        """Whether a region reads `node` as a block input rather than computing it."""
        if not self._facts.chunked[id(node)]:
            return node.op not in (Structural.CONST, Structural.EXPAND, Structural.PERMUTE)
        return node.op is Structural.CHUNKED or id(node) in self._facts.boundary

    def input_array(self, node: Node, read: dict[int, da.Array]) -> da.Array:
        """What one reader (a region, a product) reads for the chunked input `node`;
        `read` holds what this reader has read already (x and x.T are one read).

        A chunked array that a second reader reads is read again, from a clone of its
        graph, rather than shared: shared, Dask would keep every one of its blocks in
        memory from the first region's pass until the second's (the whole array, spilled
        to disk once it outgrows the workers), where reading it twice streams it twice.
        """
        if node.op is not Structural.CHUNKED:
            return self._direct_array(node, read)
        found = read.get(id(node))
        if found is None:
            readers = self._readers[id(node)] = self._readers.get(id(node), 0) + 1
            blocks: da.Array = node.arg
            found = read[id(node)] = blocks if readers == 1 else clone(blocks, seed=readers)  # pyright: ignore[reportArgumentType]
        return found  # pyright: ignore[reportReturnType]

    def record(self, request: _Request, blocks: da.Array) -> None:
        """A region's output: a node's values, or per-block partials to tree-reduce."""
        if request.reduce is None:
            self._values[id(request.loop)] = blocks
            return
        node = request.reduce
        total = (blocks.sum(axis=node.arg, dtype=node.dtype) if node.op is Structural.SUM
                 else blocks.max(axis=node.arg))
        self._values[id(node)] = total

    def _direct(self, node: Node) -> bool:
        while node.op is Structural.PERMUTE:
            node = node.src[0]
        return node.op is Structural.CHUNKED or id(node) in self._facts.boundary

    def _direct_array(self, node: Node, read: dict[int, da.Array]) -> da.Array:
        match node.op:
            case Structural.CHUNKED:
                return self.input_array(node, read)
            case Structural.PERMUTE:
                return self._direct_array(node.src[0], read).transpose(node.arg)
            case Structural.MATMUL | Structural.RESHAPE:
                found = self._values.get(id(node))
                if found is None:
                    operands: dict[int, da.Array] = {}  # `x.T @ x` reads x once
                    src = [self._direct_array(s, operands) if self._direct(s)
                           else self.array(s) for s in node.src]
                    found = self._values[id(node)] = (
                        da.matmul(*src) if node.op is Structural.MATMUL else _reshape(src[0], node))
                return found
        return self._values[id(node)]  # a reduction, recorded by the region below it

    def _requests(self, roots: tuple[Node, ...]) -> list[_Request]:
        requests: list[_Request] = []
        for node in postorder(roots):
            if not self._facts.chunked[id(node)]:
                continue
            if node.op in (Structural.SUM, Structural.MAX) and id(node) in self._facts.boundary:
                requests.append(_Request(node.src[0], node))
            elif node.op is Structural.MATMUL or node.op is Structural.RESHAPE:
                requests += [_Request(s, None) for s in node.src
                             if self._facts.chunked[id(s)] and not self._direct(s)]
        requests += [_Request(r, None) for r in roots
                     if self._facts.chunked[id(r)] and not self._direct(r)]
        return requests


def _reshape(blocks: da.Array, node: Node) -> da.Array:
    """Dask's reshape of `blocks`, which splits or merges whole axes only."""
    try:
        return blocks.reshape(node.shape)  # pyright: ignore[reportAttributeAccessIssue]
    except NotImplementedError:
        raise ShapeError(f"a chunked array of shape {blocks.shape} cannot be reshaped to "
                         f"{node.shape} block by block (Dask only splits or merges whole "
                         f"axes): compute it into memory first") from None


class _Region:
    """One blockwise call: the steps of a recipe, found by walking down from its outputs."""

    def __init__(self, graph: Translation, shape: tuple[int, ...]) -> None:
        self._graph = graph
        self._shape = shape
        self._out: Syms = tuple(f"o{k}" for k in range(len(shape)))
        self._steps: list[Step] = []
        self._memo: dict[tuple[int, Syms], int] = {}
        self._inputs: list[tuple[Node, Syms]] = []
        self._expands: list[tuple[int, str, int]] = []  # (step, symbol, full size)
        self._fresh = 0

    def build(self, requests: tuple[_Request, ...]) -> None:
        outputs: list[Output] = []
        for request in requests:
            k = self._emit(request.loop, self._out)
            if request.reduce is not None:
                r = request.reduce
                k = self._add(Step(r.op, (k,), r.arg, r.dtype))
            outputs.append(Output(k, None if request.reduce is None else request.reduce.arg))
        arrays, where = self._input_arrays()
        self._resolve_expands(where)
        recipe = Recipe(tuple(self._steps), tuple(outputs))
        args: list[Any] = [recipe, None, self._graph.memory, None]
        for array, (_, syms) in zip(arrays, self._inputs, strict=True):
            args += [array, syms]
        new_axes = {s: n for s, n in zip(self._out, self._shape, strict=True) if s not in where}
        rank = len(self._shape)
        if len(requests) == 1:
            adjust = {} if outputs[0].keepdims is None else {self._out[outputs[0].keepdims]: 1}
            node = requests[0].reduce or requests[0].loop
            self._graph.record(requests[0], da.blockwise(
                run_block, self._out, *args, concatenate=True, new_axes=new_axes,
                adjust_chunks=adjust, meta=np.empty((0,) * rank, node.dtype)))
            return
        # Several outputs from one task per block: the task returns a tuple and each output
        # picks its item (dask never fuses a task that several others read, so the region
        # still runs once per block).
        both = da.blockwise(run_block, self._out, *args, concatenate=True, new_axes=new_axes,
                            meta=np.empty((0,) * rank, object))
        for i, (request, out) in enumerate(zip(requests, outputs, strict=True)):
            chunks = list(both.chunks)
            if out.keepdims is not None:
                chunks[out.keepdims] = (1,) * len(chunks[out.keepdims])
            node = request.reduce or request.loop
            self._graph.record(request, both.map_blocks(
                operator.getitem, i, chunks=tuple(chunks), dtype=node.dtype,
                meta=np.empty((0,) * rank, node.dtype)))

    def _add(self, step: Step) -> int:
        self._steps.append(step)
        return len(self._steps) - 1

    def _emit(self, root: Node, syms: Syms) -> int:
        """The step computing `root` with axes named `syms`, its sources first (iterative:
        a region may be as deep as the graph)."""
        children: dict[tuple[int, Syms], list[tuple[Node, Syms]]] = {}
        stack = [(root, syms)]
        while stack:
            node, s = stack[-1]
            key = (id(node), s)
            if key in self._memo:
                stack.pop()
                continue
            if self._graph.is_input(node):
                self._memo[key] = self._add(Step(Structural.LEAF, (), self._input(node, s),
                                                 node.dtype))
                stack.pop()
                continue
            if node.op is Structural.CONST:
                self._memo[key] = self._add(Step(Structural.CONST, (), node.arg, node.dtype))
                stack.pop()
                continue
            if key not in children:
                children[key] = self._children(node, s)
                stack += [c for c in reversed(children[key]) if (id(c[0]), c[1]) not in self._memo]
                continue
            stack.pop()
            src = tuple(self._memo[(id(c), cs)] for c, cs in children.pop(key))
            arg = node.arg
            if node.op is Structural.EXPAND:
                self._expands.append((len(self._steps), s[arg[0]], arg[1]))
            self._memo[key] = self._add(Step(node.op, src, arg, node.dtype))
        return self._memo[(id(root), syms)]

    def _children(self, node: Node, s: Syms) -> list[tuple[Node, Syms]]:
        match node.op:
            case Structural.EXPAND:
                axis = node.arg[0]
                return [(node.src[0], s[:axis] + s[axis + 1:])]
            case Structural.PERMUTE:
                perm: tuple[int, ...] = node.arg
                return [(node.src[0], tuple(s[perm.index(j)] for j in range(len(perm))))]
            case Structural.SUM | Structural.MAX:  # over an unblocked axis: inside every block
                self._fresh += 1
                return [(node.src[0], (*s[:node.arg], f"c{self._fresh}", *s[node.arg:]))]
            case UnaryOp() | BinaryOp() | Structural.WHERE:
                return [(c, s if c.shape else ()) for c in node.src]
        raise AssertionError(f"a {node.op.value} node inside a region")

    def _input(self, node: Node, syms: Syms) -> int:
        for k, (other, other_syms) in enumerate(self._inputs):
            if other is node and other_syms == syms:
                return k
        self._inputs.append((node, syms))
        return len(self._inputs) - 1

    def _input_arrays(self) -> tuple[list[da.Array], dict[str, BlockExtent]]:
        """The inputs' dask arrays, and where each symbol's block extent can be read.

        Raises ShapeError for an in-memory Matrix that meets a blocked axis.
        """
        graph = self._graph
        where: dict[str, BlockExtent] = {}
        carrier: dict[str, Node] = {}
        for k, (node, syms) in enumerate(self._inputs):
            for axis, s in enumerate(syms):
                where.setdefault(s, BlockExtent(k, axis))
                if graph.chunked(node):
                    carrier.setdefault(s, node)
        arrays: list[da.Array] = []
        read: dict[int, da.Array] = {}
        for node, syms in self._inputs:
            if graph.chunked(node):
                arrays.append(graph.input_array(node, read))
                continue
            value = graph.in_memory(node)
            meets = [carrier[s] for s in syms if s in carrier]
            if value.ndim >= 2 and meets:
                raise ShapeError(_mixing_message(meets[0], node))
            arrays.append(da.from_array(value, chunks=-1))  # pyright: ignore[reportArgumentType]
        return arrays, where

    def _resolve_expands(self, where: dict[str, BlockExtent]) -> None:
        for k, symbol, size in self._expands:
            step = self._steps[k]
            extent: int | BlockExtent = where.get(symbol, size)
            self._steps[k] = Step(step.op, step.src, (step.arg[0], extent), step.dtype)


def _describe(node: Node) -> str:
    kind = {1: "Vector", 2: "Matrix"}.get(len(node.shape), "array")
    return f"{kind} {node.shape}"


def _mixing_message(chunked: Node, memory: Node) -> str:
    return (f"cannot combine chunked {_describe(chunked)} and in-memory {_describe(memory)} "
            f"in one expression: the in-memory Matrix would be copied whole into every task. "
            f"Chunk it too (Matrix.from_dask(dask.array.from_array(m.to_numpy()))), or "
            f"compute the chunked side first if it is small (.compute()); in-memory Vectors "
            f"join chunked Matrices through rows_like, cols_like and br")
