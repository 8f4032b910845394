"""What one Dask task carries and runs: a block's recipe, computed by the in-memory engine.

A `Recipe` is a fused region of a typed graph written as a flat tuple of `Step` records
(operation, sources by position, one structural argument, dtype): plain data that pickles
small and flat whatever the graph's depth, and that holds no compiled kernel, no
dispatcher and no lock (the in-memory engine the task is given is plain data too).
`run_block` rebuilds the region's nodes over the numpy blocks the task receives (sizes come
from the blocks, so uneven last chunks need nothing special) and hands them to that engine:
the fused engine finds its kernel by the program's structure in the worker's own kernel
cache (in memory, then `$TYPEDARR_CACHE_DIR` on disk), compiling it there on first use. Its
results are fresh allocations, not the result pool's recycled blocks: Dask holds and frees
them and counts the worker's memory, and blocks the pool kept after Dask let go would be
memory Dask can neither see nor spill. This module imports no dask: a worker needs only
numpy, numba and typedarr to run a task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias, assert_never

import numpy as np

from .. import _buffers
from .._engine import Engine
from .._ir import (
    BinaryOp,
    Node,
    Op,
    Structural,
    UnaryOp,
    binary,
    const,
    expand,
    leaf,
    permute,
    reduce_max,
    reduce_sum,
    unary,
    where,
)
from .._strategy import Seq

Array: TypeAlias = np.ndarray[Any, np.dtype[Any]]


@dataclass(frozen=True, slots=True)
class BlockExtent:
    """The size of axis `axis` of the task's `block`-th array, in this task."""

    block: int
    axis: int


@dataclass(frozen=True, slots=True)
class Step:
    """One node of a region, as data.

    `arg` by operation: LEAF: the index of its block among the task's arrays; CONST: the
    value; EXPAND: `(axis, size)`, the size an int or a `BlockExtent`; SUM, MAX: the axis;
    PERMUTE: the permutation; elementwise: None. `dtype` is the node's dtype.
    """

    op: Op
    src: tuple[int, ...]
    arg: Any
    dtype: np.dtype[Any]


@dataclass(frozen=True, slots=True)
class Output:
    """A value the task returns: a step's, with an axis of extent 1 inserted at `keepdims`
    for a per-block partial reduction (so partials line up as a blocked array)."""

    step: int
    keepdims: int | None


@dataclass(frozen=True, slots=True)
class Recipe:
    """A region: its steps in dependency order and the outputs one task returns."""

    steps: tuple[Step, ...]
    outputs: tuple[Output, ...]


def run_block(recipe: Recipe, memory: Engine, *blocks: Array) -> Array | tuple[Array, ...]:
    """The outputs of `recipe` over one block of each input, computed by the in-memory
    engine `memory`: one fused kernel call.

    A single output is returned as an array, several as a tuple (one task, one pass).
    """
    nodes: list[Node] = []
    for step in recipe.steps:
        nodes.append(_rebuild(step, [nodes[i] for i in step.src], blocks))
    with _buffers.unpooled():
        values = _evaluate(memory, tuple(nodes[o.step] for o in recipe.outputs))
    outs = tuple(v if o.keepdims is None else np.expand_dims(v, o.keepdims)
                 for v, o in zip(values, recipe.outputs, strict=True))
    return outs[0] if len(outs) == 1 else outs


def _evaluate(memory: Engine, roots: tuple[Node, ...]) -> tuple[Array, ...]:
    """The values of `roots`, a LEAF's being its block (an engine takes no LEAF root)."""
    todo = tuple(dict.fromkeys(r for r in roots if r.op is not Structural.LEAF))
    done = (dict(zip(map(id, todo), memory.evaluate_many(todo, Seq), strict=True))
            if todo else {})
    return tuple(r.data if r.op is Structural.LEAF else done[id(r)] for r in roots)


def _rebuild(step: Step, src: list[Node], blocks: tuple[Array, ...]) -> Node:
    dtype = step.dtype
    match step.op:
        case Structural.LEAF:
            return leaf(_readable(blocks[step.arg], dtype))
        case Structural.CONST:
            return const(step.arg, dtype)
        case UnaryOp():
            return unary(step.op, src[0], dtype)
        case BinaryOp():
            return binary(step.op, src[0], src[1])
        case Structural.WHERE:
            return where(src[0], src[1], src[2])
        case Structural.EXPAND:
            axis, size = step.arg
            if isinstance(size, BlockExtent):
                size = blocks[size.block].shape[size.axis]
            return expand(src[0], axis, size)
        case Structural.SUM:
            return reduce_sum(src[0], step.arg)
        case Structural.MAX:
            return reduce_max(src[0], step.arg)
        case Structural.PERMUTE:
            return permute(src[0], step.arg)
        case (Structural.MATMUL | Structural.RESHAPE | Structural.INPUT | Structural.CHUNKED
              | Structural.CONV2D | Structural.CONV2D_GRAD_INPUT | Structural.CONV2D_GRAD_WEIGHT
              | Structural.AVG_POOL2D | Structural.AVG_POOL2D_GRAD | Structural.MAX_POOL2D
              | Structural.MAX_POOL2D_GRAD):
            # Products and reshapes are cut out of regions; chunked arrays are Matrix and
            # Vector only.
            raise AssertionError(f"a block recipe never holds a {step.op.value} step")
        case _:
            assert_never(step.op)


def _readable(block: Array, dtype: np.dtype[Any]) -> Array:
    """`block` as the kernels read a leaf: C-contiguous (one compiled variant serves every
    block), of the dtype the graph was typed with, and read-only (an evaluator must not
    write into Dask's memory)."""
    out = np.ascontiguousarray(block, dtype=dtype)
    if out.flags.writeable:
        out = out.view()
        out.flags.writeable = False
    return out
