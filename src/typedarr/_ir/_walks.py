"""Walks over a graph of nodes: post-order, a bounded one-line rendering, substitution.

Graphs may be deep (a loop of ten thousand updates): these walk with an explicit stack
(`postorder`), never by recursion, except `render`, whose recursion is bounded by its budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import assert_never

from ._node import Node, chunked_made, with_src
from ._ops import BinaryOp, Structural, UnaryOp


def holds_chunked(roots: Iterable[Node]) -> bool:
    """Whether the graph of `roots` reads a CHUNKED node (and so runs on the Dask engine)."""
    return chunked_made() and any(n.op is Structural.CHUNKED for n in postorder(roots))


def postorder(roots: Iterable[Node]) -> Iterator[Node]:
    """Every node reachable from `roots`, once each, after all of its sources.

    An explicit stack, so a graph of any depth is walked without Python's recursion limit.
    """
    seen: set[int] = set()
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack: list[tuple[Node, int]] = [(root, 0)]
        while stack:
            node, i = stack[-1]
            if i < len(node.src):
                stack[-1] = (node, i + 1)
                child = node.src[i]
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, 0))
            else:
                stack.pop()
                yield node


def render(node: Node, budget: int = 40) -> str:
    """A one-line description of the graph, leaves by shape: never evaluates anything.

    At most `budget` nodes are spelled out (a shared subexpression counts each time it is
    reached); deeper parts show as `...`, so describing a graph of any depth stays cheap
    (and the recursion here is at most `budget` deep).
    """
    left = budget

    def go(n: Node) -> str:
        nonlocal left
        left -= 1
        if left < 0:
            return "..."
        match n.op:
            case Structural.LEAF:
                return "array(" + ", ".join(map(str, n.shape)) + ")"
            case Structural.CHUNKED:
                return "chunked(" + ", ".join(map(str, n.shape)) + ")"
            case Structural.CONST:
                return repr(n.arg)
            case UnaryOp.CAST:
                return f"astype({n.dtype})({go(n.src[0])})"
            case Structural.EXPAND:
                return f"expand({go(n.src[0])}, axis={n.arg[0]}, size={n.arg[1]})"
            case Structural.SUM | Structural.MAX:
                return f"{n.op.value}({go(n.src[0])}, axis={n.arg})"
            case Structural.INPUT:
                return f"input{n.arg}(" + ", ".join(map(str, n.shape)) + ")"
            case Structural.PERMUTE | Structural.RESHAPE:
                return f"{n.op.value}({go(n.src[0])}, {n.arg})"
            case Structural.CONV2D | Structural.CONV2D_GRAD_INPUT | Structural.CONV2D_GRAD_WEIGHT:
                stride, padding = n.arg
                return (f"{n.op.value}(" + ", ".join(go(s) for s in n.src)
                        + f", stride={stride}, padding={padding})")
            case (Structural.AVG_POOL2D | Structural.AVG_POOL2D_GRAD | Structural.MAX_POOL2D
                  | Structural.MAX_POOL2D_GRAD):
                return f"{n.op.value}(" + ", ".join(go(s) for s in n.src) + f", k={n.arg})"
            case UnaryOp() | BinaryOp() | Structural.WHERE | Structural.MATMUL:
                return f"{n.op.value}(" + ", ".join(go(s) for s in n.src) + ")"
            case _:
                assert_never(n.op)

    return go(node)


def substitute(roots: tuple[Node, ...], replace: dict[int, Node]) -> tuple[Node, ...]:
    """`roots` with each node whose id is in `replace` replaced, and what reads it rebuilt."""
    new: dict[int, Node] = {}
    for node in postorder(roots):
        found = replace.get(id(node))
        if found is None:
            src = tuple(new[id(s)] for s in node.src)
            same = all(a is b for a, b in zip(src, node.src, strict=True))
            found = node if same else with_src(node, src)
        new[id(node)] = found
    return tuple(new[id(r)] for r in roots)
