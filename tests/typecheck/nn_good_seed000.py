"""Seed 000's network with named dimensions: clean under mypy and pyright (test_nn_typing)."""

from __future__ import annotations

from typing import Any, assert_never, assert_type

import numpy as np

import nn
from typedarr import Matrix, Vector


class Batch:
    """Rows of a mini-batch."""


class Pixels:
    """The 784 inputs."""


class H1:
    """The first hidden layer (300 units)."""


class H2:
    """The second hidden layer (50 units)."""


class Digits:
    """The 10 classes."""


def batchnorm_h1(zeros: Vector[H1], ones: Vector[H1]) -> nn.Batchnorm1d[H1]:
    """Seed 000's initial batchnorm: means 0, variances 1, gamma 1, beta 0."""
    return nn.Batchnorm1d(zeros, ones, ones, zeros)


def seed_000(w1: Matrix[Pixels, H1], w2: Matrix[H1, H2], w3: Matrix[H2, Digits],
             bn1: nn.Batchnorm1d[H1], bn2: nn.Batchnorm1d[H2]) -> nn.Network:
    """`[Linear' w1, Batchnorm1d .., Activation Relu, Linear' w2, ..., Linear' w3]`."""
    chain = (nn.Chain[Pixels]()
             .then(nn.LinearNoBias(w1))
             .then(bn1)
             .then(nn.Activation(nn.Relu))
             .then(nn.LinearNoBias(w2))
             .then(bn2)
             .then(nn.Activation(nn.Relu))
             .then(nn.LinearNoBias(w3)))
    assert_type(chain, nn.Chain[Digits])
    return chain.network


def seed_000_without_batchnorm(w1: Matrix[Pixels, H1], b1: Vector[H1], w2: Matrix[H1, H2],
                               b2: Vector[H2], w3: Matrix[H2, Digits], b3: Vector[Digits]
                               ) -> nn.Network:
    """`net2` of seed 000, as the plain list the seed writes."""
    first = nn.Linear(w1, b1)
    assert_type(first, nn.Linear[Pixels, H1])
    net: nn.Network = [first, nn.Activation(nn.Relu), nn.Linear(w2, b2), nn.Activation(nn.Relu),
                       nn.Linear(w3, b3), nn.Dropout(0.0)]
    return net


def train_step(net: nn.Network, x: Matrix[Batch, Pixels], target: Matrix[Batch, Digits],
               opt: nn.SGD, rng: np.random.Generator) -> tuple[nn.Network, nn.SGD, float]:
    pred, grads = nn.pass_(nn.Phase.TRAIN, net, x, target, rng=rng)
    assert_type(pred, Matrix[Batch, Digits])
    assert_type(grads, list[nn.Gradients])
    new_net, new_opt = opt.update(net, grads)
    assert_type(new_opt, nn.SGD)
    return new_net, new_opt, nn.loss(pred, target)


def evaluate(net: nn.Network, x: Matrix[Batch, Pixels], labels: np.ndarray[Any, Any]) -> float:
    pred = nn.forward(net, x)
    assert_type(pred, Matrix[Batch, Any])
    return nn.accuracy(pred, labels)


def binary(net: nn.Network, x: Matrix[Batch, Pixels], target: Matrix[Batch, Digits]) -> float:
    bce = nn.SigmoidBinaryCrossEntropy()
    pred, _ = nn.pass_(nn.Phase.EVAL, net, x, target, loss=bce)
    return nn.loss(pred, target, loss=bce)


def parameters(layer: nn.Layer) -> int:
    """Users match the Layer sum type exhaustively, as the package does."""
    match layer:
        case nn.Linear(w, b):
            return w.rows * w.cols + b.size
        case nn.LinearNoBias(w):
            return w.rows * w.cols
        case nn.Batchnorm1d(_, _, gamma, beta) | nn.Batchnorm2d(_, _, gamma, beta):
            return gamma.size + beta.size
        case nn.Conv2d(w4, b):
            o, c, kh, kw = w4.shape
            return o * c * kh * kw + b.size
        case nn.Activation() | nn.Dropout() | nn.AvgPool2d() | nn.MaxPool2d() | nn.Flatten():
            return 0
        case _:
            assert_never(layer)


def gradient_norm(g: nn.Gradients) -> float:
    match g:
        case nn.LinearGradients(dw, db):
            return float(np.linalg.norm(np.asarray(dw))) + float(np.linalg.norm(np.asarray(db)))
        case nn.LinearNoBiasGradients(dw):
            return float(np.linalg.norm(np.asarray(dw)))
        case nn.BN1(_, _, dgamma, dbeta) | nn.BN2(_, _, dgamma, dbeta):
            return float(np.linalg.norm(np.asarray(dgamma)) + np.linalg.norm(np.asarray(dbeta)))
        case nn.Conv2dGradients(dw4, db):
            return float(np.linalg.norm(np.asarray(dw4))) + float(np.linalg.norm(np.asarray(db)))
        case nn.NoGrad():
            return 0.0
        case _:
            assert_never(g)


def optimisers(net: nn.Network, grads: list[nn.Gradients]) -> nn.Network:
    opt: nn.Optimizer = nn.Adam(lr=1e-3)
    for _ in range(2):
        net, opt = opt.update(net, grads)
    return net


def built(seed: int) -> nn.Network:
    return nn.mlp(784, 10, [300, 50], [nn.Relu, nn.Relu, nn.Identity], num_bn_layers=2,
                  weight_init=nn.he_normal, bias_init=nn.zero_bias, seed=seed)
