"""Optimisers: their formulas against hand-written numpy for three steps, and each one
reduces the loss of a small problem; training is bit-for-bit reproducible from its seeds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nn
from typedarr import Matrix, Vector

Array = np.ndarray[Any, Any]
F64 = np.float64


def network() -> list[nn.Layer]:
    g = np.random.default_rng(0)
    w, b = Matrix.from_numpy(g.normal(size=(3, 2))), Vector.from_numpy(g.normal(size=2))
    mu, var, gamma, beta = (Vector.from_numpy(g.uniform(0.5, 1.5, 2)) for _ in range(4))
    return [nn.Linear(w, b), nn.Batchnorm1d(mu, var, gamma, beta),
            nn.Activation(nn.Tanh),
            nn.LinearNoBias(Matrix.from_numpy(g.normal(size=(2, 2))))]


def gradients(step: int) -> list[nn.Gradients]:
    g = np.random.default_rng(100 + step)

    def v(n: int) -> Vector:
        return Vector.from_numpy(g.normal(size=n))

    return [nn.LinearGradients(Matrix.from_numpy(g.normal(size=(3, 2))), v(2)),
            nn.BN1(v(2), Vector.from_numpy(g.uniform(0.5, 2, 2)), v(2), v(2)), nn.NoGrad(),
            nn.LinearNoBiasGradients(Matrix.from_numpy(g.normal(size=(2, 2))))]


def parameters(net: list[nn.Layer]) -> tuple[list[Array], list[Array]]:
    """The learnable parameters and the running statistics, as numpy arrays."""
    learnable: list[Array] = []
    running: list[Array] = []
    for layer in net:
        match layer:
            case nn.Linear(w, b):
                learnable += [np.asarray(w), np.asarray(b)]
            case nn.LinearNoBias(w):
                learnable.append(np.asarray(w))
            case nn.Batchnorm1d(mu, var, gamma, beta):
                learnable += [np.asarray(gamma), np.asarray(beta)]
                running += [np.asarray(mu), np.asarray(var)]
    return learnable, running


def gradient_arrays(grads: list[nn.Gradients]) -> tuple[list[Array], list[Array]]:
    """The parameter gradients and the batch statistics, in `parameters`' order."""
    learnable: list[Array] = []
    batch: list[Array] = []
    for g in grads:
        match g:
            case nn.LinearGradients(dw, db):
                learnable += [np.asarray(dw), np.asarray(db)]
            case nn.LinearNoBiasGradients(dw):
                learnable.append(np.asarray(dw))
            case nn.BN1(mu, var, dgamma, dbeta):
                learnable += [np.asarray(dgamma), np.asarray(dbeta)]
                batch += [np.asarray(mu), np.asarray(var)]
    return learnable, batch


# The numpy references: one step for one parameter, given its state, returning the new one
Step = Callable[[Array, Array, list[Array], int], Array]


def sgd_ref(lr: float, momentum: float = 0.0, wd: float = 0.0) -> Step:
    def step(p: Array, g: Array, state: list[Array], t: int) -> Array:
        g = g + wd * p
        if not momentum:
            return p - lr * g
        state[0] = momentum * state[0] - lr * g  # seed 004's velocity
        return p + state[0]
    return step


def adam_ref(lr: float, b1: float, b2: float, eps: float, wd: float = 0.0) -> Step:
    def step(p: Array, g: Array, state: list[Array], t: int) -> Array:
        g = g + wd * p
        state[0] = b1 * state[0] + (1 - b1) * g
        state[1] = b2 * state[1] + (1 - b2) * g**2
        m_hat, v_hat = state[0] / (1 - b1**t), state[1] / (1 - b2**t)
        return p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return step


def rmsprop_ref(lr: float, decay: float, eps: float) -> Step:
    def step(p: Array, g: Array, state: list[Array], t: int) -> Array:
        state[0] = decay * state[0] + (1 - decay) * g**2
        return p - lr * g / (np.sqrt(state[0]) + eps)
    return step


