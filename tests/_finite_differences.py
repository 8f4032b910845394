"""Central finite differences in float64: the oracle the gradient checks compare with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[Any]]


def numeric_gradient(f: Callable[[Array], float], at: Array, eps: float = 1e-6) -> Array:
    """The gradient of `f` at `at`, one central difference per element."""
    grad = np.zeros_like(at)
    for i in np.ndindex(at.shape):
        up, down = at.copy(), at.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad
