"""The structural key read back as a graph: each node's kind, dtype, rank, operands and the
source expressions of its extents, plus which nodes a kernel materialises.

A kernel materialises the root (into `out`), every reduction (into a small temporary
vector, computed by its own loop nest before the loops that read it) and every computed
vector under a broadcast (so `rows_like(exp(v), x)` takes one `exp` per column, not one per
element). Everything else is computed inline, element by element, and never stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._plan import Desc, Key


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One entry of the key, with what the code generator needs to know about it."""

    desc: Desc
    kind: str
    dt: str
    operands: tuple[int, ...]
    shape: tuple[str, ...]  # kernel source expressions of the extents, e.g. "a0.shape[1]"

    @property
    def rank(self) -> int:
        return len(self.shape)


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: tuple[NodeInfo, ...]
    materialised: tuple[int, ...]  # in dependency order; the root is last

    @property
    def root(self) -> int:
        return len(self.nodes) - 1

    def target(self, k: int) -> str:
        """The array a materialised node is written to."""
        return "out" if k == self.root else f"t{k}"


def read_key(key: Key) -> Graph:
    """The graph described by `key`."""
    nodes: list[NodeInfo] = []
    for desc in key:
        operands = _operands(desc)
        nodes.append(NodeInfo(desc, str(desc[0]), str(desc[1]), operands,
                              _shape(desc, [nodes[k].shape for k in operands])))
    return Graph(tuple(nodes), _materialised(nodes))


def _operands(desc: Desc) -> tuple[int, ...]:
    match desc[0]:
        case "leaf" | "const":
            return ()
        case "unary" | "power" | "reduce":
            return (int(desc[3]),)
        case "binary":
            return int(desc[3]), int(desc[4])
        case "where":
            return int(desc[2]), int(desc[3]), int(desc[4])
        case "expand" | "permute":
            return (int(desc[-1]),)
    raise ValueError(f"unknown node kind {desc[0]!r}")


def _shape(desc: Desc, operand_shapes: list[tuple[str, ...]]) -> tuple[str, ...]:
    match desc[0]:
        case "leaf":
            return tuple(f"a{desc[2]}.shape[{d}]" for d in range(int(desc[3])))
        case "const":
            return ()
        case "expand":
            axis, inner = int(desc[2]), operand_shapes[0]
            return (*inner[:axis], f"dims[{desc[3]}]", *inner[axis:])
        case "reduce":
            axis, inner = int(desc[2]), operand_shapes[0]
            return inner[:axis] + inner[axis + 1:]
        case "permute":
            return tuple(operand_shapes[0][int(p)] for p in desc[2:-1])
    return max(operand_shapes, key=len)  # elementwise: the shape of an array operand


def _materialised(nodes: list[NodeInfo]) -> tuple[int, ...]:
    chosen = {len(nodes) - 1}
    for k, node in enumerate(nodes):
        if node.kind == "reduce":
            chosen.add(k)
        elif node.kind == "expand":
            (x,) = node.operands
            if nodes[x].kind not in ("leaf", "reduce"):
                chosen.add(x)
    return tuple(sorted(chosen))