CASES: list[tuple[str, nn.Optimizer, Step]] = [
    ("sgd", nn.SGD(lr=0.1), sgd_ref(0.1)),
    ("sgd-weight-decay", nn.SGD(lr=0.1, weight_decay=0.01), sgd_ref(0.1, wd=0.01)),
    ("momentum", nn.SGD(lr=0.1, momentum=0.9), sgd_ref(0.1, 0.9)),
    ("adam", nn.Adam(lr=0.01), adam_ref(0.01, 0.9, 0.999, 1e-8)),
    ("adam-custom", nn.Adam(lr=0.1, beta1=0.5, beta2=0.9, eps=1e-3, weight_decay=0.1),
     adam_ref(0.1, 0.5, 0.9, 1e-3, 0.1)),
    ("rmsprop", nn.RMSprop(lr=0.01), rmsprop_ref(0.01, 0.9, 1e-8)),
]


@pytest.mark.parametrize(("name", "opt", "ref"), CASES, ids=[c[0] for c in CASES])
def test_three_steps_match_numpy(name: str, opt: nn.Optimizer, ref: Step) -> None:
    net = network()
    want, running = parameters(net)
    state = [[np.zeros_like(p), np.zeros_like(p)] for p in want]
    for t in range(1, 4):
        grads = gradients(t)
        net, opt = opt.update(net, grads)
        g, batch = gradient_arrays(grads)
        want = [ref(p, dp, s, t) for p, dp, s in zip(want, g, state, strict=True)]
        # running = 0.9 * running + 0.1 * batch, from BN1's batch statistics
        running = [0.9 * r + 0.1 * b for r, b in zip(running, batch, strict=True)]
        got, got_running = parameters(net)
        for a, b in zip([*got, *got_running], [*want, *running], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"{name} step {t}")


def test_update_changes_nothing_in_place() -> None:
    net, grads = network(), gradients(1)
    before = [a.copy() for part in parameters(net) for a in part]
    new, _ = nn.Adam().update(net, grads)
    for a, b in zip([a for part in parameters(net) for a in part], before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert new is not net and new[2] is net[2]  # parameter-free layers are shared


def blobs(seed: int, n: int = 90) -> tuple[Matrix, Matrix]:
    """Three Gaussian clusters in 4-d: an easy problem every optimiser should make progress on."""
    g = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    centres = g.normal(0, 2.0, (3, 4))
    x = centres[labels] + g.normal(0, 1.0, (n, 4))
    return Matrix.from_numpy(x.astype(np.float32)), nn.one_hot(labels, 3)


def train(net: list[nn.Layer], opt: nn.Optimizer, x: Matrix, t: Matrix, steps: int, seed: int
          ) -> tuple[list[nn.Layer], list[float]]:
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(steps):
        pred, grads = nn.pass_(nn.Phase.TRAIN, net, x, t, rng=rng)
        losses.append(nn.loss(pred, t))
        net, opt = opt.update(net, grads)
    return net, losses


@pytest.mark.parametrize("opt", [nn.SGD(lr=0.5), nn.SGD(lr=0.1, momentum=0.9), nn.Adam(lr=0.02),
                                 nn.RMSprop(lr=0.01)], ids=["sgd", "momentum", "adam", "rmsprop"])
def test_each_optimiser_reduces_the_loss(opt: nn.Optimizer) -> None:
    x, t = blobs(0)
    net = nn.mlp(4, 3, [16], [nn.Relu, nn.Identity], num_bn_layers=1, seed=1)
    trained, losses = train(net, opt, x, t, steps=40, seed=2)
    assert losses[-1] < 0.5 * losses[0], losses
    assert nn.accuracy(nn.forward(trained, x), t) > 0.8


def test_training_is_reproducible_bit_for_bit() -> None:
    """Same seeds, same data: identical weights and running statistics after a few steps."""
    x, t = blobs(3)

    def run(dropout_seed: int) -> list[Array]:
        net = nn.mlp(4, 3, [16, 8], [nn.Relu, nn.Tanh, nn.Identity], num_bn_layers=2,
                     weight_init=nn.he_normal, seed=4, dropout=0.2)
        trained, _ = train(net, nn.Adam(lr=0.01), x, t, steps=5, seed=dropout_seed)
        learnable, running = parameters(trained)
        return learnable + running

    first, second, other = run(5), run(5), run(6)
    assert len(first) == 14
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.float32
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))
