"""`pass_`'s gradients against central finite differences, in float64.

For every parameter element `p`, the numerical gradient is `(L(p + h) - L(p - h)) / 2h`
with `h = 1e-6`, where `L` is the mean loss of the prediction `pass_` returns (`nn.loss`).
In float64 its error is about `h**2 * L''' + 1e-16 * L / h`, below 1e-9 for these O(1)
losses, so every analytical gradient must satisfy
`|analytic - numeric| <= 1e-7 + 1e-6 * |numeric|` (TOLERANCE). Each case covers one layer
kind or a whole network: batchnorm before and after the activation, in TRAIN (batch
statistics) and EVAL (running statistics), dropout with its mask fixed by a seeded rng,
and the sigmoid / binary cross-entropy output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

import nn
from nn._batchnorm import backward, backward_seed001, backward_steps, inverse_std, statistics
from typedarr import Matrix, Vector

H = 1e-6
ATOL, RTOL = 1e-7, 1e-6
F64 = np.float64
SOFTMAX = nn.SoftmaxCrossEntropy()

# (layer field, Gradients field) for every learnable parameter of each layer kind
PARAMS: dict[type, list[tuple[str, str]]] = {
    nn.Linear: [("w", "dw"), ("b", "db")],
    nn.LinearNoBias: [("w", "dw")],
    nn.Batchnorm1d: [("gamma", "dgamma"), ("beta", "dbeta")],
}


def rand(*shape: int, seed: int, scale: float = 1.0) -> np.ndarray[Any, Any]:
    return np.random.default_rng(seed).normal(0.0, scale, shape)


def linear(n_in: int, n_out: int, seed: int) -> nn.Linear:
    return nn.Linear(Matrix.from_numpy(rand(n_in, n_out, seed=seed, scale=0.7)),
                     Vector.from_numpy(rand(n_out, seed=seed + 1, scale=0.3)))


def batchnorm(n: int, seed: int) -> nn.Batchnorm1d:
    """Non-trivial running statistics and affine parameters, so EVAL checks use them."""
    g = np.random.default_rng(seed)
    return nn.Batchnorm1d(Vector.from_numpy(g.normal(0, 0.5, n)),
                          Vector.from_numpy(g.uniform(0.5, 2.0, n)),
                          Vector.from_numpy(g.uniform(0.5, 1.5, n)),
                          Vector.from_numpy(g.normal(0, 0.3, n)))


def data(rows: int, cols: int, classes: int, seed: int) -> tuple[Matrix, Matrix]:
    labels = np.random.default_rng(seed + 7).integers(0, classes, rows)
    return Matrix.from_numpy(rand(rows, cols, seed=seed)), nn.one_hot(labels, classes, dtype=F64)


def with_value(net: list[nn.Layer], i: int, field: str, value: np.ndarray[Any, Any]
               ) -> list[nn.Layer]:
    array = Matrix.from_numpy(value) if value.ndim == 2 else Vector.from_numpy(value)
    new = list(net)
    new[i] = replace(net[i], **{field: array})  # type: ignore[arg-type]
    return new


def check_gradients(net: list[nn.Layer], x: Matrix, target: Matrix, *,
                    phase: nn.Phase = nn.Phase.TRAIN, loss: nn.Loss = SOFTMAX,
                    rng_seed: int | None = None) -> int:
    """Assert every parameter gradient of `net` matches finite differences; count them."""
    def run(candidate: list[nn.Layer]) -> tuple[Matrix, list[nn.Gradients]]:
        rng = None if rng_seed is None else np.random.default_rng(rng_seed)
        return nn.pass_(phase, candidate, x, target, loss=loss, rng=rng)

    def objective(candidate: list[nn.Layer]) -> float:
        return nn.loss(run(candidate)[0], target, loss=loss)

    _, grads = run(net)
    checked = 0
    for i, layer in enumerate(net):
        for field, grad_field in PARAMS.get(type(layer), []):
            analytic = np.asarray(getattr(grads[i], grad_field))
            numeric = numerical_gradient(objective, net, i, field)
            np.testing.assert_allclose(analytic, numeric, rtol=RTOL, atol=ATOL,
                                       err_msg=f"layer {i} {type(layer).__name__}.{field}")
            checked += numeric.size
    return checked


def numerical_gradient(objective: Callable[[list[nn.Layer]], float], net: list[nn.Layer],
                       i: int, field: str) -> np.ndarray[Any, Any]:
    base = np.asarray(getattr(net[i], field)).astype(F64)
    out = np.zeros_like(base)
    for k in np.ndindex(base.shape):
        up, down = base.copy(), base.copy()
        up[k] += H
        down[k] -= H
        out[k] = (objective(with_value(net, i, field, up))
                  - objective(with_value(net, i, field, down))) / (2 * H)
    return out


def test_linear() -> None:
    x, t = data(6, 4, 3, seed=1)
    assert check_gradients([linear(4, 3, seed=2)], x, t) == 15


def test_linear_no_bias() -> None:
    x, t = data(6, 4, 3, seed=3)
    w = Matrix.from_numpy(rand(4, 3, seed=4))
    assert check_gradients([nn.LinearNoBias(w)], x, t) == 12


@pytest.mark.parametrize("phase", list(nn.Phase), ids=lambda p: p.name)
def test_batchnorm(phase: nn.Phase) -> None:
    x, t = data(7, 4, 4, seed=5)
    assert check_gradients([batchnorm(4, seed=6)], x, t, phase=phase) == 8


@pytest.mark.parametrize("f", list(nn.FActivation), ids=lambda f: f.name)
def test_activation(f: nn.FActivation) -> None:
    """An activation between two linear layers, so the first one's gradients pass through it."""
    x, t = data(6, 3, 3, seed=8)
    net: list[nn.Layer] = [linear(3, 5, seed=9), nn.Activation(f), linear(5, 3, seed=10)]
    assert check_gradients(net, x, t) == 20 + 18


