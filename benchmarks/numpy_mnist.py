"""Seed 000's network written by hand in numpy: the second yardstick of the epoch benchmark.

What a numpy user would write for the same training (as seed 001's code does): eager
expressions with numpy's broadcasting, the compact batchnorm backward, SGD updates in place.
It starts from the parameters of an `nn` network, so `tests/test_benchmarks.py` can hold
one of its steps to `nn.pass_` and the optimiser's update.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

import nn

Array = NDArray[np.floating[Any]]


@dataclass(slots=True)
class _Hidden:
    """A hidden block: `LinearNoBias` + `Batchnorm1d` + ReLU, or `Linear` + ReLU (b, no BN)."""

    w: Array
    b: Array | None  # the bias of a block without batchnorm
    gamma: Array | None
    beta: Array | None
    mu: Array | None
    var: Array | None
    eps: float
    momentum: float


def from_network(net: nn.Network) -> tuple[list[_Hidden], Array, Array]:
    """Copies of the parameters of a seed-000 network (`examples.train.seed000_net`)."""
    hidden: list[_Hidden] = []
    for layer in net:
        match layer:
            case nn.LinearNoBias(w):
                hidden.append(_Hidden(np.array(w), None, None, None, None, None, 0.0, 0.0))
            case nn.Linear(w, b):
                hidden.append(_Hidden(np.array(w), np.array(b), None, None, None, None, 0.0,
                                      0.0))
            case nn.Batchnorm1d(mu, var, gamma, beta):
                h = hidden[-1]
                h.gamma, h.beta, h.mu, h.var = (np.array(a) for a in (gamma, beta, mu, var))
                h.eps, h.momentum = layer.eps, layer.momentum
            case nn.Activation(nn.Relu) | nn.Activation(nn.Identity):
                pass
            case _:
                raise ValueError(f"not a seed-000 network layer: {layer!r}")
    last = hidden.pop()  # the output layer: Linear, no batchnorm
    assert last.b is not None and last.gamma is None
    return hidden, last.w, last.b


def step(hidden: list[_Hidden], w_out: Array, b_out: Array, x: Array, labels: NDArray[Any],
         lr: float) -> tuple[float, float]:
    """One SGD step on the mean cross-entropy, parameters updated in place; the loss and the
    accuracy of the batch (the bookkeeping typedarr's training loop does too)."""
    m = x.shape[0]
    acts: list[Array] = [x]
    caches: list[tuple[Array, Array, Array, Array] | None] = []
    for h in hidden:
        z = acts[-1] @ h.w
        if h.gamma is not None:
            mu, var = z.mean(axis=0), z.var(axis=0)
            ivar = 1.0 / np.sqrt(var + h.eps)
            xhat = (z - mu) * ivar
            z = h.gamma * xhat + h.beta
            caches.append((xhat, ivar, mu, var))
        else:
            assert h.b is not None
            z = z + h.b
            caches.append(None)
        acts.append(np.maximum(z, 0))
    logits = acts[-1] @ w_out + b_out
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    rows = np.arange(m)
    loss = float(-np.log(np.maximum(p[rows, labels], np.finfo(p.dtype).tiny)).mean())
    accuracy = float((p.argmax(axis=1) == labels).mean())
    dz = p
    dz[rows, labels] -= 1
    dz /= m
    dw, db = acts[-1].T @ dz, dz.sum(axis=0)
    da = dz @ w_out.T
    w_out -= lr * dw
    b_out -= lr * db
    for k in range(len(hidden) - 1, -1, -1):
        h, cache = hidden[k], caches[k]
        dy = da * (acts[k + 1] > 0)
        if cache is not None:
            xhat, ivar, mu, var = cache
            assert h.gamma is not None and h.beta is not None
            assert h.mu is not None and h.var is not None
            dgamma, dbeta = (dy * xhat).sum(axis=0), dy.sum(axis=0)
            dy = h.gamma * ivar * (dy - (dbeta + xhat * dgamma) / m)
            h.gamma -= lr * dgamma
            h.beta -= lr * dbeta
            h.mu *= h.momentum
            h.mu += (1 - h.momentum) * mu
            h.var *= h.momentum
            h.var += (1 - h.momentum) * var
        else:
            assert h.b is not None
            h.b -= lr * dy.sum(axis=0)
        if k:
            da = dy @ h.w.T
        h.w -= lr * (acts[k].T @ dy)
    return loss, accuracy


def epoch_runner(net: nn.Network, train_x: NDArray[np.float32], train_y: NDArray[np.int64], *,
                 batch_size: int, lr: float) -> Callable[[NDArray[np.int64]], float]:
    """A function training one epoch over the rows in the given order; the mean loss."""
    hidden, w_out, b_out = from_network(net)

    def run(order: NDArray[np.int64]) -> float:
        losses = [step(hidden, w_out, b_out, train_x[rows], train_y[rows], lr)[0]
                  for rows in (order[s:s + batch_size]
                               for s in range(0, len(order) - batch_size + 1, batch_size))]
        return float(np.mean(losses))

    return run
