"""Model code with named dimensions: clean under mypy and pyright, strict (test_core_typing)."""

from __future__ import annotations

from typing import assert_type

import typedarr as ta
from typedarr import DMatrix, DVector, Matrix, Vector


class Batch:
    """Rows of a mini-batch."""


class In:
    """Input features."""


class Hidden:
    """Hidden units."""


class Out:
    """Classes."""


def linear(x: Matrix[Batch, In], w: Matrix[In, Hidden], b: Vector[Hidden]
           ) -> DMatrix[Batch, Hidden]:
    h = x @ w
    assert_type(h, Matrix[Batch, Hidden])
    return h + ta.rows_like(b, h)


def mlp(x: Matrix[Batch, In], w1: Matrix[In, Hidden], b1: Vector[Hidden],
        w2: Matrix[Hidden, Out]) -> Matrix[Batch, Out]:
    h = ta.compute(ta.relu(linear(x, w1, b1)))
    assert_type(h, Matrix[Batch, Hidden])
    return h @ w2


def softmax(x: Matrix[Batch, Out]) -> Matrix[Batch, Out]:
    shift = ta.max_cols(x)
    assert_type(shift, Vector[Batch])
    e = ta.compute(ta.exp(x - ta.cols_like(shift, x)))
    total = ta.sum_cols(e)
    assert_type(total, DVector[Batch])
    return ta.compute(e / ta.cols_like(total, e))


def batchnorm(x: Matrix[Batch, Hidden], gamma: Vector[Hidden], beta: Vector[Hidden],
              eps: float) -> Matrix[Batch, Hidden]:
    mu = ta.compute(ta.mean(x))
    assert_type(mu, Vector[Hidden])
    ivar = ta.compute(1.0 / ta.sqrt(ta.var(x) + eps))
    assert_type(ivar, Vector[Hidden])
    y = (ta.rows_like(gamma, x) * (x - ta.rows_like(mu, x)) * ta.rows_like(ivar, x)
         + ta.rows_like(beta, x))
    assert_type(y, DMatrix[Batch, Hidden])
    return ta.compute(y)


def backward(x: Matrix[Batch, In], w: Matrix[In, Hidden], dz: Matrix[Batch, Hidden]
             ) -> tuple[Matrix[In, Hidden], Vector[Hidden], Matrix[Batch, In]]:
    dw = x.T @ dz
    db = ta.compute(ta.sum_rows(dz))
    dx = dz @ w.T
    assert_type(x.T, Matrix[In, Batch])
    assert_type(ta.sum_rows(dz), DVector[Hidden])
    return dw, db, dx


def sgd(w: Matrix[In, Hidden], dw: Matrix[In, Hidden], lr: float) -> Matrix[In, Hidden]:
    return ta.compute(w - lr * dw)


def relu_backward(z: Matrix[Batch, Hidden], grad: Matrix[Batch, Hidden]
                  ) -> DMatrix[Batch, Hidden]:
    return (z > 0) * grad


def leaky(z: Matrix[Batch, Hidden]) -> DMatrix[Batch, Hidden]:
    return ta.where(z > 0, z, 0.01 * z)


def mse(pred: Matrix[Batch, Out], target: Matrix[Batch, Out]) -> float:
    return ta.sum_all((pred - target) ** 2) / pred.rows


def first_row(x: Matrix[Batch, In]) -> Vector[In]:
    return x[0]


def batches(x: Matrix[Batch, In]) -> list[Matrix[Batch, In]]:
    return [x[i:i + 2] for i in range(0, x.rows, 2)]


def dot(u: Vector[Hidden], v: Vector[Hidden]) -> float:
    return u @ v


def project(v: Vector[In], w: Matrix[In, Hidden], x: Matrix[Batch, In]) -> Vector[Hidden]:
    assert_type(x @ v, Vector[Batch])
    return v @ w
