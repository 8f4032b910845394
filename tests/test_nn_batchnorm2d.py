"""Per-channel batchnorm maths (seed 003): its sanity input, the output's statistics, the
per-feature batchnorm it reduces to at 1x1 images, and central finite differences in
float64 for the backward pass in both phases."""

from __future__ import annotations

from typing import Any

import numpy as np
from _finite_differences import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st

from nn import _batchnorm, _batchnorm2d
from typedarr import Matrix, Tensor4, Vector

Array = np.ndarray[Any, np.dtype[Any]]
F64 = np.float64
# Seed 003's `B`: it lists 17 numbers for a (2, 2, 2, 2) reshape; the first 16 are used.
SEED_003_B = np.array([1, 6, 5, 7, 4, 3, 2, 5, 6, 3, 2, 4, 5, 3, 2, 5], F64).reshape(2, 2, 2, 2)


def _train_output(x: Array, gamma: Array, beta: Array, eps: float) -> Array:
    t = Tensor4.from_numpy(x)
    mu, var = _batchnorm2d.statistics(t)
    out = _batchnorm2d.normalise(t, mu, _batchnorm2d.inverse_std(var, eps),
                                 Vector.from_numpy(gamma), Vector.from_numpy(beta))
    return np.asarray(out)


def test_seed_003_sanity_input() -> None:
    """`pure_batch_norm(B, gamma=[1, 1], beta=[0, 0])`: each channel mean 0, variance 1."""
    out = _train_output(SEED_003_B, np.ones(2), np.zeros(2), 1e-5)
    mean = SEED_003_B.mean(axis=(0, 2, 3), keepdims=True)
    var = ((SEED_003_B - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(out, (SEED_003_B - mean) / np.sqrt(var + 1e-5), rtol=1e-12)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1.0, rtol=1e-4)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(-20, 20), st.floats(0.1, 10))
def test_output_has_mean_beta_and_std_abs_gamma(seed: int, loc: float, scale: float) -> None:
    g = np.random.default_rng(seed)
    gamma, beta = g.normal(0, 2, 3), g.normal(0, 2, 3)
    out = _train_output(g.normal(loc, scale, (8, 3, 5, 4)), gamma, beta, 1e-8)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), beta, atol=1e-6)
    # eps shrinks the std by a factor sqrt(var / (var + eps)): 1e-6 relative at most here
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), np.abs(gamma), rtol=1e-5)


def test_one_by_one_images_are_per_feature_batchnorm() -> None:
    g = np.random.default_rng(1)
    x, dz = g.normal(size=(6, 4)), g.normal(size=(6, 4))
    gamma = Vector.from_numpy(g.normal(size=4))
    mu, var = _batchnorm.statistics(Matrix.from_numpy(x))
    ivar = _batchnorm.inverse_std(var, 1e-5)
    want = _batchnorm.backward(Matrix.from_numpy(x), mu, ivar, gamma, Matrix.from_numpy(dz))
    t = Tensor4.from_numpy(x.reshape(6, 4, 1, 1))
    mu4, var4 = _batchnorm2d.statistics(t)
    np.testing.assert_allclose(np.asarray(mu4), np.asarray(mu), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(var4), np.asarray(var), rtol=1e-12)
    got = _batchnorm2d.backward(t, mu4, ivar, gamma, Tensor4.from_numpy(dz.reshape(6, 4, 1, 1)))
    np.testing.assert_allclose(np.asarray(got[0]).reshape(6, 4), np.asarray(want[0]),
                               rtol=1e-10, atol=1e-12)
    for a, b in zip(got[1:], want[1:], strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12)


def test_training_backward_is_the_finite_difference_gradient() -> None:
    g = np.random.default_rng(2)
    x, r = g.normal(1, 2, (3, 2, 3, 4)), g.normal(size=(3, 2, 3, 4))
    gamma, beta = g.normal(size=2), g.normal(size=2)
    eps = 1e-5

    def loss(xv: Array, gv: Array, bv: Array) -> float:  # <out, r>: its gradient dz is r
        return float((_train_output(xv, gv, bv, eps) * r).sum())

    t = Tensor4.from_numpy(x)
    mu, var = _batchnorm2d.statistics(t)
    dx, dgamma, dbeta = _batchnorm2d.backward(t, mu, _batchnorm2d.inverse_std(var, eps),
                                              Vector.from_numpy(gamma), Tensor4.from_numpy(r))
    np.testing.assert_allclose(np.asarray(dx), numeric_gradient(lambda v: loss(v, gamma, beta), x),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.asarray(dgamma),
                               numeric_gradient(lambda v: loss(x, v, beta), gamma), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(dbeta),
                               numeric_gradient(lambda v: loss(x, gamma, v), beta), rtol=1e-6)


def test_evaluation_backward_is_the_finite_difference_gradient() -> None:
    g = np.random.default_rng(3)
    x, r = g.normal(size=(2, 3, 2, 2)), g.normal(size=(2, 3, 2, 2))
    mu, ivar = Vector.from_numpy(g.normal(size=3)), Vector.from_numpy(g.uniform(0.5, 2, 3))
    gamma, beta = g.normal(size=3), g.normal(size=3)

    def loss(xv: Array, gv: Array) -> float:
        out = _batchnorm2d.normalise(Tensor4.from_numpy(xv), mu, ivar, Vector.from_numpy(gv),
                                     Vector.from_numpy(beta))
        return float((np.asarray(out) * r).sum())

    dx, dgamma, dbeta = _batchnorm2d.backward_eval(
        Tensor4.from_numpy(x), mu, ivar, Vector.from_numpy(gamma), Tensor4.from_numpy(r))
    np.testing.assert_allclose(np.asarray(dx), numeric_gradient(lambda v: loss(v, gamma), x),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(np.asarray(dgamma), numeric_gradient(lambda v: loss(x, v), gamma),
                               rtol=1e-6)
    np.testing.assert_allclose(np.asarray(dbeta), r.sum(axis=(0, 2, 3)), rtol=1e-12)
