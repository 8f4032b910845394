"""What an engine is: the one interface every engine sits behind (DESIGN §8).

An engine computes several roots of one graph at once (fresh, C-contiguous, read-only
results), compiles roots over a traced function's inputs into a function of their arrays,
and says which graphs it covers. One that is handed a graph it turns out not to cover (the
fused kernels and a rank-0 result) raises `Uncovered`: the dispatcher's one fallback rule
gives that graph to the reference engine, whose definitions cover every node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from ._ir import Node
from ._strategy import Strategy

Array = np.ndarray[Any, np.dtype[Any]]
Compiled = Callable[[list[Array]], list[Array]]


class Uncovered(Exception):
    """The engine does not cover this graph (the message says which node); the dispatcher
    computes it with the reference engine instead."""


class Engine(Protocol):
    """An engine: `covers` is cheap and decides the look-up; the other two may still raise
    `Uncovered` for a graph only a closer look rules out."""

    def covers(self, roots: tuple[Node, ...]) -> bool:
        """Whether graphs like `roots`' go to this engine."""
        ...

    def evaluate_many(self, roots: tuple[Node, ...], strategy: Strategy
                      ) -> tuple[Array, ...]:
        """The values of `roots` (none of them a LEAF), from one pass where it can."""
        ...

    def compile_program(self, roots: tuple[Node, ...], inputs: tuple[Node, ...],
                        strategy: Strategy) -> Compiled:
        """`roots` as a function of the arrays of `inputs` (a traced function's INPUTs)."""
        ...
