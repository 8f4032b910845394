"""`nn.mlp` builds seed 004's layout; the initialisers draw what they promise, reproducibly;
and seed 002's breast-cancer classifier trains with the sigmoid output."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nn
from typedarr import Matrix


def kinds(net: list[nn.Layer]) -> list[str]:
    return [repr(layer) for layer in net]


def test_seed_004_layout() -> None:
    """Linear -> BatchNorm (the first num_bn_layers) -> activation, for every linear layer."""
    net = nn.mlp(784, 10, [64, 64, 32], [nn.Sigmoid, nn.Sigmoid, nn.Sigmoid, nn.Identity],
                 num_bn_layers=2, seed=0)
    assert kinds(net) == [
        "Linear(784->64, float32)", "Batchnorm1d(64, eps=1e-05, momentum=0.9, float32)",
        "Activation(Sigmoid)",
        "Linear(64->64, float32)", "Batchnorm1d(64, eps=1e-05, momentum=0.9, float32)",
        "Activation(Sigmoid)",
        "Linear(64->32, float32)", "Activation(Sigmoid)",
        "Linear(32->10, float32)", "Activation(Identity)"]
    assert nn.check_network(net, 784) == 10


def test_seed_000_layout_with_dropout() -> None:
    """Seed 000's network (Linear' before batchnorm) with seed 001's dropout."""
    net = nn.mlp(784, 10, [300, 50], [nn.Relu, nn.Relu, nn.Identity], num_bn_layers=2,
                 bias_before_bn=False, dropout=0.5, seed=0, dtype=np.float64)
    assert [type(layer).__name__ for layer in net] == [
        "LinearNoBias", "Batchnorm1d", "Activation", "Dropout",
        "LinearNoBias", "Batchnorm1d", "Activation", "Dropout",
        "Linear", "Activation"]
    bn = net[1]
    assert isinstance(bn, nn.Batchnorm1d) and bn.mu.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(bn.var), 1.0)  # seed 000's initial values
    np.testing.assert_array_equal(np.asarray(bn.beta), 0.0)


def weights(net: list[nn.Layer]) -> list[np.ndarray[Any, Any]]:
    return [np.asarray(layer.w) for layer in net if isinstance(layer, nn.Linear | nn.LinearNoBias)]


