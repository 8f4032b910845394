"""Where a compiled training step's time goes: the kernels, the products inside them, and the
Python around the kernels (issue 19's profile, printed by `benchmarks.epoch` and
`benchmarks.cnn_epoch` after their tables).

Measured on a step that has already compiled, over `steps` calls:

- **step**: the whole `nn.compile_step` call (its checks, flattening the network and
  optimiser, the kernels, rebuilding the results);
- **kernels**: the time inside the fused engine's kernel calls (every loop nest, product,
  convolution and pooling of the step);
- **products alone**: the step's matrix products (read off its traced program) timed alone
  with numpy's BLAS on arrays of the same shapes, on one thread or on BLAS's threads,
  whichever is faster: what the products cost within the kernels, roughly (numba calls
  SciPy's OpenBLAS there);
- **loop nests and the rest of the kernels**: kernels minus products alone;
- **Python around the kernels**: step minus kernels.

The instrumentation wraps two of typedarr's private functions for the measurement only
(a benchmark, not the library: nothing here changes what a step computes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from typedarr import _compute
from typedarr._fused import _engine
from typedarr._ir import Node, Structural, postorder


@dataclass(frozen=True, slots=True)
class Profile:
    """Milliseconds per step of each part (see the module docstring)."""

    step: float
    kernels: float
    products: float

    def lines(self, what: str) -> list[str]:
        """The profile as a small markdown table."""
        nests = max(self.kernels - self.products, 0.0)
        rows = [("the whole compiled step", self.step),
                ("inside the kernels", self.kernels),
                ("  products alone (numpy BLAS, same shapes)", self.products),
                ("  loop nests, convolutions, pooling and the rest", nests),
                ("Python around the kernels (checks, flatten, rebuild)",
                 self.step - self.kernels)]
        return [f"| where {what}'s compiled step goes | ms per step | share |", "|---|---:|---:|",
                *(f"| {name} | {ms:.2f} | {100 * ms / self.step:.0f}% |" for name, ms in rows)]


def products(step: Callable[[], object]) -> list[tuple[int, int, int]]:
    """The `(m, k, n)` of every matrix product of the program `step`'s first call compiles
    (call it on a fresh `nn.compile_step`)."""
    found: list[tuple[int, int, int]] = []
    original = _compute.compile_program

    def spy(roots: tuple[Node, ...], inputs: tuple[Node, ...], strategy: Any) -> Any:
        for node in postorder(roots):
            if node.op is Structural.MATMUL:
                a, b = node.src
                found.append((a.shape[0], a.shape[1], b.shape[1] if len(b.shape) > 1 else 1))
        return original(roots, inputs, strategy)

    _compute.compile_program = spy
    try:
        step()
    finally:
        _compute.compile_program = original
    return found


def measure(step: Callable[[], object], shapes: list[tuple[int, int, int]], steps: int = 50
            ) -> Profile:
    """The profile of `step` (already compiled) over `steps` calls."""
    inside = [0.0]
    original = _engine._launch

    def timed(variant: Any, par: bool, work: int, *args: Any) -> None:
        start = time.perf_counter()
        original(variant, par, work, *args)
        inside[0] += time.perf_counter() - start

    _engine._launch = timed
    try:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        whole = time.perf_counter() - start
    finally:
        _engine._launch = original
    rng = np.random.default_rng(0)
    operands = [(rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32))
                for m, k, n in shapes]
    def products_alone() -> float:
        start = time.perf_counter()
        for _ in range(steps):
            for a, b in operands:
                np.dot(a, b)
        return time.perf_counter() - start

    with threadpool_limits(1, user_api="blas"):
        serial = products_alone()
    alone = min(serial, products_alone())  # one thread, or BLAS's own threads if faster
    return Profile(1e3 * whole / steps, 1e3 * inside[0] / steps, 1e3 * alone / steps)


def report(net: Any, opt: Any, x: Any, t: Any, what: str, steps: int = 50) -> list[str]:
    """The profile table of a fresh compiled step training `net` with `opt` on the batch
    `(x, t)` (its first call compiles, or loads the kernels from the disk cache)."""
    import nn

    state = [net, opt]
    step = nn.compile_step()

    def one() -> None:
        state[0], state[1], _ = step(state[0], state[1], x, t)

    shapes = products(one)
    one()
    return measure(one, shapes, steps).lines(what)
