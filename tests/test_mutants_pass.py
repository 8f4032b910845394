"""Tests that kill mutants of `nn/_pass.py` which the rest of the suite let live
(scripts/mutation.sh): dropout's inverted scaling, the EVAL phase's formulas, invalid values
reported as the layer that made them (not as numpy's warning), and what errors name.

The gradient tests check dropout against finite differences with the mask held fixed, which
holds whatever the scale of the kept values, so the scale is pinned here by its value. The
EVAL tests compared `forward` with `pass_` on networks whose biases were all zero, so a
wrong bias sign in `forward` went unseen: here both are held to numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nn
from typedarr import Matrix, Vector

Array = np.ndarray[Any, np.dtype[Any]]


@pytest.mark.parametrize("p", [0.25, 0.5, 0.8])
def test_dropout_keeps_values_scaled_by_one_over_one_minus_p(p: float) -> None:
    # Column 0 holds the values, column 1 zeros: the softmax's log-odds of the two columns
    # give back column 0 after dropout, which must be 0 or x / (1 - p).
    x = np.stack([np.linspace(0.5, 3.0, 200), np.zeros(200)], axis=1)
    target = nn.one_hot(np.zeros(200, np.intp), 2, dtype=np.float64)
    pred, _ = nn.pass_(nn.Phase.TRAIN, [nn.Dropout(p)], Matrix.from_numpy(x), target,
                       rng=np.random.default_rng(0))
    probs = np.asarray(pred)
    after = np.log(probs[:, 0]) - np.log(probs[:, 1])
    kept = ~np.isclose(after, 0.0, atol=1e-12)
    np.testing.assert_allclose(after[kept], x[kept, 0] / (1 - p), rtol=1e-12)
    np.testing.assert_allclose(after[~kept], 0.0, atol=1e-12)
    # Both outcomes occur, about as often as p says (200 draws: within 5 standard errors).
    assert abs((~kept).mean() - p) < 5 * np.sqrt(p * (1 - p) / 200)


def _numpy_eval(net: list[nn.Layer], x: Array) -> Array:
    """The EVAL phase of `net` written out in numpy, then softmax."""
    acts: dict[nn.FActivation, Callable[[Array], Array]] = {
        nn.Relu: lambda a: np.maximum(a, 0), nn.Tanh: np.tanh,
            nn.Sigmoid: lambda a: 1 / (1 + np.exp(-a)), nn.Identity: lambda a: a}
    for layer in net:
        match layer:
            case nn.Linear(w, b):
                x = x @ np.asarray(w) + np.asarray(b)
            case nn.LinearNoBias(w):
                x = x @ np.asarray(w)
            case nn.Batchnorm1d(mu, var, gamma, beta):
                x = ((x - np.asarray(mu)) / np.sqrt(np.asarray(var) + layer.eps)
                     * np.asarray(gamma) + np.asarray(beta))
            case nn.Activation(f):
                x = acts[f](x)
            case nn.Dropout():
                pass
    e = np.exp(x - x.max(axis=1, keepdims=True))
    out: Array = e / e.sum(axis=1, keepdims=True)
    return out


def test_forward_and_the_eval_pass_are_the_numpy_network() -> None:
    """Every layer kind with parameters far from their initial values (biases non-zero,
    running statistics away from 0 and 1), so each one's formula shows in the output."""
    g = np.random.default_rng(3)

    def vec(n: int, low: float = -1.0, high: float = 1.0) -> Vector:
        return Vector.from_numpy(g.uniform(low, high, n))

    net: list[nn.Layer] = [
        nn.Linear(Matrix.from_numpy(g.normal(size=(4, 6))), vec(6)),
        nn.Batchnorm1d(vec(6), vec(6, 0.5, 2.0), vec(6, 0.5, 1.5), vec(6)),
        nn.Activation(nn.Tanh), nn.Dropout(0.5),
        nn.LinearNoBias(Matrix.from_numpy(g.normal(size=(6, 5)))),
        nn.Activation(nn.Relu),
        nn.Linear(Matrix.from_numpy(g.normal(size=(5, 3))), vec(3, 1.0, 3.0)),
        nn.Activation(nn.Sigmoid),
    ]
    x = g.normal(size=(7, 4))
    want = _numpy_eval(net, x)
    np.testing.assert_allclose(np.asarray(nn.forward(net, Matrix.from_numpy(x))), want,
                               rtol=1e-12)
    pred, _ = nn.pass_(nn.Phase.EVAL, net, Matrix.from_numpy(x),
                       nn.one_hot(np.arange(7) % 3, 3, dtype=np.float64))
    np.testing.assert_allclose(np.asarray(pred), want, rtol=1e-12)


_HUGE = Matrix.from_numpy(np.full((3, 2), 1e308))  # x @ w overflows


def _overflowing() -> list[nn.Layer]:
    w = Matrix.from_numpy(np.array([[10.0, 1.0], [-10.0, 1.0]]))
    return [nn.Linear(w, Vector.zeros(2, dtype=np.float64))]


def test_forward_reports_an_invalid_value_as_the_layer_that_made_it() -> None:
    """inf - inf inside a layer (numpy's matmul would warn) is the layer's NetworkError.

    Finite weights and inputs whose products overflow: a layer cannot hold infinite weights.
    """
    with pytest.raises(nn.NetworkError, match=r"layer 0 \(Linear 2->2\)"):
        nn.forward(_overflowing(), _HUGE)


@pytest.mark.parametrize("phase", list(nn.Phase), ids=lambda p: p.name)
def test_pass_reports_an_invalid_value_as_the_layer_that_made_it(phase: nn.Phase) -> None:
    target = nn.one_hot([0, 1, 0], 2, dtype=np.float64)
    # nan or inf: whether BLAS fuses the multiply-add decides (fma(x, -w, inf) is inf)
    with pytest.raises(nn.NetworkError,
                       match=r"output of layer 0 \(Linear 2->2\) holds (nan|inf)"):
        nn.pass_(phase, _overflowing(), _HUGE, target)


def test_pass_and_forward_name_what_they_refuse() -> None:
    x, target = Matrix.ones(3, 2), nn.one_hot([0, 1, 0], 2)
    net: list[nn.Layer] = [nn.Linear(Matrix.ones(2, 2), Vector.zeros(2))]
    with pytest.raises(TypeError, match=r"^rng must be a numpy.random.Generator, got int$"):
        nn.pass_(nn.Phase.TRAIN, net, x, target, rng=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^x must be a typedarr Matrix, got ndarray"):
        nn.pass_(nn.Phase.TRAIN, net, np.ones((3, 2)), target)  # type: ignore[arg-type]
    with pytest.raises(nn.NetworkError, match=r"^x has no rows"):
        nn.pass_(nn.Phase.TRAIN, net, Matrix.ones(0, 2), Matrix.zeros(0, 2))
    with pytest.raises(nn.NetworkError, match=r"^output \(SoftmaxCrossEntropy\): cannot subtract"):
        nn.pass_(nn.Phase.TRAIN, net, x, nn.one_hot([0, 1, 0], 2, dtype=np.float64))
    with pytest.raises(nn.NetworkError, match=r"^layer 1 is not a layer: 3"):
        nn.forward([*net, 3], x)  # type: ignore[list-item]
