"""Softmax, log-sum-exp and the losses: hypothesis laws, numpy as the oracle; labels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nn
from typedarr import Matrix

Array = np.ndarray[Any, Any]
DTYPES = st.sampled_from([np.float32, np.float64])


@st.composite
def logits(draw: st.DrawFn, bound: float = 1e4) -> Array:
    """Matrices of logits up to +-bound (exp overflows beyond 88 in float32, 709 in float64)."""
    dtype = draw(DTYPES)
    shape = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    if dtype == np.float32:
        limit = float(np.float32(bound))
        elements = st.floats(-limit, limit, width=32)
    else:
        elements = st.floats(-bound, bound)
    x: Array = draw(arrays(dtype, shape, elements=elements))
    return x


def reference_logsumexp(x: Array) -> Array:
    x = x.astype(np.float64)
    m = x.max(axis=1)
    out: Array = m + np.log(np.exp(x - m[:, None]).sum(axis=1))
    return out


@given(x=logits())
def test_softmax_rows_are_probabilities(x: Array) -> None:
    p = np.asarray(nn.softmax(Matrix.from_numpy(x)))
    assert p.dtype == x.dtype and np.isfinite(p).all()
    assert ((p >= 0) & (p <= 1)).all()
    tol = 1e-5 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=tol * x.shape[1])


@given(x=logits(bound=1e30))
def test_logsumexp_is_stable_for_huge_logits(x: Array) -> None:
    got = np.asarray(nn.logsumexp(Matrix.from_numpy(x)))
    assert np.isfinite(got).all()
    want = reference_logsumexp(x)
    tol = 1e-6 if x.dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert (got >= x.max(axis=1)).all()  # log(sum(exp)) is at least the largest term


@given(x=logits(bound=100.0), shift=st.floats(-1e3, 1e3))
def test_softmax_ignores_a_constant_shift(x: Array, shift: float) -> None:
    x = x.astype(np.float64)
    a = np.asarray(nn.softmax(Matrix.from_numpy(x)))
    b = np.asarray(nn.softmax(Matrix.from_numpy(x + shift)))
    np.testing.assert_allclose(a, b, atol=1e-10)


@given(x=logits(bound=50.0), seed=st.integers(0, 2**32 - 1))
def test_cross_entropy_of_softmax_is_logsumexp_minus_the_target_logit(x: Array,
                                                                      seed: int) -> None:
    x = x.astype(np.float64)
    labels = np.random.default_rng(seed).integers(0, x.shape[1], x.shape[0])
    target = nn.one_hot(labels, x.shape[1], dtype=np.float64)
    pred = nn.softmax(Matrix.from_numpy(x))
    want = np.mean(reference_logsumexp(x) - x[np.arange(x.shape[0]), labels])
    assert nn.cross_entropy(pred, target) == pytest.approx(want, rel=1e-9, abs=1e-12)
    # the empty network: pass_ applies softmax to its input and returns no gradients
    got, grads = nn.pass_(nn.Phase.TRAIN, [], Matrix.from_numpy(x), target)
    np.testing.assert_allclose(np.asarray(got), np.asarray(pred), rtol=1e-15)
    assert grads == []


def test_cross_entropy_stays_finite_when_a_probability_underflows() -> None:
    pred = nn.softmax(Matrix.from_list([[0.0, 200.0]]))  # class 0 gets exp(-200): 0 in float32
    loss = nn.cross_entropy(pred, nn.one_hot([0], 2))
    assert loss == pytest.approx(-np.log(np.finfo(np.float32).tiny))


def test_binary_cross_entropy_against_numpy() -> None:
    g = np.random.default_rng(0)
    p, t = g.uniform(0.01, 0.99, (7, 2)), (g.uniform(size=(7, 2)) > 0.5).astype(np.float64)
    want = -np.mean(np.sum(t * np.log(p) + (1 - t) * np.log(1 - p), axis=1))
    got = nn.binary_cross_entropy(Matrix.from_numpy(p), Matrix.from_numpy(t))
    assert got == pytest.approx(want, rel=1e-12)
    assert nn.loss(Matrix.from_numpy(p), Matrix.from_numpy(t),
                   loss=nn.SigmoidBinaryCrossEntropy()) == got


def test_sigmoid_output_of_pass_and_forward() -> None:
    x = Matrix.from_list([[-2.0], [0.0], [3.0]], dtype=np.float64)
    target = Matrix.from_list([[0.0], [1.0], [1.0]], dtype=np.float64)
    pred, _ = nn.pass_(nn.Phase.TRAIN, [], x, target, loss=nn.SigmoidBinaryCrossEntropy())
    want = 1 / (1 + np.exp(-np.asarray(x)))
    np.testing.assert_allclose(np.asarray(pred), want, rtol=1e-15)
    evaluated = nn.forward([], x, loss=nn.SigmoidBinaryCrossEntropy())
    np.testing.assert_array_equal(np.asarray(evaluated), np.asarray(pred))


def test_one_hot() -> None:
    m = nn.one_hot(np.array([1, 0, 2, 1], dtype=np.uint8), 3, dtype=np.float64)
    assert m.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(m), np.eye(3)[[1, 0, 2, 1]])
    assert nn.one_hot([], 4).shape == (0, 4)


def test_accuracy() -> None:
    pred = Matrix.from_list([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
    assert nn.accuracy(pred, [0, 2, 0]) == pytest.approx(2 / 3)
    assert nn.accuracy(pred, nn.one_hot([0, 2, 1], 3)) == 1.0
    binary = Matrix.from_list([[0.2], [0.6], [0.5]])
    assert nn.accuracy(binary, [0, 1, 0]) == pytest.approx(2 / 3)
    assert nn.accuracy(binary, Matrix.from_list([[0.0], [1.0], [1.0]])) == 1.0
    with pytest.raises(nn.NetworkError, match="2 labels for 3 predictions"):
        nn.accuracy(pred, [0, 1])
    with pytest.raises(nn.NetworkError, match="target has shape"):
        nn.accuracy(pred, nn.one_hot([0, 1, 2], 4))
