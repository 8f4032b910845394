"""Tests that kill mutants of `nn/_optim.py` which the rest of the suite let live
(scripts/mutation.sh): plain SGD keeps no state, SGD with momentum its velocity (the step
values alone cannot tell: a velocity kept at zero momentum changes nothing)."""

from __future__ import annotations

import numpy as np

import nn
from typedarr import Matrix, Vector


def _step(opt: nn.SGD) -> nn.SGD:
    net: list[nn.Layer] = [nn.Linear(Matrix.ones(3, 2), Vector.zeros(2))]
    grads: list[nn.Gradients] = [nn.LinearGradients(Matrix.ones(3, 2), Vector.ones(2))]
    _, after = opt.update(net, grads)
    return after


def test_plain_sgd_keeps_no_velocity() -> None:
    assert _step(nn.SGD(lr=0.1)).velocity == ()


def test_sgd_with_momentum_keeps_its_velocity() -> None:
    (moment,) = _step(nn.SGD(lr=0.1, momentum=0.9)).velocity  # one moment: the velocity
    (layer,) = moment
    assert isinstance(layer, nn.LinearGradients)
    np.testing.assert_allclose(np.asarray(layer.dw), -0.1)  # 0.9 * 0 - lr * gradient
    np.testing.assert_allclose(np.asarray(layer.db), -0.1)
