"""Batchnorm's forward and backward maths, each step one fused typedarr expression.

Forward (training): the batch mean and the biased batch variance (two reductions, kept
for the running statistics), then `gamma * (x - mu) / sqrt(var + eps) + beta` as one
expression; evaluation runs the same expression with the running statistics.

Backward: `backward` is seed 001's compact formula simplified to need only the reductions
of `dgamma` and `dbeta`; `backward_seed001` is that formula as seed 001 writes it and
`backward_steps` seed 000's nine-step derivation, kept as the references the tests hold
`backward` to. Both take `dz`, the gradient of the loss
with respect to the layer's output, and return the gradients of that same loss, so they
are linear in `dz`.

Note: seed 000 passes `pred - target` back unscaled and divides by the batch size only in
the linear layers, so its `dGamma` and `dBeta` are sums over the batch, m times the mean-loss
gradients the rest of its network gets (a learning rate m times larger for gamma and beta).
Here `pass_` scales `dz` by 1/m at the output, so every gradient, batchnorm's included, is
of the mean loss (PyTorch's convention).
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypeVar

import typedarr as ta
from typedarr import DMatrix, Matrix, MatrixLike, Vector

B = TypeVar("B", default=Any)  # rows: the batch
F = TypeVar("F", default=Any)  # features


def statistics(x: MatrixLike[B, F]) -> tuple[Vector[F], Vector[F]]:
    """The batch mean and the biased batch variance of each feature (seed 000, steps 1-4)."""
    mu = ta.compute(ta.mean(x))
    return mu, ta.compute(ta.mean((x - ta.rows_like(mu, x)) ** 2))


def inverse_std(var: Vector[F], eps: float) -> Vector[F]:
    """`1 / sqrt(var + eps)` (seed 000, steps 5-6)."""
    return ta.compute(1.0 / ta.sqrt(var + eps))


def normalise(x: MatrixLike[B, F], mu: Vector[F], ivar: Vector[F], gamma: Vector[F],
              beta: Vector[F]) -> Matrix[B, F]:
    """`gamma * (x - mu) * ivar + beta`, one fused pass over `x` (seed 000, steps 7-9)."""
    return ta.compute(ta.rows_like(gamma, x) * _xhat(x, mu, ivar) + ta.rows_like(beta, x))


def backward(x: MatrixLike[B, F], mu: Vector[F], ivar: Vector[F], gamma: Vector[F],
             dz: MatrixLike[B, F]) -> tuple[Matrix[B, F], Vector[F], Vector[F]]:
    """`(dx, dgamma, dbeta)` for training mode: seed 001's compact formula, simplified.

    In seed 001's formula (`backward_seed001`) the `mean(-2 * (x - mu))` term is zero, since
    `mu` is the batch mean; and with `xhat = (x - mu) * ivar` and `dxhat = dz * gamma`, the
    two remaining reductions are `sum(dxhat) = gamma * dbeta` and
    `sum(dxhat * xhat) = gamma * dgamma`. What is left,

    ```
    dx = gamma * ivar * (dz - (dbeta + xhat * dgamma) / m)
    ```

    needs only the reductions the parameter gradients need anyway: two small reductions
    and one elementwise pass, instead of three reductions fused into `dx` and two more.
    """
    dgamma, dbeta = _affine_grads(x, mu, ivar, dz)
    r, m = ta.rows_like, 1.0 / x.rows
    dx = r(gamma * ivar, dz) * (dz - r(dbeta * m, dz) - _xhat(x, mu, ivar) * r(dgamma * m, dz))
    return ta.compute(dx), dgamma, dbeta


def backward_seed001(x: MatrixLike[B, F], mu: Vector[F], ivar: Vector[F], gamma: Vector[F],
                     dz: MatrixLike[B, F]) -> tuple[Matrix[B, F], Vector[F], Vector[F]]:
    """`(dx, dgamma, dbeta)` by seed 001's compact formula, as the seed writes it.

    ```
    dxhat = dz * gamma
    dvar  = sum(dxhat * (x - mu)) * -0.5 * ivar**3
    dmu   = sum(dxhat * -ivar) + dvar * mean(-2 * (x - mu))
    dx    = dxhat * ivar + dvar * 2 * (x - mu) / m + dmu / m
    ```

    A reference, like `backward_steps`: the tests hold `backward` to both.
    """
    m = 1.0 / x.rows
    xmu = x - ta.rows_like(mu, x)
    dxhat = dz * ta.rows_like(gamma, dz)
    dvar = ta.sum_rows(dxhat * xmu) * -0.5 * ivar ** 3
    dmu = ta.sum_rows(dxhat * -ta.rows_like(ivar, x)) + dvar * ta.mean(-2.0 * xmu)
    dx = (dxhat * ta.rows_like(ivar, x) + ta.rows_like(dvar, x) * 2.0 * xmu * m
          + ta.rows_like(dmu, x) * m)
    return ta.compute(dx), *_affine_grads(x, mu, ivar, dz)


def backward_eval(x: MatrixLike[B, F], mu: Vector[F], ivar: Vector[F], gamma: Vector[F],
                  dz: MatrixLike[B, F]) -> tuple[Matrix[B, F], Vector[F], Vector[F]]:
    """`(dx, dgamma, dbeta)` for evaluation mode, where `mu` and `ivar` are constants."""
    dx = ta.compute(dz * ta.rows_like(gamma, dz) * ta.rows_like(ivar, dz))
    return dx, *_affine_grads(x, mu, ivar, dz)


def backward_steps(x: MatrixLike[B, F], mu: Vector[F], var: Vector[F], gamma: Vector[F],
                   dz: MatrixLike[B, F], eps: float) -> tuple[Matrix[B, F], Vector[F],
                                                              Vector[F]]:
    """`(dx, dgamma, dbeta)` by seed 000's step-by-step derivation: the reference.

    Each step is the seed's line, in the seed's order, computed where the seed computes;
    slower than `backward` and kept to show that the compact formula is the same gradient.
    """
    b = ta.rows_like
    m = 1.0 / x.rows
    # Forward steps 2, 5, 6 and 7, recomputed: the seed keeps them from its forward pass
    xmu = ta.compute(x - b(mu, x))
    sqrtvar = ta.compute(ta.sqrt(var + eps))
    ivar = ta.compute(1.0 / sqrtvar)
    xhat = ta.compute(xmu * b(ivar, x))
    # Step 9
    dbeta = ta.compute(ta.sum_rows(dz))
    # Step 8
    dgamma = ta.compute(ta.sum_rows(dz * xhat))
    dxhat = ta.compute(dz * b(gamma, dz))
    # Step 7
    divar = ta.sum_rows(ta.compute(dxhat * xmu))
    dxmu1 = dxhat * b(ivar, x)
    # Step 6
    dsqrtvar = -(1.0 / sqrtvar ** 2) * divar
    # Step 5
    dvar = 0.5 * ivar * dsqrtvar
    # Step 4
    dsq = ta.compute(m * dvar)
    # Step 3
    dxmu2 = 2.0 * xmu * b(dsq, x)
    # Step 2
    dx1 = ta.compute(dxmu1 + dxmu2)
    dmu = -ta.sum_rows(dx1)
    # Step 1
    dx2 = b(ta.compute(m * dmu), x)
    return ta.compute(dx1 + dx2), dgamma, dbeta


def _xhat(x: MatrixLike[B, F], mu: Vector[F], ivar: Vector[F]) -> DMatrix[B, F]:
    return (x - ta.rows_like(mu, x)) * ta.rows_like(ivar, x)


def _affine_grads(x: MatrixLike[B, F], mu: Vector[F], ivar: Vector[F], dz: MatrixLike[B, F]
                  ) -> tuple[Vector[F], Vector[F]]:
    """`dgamma = sum(dz * xhat)` and `dbeta = sum(dz)` (seed 000, steps 8 and 9)."""
    return ta.compute(ta.sum_rows(dz * _xhat(x, mu, ivar))), ta.compute(ta.sum_rows(dz))
