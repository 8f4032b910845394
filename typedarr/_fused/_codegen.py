"""Python source for numba from a structural key: one function of loop nests per graph.

Each materialised node (see `_graph`) gets one loop nest, in dependency order, so a
reduction inside an elementwise expression is finished into a small temporary before the
loops that read it. Inside a nest every other node is computed inline; a node needed twice
at the same element is computed once into a local (common subexpressions), and a value that
depends only on the row is computed once per row, outside the inner loop. The outer loop of
each big nest is a `prange`: the module compiles the same body twice, once with
`parallel=True` (`Par`) and once plain (`Seq`, where `prange` is `range`).

Reductions: `sum_rows` runs rows outer and columns inner (contiguous, vectorised),
accumulating in the node's dtype into one partial vector per chunk of rows (a chunk per
thread under `Par`, one chunk under `Seq`), then adds the partials; under `Seq` this is
numpy's own order for `sum(axis=0)`, so the result is bitwise the reference's. `sum_cols`
accumulates each row in float64: numpy sums a contiguous row pairwise, and a float32 chain
would be less accurate than the reference, while float64 costs nothing here (measured).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

from .._expr import BinaryOp, UnaryOp
from . import _scalar
from ._graph import Graph, read_key
from ._plan import Key

_INDENT = "    "
_TYPED_CONSTANTS = [f"{name}_{s} = {t}({value})"
                    for s, t in (("f", "np.float32"), ("d", "np.float64"))
                    for name, value in (("one", 1.0), ("zero", 0.0))]


def generate(key: Key) -> str:
    """The source of a module defining `seq` and `par`, the two compiled variants.

    Both take `(out, a0, a1, ..., consts, dims, nchunks)`: the result array, the leaf arrays,
    the Const values (float64), the sizes of the broadcasts and the number of row chunks.
    """
    graph = read_key(key)
    nleaves = sum(1 for node in graph.nodes if node.kind == "leaf")
    params = ", ".join(["out", *(f"a{i}" for i in range(nleaves)), "consts", "dims",
                        "nchunks"])
    body = [*_preamble(graph), *_nests(graph)]
    lines = ['"""A typedarr fused kernel, generated from its structural key: do not edit."""', "",
             f"# key: {key!r}", "",
             "import math", "", "import numba", "import numpy as np",
             "from numba import prange", ""]
    for variant in ("seq", "par"):
        lines += ["", f"def {variant}_kernel({params}):", *(_INDENT + b for b in body), ""]
    # No `cache=True`: `_cache` gives each variant its checked disk cache, or none.
    lines += ["", 'seq = numba.njit(nogil=True, error_model="numpy")(seq_kernel)',
              'par = numba.njit(nogil=True, error_model="numpy", parallel=True)(par_kernel)',
              ""]
    return "\n".join(lines)


def _preamble(graph: Graph) -> list[str]:
    lines = list(_TYPED_CONSTANTS)
    for node in graph.nodes:
        if node.kind == "const":
            lines.append(f"cn{node.desc[2]} = {_scalar.NUMPY_TYPE[node.dt]}(consts"
                         f"[{node.desc[2]}])")
    return lines


def _nests(graph: Graph) -> Iterator[str]:
    names = count()
    for k in graph.materialised:
        node = graph.nodes[k]
        if node.kind == "reduce" and node.desc[2] == 0:
            yield from _sum_rows(graph, k, names)
        elif node.kind == "reduce":
            yield from _sum_cols(graph, k, names)
        else:
            yield from _elementwise(graph, k, names)


class _Nest:
    """The statements of one loop nest: each value bound once, at the shallowest loop level
    where everything it depends on is known (1: the outer loop, 2: the inner loop)."""

    __slots__ = ("graph", "levels", "lines", "memo", "names", "node")

    def __init__(self, graph: Graph, node: int, levels: dict[str, int],
                 names: count[int]) -> None:
        self.graph, self.node, self.levels, self.names = graph, node, levels, names
        self.lines: dict[int, list[str]] = {1: [], 2: []}
        self.memo: dict[tuple[int, tuple[str, ...]], tuple[str, int]] = {}

    def value(self, k: int, idx: tuple[str, ...]) -> tuple[str, int]:
        """The variable holding node `k` at index `idx`, and the level it is bound at."""
        node = self.graph.nodes[k]
        if node.kind == "const":
            return f"cn{node.desc[2]}", 0
        memo_key = (k, idx)
        if memo_key not in self.memo:
            if k in self.graph.materialised and k != self.node:
                self.memo[memo_key] = self._bind(f"{self.graph.target(k)}[{idx[0]}]",
                                                 self._index_level(idx))
            else:
                self.memo[memo_key] = self._compute(k, idx)
        return self.memo[memo_key]

    def _compute(self, k: int, idx: tuple[str, ...]) -> tuple[str, int]:
        node = self.graph.nodes[k]
        desc, dt = node.desc, node.dt
        match node.kind:
            case "leaf":
                return self._bind(f"a{desc[2]}[{', '.join(idx)}]", self._index_level(idx))
            case "expand":  # the broadcast axis is dropped from the index
                return self.value(node.operands[0], idx[:int(desc[2])] + idx[int(desc[2]) + 1:])
            case "permute":  # out[idx] = x[jdx] with jdx[perm[d]] = idx[d]
                jdx = dict(zip((int(p) for p in desc[2:-1]), idx, strict=True))
                return self.value(node.operands[0], tuple(jdx[d] for d in range(len(idx))))
        args = [self.value(x, idx) for x in node.operands]
        names = [a for a, _ in args]
        level = max(lv for _, lv in args)
        match node.kind:
            case "unary":
                return self._bind(_scalar.unary(UnaryOp(desc[2]), names[0], dt), level)
            case "power":
                return self._bind(_scalar.power(names[0], float(desc[2]), dt), level)
            case "binary":
                a, b = names
                return self._bind(_scalar.binary(BinaryOp(desc[2]), a, b, dt), level)
            case "where":
                cond, a, b = names
                cond_dt = self.graph.nodes[node.operands[0]].dt
                return self._bind(_scalar.where(cond, a, b, cond_dt), level)
        raise ValueError(f"node kind {node.kind!r} is not computed inline")

    def _index_level(self, idx: tuple[str, ...]) -> int:
        return max(self.levels[i] for i in idx)

    def _bind(self, expr: str, level: int) -> tuple[str, int]:
        name = f"v{next(self.names)}"
        level = max(level, 1)
        self.lines[level].append(f"{name} = {expr}")
        return name, level


def _indented(depth: int, lines: list[str]) -> list[str]:
    return [_INDENT * depth + line for line in lines]


def _elementwise(graph: Graph, k: int, names: count[int]) -> list[str]:
    node, target = graph.nodes[k], graph.target(k)
    i, j = f"i{k}", f"j{k}"
    # Temporaries are vectors (the rank-1 loop is small): only the root's loop is parallel.
    loop = "prange" if k == graph.root else "range"
    lines = [] if k == graph.root else [
        f"{target} = np.empty({node.shape[0]}, {_scalar.NUMPY_TYPE[node.dt]})"]
    nest = _Nest(graph, k, {i: 1, j: 2}, names)
    if node.rank == 1:
        val, _ = nest.value(k, (i,))
        return [*lines, f"for {i} in {loop}({node.shape[0]}):",
                *_indented(1, nest.lines[1]), f"{_INDENT}{target}[{i}] = {val}"]
    val, _ = nest.value(k, (i, j))
    return [*lines, f"for {i} in {loop}({node.shape[0]}):", *_indented(1, nest.lines[1]),
            f"{_INDENT}for {j} in range({node.shape[1]}):", *_indented(2, nest.lines[2]),
            f"{_INDENT * 2}{target}[{i}, {j}] = {val}"]


def _sum_rows(graph: Graph, k: int, names: count[int]) -> list[str]:
    node, target = graph.nodes[k], graph.target(k)
    (x,) = node.operands
    rows, cols = graph.nodes[x].shape
    i, j, c, p, s = f"i{k}", f"j{k}", f"ch{k}", f"part{k}", f"s{k}"
    acc = _scalar.NUMPY_TYPE[node.dt]
    nest = _Nest(graph, k, {i: 1, j: 2}, names)
    val, _ = nest.value(x, (i, j))
    head = [] if k == graph.root else [f"{target} = np.empty({cols}, {acc})"]
    return [*head, f"{p} = np.zeros((nchunks, {cols}), {acc})",
            f"for {c} in prange(nchunks):",
            f"{_INDENT}for {i} in range(({rows} * {c}) // nchunks, "
            f"({rows} * ({c} + 1)) // nchunks):",
            *_indented(2, nest.lines[1]),
            f"{_INDENT * 2}for {j} in range({cols}):", *_indented(3, nest.lines[2]),
            f"{_INDENT * 3}{p}[{c}, {j}] += {val}",
            f"for {j} in range({cols}):", f"{_INDENT}{s} = {p}[0, {j}]",
            f"{_INDENT}for {c} in range(1, nchunks):", f"{_INDENT * 2}{s} += {p}[{c}, {j}]",
            f"{_INDENT}{target}[{j}] = {s}"]


def _sum_cols(graph: Graph, k: int, names: count[int]) -> list[str]:
    node, target = graph.nodes[k], graph.target(k)
    (x,) = node.operands
    rows, cols = graph.nodes[x].shape
    i, j, s = f"i{k}", f"j{k}", f"s{k}"
    nest = _Nest(graph, k, {i: 1, j: 2}, names)
    val, _ = nest.value(x, (i, j))
    head = [] if k == graph.root else [
        f"{target} = np.empty({rows}, {_scalar.NUMPY_TYPE[node.dt]})"]
    return [*head, f"for {i} in prange({rows}):", *_indented(1, nest.lines[1]),
            f"{_INDENT}{s} = np.float64(0.0)",
            f"{_INDENT}for {j} in range({cols}):", *_indented(2, nest.lines[2]),
            f"{_INDENT * 2}{s} += {val}",
            f"{_INDENT}{target}[{i}] = {_scalar.NUMPY_TYPE[node.dt]}({s})"]
