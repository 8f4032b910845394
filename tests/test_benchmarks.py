"""The benchmarks' yardsticks compute what typedarr computes, so their timings compare like
with like: the hand-written numpy network takes the same step as `nn`."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from benchmarks import numpy_mnist
from typedarr import Matrix


@pytest.mark.parametrize("batchnorm", [True, False])
def test_numpy_by_hand_takes_the_same_step_as_nn(batchnorm: bool) -> None:
    net = nn.mlp(20, 4, [8, 6], [nn.Relu, nn.Relu, nn.Identity],
                 num_bn_layers=2 if batchnorm else 0, weight_init=nn.xavier_normal,
                 bias_init=nn.small_normal_bias, seed=0, bias_before_bn=False,
                 dtype=np.float64)
    rng = np.random.default_rng(1)
    x, labels = rng.normal(size=(16, 20)), rng.integers(0, 4, size=16)
    target = nn.one_hot(labels, 4, dtype=np.float64)
    pred, grads = nn.pass_(nn.Phase.TRAIN, net, Matrix.from_numpy(x), target)
    new_net, _ = nn.SGD(lr=0.1).update(net, grads)

    hidden, w_out, b_out = numpy_mnist.from_network(net)
    loss, accuracy = numpy_mnist.step(hidden, w_out, b_out, x, labels, lr=0.1)

    assert loss == pytest.approx(nn.loss(pred, target), rel=1e-12)
    assert accuracy == nn.accuracy(pred, labels)
    expected, _, _ = numpy_mnist.from_network(new_net)
    for ours, want in zip(hidden, expected, strict=True):
        for name in ("w", "b", "gamma", "beta", "mu", "var"):
            a, b = getattr(ours, name), getattr(want, name)
            assert (a is None) == (b is None), name
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=name)
    last = new_net[-2]
    assert isinstance(last, nn.Linear)
    np.testing.assert_allclose(w_out, np.asarray(last.w), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b_out, np.asarray(last.b), rtol=1e-10, atol=1e-12)
