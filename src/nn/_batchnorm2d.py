"""Per-channel batchnorm of `(N, C, H, W)` activations (seed 003): the forward and backward
maths, each step one fused typedarr expression, as `_batchnorm` does per feature.

Seed 003 normalises each channel over samples, rows and columns, broadcasting
`gamma.reshape((1, C, 1, 1))` implicitly; here `channels_like` says so. With `m = N*H*W`
values per channel, the formulas are `_batchnorm`'s with `sum_channels` for `sum_rows`:

```
xhat = (x - mu) * ivar,              out = gamma * xhat + beta
dbeta = sum(dz),  dgamma = sum(dz * xhat),
dx = gamma * ivar * (dz - (dbeta + xhat * dgamma) / m)
```

(seed 001's compact backward, simplified as `_batchnorm.backward` explains). These are the
functions a `Batchnorm2d` layer's match arm in `pass_` calls.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypeVar

import typedarr as ta
from typedarr import DTensor4, Tensor4, Tensor4Like, Vector

N = TypeVar("N", default=Any)
C = TypeVar("C", default=Any)
H = TypeVar("H", default=Any)
W = TypeVar("W", default=Any)


def statistics(x: Tensor4Like[N, C, H, W]) -> tuple[Vector[C], Vector[C]]:
    """The batch mean and the biased batch variance of each channel, from one compute."""
    mu = ta.compute(ta.mean(x))
    centred = x - ta.channels_like(mu, x)
    return mu, ta.compute(ta.mean(centred * centred))


def inverse_std(var: Vector[C], eps: float) -> Vector[C]:
    """`1 / sqrt(var + eps)`."""
    return ta.compute(1.0 / ta.sqrt(var + eps))


def normalise(x: Tensor4Like[N, C, H, W], mu: Vector[C], ivar: Vector[C], gamma: Vector[C],
              beta: Vector[C]) -> Tensor4[N, C, H, W]:
    """`gamma * (x - mu) * ivar + beta` per channel, one fused pass over `x`."""
    c = ta.channels_like
    return ta.compute(c(gamma, x) * _xhat(x, mu, ivar) + c(beta, x))


def backward(x: Tensor4Like[N, C, H, W], mu: Vector[C], ivar: Vector[C], gamma: Vector[C],
             dz: Tensor4Like[N, C, H, W]) -> tuple[Tensor4[N, C, H, W], Vector[C], Vector[C]]:
    """`(dx, dgamma, dbeta)` in the training phase, where `mu` and `ivar` are the batch's."""
    dgamma, dbeta = affine_grads(x, mu, ivar, dz)
    n, _, h, w = x.shape
    c, m = ta.channels_like, 1.0 / (n * h * w)
    dx = c(gamma * ivar, dz) * (dz - c(dbeta * m, dz) - _xhat(x, mu, ivar) * c(dgamma * m, dz))
    return ta.compute(dx), dgamma, dbeta


def backward_eval(x: Tensor4Like[N, C, H, W], mu: Vector[C], ivar: Vector[C],
                  gamma: Vector[C], dz: Tensor4Like[N, C, H, W]
                  ) -> tuple[Tensor4[N, C, H, W], Vector[C], Vector[C]]:
    """`(dx, dgamma, dbeta)` in the evaluation phase, where `mu` and `ivar` are constants."""
    dx = ta.compute(dz * ta.channels_like(gamma * ivar, dz))
    return dx, *affine_grads(x, mu, ivar, dz)


def affine_grads(x: Tensor4Like[N, C, H, W], mu: Vector[C], ivar: Vector[C],
                 dz: Tensor4Like[N, C, H, W]) -> tuple[Vector[C], Vector[C]]:
    """`dgamma = sum(dz * xhat)` and `dbeta = sum(dz)` per channel, from one compute."""
    return ta.compute(ta.sum_channels(dz * _xhat(x, mu, ivar)), ta.sum_channels(dz))


def _xhat(x: Tensor4Like[N, C, H, W], mu: Vector[C], ivar: Vector[C]) -> DTensor4[N, C, H, W]:
    return (x - ta.channels_like(mu, x)) * ta.channels_like(ivar, x)
