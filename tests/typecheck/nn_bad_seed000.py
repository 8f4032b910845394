"""Mismatched networks mypy and pyright must reject: each `# E: <code>` line is an error."""

from __future__ import annotations

from typing import assert_never

import numpy as np

import nn
from typedarr import Matrix, Vector


class Batch:
    """Rows of a mini-batch."""


class Other:
    """Rows of another batch."""


class Pixels:
    """The 784 inputs."""


class H1:
    """The first hidden layer."""


class H2:
    """The second hidden layer."""


class Digits:
    """The 10 classes."""


def use(*values: object) -> None:
    pass


def layers(w1: Matrix[Pixels, H1], b1: Vector[H1], b2: Vector[H2], ones1: Vector[H1],
           ones2: Vector[H2]) -> None:
    use(nn.Linear(w1, b2))  # E: misc | reportArgumentType
    use(nn.Batchnorm1d(ones1, ones1, ones2, ones1))  # E: misc | reportArgumentType
    use(nn.LinearGradients(w1, b2))  # E: misc | reportArgumentType
    first: nn.Linear[Pixels, H2] = nn.Linear(w1, b1)  # E: arg-type | reportAssignmentType
    use(first)
    use(nn.Activation("relu"))  # E: arg-type
    use(nn.LinearNoBias(np.ones((3, 2))))  # E: arg-type
    use(nn.Linear(b1, w1))  # E: arg-type


def chains(w1: Matrix[Pixels, H1], w2: Matrix[H1, H2], w3: Matrix[H2, Digits],
           bn2: nn.Batchnorm1d[H2], b1: Vector[H1]) -> None:
    start = nn.Chain[Pixels]()
    h1 = start.then(nn.LinearNoBias(w1))
    # mypy types a layer built in place from what `then` expects, so it blames the weights
    # (pyright: no overload of `then` fits the layer),
    use(h1.then(nn.LinearNoBias(w3)))  # E: arg-type | reportCallIssue, reportArgumentType
    use(h1.then(bn2))  # E: arg-type | reportCallIssue, reportArgumentType
    use(start.then(nn.LinearNoBias(w2)))  # E: arg-type | reportCallIssue, reportArgumentType
    # and a layer built before it as the argument of `then`
    third = nn.LinearNoBias(w3)
    use(h1.then(third))  # E: arg-type | reportCallIssue, reportArgumentType
    h2 = h1.then(nn.LinearNoBias(w2))
    wrong: nn.Chain[H1] = h2  # E: assignment
    use(wrong)
    biased = start.then(nn.Linear(w1, b1))
    use(biased.then(nn.Linear(w1, b1)))  # E: arg-type | reportCallIssue, reportArgumentType


def passes(net: nn.Network, x: Matrix[Batch, Pixels], target: Matrix[Batch, Digits],
           other: Matrix[Other, Digits], w1: Matrix[Pixels, H1]) -> None:
    pred, _ = nn.pass_(nn.Phase.TRAIN, net, x, target)
    hidden: Matrix[Batch, H1] = pred  # E: assignment
    use(hidden)
    use(nn.pass_(nn.Phase.TRAIN, net, x, other))  # E: misc | reportArgumentType
    use(nn.pass_("train", net, x, target))  # E: arg-type
    use(nn.pass_(nn.Phase.TRAIN, net, np.asarray(x), target))  # E: arg-type
    use(nn.pass_(nn.Phase.TRAIN, [w1], x, target))  # E: list-item | reportArgumentType
    use(nn.pass_(nn.Phase.TRAIN, net, x, target, rng=0))  # E: arg-type
    bad_net: nn.Network = [nn.LinearNoBias(w1), w1]  # E: list-item | reportAssignmentType
    use(bad_net)
    use(nn.forward(net, np.asarray(x)))  # E: arg-type
    use(nn.loss(pred, other))  # E: misc | reportArgumentType
    use(nn.loss(x, target))  # E: misc | reportArgumentType


def forgets_dropout(layer: nn.Layer) -> int:
    match layer:
        case nn.Linear() | nn.LinearNoBias() | nn.Batchnorm1d() | nn.Activation():
            return 1
        case _:
            assert_never(layer)  # E: arg-type


def optimiser(net: nn.Network, grads: list[nn.Gradients], w1: Matrix[Pixels, H1]) -> None:
    # declared: pyright lets an undeclared variable take every type assigned to it
    opt: nn.SGD = nn.SGD(lr=0.1)
    net, opt = nn.Adam().update(net, grads)  # E: assignment
    use(net, opt)
    use(nn.SGD(lr=0.1).update(net, [w1]))  # E: list-item | reportArgumentType
    use(nn.SGD(lr=0.1).update(grads, net))  # E: arg-type
