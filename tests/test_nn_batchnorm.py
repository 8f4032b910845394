"""Batchnorm's behaviour: seed 002's checks, running statistics, and the EVAL phase."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import nn
from nn._batchnorm import inverse_std, normalise, statistics
from typedarr import Matrix, Vector

F64 = np.float64


def layer_output(layer: nn.Batchnorm1d, x: Matrix) -> Matrix:
    """The layer's TRAIN-phase output, by the functions `pass_` uses (the prediction `pass_`
    returns is its softmax: `test_the_pass_normalises_with_batch_statistics` ties the two)."""
    mu, var = statistics(x)
    return normalise(x, mu, inverse_std(var, layer.eps), layer.gamma, layer.beta)


@given(seed=st.integers(0, 2**32 - 1), loc=st.floats(-50, 50), scale=st.floats(0.1, 20))
def test_output_has_mean_beta_and_std_abs_gamma(seed: int, loc: float, scale: float) -> None:
    """Seed 002: per feature, mean `beta` and standard deviation `|gamma|` (its eps, 1e-8)."""
    g = np.random.default_rng(seed)
    gamma, beta = g.normal(0, 2, 10), g.normal(0, 2, 10)
    layer = nn.Batchnorm1d(Vector.zeros(10, dtype=F64), Vector.ones(10, dtype=F64),
                           Vector.from_numpy(gamma), Vector.from_numpy(beta), eps=1e-8)
    x = Matrix.from_numpy(g.normal(loc, scale, (100, 10)))
    out = np.asarray(layer_output(layer, x))
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), np.abs(gamma), atol=1e-5)


def test_the_pass_normalises_with_batch_statistics() -> None:
    """What `pass_` feeds on from a batchnorm layer is the normalised batch."""
    g = np.random.default_rng(0)
    x = Matrix.from_numpy(g.normal(3, 2, (50, 4)))
    layer = nn.Batchnorm1d.init(4, dtype=F64)
    uniform = Matrix.replicate(50, 4, 0.25, dtype=F64)  # a target: rows are distributions
    pred, grads = nn.pass_(nn.Phase.TRAIN, [layer], x, uniform)
    expected = np.asarray(nn.softmax(layer_output(layer, x)))
    np.testing.assert_array_equal(np.asarray(pred), expected)
    # ... and the same in numpy, independently of nn's functions
    a = np.asarray(x)
    z = ((a - a.mean(axis=0)) / np.sqrt(a.var(axis=0) + layer.eps) * np.asarray(layer.gamma)
         + np.asarray(layer.beta))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(np.asarray(pred), e / e.sum(axis=1, keepdims=True), rtol=1e-12)
    stats = grads[0]
    assert isinstance(stats, nn.BN1)
    np.testing.assert_allclose(np.asarray(stats.batch_mu), np.asarray(x).mean(axis=0))
    np.testing.assert_allclose(np.asarray(stats.batch_var), np.asarray(x).var(axis=0))


def test_running_statistics_converge_to_the_data() -> None:
    """Seed 002: 100 batches of mean 42, std 10 drive the running mean to 42 +- 1 and the
    running variance to 100 +- 5, from running statistics that start at zero."""
    g = np.random.default_rng(42)
    zeros = Vector.zeros(20)
    net: list[nn.Layer] = [nn.Batchnorm1d(zeros, zeros, Vector.ones(20), zeros)]
    target = Matrix.replicate(1000, 20, 0.05)  # a target: rows are distributions
    for _ in range(100):
        x = Matrix.from_numpy(g.normal(42, 10, (1000, 20)).astype(np.float32))
        _, grads = nn.pass_(nn.Phase.TRAIN, net, x, target)
        net = nn.update_batch_statistics(net, grads)
    layer = net[0]
    assert isinstance(layer, nn.Batchnorm1d)
    np.testing.assert_allclose(np.asarray(layer.mu), 42, atol=1)
    np.testing.assert_allclose(np.asarray(layer.var), 100, atol=5)


def test_optimiser_updates_move_running_statistics() -> None:
    layer = nn.Batchnorm1d(Vector.from_list([1.0, 2.0]), Vector.from_list([3.0, 4.0]),
                           Vector.ones(2), Vector.zeros(2), momentum=0.75)
    grads: list[nn.Gradients] = [nn.BN1(Vector.from_list([5.0, 6.0]), Vector.from_list([7.0, 8.0]),
                                        Vector.zeros(2), Vector.zeros(2))]
    for opt in (nn.SGD(lr=0.1), nn.SGD(lr=0.1, momentum=0.9), nn.Adam(), nn.RMSprop()):
        new, _ = opt.update([layer], grads)
        moved = new[0]
        assert isinstance(moved, nn.Batchnorm1d)
        np.testing.assert_allclose(np.asarray(moved.mu), [2.0, 3.0])
        np.testing.assert_allclose(np.asarray(moved.var), [4.0, 5.0])
        assert moved.momentum == 0.75 and moved.eps == layer.eps


def test_eval_uses_running_statistics() -> None:
    mu, var = np.array([1.0, -2.0, 0.5]), np.array([4.0, 0.25, 1.0])
    gamma, beta = np.array([2.0, -1.0, 0.5]), np.array([0.1, 0.2, 0.3])
    mu_v, var_v, gamma_v, beta_v = (Vector.from_numpy(a) for a in (mu, var, gamma, beta))
    layer = nn.Batchnorm1d(mu_v, var_v, gamma_v, beta_v, eps=1e-5)
    x = np.random.default_rng(1).normal(5, 3, (6, 3))
    want = gamma * (x - mu) / np.sqrt(var + 1e-5) + beta
    logits = np.asarray(nn.forward([layer], Matrix.from_numpy(x)))
    shifted = np.exp(want - want.max(axis=1, keepdims=True))
    np.testing.assert_allclose(logits, shifted / shifted.sum(axis=1, keepdims=True), rtol=1e-12)
    pred, grads = nn.pass_(nn.Phase.EVAL, [layer], Matrix.from_numpy(x), nn.one_hot(
        [0, 1, 2, 0, 1, 2], 3, dtype=F64))
    np.testing.assert_array_equal(np.asarray(pred), logits)
    stats = grads[0]
    assert isinstance(stats, nn.BN1)
    np.testing.assert_array_equal(np.asarray(stats.batch_mu), mu)  # the running ones


def test_eval_is_deterministic_and_independent_of_the_batch() -> None:
    """EVAL predicts each row alone: a row's prediction does not depend on its batch."""
    net = nn.mlp(4, 3, [8], [nn.Relu, nn.Identity], num_bn_layers=1, dropout=0.5, seed=0)
    x = Matrix.from_numpy(np.random.default_rng(2).normal(size=(10, 4)).astype(np.float32))
    first, again = np.asarray(nn.forward(net, x)), np.asarray(nn.forward(net, x))
    np.testing.assert_array_equal(first, again)
    single = np.asarray(nn.forward(net, x[3:4]))
    np.testing.assert_allclose(single[0], first[3], rtol=1e-6)
    pred, _ = nn.pass_(nn.Phase.EVAL, net, x, nn.one_hot(np.zeros(10, np.intp), 3))
    np.testing.assert_array_equal(np.asarray(pred), first)


def test_train_phase_differs_from_eval() -> None:
    """TRAIN normalises with the batch: with running statistics far from it, outputs differ."""
    layer = nn.Batchnorm1d(Vector.replicate(2, 100.0), Vector.ones(2), Vector.ones(2),
                           Vector.zeros(2))
    x = Matrix.from_list([[1.0, 2.0], [3.0, 5.0]])
    target = nn.one_hot([0, 1], 2)
    train, _ = nn.pass_(nn.Phase.TRAIN, [layer], x, target)
    evaluated, _ = nn.pass_(nn.Phase.EVAL, [layer], x, target)
    assert not np.allclose(np.asarray(train), np.asarray(evaluated))
