"""The state of a trace: which function `typedarr.jit` is tracing now, on this thread.

While a trace is active, typed arrays hold INPUT nodes that have no values: operations build
graph as always, `compute` marks a result without computing it, a product becomes a MATMUL
node, and anything that needs values (numpy conversion, `float`, indexing by data) raises
`TraceError`. Random arrays drawn from a generator the traced function was given become
inputs too, drawn afresh from that generator at every call, in the order the trace met them
(so a compiled function draws exactly what the same code draws eagerly).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from ._errors import TraceError
from ._ir import DType, Node, Shape, Structural, input_, postorder


@dataclass(frozen=True, slots=True)
class Draw:
    """A random array the compiled function draws at each call: `_construct.uniform` or
    `_construct.normal` of `shape` from the `generator`-th generator among its arguments."""

    generator: int
    kind: str  # "uniform" | "normal"
    shape: Shape
    params: tuple[float, float]  # (low, high) or (mean, std)
    dtype: DType


@dataclass(slots=True)
class Trace:
    """What one trace collects: its input nodes (arguments first, then draws)."""

    generators: list[np.random.Generator]
    inputs: list[Node] = field(default_factory=list)
    draws: list[tuple[int, Draw]] = field(default_factory=list)  # (input slot, draw)

    def add_input(self, shape: Shape, dtype: DType) -> Node:
        node = input_(len(self.inputs), shape, dtype)
        self.inputs.append(node)
        return node

    def draw(self, seed: np.random.Generator, kind: str, shape: Shape,
             params: tuple[float, float], dtype: DType) -> Node:
        for k, g in enumerate(self.generators):
            if g is seed:
                node = self.add_input(shape, dtype)
                self.draws.append((node.arg, Draw(k, kind, shape, params, dtype)))
                return node
        raise TraceError("a random array drawn inside a traced function must come from a "
                         "numpy Generator passed to it as an argument (so that every call "
                         "draws afresh); a generator of its own would be drawn only once")


class _Local(threading.local):
    trace: Trace | None = None


_local = _Local()


def active() -> Trace | None:
    """The trace running on this thread, if any."""
    return _local.trace


def tracing() -> bool:
    """Whether a `typedarr.jit` trace is running on this thread.

    Code that must behave differently while traced (a check that reads values, say) asks
    this; everything else is traced as it is written.

    >>> tracing()
    False
    """
    return _local.trace is not None


def start(trace: Trace) -> None:
    if _local.trace is not None:
        raise TraceError("typedarr.jit functions cannot be traced inside each other's trace: "
                         "call the inner function's Python definition instead")
    _local.trace = trace


def stop() -> None:
    _local.trace = None


def refuse_values(roots: tuple[Node, ...], what: str = "turned into values") -> None:
    """Raise TraceError if a trace is active and `roots` depend on its inputs."""
    if _local.trace is None:
        return
    if any(n.op is Structural.INPUT for n in postorder(roots)):
        raise TraceError(
            f"an array of a traced function cannot be {what} while it is traced (numpy "
            f"conversion, float(), indexing, printing values): return it from the function "
            f"and use the result, or compute outside the traced function")

