"""Code that names no dimensions still type-checks (dimensions default to dynamic)."""

from __future__ import annotations

from typing import Any

import numpy as np

import typedarr as ta
from typedarr import DMatrix, Matrix, Vector


class Batch:
    """A named dimension, mixed with unnamed code below."""


def layer(x: Matrix, w: Matrix, b: Vector) -> Matrix:
    return ta.compute(ta.relu(x @ w + ta.rows_like(b, x)))


def normalise(x: Matrix) -> DMatrix:
    return (x - ta.rows_like(ta.mean(x), x)) / ta.rows_like(ta.sqrt(ta.var(x) + 1e-5), x)


def from_data(a: np.ndarray[Any, Any], labels: list[float]) -> tuple[Matrix, Vector]:
    return Matrix.from_numpy(a), Vector.from_list(labels)


def mixed(named: Matrix[Batch, Any], bare: Matrix) -> Matrix[Batch, Any]:
    both = named + bare  # a dynamic dimension fits any named one
    return ta.compute(both) @ bare


def accepts_named(x: Matrix[Batch, Batch]) -> None:
    pass


def pass_bare(x: Matrix) -> None:
    accepts_named(x)
    accepts_named(Matrix.zeros(2, 2))


def training_step(x: Matrix, y: Matrix, w: Matrix, lr: float) -> Matrix:
    pred = x @ w
    grad = x.T @ ta.compute(pred - y)
    return ta.compute(w - lr * grad)


def numpy_out(x: Matrix) -> np.ndarray[Any, Any]:
    return np.concatenate([np.asarray(ta.compute(ta.exp(x))), x.to_numpy()])