def test_dropout_with_a_fixed_mask() -> None:
    x, t = data(6, 3, 3, seed=11)
    net: list[nn.Layer] = [linear(3, 8, seed=12), nn.Dropout(0.4), linear(8, 3, seed=13)]
    assert check_gradients(net, x, t, rng_seed=14) == 32 + 27


@pytest.mark.parametrize("phase", list(nn.Phase), ids=lambda p: p.name)
@pytest.mark.parametrize("order", ["bn_then_activation", "activation_then_bn"])
def test_network_with_batchnorm(order: str, phase: nn.Phase) -> None:
    """Seed 000's network shape, with batchnorm before (the seed's choice) or after ReLU."""
    x, t = data(8, 4, 3, seed=15)
    blocks: list[nn.Layer] = []
    for k, (n_in, n_out) in enumerate([(4, 6), (6, 5)]):
        pair: list[nn.Layer] = [batchnorm(n_out, seed=20 + k), nn.Activation(nn.Relu)]
        w = Matrix.from_numpy(rand(n_in, n_out, seed=16 + k))
        blocks += [nn.LinearNoBias(w), *(pair if order == "bn_then_activation" else pair[::-1])]
    net = [*blocks, linear(5, 3, seed=18)]
    assert check_gradients(net, x, t, phase=phase) == 24 + 12 + 30 + 10 + 18


def test_network_with_everything() -> None:
    """Every layer kind at once, through nn.mlp, dropout on (its mask fixed)."""
    net = nn.mlp(3, 3, [5, 4], [nn.Tanh, nn.Sigmoid, nn.Identity], num_bn_layers=2,
                 weight_init=nn.he_normal, bias_init=nn.small_normal_bias, seed=3,
                 dropout=0.3, dtype=F64)
    x, t = data(9, 3, 3, seed=19)
    assert check_gradients(net, x, t, rng_seed=0) == (15 + 5 + 10) + (20 + 4 + 8) + (12 + 3)


@pytest.mark.parametrize("outputs", [1, 2])
def test_sigmoid_binary_cross_entropy(outputs: int) -> None:
    """Seed 002's binary classifier shape: linear, batchnorm, tanh, ..., sigmoid."""
    x = Matrix.from_numpy(rand(8, 5, seed=21))
    target = Matrix.from_numpy((rand(8, outputs, seed=22) > 0).astype(F64))
    net: list[nn.Layer] = [linear(5, 4, seed=23), batchnorm(4, seed=24), nn.Activation(nn.Tanh),
                           linear(4, outputs, seed=25)]
    checked = check_gradients(net, x, target, loss=nn.SigmoidBinaryCrossEntropy())
    assert checked == 24 + 8 + 5 * outputs


def test_compact_backward_equals_the_nine_steps() -> None:
    """Seed 001's compact formula, its simplification (`backward`, used in training) and seed
    000's step-by-step derivation: the same gradient."""
    x, dz = Matrix.from_numpy(rand(50, 7, seed=26, scale=3.0)), Matrix.from_numpy(
        rand(50, 7, seed=27))
    gamma = Vector.from_numpy(rand(7, seed=28))
    eps = 1e-5
    mu, var = statistics(x)
    steps = backward_steps(x, mu, var, gamma, dz, eps)
    for formula in (backward, backward_seed001):
        got_all = formula(x, mu, inverse_std(var, eps), gamma, dz)
        for got, want, name in zip(got_all, steps, ["dx", "dgamma", "dbeta"], strict=True):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-10,
                                       atol=1e-12, err_msg=f"{formula.__name__}: {name}")
    # ... and the textbook formula in numpy, independently of nn's functions
    a, g, d = np.asarray(x), np.asarray(gamma), np.asarray(dz)
    ivar = 1 / np.sqrt(a.var(axis=0) + eps)
    xhat = (a - a.mean(axis=0)) * ivar
    dbeta, dgamma = d.sum(axis=0), (d * xhat).sum(axis=0)
    dx = g * ivar / len(a) * (len(a) * d - dbeta - xhat * dgamma)
    for got, want in zip(steps, (dx, dgamma, dbeta), strict=True):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)


def test_compact_backward_equals_the_nine_steps_in_float32() -> None:
    x = Matrix.from_numpy(rand(100, 30, seed=29, scale=2.0).astype(np.float32))
    dz = Matrix.from_numpy(rand(100, 30, seed=30).astype(np.float32))
    gamma = Vector.from_numpy(rand(30, seed=31).astype(np.float32))
    mu, var = statistics(x)
    steps = backward_steps(x, mu, var, gamma, dz, 1e-5)
    for formula in (backward, backward_seed001):
        got_all = formula(x, mu, inverse_std(var, 1e-5), gamma, dz)
        for got, want in zip(got_all, steps, strict=True):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-4)
