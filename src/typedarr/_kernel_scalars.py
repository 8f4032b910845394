"""Which rank-0 values a compiled program reads, computed outside its kernels at each call.

A traced function's number arguments are rank-0 INPUT nodes (see `_runtime_scalar`), and
the arithmetic on them (Adam's `1 / (1 - beta1 ** t)`) is a small rank-0 graph that meets
the arrays through broadcasts. The kernels compute arrays; the rank-0 part is cut off here:
every rank-0 value an array node reads becomes one more rank-0 INPUT of the program, and
`typedarr.jit` computes those values from the call's numbers (a few numpy scalar operations
by the reference engine, the definition of every node) before it calls the kernels.
Identical rank-0 values (each parameter's update computes the same bias correction) are
one input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._ir import BinaryOp, Node, Structural, UnaryOp, postorder, substitute
from ._reference import BINARY, UNARY
from ._trace import Trace

Array = np.ndarray[Any, np.dtype[Any]]


def kernel_scalars(roots: tuple[Node, ...], numbers: set[int], trace: Trace
                   ) -> tuple[tuple[Node, ...], tuple[Node, ...]]:
    """`roots` reading a new rank-0 input of `trace` where they read a value computed from
    the number arguments (`numbers`: the ids of their INPUT nodes), and those values, one
    per new input, in the inputs' order."""
    region: dict[int, Any] = {}  # a rank-0 node computed from numbers -> its structural key
    for node in postorder(roots):
        key = _key(node, numbers, region)
        if key is not None:
            region[id(node)] = key
    slot: dict[Any, Node] = {}  # a distinct value -> its new input
    read: dict[Any, Node] = {}  # a distinct value -> the node computing it
    replace: dict[int, Node] = {}
    for node in postorder(roots):
        if id(node) in region:
            continue
        for s in node.src:
            key = region.get(id(s))
            if key is None or s.op is Structural.CONST:  # a constant stays in the kernel
                continue
            if key not in slot:
                slot[key] = trace.add_input((), s.dtype)
                read[key] = s
            replace[id(s)] = slot[key]
    if not replace:
        return roots, ()
    return substitute(roots, replace), tuple(read.values())


def _key(node: Node, numbers: set[int], region: dict[int, Any]) -> Any:
    """The structural key of a rank-0 node computed from numbers and constants only (equal
    keys: equal values at every call), or None for any other node."""
    if node.shape:
        return None
    if node.op is Structural.INPUT:
        return ("input", node.arg, node.dtype.str) if id(node) in numbers else None
    if node.op is Structural.CONST:
        value = node.arg
        exact = value if isinstance(value, int) else float(value).hex()
        return ("const", type(value), exact, node.dtype.str)
    if not node.src or any(id(s) not in region for s in node.src):
        return None
    return (node.op, node.arg, node.dtype.str, tuple(region[id(s)] for s in node.src))


def scalar_program(roots: tuple[Node, ...], inputs: tuple[Node, ...]
                   ) -> Callable[[list[Any]], list[Array]]:
    """The rank-0 graph of `roots` as a function of the values of `inputs` (its number
    arguments), giving rank-0 arrays: a straight line of numpy scalar operations, each the
    reference engine's definition of its node, so a call costs microseconds."""
    position = {id(n): k for k, n in enumerate(inputs)}
    steps: list[tuple[Callable[..., Any], tuple[int, ...]]] = []
    for node in postorder(roots):
        if id(node) in position:
            continue
        position[id(node)] = len(inputs) + len(steps)
        steps.append((_step(node), tuple(position[id(s)] for s in node.src)))
    outputs = tuple(position[id(r)] for r in roots)
    kinds = tuple(n.dtype.type for n in inputs)

    def call(values: list[Any]) -> list[Array]:
        held = [kind(v) for kind, v in zip(kinds, values, strict=True)]
        with np.errstate(all="ignore"):
            for fn, src in steps:
                held.append(fn(*(held[i] for i in src)))
        return [np.asarray(held[k]) for k in outputs]

    return call


def _step(node: Node) -> Callable[..., Any]:
    kind = node.dtype.type
    match node.op:
        case Structural.CONST:
            value = kind(node.arg)
            return lambda: value
        case UnaryOp.CAST:
            return kind
        case UnaryOp():
            fn = UNARY[node.op]
            return lambda x: kind(fn(x))
        case BinaryOp():
            zip_ = BINARY[node.op]
            return lambda a, b: kind(zip_(a, b))
        case _:
            raise AssertionError(f"a rank-0 {node.op.value} is not computed from numbers")