def test_same_seed_same_network_and_generator_seeds_work() -> None:
    def build(seed: int | np.random.Generator) -> list[np.ndarray[Any, Any]]:
        return weights(nn.mlp(20, 3, [10], [nn.Tanh, nn.Identity], seed=seed))

    a, b, c = build(7), build(7), build(8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    d = build(np.random.default_rng(7))
    assert all(np.array_equal(x, y) for x, y in zip(a, d, strict=True))


@pytest.mark.parametrize(("init", "std"), [
    (nn.small_normal, lambda i, o: 0.01),
    (nn.standard_normal, lambda i, o: 1.0),
    (nn.xavier_normal, lambda i, o: np.sqrt(2 / (i + o))),
    (nn.he_normal, lambda i, o: np.sqrt(2 / i)),
])
def test_initialiser_scales(init: nn.WeightInit, std: Any) -> None:
    w = np.asarray(init(400, 300, seed=0))
    assert w.shape == (400, 300) and w.dtype == np.float32
    assert abs(w.mean()) < 0.01 * std(400, 300)
    assert w.std() == pytest.approx(std(400, 300), rel=0.01)
    np.testing.assert_array_equal(w, np.asarray(init(400, 300, seed=0)))
    assert np.asarray(init(3, 2, seed=0, dtype=np.float64)).dtype == np.float64


@pytest.mark.parametrize(("init", "torch_init", "std"), [
    (nn.he_normal_conv, "kaiming_normal_", lambda fan_in, fan_out: np.sqrt(2 / fan_in)),
    (nn.xavier_normal_conv, "xavier_normal_",
     lambda fan_in, fan_out: np.sqrt(2 / (fan_in + fan_out))),
])
@pytest.mark.parametrize("shape", [(64, 16, 3, 3), (20, 1, 5, 5), (8, 32, 1, 1)])
def test_convolution_initialiser_scales_count_kernel_fans_as_pytorch_does(
        init: Any, torch_init: str, std: Any, shape: tuple[int, int, int, int]) -> None:
    torch = pytest.importorskip("torch")  # the dev extra: present wherever the suite runs
    w = np.asarray(init(*shape, seed=0))
    assert w.shape == shape and w.dtype == np.float32
    o, c, kh, kw = shape
    want = std(c * kh * kw, o * kh * kw)
    # PyTorch's fans are ours, exactly (a sample std of its draws would be noisy: 256
    # weights give about 4% of spread, and an unseeded draw fails a 10% bound now and then)
    fans = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert fans == (c * kh * kw, o * kh * kw)
    assert callable(getattr(torch.nn.init, torch_init))
    assert w.std() == pytest.approx(want, rel=0.05) and abs(w.mean()) < 0.05 * want
    np.testing.assert_array_equal(w, np.asarray(init(*shape, seed=0)))
    assert np.asarray(init(2, 1, 3, 3, seed=0, dtype=np.float64)).dtype == np.float64
    layer = nn.Conv2d(init(*shape, seed=1), nn.zero_bias(o, seed=0))  # what Conv2d takes
    assert layer.kernel == (kh, kw)
    with pytest.raises(nn.NetworkError, match="in_channels"):
        init(4, 0, 3, 3, seed=0)


def test_bias_initialisers() -> None:
    np.testing.assert_array_equal(np.asarray(nn.zero_bias(5, seed=0)), 0.0)
    b = np.asarray(nn.small_normal_bias(10_000, seed=0))
    assert b.std() == pytest.approx(0.01, rel=0.05)
    net = nn.mlp(3, 2, [], [nn.Identity], bias_init=nn.small_normal_bias, seed=1)
    layer = net[0]
    assert isinstance(layer, nn.Linear) and np.asarray(layer.b).std() > 0


def test_chain_builds_the_same_list() -> None:
    w1, w2 = Matrix.ones(4, 3), Matrix.ones(3, 2)
    bn = nn.Batchnorm1d.init(3)
    net = (nn.Chain().then(nn.LinearNoBias(w1)).then(bn).then(nn.Activation(nn.Relu))
           .then(nn.LinearNoBias(w2)).network)
    assert [type(layer).__name__ for layer in net] == [
        "LinearNoBias", "Batchnorm1d", "Activation", "LinearNoBias"]
    assert net[1] is bn and nn.check_network(net, 4) == 2


def test_seed_002_breast_cancer_classifier() -> None:
    """30 -> 20 -> BN -> tanh -> 10 -> BN -> tanh -> 1 -> sigmoid, SGD, batch 50, 100 steps.

    Seed 002 sums its loss over the batch with lr 0.01; our gradients are of the mean, so
    the same steps take lr 0.01 * 50 = 0.5. It reports the test accuracy, about 95%.
    """
    from sklearn.datasets import load_breast_cancer  # a dev dependency: never skipped

    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(axis=0)) / x.std(axis=0)).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:455], order[455:]
    net = nn.mlp(30, 1, [20, 10], [nn.Tanh, nn.Tanh, nn.Identity], num_bn_layers=2,
                 weight_init=nn.standard_normal, seed=0)  # seed 002 draws randn weights
    opt: nn.Optimizer = nn.SGD(lr=0.5)
    bce = nn.SigmoidBinaryCrossEntropy()
    xs, ts = Matrix.from_numpy(x), nn.binary_targets(y)
    rng = np.random.default_rng(1)
    losses = []
    for _ in range(100):
        batch = rng.choice(train, size=50, replace=False)
        pred, grads = nn.pass_(nn.Phase.TRAIN, net, xs[batch], ts[batch], loss=bce)
        losses.append(nn.loss(pred, ts[batch], loss=bce))
        net, opt = opt.update(net, grads)
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])
    assert nn.accuracy(nn.forward(net, xs[test], loss=bce), y[test]) > 0.9
